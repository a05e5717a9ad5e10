//! The `deps` binary against the fake mirror: interrupted runs resume, two
//! processes share one cache, errors are one clear line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use xtask::mirror::Fault;

mod common;
use common::{Env, file_len, output, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_the_largest_file_then_rerun_resumes_with_range() {
    let env = Env::new(80).await;
    let (path, size) = env.os_image();
    assert!(size > 2 << 20, "the OS image is large enough to interrupt: {size}");
    env.mirror.set_fault(&path, Fault::Slow { bytes_per_sec: 1 << 20 }, None);

    let mut child = env.deps(&["download", "--arch", "arm64", "--quiet"]).spawn().unwrap();
    // The mirror serves artifacts at the same relative path the cache keeps them.
    let partial = env.cache().join(format!("{}.partial", path.trim_start_matches('/')));
    let deadline = Instant::now() + Duration::from_secs(60);
    while file_len(&partial) < size / 3 {
        assert!(Instant::now() < deadline, "download never reached a third of the OS image");
        assert!(child.try_wait().unwrap().is_none(), "deps ended before it was killed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = file_len(&partial);
    assert!(kept >= size / 3 && kept < size, "the partial survives the kill: {kept}");

    env.mirror.clear_faults();
    let out = output(env.deps(&["download", "--arch", "arm64"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let resumed = env.mirror.requests().into_iter().filter(|r| r.path == path).collect::<Vec<_>>();
    assert!(resumed.iter().any(|r| r.range.is_some() && r.status == 206), "{resumed:?}");
    let served = env.mirror.bytes_served(&path);
    assert!(served * 10 < size * 12, "served {served} bytes for a {size}-byte file");

    let out = output(env.deps(&["verify", "--arch", "arm64"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Waits until `first` holds the cache lock: `.lock` holds its PID.
async fn wait_until_locked(env: &Env, first: &mut Child) {
    let lock = env.cache().join(".lock");
    let deadline = Instant::now() + Duration::from_secs(60);
    while file_len(&lock) == 0 {
        assert!(Instant::now() < deadline, "the first run never took the cache lock");
        assert!(first.try_wait().unwrap().is_none(), "the first run ended before it took the cache lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_downloads_into_one_cache_take_turns() {
    let env = Env::new(200).await;
    let (path, _) = env.os_image();
    env.mirror.set_fault(&path, Fault::Slow { bytes_per_sec: 2 << 20 }, None);
    let mut first = env.deps(&["download", "--arch", "arm64"]).stderr(Stdio::piped()).spawn().unwrap();
    wait_until_locked(&env, &mut first).await;
    let second = env.deps(&["download", "--arch", "arm64"]).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = tokio::task::spawn_blocking(move || {
        (first.wait_with_output().unwrap(), second.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert!(b.status.success(), "{}", text(&b.stderr));
    assert!(text(&b.stderr).contains("Waiting for the cache lock held by PID"), "{}", text(&b.stderr));
    let image_gets =
        env.mirror.requests().into_iter().filter(|r| r.path == path && r.method == "GET").count();
    assert_eq!(image_gets, 1, "the second run found the image cached");
    let out = output(env.deps(&["verify", "--arch", "arm64"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_wait_fails_at_once_when_the_cache_is_locked() {
    let env = Env::new(200).await;
    let (path, _) = env.os_image();
    env.mirror.set_fault(&path, Fault::Slow { bytes_per_sec: 1 << 20 }, None);
    let mut first = env.deps(&["download", "--arch", "arm64", "--quiet"]).spawn().unwrap();
    wait_until_locked(&env, &mut first).await;
    let out = output(env.deps(&["download", "--arch", "arm64", "--no-wait"])).await;
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(!out.status.success());
    // After the cache and base URL lines every plain download starts with, one error line.
    let stderr = text(&out.stderr);
    let rest: Vec<&str> =
        stderr.lines().skip_while(|l| l.starts_with("cache: ") || l.starts_with("base URL: ")).collect();
    assert_eq!(rest.len(), 1, "one-line error: {stderr}");
    assert!(rest[0].starts_with("error: ") && rest[0].contains("lock"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_remote_host_is_refused() {
    let env = Env::new(1000).await;
    let mut cmd = env.deps(&["download", "--arch", "arm64"]);
    cmd.env("DEPS_BASE_URL", "http://deps.example.com/deps");
    let out = output(cmd).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("http://deps.example.com") && stderr.contains("insecure"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_and_downloads_nothing() {
    let env = Env::new(1000).await;
    let out = output(env.deps(&["download", "--arch", "arm64", "--dry-run"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Would download") && stdout.contains("vmconfig/artifacts/os-image/"), "{stdout}");
    assert!(env.mirror.requests().iter().all(|r| r.path.starts_with("/manifests/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ca_certificate_file_is_a_one_line_error_naming_it() {
    let env = Env::new(1000).await;
    let ca = env.dir.path().join("bad-ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let out = output(env.deps(&["download", "--arch", "arm64", "--ca-cert", ca.to_str().unwrap()])).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bad-ca.pem") && stderr.trim_end().lines().count() == 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_item_is_one_line_naming_it_and_what_to_do_next() {
    let env = Env::new(1000).await;
    let (path, _) = env.os_image();
    env.mirror.set_fault(&path, Fault::Status(404), None);
    let out = output(env.deps(&["download", "--arch", "arm64"])).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("error: vmconfig artifact os-image: "), "{stderr}");
    // A 404 is not healed by running again: the advice is about where the file should be.
    assert!(last.contains("404") && last.contains("the server does not have it"), "{stderr}");
    assert!(!last.contains("run `deps download` again"), "{stderr}");
    assert!(stderr.contains("; 1 failed. Cache: "), "the summary counts the failure: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_must_be_positive_and_an_empty_variable_is_unset() {
    let env = Env::new(1000).await;
    let out = output(env.deps(&["--timeout", "0", "status", "--arch", "arm64"])).await;
    assert_eq!(out.status.code(), Some(2), "a usage error: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--timeout"), "{}", text(&out.stderr));
    let mut cmd = env.deps(&["status", "--arch", "arm64"]);
    cmd.env("DEPS_TIMEOUT", "").env("DEPS_SPEED_LIMIT", "").env("DEPS_CONNECT_TIMEOUT", "");
    let out = output(cmd).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}
