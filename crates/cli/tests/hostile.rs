//! The `deps` binary against a hostile mirror, a hostile terminal and a hostile
//! user: control characters in manifests are printed escaped, a reader that
//! goes away does not stop a download, Ctrl-C and SIGTERM stop cleanly and
//! keep the partial files, a deeply nested cluster config is an error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use xtask::mirror::Fault;

mod common;
use common::{Env, file_len, output, text};

/// A version that sets the terminal's title, rings the bell and forges a line.
const EVIL_VERSION: &str = "v1\u{1b}]0;pwned\u{7}\nforged: line\r";
/// An item name that clears the screen and forges a line.
const EVIL_NAME: &str = "evil\u{1b}[2J\u{9b}31m\nforged: item";

/// The path of the arm64 vmconfig manifest the mirror serves.
fn vmconfig_manifest(env: &Env) -> PathBuf {
    env.dir.path().join("mirror/manifests/vmconfig_knc_debian-13_arm64.json")
}

/// Rewrites the served vmconfig manifest with `edit`.
fn edit_manifest(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// Fails when `out` (stdout or stderr) holds a raw control character other
/// than the line breaks, or a line that a manifest forged.
fn assert_clean(what: &str, out: &[u8]) {
    let out = text(out);
    let raw = out.chars().find(|&c| c != '\n' && (c.is_control() || ('\u{80}'..='\u{9f}').contains(&c)));
    assert_eq!(raw, None, "{what} holds a raw control character: {out:?}");
    assert!(!out.lines().any(|l| l.starts_with("forged")), "{what} holds a forged line: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_from_the_mirror_are_printed_escaped() {
    let env = Env::new(1000).await;
    edit_manifest(&vmconfig_manifest(&env), |m| {
        m["vmconfig"]["version"] = EVIL_VERSION.into();
        let deps = m["vmconfig"]["dependencies"].as_object_mut().unwrap();
        let (name, entry) = deps.iter().next().map(|(k, v)| (k.clone(), v.clone())).unwrap();
        deps.remove(&name);
        deps.insert(EVIL_NAME.to_owned(), entry);
    });

    let status = env.run(&["status", "--arch", "arm64"]).await;
    assert_clean("status stdout", &status.stdout);
    assert_clean("status stderr", &status.stderr);
    assert!(
        text(&status.stdout).contains(r"v1\u{1b}]0;pwned\u{7}\u{a}forged: line\u{d}"),
        "{}",
        text(&status.stdout)
    );

    for args in [&["download", "--arch", "arm64"][..], &["download", "--arch", "arm64", "--dry-run"]] {
        let out = env.run(args).await;
        assert_clean("download stdout", &out.stdout);
        assert_clean("download stderr", &out.stderr);
        let all = text(&out.stdout) + &text(&out.stderr);
        assert!(
            all.contains(r"evil\u{1b}[2J\u{9b}31m\u{a}forged: item"),
            "the name is shown, escaped: {all}"
        );
    }
}

/// A pipe whose reader is already gone: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_or_stderr_ends_output_quietly_and_the_download_finishes() {
    let env = Env::new(1000).await;
    let mut cmd = env.deps(&["download", "--arch", "arm64"]);
    cmd.stdout(closed_pipe()).stderr(closed_pipe());
    let status = tokio::task::spawn_blocking(move || cmd.status().unwrap()).await.unwrap();
    assert_eq!(status.code(), Some(0), "download with nobody reading: {status}");
    let verify = env.run(&["verify", "--arch", "arm64"]).await;
    assert!(verify.status.success(), "the cache is complete: {}", text(&verify.stdout));

    for args in [&["status", "--arch", "arm64"][..], &["verify", "--arch", "arm64"], &["download", "--json"]]
    {
        let mut cmd = env.deps(args);
        // Diagnostics too: the log writer must not complain about a closed stderr on stderr.
        cmd.env("RUST_LOG", "trace").stdout(closed_pipe()).stderr(closed_pipe());
        let status = tokio::task::spawn_blocking(move || cmd.status().unwrap()).await.unwrap();
        assert_eq!(status.code(), Some(0), "deps {args:?} with nobody reading: {status}");
    }
}

/// Sends `signal` (`INT`, `TERM`) to `child` with the `kill` command.
fn send(signal: &str, child: &Child) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits until `partial` exists and has grown past `beyond` bytes while `child` runs.
async fn wait_until_growing(partial: &Path, beyond: u64, child: &mut Child) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let len = file_len(partial);
        if len > beyond {
            return len;
        }
        assert!(Instant::now() < deadline, "{} never grew past {beyond} bytes", partial.display());
        assert!(child.try_wait().unwrap().is_none(), "deps ended before the signal");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for `child` to end, off the async runtime.
async fn wait(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_and_sigterm_keep_the_partial_say_so_and_exit_130_and_143() {
    let env = Env::new(80).await;
    let (path, size) = env.os_image();
    env.mirror.set_fault(&path, Fault::Slow { bytes_per_sec: 512 << 10 }, None);
    let partial = env.cache().join(format!("{}.partial", path.trim_start_matches('/')));

    let mut kept = 0;
    for (signal, code, name) in [("INT", 130, "SIGINT"), ("TERM", 143, "SIGTERM")] {
        let mut child = env.deps(&["download", "--arch", "arm64"]).stderr(Stdio::piped()).spawn().unwrap();
        let first = wait_until_growing(&partial, kept, &mut child).await;
        wait_until_growing(&partial, first, &mut child).await;
        send(signal, &child);
        let out = wait(child).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{signal}: {stderr}");
        let last = stderr.trim_end().lines().last().unwrap_or_default();
        assert_eq!(
            last,
            format!(
                "interrupted ({name}): partial files are kept in the cache; \
                 the next `deps download` resumes them"
            ),
            "{stderr}"
        );
        assert_eq!(stderr.matches("interrupted").count(), 1, "{stderr}");
        kept = file_len(&partial);
        assert!(kept > first && kept < size, "{signal}: the partial is kept: {kept} of {size}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_cluster_config_is_an_error_naming_the_file() {
    let env = Env::new(1000).await;
    let config = env.dir.path().join("deep-cluster.json");
    let depth = 200_000;
    std::fs::write(&config, format!("{{\"cluster\": {}{}}}", "[".repeat(depth), "]".repeat(depth))).unwrap();
    let out =
        output(env.deps(&["download", "--arch", "arm64", "--dry-run", "-f", config.to_str().unwrap()])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("error: cluster config ") && last.contains("deep-cluster.json"), "{stderr}");
    assert!(last.contains("64 levels deep"), "{stderr}");

    let nested = "{cluster: {providers: [{kind: 'aws'}]}, x: [[[[[[[[[[{}]]]]]]]]]]}";
    std::fs::write(&config, nested).unwrap();
    let out =
        output(env.deps(&["download", "--arch", "arm64", "--dry-run", "-f", config.to_str().unwrap()])).await;
    assert!(out.status.success(), "a config of ordinary depth is read: {}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_against_a_mirror_that_never_answers_says_it_timed_out_after_one_retry() {
    let env = Env::new(1000).await;
    let manifests = ["vmconfig_knc_debian-13_arm64.json", "components.json", "templates.json", "seeds.json"];
    for file in manifests {
        env.mirror.set_fault(&format!("/manifests/{file}"), Fault::BlackHole, None);
    }
    let out = output(env.deps(&["status", "--arch", "arm64", "--manifest-timeout", "1"])).await;
    assert!(out.status.success(), "status reports, it does not fail: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("couldn't check for updates") && stdout.contains("timed out"), "{stdout}");
    for file in manifests {
        let path = format!("/manifests/{file}");
        let asked = env.mirror.requests().into_iter().filter(|r| r.path == path).count();
        assert_eq!(asked, 2, "{file}: one attempt and one retry, not four");
    }
}
