//! `deps status` and `deps verify` against the fake mirror: what they print
//! before and after a download, with the mirror gone, and over a damaged cache.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::path::{Path, PathBuf};
use std::process::Output;

use xtask::mirror::Fault;

mod common;
use common::Env;

/// Exit code, stdout and stderr, with the temp dir and the port replaced.
fn report(env: &Env, out: &Output) -> String {
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    text.replace(env.dir.path().to_str().unwrap(), "[TMP]").replace(&env.mirror.base_url(), "[MIRROR]")
}

/// The first regular file under `dir`, in sorted order.
fn first_file(dir: &Path) -> PathBuf {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_file() {
            return path;
        }
        if path.is_dir() {
            return first_file(&path);
        }
    }
    panic!("no file under {}", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_before_and_after_a_download() {
    let env = Env::new(1000).await;
    let before = env.run(&["status", "--arch", "arm64"]).await;
    insta::assert_snapshot!("status_before_download", report(&env, &before));

    let out = env.run(&["download", "--arch", "arm64", "--quiet"]).await;
    assert!(out.status.success(), "{}", report(&env, &out));
    let after = env.run(&["status", "--arch", "arm64"]).await;
    insta::assert_snapshot!("status_after_download", report(&env, &after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_without_the_mirror_still_shows_the_cache_and_exits_0() {
    let env = Env::new(1000).await;
    let out = env.run(&["download", "--arch", "arm64", "--quiet"]).await;
    assert!(out.status.success(), "{}", report(&env, &out));
    env.mirror.set_fault("/manifests/vmconfig_knc_debian-13_arm64.json", Fault::Status(404), None);
    let out = env.run(&["status", "--arch", "arm64"]).await;
    insta::assert_snapshot!(report(&env, &out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_notices_a_deleted_artifact_without_rehashing() {
    let env = Env::new(1000).await;
    let out = env.run(&["download", "--arch", "arm64", "--quiet"]).await;
    assert!(out.status.success(), "{}", report(&env, &out));
    std::fs::remove_file(first_file(&env.cache().join("vmconfig/artifacts"))).unwrap();
    let out = env.run(&["status", "--arch", "arm64"]).await;
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cached artifacts present: run `deps verify`, then `deps download`"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_lists_every_problem_per_domain_and_says_what_to_do() {
    let env = Env::new(1000).await;
    let out = env.run(&["download", "--arch", "arm64", "--quiet"]).await;
    assert!(out.status.success(), "{}", report(&env, &out));
    let ok = env.run(&["verify", "--arch", "arm64"]).await;
    insta::assert_snapshot!("verify_ok", report(&env, &ok));

    let artifact = first_file(&env.cache().join("vmconfig/artifacts"));
    let mut bytes = std::fs::read(&artifact).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&artifact, bytes).unwrap();
    let blob = first_blob(&env.cache().join("registry/mirror"));
    std::fs::remove_file(blob).unwrap();

    let out = env.run(&["verify", "--arch", "arm64"]).await;
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("verify_damaged", report(&env, &out));
}

/// The first blob of the first image layout under `images`.
fn first_blob(images: &Path) -> PathBuf {
    let mut layouts = Vec::new();
    find_layouts(images, &mut layouts);
    layouts.sort();
    first_file(&layouts[0].join("blobs/sha256"))
}

fn find_layouts(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("oci-layout").is_file() {
        out.push(dir.to_owned());
        return;
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            find_layouts(&path, out);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_before_any_download_says_to_download_and_exits_1() {
    let env = Env::new(1000).await;
    let out = env.run(&["verify", "--arch", "arm64"]).await;
    insta::assert_snapshot!(report(&env, &out));
}
