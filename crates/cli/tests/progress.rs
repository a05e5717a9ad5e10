//! What `deps download` shows while it works, against the fake mirror: the
//! `--json` event stream, the plain lines of a log, and the live bars on a
//! terminal (driven through tmux, skipped with a note when tmux is missing
//! unless `DEPS_REQUIRE_TOOLS` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use xtask::mirror::Fault;

mod common;
use common::{Env, output, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_stream_is_one_object_per_line_in_event_order() {
    let env = Env::new(1000).await;
    let out = output(env.deps(&["download", "--arch", "arm64", "--json"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let keys = ["type", "name", "path", "current", "total", "message", "error"];
    for event in &events {
        assert!(keys.iter().all(|k| event.get(k).is_some()), "{event}");
    }

    // Where each event type first and last appears, per item.
    let mut seen: HashMap<String, HashMap<String, (usize, usize)>> = HashMap::new();
    for (i, event) in events.iter().enumerate() {
        let name = event["name"].as_str().unwrap();
        if !name.is_empty() {
            let kind = event["type"].as_str().unwrap().to_owned();
            seen.entry(name.to_owned()).or_default().entry(kind).and_modify(|p| p.1 = i).or_insert((i, i));
        }
    }
    let mut downloaded = 0;
    for (name, at) in &seen {
        let first = |kind: &str| at.get(kind).map(|p| p.0);
        let last = |kind: &str| at.get(kind).map(|p| p.1);
        let before = |a: Option<usize>, b: Option<usize>, what: &str| {
            if let (Some(a), Some(b)) = (a, b) {
                assert!(a < b, "{name}: {what}: {at:?}");
            }
        };
        before(first("checking"), first("cached"), "checking before cached");
        before(first("checking"), first("queued"), "checking before queued");
        before(last("queued"), first("started"), "queued before started");
        before(last("started"), first("progress"), "started before progress");
        before(last("progress"), first("done"), "progress before done");
        before(last("started"), first("done"), "started before done");
        if at.contains_key("queued") {
            assert!(
                at.contains_key("started") && at.contains_key("done"),
                "{name} queued, never done: {at:?}"
            );
            downloaded += 1;
        }
    }
    assert!(downloaded > 3, "a fresh cache downloads things: {seen:?}");
    let last_status = events.iter().rev().find(|e| e["type"] == "status").unwrap();
    assert_eq!(last_status["message"], "All dependencies for knc_debian-13_arm64 are up to date.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_dry_run_is_one_object_and_nothing_else_on_stdout() {
    let env = Env::new(1000).await;
    let out = output(env.deps(&["download", "--arch", "arm64", "--json", "--dry-run"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let events: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let reports: Vec<_> = events.iter().filter(|e| e["type"] == "dry-run").collect();
    assert_eq!(reports.len(), 1, "{stdout}");
    let message = reports[0]["message"].as_str().unwrap();
    assert!(
        message.contains("Would download") && message.contains("vmconfig/artifacts/os-image/"),
        "{message}"
    );
    let plan = &reports[0]["plan"];
    let missing = plan["missing"].as_array().unwrap();
    assert!(missing.iter().any(|f| f["name"] == "os-image" && f["size"].as_u64() > Some(0)), "{plan}");
    assert_eq!(plan["target"], "knc_debian-13_arm64", "{plan}");
    assert!(plan["shared"]["component_images"].as_u64() > Some(0), "{plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_run_ends_with_a_summary_listing_every_failure() {
    let env = Env::new(1000).await;
    let (path, _) = env.os_image();
    env.mirror.set_fault(&path, Fault::Status(404), None);
    let out = output(env.deps(&["download", "--arch", "arm64", "--json"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let events: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary", "{stdout}");
    assert_eq!(summary["failed"], 1, "{summary}");
    assert!(summary["downloaded"].as_u64().unwrap() > 3, "the other items finished: {summary}");
    let failure = &summary["failures"][0];
    assert_eq!(failure["name"], "os-image", "{summary}");
    assert!(failure["error"].as_str().unwrap().contains("404"), "{summary}");
    assert!(failure["hint"].as_str().unwrap().contains("does not have it"), "{summary}");
    let failed: Vec<_> = events.iter().filter(|e| e["type"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert_eq!(failed[0]["error"], failed[0]["message"], "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_lines_of_a_download_then_of_a_cached_rerun() {
    let env = Env::new(1000).await;
    let first = output(env.deps(&["download", "--arch", "arm64", "--concurrency", "1"])).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let again = output(env.deps(&["download", "--arch", "arm64"])).await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(first.stdout.is_empty() && again.stdout.is_empty(), "progress never goes to stdout");

    let cache = env.cache().display().to_string();
    let base = env.mirror.base_url();
    let stable = |stderr: &[u8]| {
        let text = text(stderr).replace(&cache, "[CACHE]").replace(&base, "[MIRROR]");
        let mut lines: Vec<&str> = text.lines().collect();
        let summary = lines.pop().unwrap().to_owned();
        // Downloads run concurrently (artifacts and images share the slots):
        // the set of lines is stable, their order is not. Status lines first,
        // then by item ("fetching " and "done     " are both nine wide), with
        // "fetching X" just before "done X".
        let fetching = |l: &str| l.starts_with("fetching ");
        let item = |l: &str| fetching(l) || l.starts_with("done     ");
        lines.sort_by_key(|l| (item(l), if item(l) { &l[9..] } else { l }, !fetching(l)));
        lines.push(&summary);
        lines.join("\n")
    };
    insta::with_settings!({ filters => vec![(r"in \d+\.\d+s", "in [TIME]")] }, {
        insta::assert_snapshot!("plain_first_run", stable(&first.stderr));
        insta::assert_snapshot!("plain_cached_rerun", stable(&again.stderr));
    });
}

/// A tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success())
    }

    /// Runs `deps download --arch arm64` against `env` in a 160x40 tmux session
    /// named `deps`, the shell lines of `before` first, then prints `DEPS-EXIT=<code>`
    /// and stays; `None` (with a note) when tmux is missing and not required.
    fn run_deps(env: &Env, name: &str, before: &str) -> Option<Tmux> {
        if !Tmux::available() {
            // CI sets DEPS_REQUIRE_TOOLS so a missing tool fails instead of skipping.
            assert!(std::env::var_os("DEPS_REQUIRE_TOOLS").is_none(), "tmux is required but not installed");
            eprintln!("note: tmux is not installed; skipping the pseudo-terminal test");
            return None;
        }
        let script = env.dir.path().join("run.sh");
        let exports: String = env.vars().iter().map(|(k, v)| format!("export {k}='{v}'\n")).collect();
        let bin = env!("CARGO_BIN_EXE_deps-cli");
        let body = format!(
            "{exports}unset DEPS_MIRROR\n{before}'{bin}' download --arch arm64\necho \"DEPS-EXIT=$?\"\nsleep 60\n"
        );
        std::fs::write(&script, body).unwrap();
        let tmux = Tmux { socket: format!("deps-{name}-{}", std::process::id()) };
        let started = tmux
            .cmd()
            .args(["new-session", "-d", "-s", "deps", "-x", "160", "-y", "40"])
            .arg(format!("sh '{}'", script.display()))
            .status()
            .unwrap();
        assert!(started.success());
        Some(tmux)
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"]);
        cmd
    }

    fn screen(&self) -> String {
        text(&self.cmd().args(["capture-pane", "-p", "-t", "deps"]).output().unwrap().stdout)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_shows_bars_while_downloading_and_a_clean_summary_at_the_end() {
    let env = Env::new(200).await;
    let (path, size) = env.os_image();
    // Slow enough to see the bars for about two seconds.
    env.mirror.set_fault(&path, Fault::Slow { bytes_per_sec: (size / 2).max(1) }, None);
    let Some(tmux) = Tmux::run_deps(&env, "progress", "") else { return };

    let bar = overall_bar;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut saw_bar, mut screen) = (None, String::new());
    while !screen.contains("DEPS-EXIT=") {
        assert!(Instant::now() < deadline, "deps did not finish under tmux:\n{screen}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        screen = tmux.screen();
        if saw_bar.is_none() && screen.lines().any(bar) {
            saw_bar = Some(screen.clone());
        }
    }
    let Some(during) = saw_bar else { panic!("no progress bar was ever drawn; last screen:\n{screen}") };
    eprintln!("a screen while downloading:\n{during}");
    let lines: Vec<&str> = screen.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let exit = lines.iter().position(|l| l.starts_with("DEPS-EXIT=")).unwrap();
    assert_eq!(lines[exit], "DEPS-EXIT=0", "{screen}");
    let summary = lines[exit - 1];
    assert!(summary.starts_with("Downloaded ") && summary.contains("Cache: "), "{screen}");
    assert!(!lines.iter().any(|l| bar(l) || l.ends_with("already cached")), "leftover bar:\n{screen}");
}

/// A line of the overall bar: a percentage and an ETA.
fn overall_bar(line: &str) -> bool {
    line.contains("% ") && line.contains("ETA")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_on_a_terminal_clears_the_bars_and_says_the_partials_are_kept() {
    let env = Env::new(200).await;
    let (path, size) = env.os_image();
    // Slow enough that Ctrl-C comes long before the end.
    env.mirror.set_fault(&path, Fault::Slow { bytes_per_sec: (size / 20).max(1) }, None);

    // The shell survives the Ctrl-C (a trap, unlike an ignored signal, is not inherited) to report
    // the exit code.
    let Some(tmux) = Tmux::run_deps(&env, "ctrl-c", "trap 'true' INT\n") else { return };

    let partial = env.cache().join(format!("{}.partial", path.trim_start_matches('/')));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut screen = String::new();
    while !(screen.lines().any(overall_bar) && common::file_len(&partial) > 0) {
        assert!(Instant::now() < deadline, "no bar and no partial file:\n{screen}");
        assert!(!screen.contains("DEPS-EXIT="), "deps ended before Ctrl-C:\n{screen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        screen = tmux.screen();
    }
    let sent = tmux.cmd().args(["send-keys", "-t", "deps", "C-c"]).status().unwrap();
    assert!(sent.success());
    while !screen.contains("DEPS-EXIT=") {
        assert!(Instant::now() < deadline, "deps did not stop on Ctrl-C:\n{screen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        screen = tmux.screen();
    }
    eprintln!("the screen after Ctrl-C:\n{screen}");
    let lines: Vec<&str> = screen.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let exit = lines.iter().position(|l| l.starts_with("DEPS-EXIT=")).unwrap();
    assert_eq!(lines[exit], "DEPS-EXIT=130", "{screen}");
    assert!(
        lines[exit - 1].ends_with(
            "interrupted (SIGINT): partial files are kept in the cache; the next `deps download` resumes them"
        ),
        "{screen}"
    );
    // The terminal's own echo of `^C` lands among the bars and can keep the line of a download's
    // bar on screen; the overall bar and the cached line are gone.
    assert!(
        !lines.iter().any(|l| overall_bar(l) || l.ends_with("already cached")),
        "leftover bar:\n{screen}"
    );
    assert!(common::file_len(&partial) > 0, "the partial is kept");
}
