//! `docs/cli.md` against `--help`: every flag and environment variable a
//! command's help shows is documented in that command's section, and every
//! flag documented there exists, so the two cannot drift. Also snapshots of
//! each `--help`, so a change to the help text is a reviewed change.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::collections::BTreeSet;
use std::process::Command;

/// The commands with a section `## deps <command>` in docs/cli.md.
const SUBCOMMANDS: [&str; 3] = ["download", "status", "verify"];

/// Flags every command has; documented once in prose, not compared.
const ALWAYS: [&str; 4] = ["-h", "--help", "-V", "--version"];

/// `deps <args> --help` with a stable width and no environment leaking into `[env: X=value]`.
fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_deps-cli"))
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("DEPS_BASE_URL")
        .env_remove("DEPS_CACHE_DIR")
        .env_remove("DEPS_REGISTRY_MIRROR")
        .env_remove("DEPS_CA_CERT")
        .env_remove("DEPS_MIRROR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn cli_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/cli.md")).unwrap()
}

/// The text of `## <heading>` up to the next `## `.
fn section(doc: &str, heading: &str) -> String {
    let start = doc
        .lines()
        .position(|line| line == format!("## {heading}"))
        .unwrap_or_else(|| panic!("docs/cli.md has no `## {heading}` section"));
    doc.lines().skip(start + 1).take_while(|line| !line.starts_with("## ")).collect::<Vec<_>>().join("\n")
}

/// The `-x`/`--flag` words at the start of a string (`-f, --cluster-config <X>` gives both).
fn leading_flags(text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for word in text.split([',', ' ', '`', '|']).filter(|w| !w.is_empty()) {
        if word.starts_with('-') && word.len() > 1 {
            flags.push(word.to_owned());
        } else if !word.starts_with('<') {
            break;
        }
    }
    flags
}

/// Flags of a help text, by heading (`Options`, `Global options`).
fn help_flags(help: &str, heading: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    let mut inside = false;
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            inside = line == format!("{heading}:");
            continue;
        }
        let trimmed = line.trim_start();
        if inside && trimmed.starts_with('-') && line.len() - trimmed.len() <= 6 {
            flags.extend(leading_flags(trimmed));
        }
    }
    flags.retain(|f| !ALWAYS.contains(&f.as_str()));
    flags
}

/// Flags in the first cell of the section's table rows.
fn doc_flags(section: &str) -> BTreeSet<String> {
    let rows = section.lines().filter(|line| line.starts_with("| `-"));
    let cells = rows.map(|row| row.trim_start_matches('|').split('|').next().unwrap_or_default().to_owned());
    let mut flags: BTreeSet<String> = cells.flat_map(|cell| leading_flags(&cell)).collect();
    flags.retain(|f| !ALWAYS.contains(&f.as_str()));
    flags
}

/// Environment variables a help text names: `[env: X=]` markers, and every
/// `DEPS_*`, `PODPLANE_*` or `XDG_*` word of the flags' own help (the base URL,
/// cache root and arch are resolved by `deps`, not by clap).
fn help_envs(help: &str) -> BTreeSet<String> {
    let markers = help.split("[env: ").skip(1).filter_map(|rest| rest.split('=').next()).map(str::to_owned);
    let words = help
        .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|w| ["DEPS_", "PODPLANE_", "XDG_"].iter().any(|p| w.starts_with(p) && w.len() > p.len()))
        .map(str::to_owned);
    markers.chain(words).collect()
}

fn assert_same(what: &str, from_help: &BTreeSet<String>, from_doc: &BTreeSet<String>) {
    let undocumented: Vec<_> = from_help.difference(from_doc).collect();
    let unknown: Vec<_> = from_doc.difference(from_help).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "{what}: in --help but not in docs/cli.md: {undocumented:?}; in docs/cli.md but not in --help: {unknown:?}"
    );
    assert!(!from_help.is_empty(), "{what}: no flags found; has the --help layout changed?");
}

#[test]
fn global_flags_and_env_vars_are_documented_under_deps() {
    let doc = section(&cli_md(), "deps");
    let help = help(&[]);
    let mut all = help_flags(&help, "Options");
    all.extend(help_flags(&help, "Global options"));
    assert_same("deps", &all, &doc_flags(&doc));
    for env in help_envs(&help) {
        assert!(doc.contains(&format!("`{env}`")), "deps: {env} is not documented");
    }
}

#[test]
fn every_command_in_help_has_a_section() {
    let help = help(&[]);
    let listed: BTreeSet<&str> = help
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    assert_eq!(listed, SUBCOMMANDS.into_iter().collect());
    let doc = cli_md();
    for command in SUBCOMMANDS {
        section(&doc, &format!("deps {command}"));
    }
}

#[test]
fn command_flags_and_env_vars_match_their_sections() {
    let doc = cli_md();
    let global = doc_flags(&section(&doc, "deps"));
    for command in SUBCOMMANDS {
        let text = section(&doc, &format!("deps {command}"));
        let help = help(&[command]);
        assert_same(command, &help_flags(&help, "Options"), &doc_flags(&text));
        assert_same(&format!("{command} (global)"), &help_flags(&help, "Global options"), &global);
        let own_envs = help_envs(&help).difference(&help_envs(&self::help(&[]))).cloned().collect::<Vec<_>>();
        for env in own_envs {
            assert!(text.contains(&format!("`{env}`")), "{command}: {env} is not documented");
        }
    }
}

#[test]
fn the_drift_check_sees_a_missing_flag() {
    let doc = "| `--arch <A>` | | | x |\n| `-f`, `--cluster-config <F>` | | | y |\n";
    let flags = doc_flags(doc);
    assert_eq!(flags, ["--arch", "--cluster-config", "-f"].map(str::to_owned).into_iter().collect());
    let help = "Options:\n      --arch <ARCH>\n          x\n  -f, --cluster-config <C>\n      --kind <K>\n";
    assert!(help_flags(help, "Options").contains("--kind"));
    assert_ne!(help_flags(help, "Options"), flags);
}

#[test]
fn the_drift_check_sees_variables_named_in_help_text() {
    let help = "  --base-url <URL>\n      Else from DEPS_BASE_URL, PODPLANE_DEPS_URL ($XDG_CONFIG_HOME/x)\n      [env: DEPS_CA_CERT=]\n";
    let envs: Vec<String> = help_envs(help).into_iter().collect();
    assert_eq!(envs, ["DEPS_BASE_URL", "DEPS_CA_CERT", "PODPLANE_DEPS_URL", "XDG_CONFIG_HOME"]);
}

#[test]
fn help_snapshots() {
    insta::assert_snapshot!("help_deps", help(&[]));
    for command in SUBCOMMANDS {
        insta::assert_snapshot!(format!("help_{command}"), help(&[command]));
    }
}
