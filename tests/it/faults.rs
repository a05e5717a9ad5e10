//! Faults seen through the manager: a transient one heals through retries and
//! resumes, a persistent one fails with an error naming the item; either way
//! nothing incomplete is left at a final path or marked cached. Manifest
//! fetches retry too, and a cached manifest is replaced only after success.

use deps_manager::DownloadOptions;
use xtask::mirror::Fault;

use crate::support::{Env, files_under, read_json};

const KIND: &str = "knc";
const ARCH: &str = "arm64";

/// The mirror path and size of the OS image, the largest artifact.
fn os_image(env: &Env) -> (String, u64) {
    let m = env.mirror_manifest("vmconfig_knc_debian-13_arm64.json");
    let image = &m["vmconfig"]["os"]["image"];
    let path = image["url"].as_str().unwrap().trim_start_matches("http://mirror.invalid").to_owned();
    (path, image["size"].as_u64().unwrap())
}

/// The full fault matrix (each status, Retry-After, truncation, reset, stall,
/// ignored ranges, wrong bytes) is covered against the transport alone in
/// `crates/transport/tests/download.rs`. Here one fault of each outcome goes
/// through the manager: its cache layout, its resume, its manifest cache.
#[tokio::test]
async fn a_transient_fault_heals_and_the_run_succeeds() {
    let env = Env::new().await;
    let (path, size) = os_image(&env);
    env.mirror.set_fault(&path, Fault::Truncate { after: size / 2 }, Some(1));
    env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let gets = env.gets_under(&path);
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert!(gets[1].range.is_some(), "the retry resumes the partial: {gets:?}");
    assert!(env.mirror.bytes_served(&path) < size + size / 5);
    assert!(env.manager().vmconfig_manifest_cache_path(KIND, ARCH).unwrap().exists());
    env.manager().verify(KIND, ARCH).unwrap();
}

/// Asserts a failed first run left nothing incomplete behind.
fn assert_nothing_incomplete(env: &Env) {
    let files = files_under(&env.cache_dir());
    assert!(
        files.iter().all(|f| !f.starts_with("vmconfig/artifacts/os-image/")
            || f.ends_with(".partial")
            || f.ends_with(".meta")),
        "no OS image at its final path: {files:?}"
    );
    assert!(
        !env.manager().vmconfig_manifest_cache_path(KIND, ARCH).unwrap().exists(),
        "no manifest marks anything cached after a failed run"
    );
}

#[tokio::test]
async fn a_persistent_fault_fails_naming_the_item_and_nothing_incomplete_is_cached() {
    let env = Env::new().await;
    let (path, _) = os_image(&env);
    // Every attempt serves a whole body of the right length and the wrong bytes.
    env.mirror.set_fault(&path, Fault::WrongBytes, None);
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("os-image") && msg.contains("expected"), "{msg}");
    assert_nothing_incomplete(&env);
    let partials: Vec<String> = files_under(&env.cache_dir())
        .into_iter()
        .filter(|f| f.starts_with("vmconfig/artifacts/os-image/"))
        .collect();
    assert!(partials.is_empty(), "a corrupt partial is not kept: {partials:?}");
}

#[tokio::test]
async fn manifest_errors_are_retried_then_reported() {
    let env = Env::new().await;
    env.mirror.set_fault("/manifests/vmconfig_knc_debian-13_arm64.json", Fault::Status(502), Some(1));
    env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap();

    env.mirror.set_fault("/manifests/components.json", Fault::Status(403), None);
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("components manifest"), "{err}");
}

#[tokio::test]
async fn cached_manifest_is_rewritten_only_after_success() {
    let env = Env::new().await;
    env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let before = read_json(&env.manager().vmconfig_manifest_cache_path(KIND, ARCH).unwrap());
    // A new version whose kubectl cannot be fetched: the old cached manifest stays.
    env.edit_mirror_manifest("vmconfig_knc_debian-13_arm64.json", |m| {
        m["vmconfig"]["version"] = "next".into();
        m["vmconfig"]["dependencies"]["kubectl"]["version"] = "9.9.9".into();
        m["vmconfig"]["dependencies"]["kubectl"]["url"] =
            "http://mirror.invalid/vmconfig/artifacts/kubectl/9.9.9/kubectl".into();
    });
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("kubectl"), "{err}");
    let after = read_json(&env.manager().vmconfig_manifest_cache_path(KIND, ARCH).unwrap());
    assert_eq!(before, after);
}
