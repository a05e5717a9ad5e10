//! Where `deps` takes its base URL, cache root and architecture from, run as
//! a user runs it: podplane's variables, podplane's config file, the
//! defaults under a home directory of the test's own, and the hint about a
//! cache left at the older default.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::process::Command;

mod common;
use common::{Env, output, text};

/// `deps <args>` with none of our own `DEPS_BASE_URL` / `DEPS_CACHE_DIR`.
fn without_deps_vars(env: &Env, args: &[&str]) -> Command {
    let mut cmd = env.deps(args);
    cmd.env_remove("DEPS_BASE_URL").env_remove("DEPS_CACHE_DIR");
    cmd
}

fn write_config(env: &Env, json: &str) -> std::path::PathBuf {
    let path = env.home().join(".config/podplane/config.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, json).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podplane_variables_choose_the_mirror_and_the_cache() {
    let env = Env::new(1000).await;
    let cache = env.dir.path().join("podplane-cache");
    let base = env.mirror.base_url();
    let with_podplane_vars = |args: &[&str]| {
        let mut cmd = without_deps_vars(&env, args);
        cmd.env("PODPLANE_DEPS_URL", &base).env("PODPLANE_DEPS_CACHE_DIR", &cache);
        cmd
    };

    let out = output(with_podplane_vars(&["download", "--arch", "arm64"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let mut lines = stderr.lines();
    assert_eq!(
        lines.next(),
        Some(format!("cache: {} (from PODPLANE_DEPS_CACHE_DIR)", cache.display()).as_str())
    );
    assert_eq!(lines.next(), Some(format!("base URL: {base} (from PODPLANE_DEPS_URL)").as_str()));
    assert_eq!(stderr.matches("base URL: ").count(), 1, "said once: {stderr}");
    assert!(
        std::fs::read_dir(&cache).unwrap().next().is_some(),
        "the download went to PODPLANE_DEPS_CACHE_DIR"
    );
    assert!(!env.cache().exists(), "nothing went to DEPS_CACHE_DIR's old value");
    assert!(env.mirror.requests().iter().any(|r| r.path == "/manifests/vmconfig_knc_debian-13_arm64.json"));

    let out = output(with_podplane_vars(&["status", "--arch", "arm64"])).await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("cache: {} (from PODPLANE_DEPS_CACHE_DIR)\n", cache.display())),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("base URL: {base} (from PODPLANE_DEPS_URL)\n")), "{stdout}");
    assert!(stdout.contains("up to date with the mirror"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_variables_and_flags_win_over_podplanes() {
    let env = Env::new(1000).await;
    let mut cmd = env.deps(&["status", "--arch", "arm64"]);
    cmd.env("PODPLANE_DEPS_URL", "https://unused.example").env("PODPLANE_DEPS_CACHE_DIR", "/unused");
    let stdout = text(&output(cmd).await.stdout);
    assert!(
        stdout.starts_with(&format!("cache: {} (from DEPS_CACHE_DIR)\n", env.cache().display())),
        "{stdout}"
    );
    assert!(stdout.contains("(from DEPS_BASE_URL)"), "{stdout}");

    let flag_dir = env.dir.path().join("flag-cache");
    let cmd = env.deps(&["status", "--arch", "arm64", "--cache-dir", flag_dir.to_str().unwrap()]);
    let stdout = text(&output(cmd).await.stdout);
    assert!(stdout.starts_with(&format!("cache: {} (from --cache-dir)\n", flag_dir.display())), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podplanes_config_file_sets_the_mirror_cache_and_arch() {
    let env = Env::new(1000).await;
    let cache = env.dir.path().join("config-cache");
    let written = serde_json::json!({
        "config": {"version": 1},
        "deps_url": env.mirror.base_url(),
        "deps_cache_dir": cache,
        "arch": "aarch64",
    })
    .to_string();
    let config = write_config(&env, &written);
    let written = written.into_bytes();

    // No --arch and no PODPLANE_ARCH: the config file's.
    let mut cmd = without_deps_vars(&env, &["download", "--dry-run", "--json"]);
    cmd.env_remove("PODPLANE_ARCH");
    let out = output(cmd).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let plan = &events.iter().find(|e| e["type"] == "dry-run").unwrap()["plan"];
    assert_eq!(plan["target"], "knc_debian-13_arm64", "{plan}");

    let mut cmd = without_deps_vars(&env, &["status"]);
    cmd.env_remove("PODPLANE_ARCH");
    let out = output(cmd).await;
    let stdout = text(&out.stdout);
    let file = config.display();
    assert!(
        stdout.starts_with(&format!("cache: {} (from `deps_cache_dir` in {file})\n", cache.display())),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("(from `deps_url` in {file})")), "{stdout}");
    assert!(stdout.contains("vmconfig knc_debian-13_arm64"), "{stdout}");
    assert_eq!(std::fs::read(&config).unwrap(), written, "the config file is read, never written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_config_file_is_a_one_line_error_naming_it() {
    let env = Env::new(1000).await;
    let config = write_config(&env, "{\"deps_url\": ");
    let out = output(env.deps(&["status"])).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: ") && stderr.contains(&config.display().to_string()), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_cache_is_podplanes_cache_directory() {
    let env = Env::new(1000).await;
    let base = env.mirror.base_url();
    let out = output(without_deps_vars(&env, &["status", "--arch", "arm64", "--base-url", &base])).await;
    let stdout = text(&out.stdout);
    let expected = env.home().join(".cache/podplane/deps");
    assert!(stdout.starts_with(&format!("cache: {} (from the default)\n", expected.display())), "{stdout}");
    assert!(stdout.contains(&format!("base URL: {base} (from --base-url)")), "{stdout}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_at_the_older_default_earns_a_hint_and_is_left_alone() {
    let env = Env::new(1000).await;
    let old = env.home().join(".podplane/cache/deps");
    std::fs::create_dir_all(old.join("vmconfig")).unwrap();
    let base = env.mirror.base_url();
    let mut cmd = without_deps_vars(&env, &["status", "--arch", "arm64", "--base-url", &base]);
    cmd.env_remove("XDG_CACHE_HOME");
    let out = output(cmd).await;
    let new = env.home().join(".cache/podplane/deps");
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("mv {} {}", old.display(), new.display())), "{stderr}");
    assert_eq!(stderr.matches("mv ").count(), 1, "said once: {stderr}");
    assert!(old.join("vmconfig").is_dir() && !new.exists(), "nothing is moved");
}
