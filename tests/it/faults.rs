//! Each fault the mirror can inject either heals through retries and resumes,
//! or fails with an error naming the item; either way nothing incomplete is
//! left at a final path or marked cached.

use std::time::Duration;

use deps_manager::{DownloadOptions, HttpClient};
use deps_transport::ClientConfig;
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

async fn heals(fault: Fault, times: u32) -> Env {
    let env = Env::new().await;
    let (path, _) = os_image(&env);
    env.mirror.set_fault(&path, fault, Some(times));
    env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    env.manager().verify(KIND, ARCH).unwrap();
    env
}

#[tokio::test]
async fn server_errors_are_retried() {
    let env = heals(Fault::Status(503), 2).await;
    let (path, _) = os_image(&env);
    assert_eq!(env.gets_under(&path).len(), 3);
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    let started = std::time::Instant::now();
    heals(Fault::TooManyRequests { retry_after_secs: 1 }, 1).await;
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After honoured");
}

#[tokio::test]
async fn truncated_body_resumes_with_range() {
    let env = Env::new().await;
    let (path, size) = os_image(&env);
    env.mirror.set_fault(&path, Fault::Truncate { after: size / 2 }, Some(1));
    env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let gets = env.gets_under(&path);
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert!(gets[1].range.is_some(), "second request resumes: {gets:?}");
    assert!(env.mirror.bytes_served(&path) < size + size / 5);
    env.manager().verify(KIND, ARCH).unwrap();
}

#[tokio::test]
async fn connection_reset_mid_body_resumes() {
    let env = Env::new().await;
    let (path, size) = os_image(&env);
    env.mirror.set_fault(&path, Fault::ResetAfter { after: size / 3 }, Some(1));
    env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    env.manager().verify(KIND, ARCH).unwrap();
}

#[tokio::test]
async fn server_ignoring_range_restarts_from_zero() {
    let env = Env::new().await;
    let (path, size) = os_image(&env);
    env.mirror.set_fault(&path, Fault::Truncate { after: size / 2 }, Some(1));
    env.mirror.set_fault(&path, Fault::IgnoreRange, None);
    env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    env.manager().verify(KIND, ARCH).unwrap();
}

#[tokio::test]
async fn stalled_body_times_out_and_resumes() {
    let env = Env::new().await;
    let (path, size) = os_image(&env);
    env.mirror.set_fault(&path, Fault::Stall { after: size / 2, duration: Duration::from_secs(5) }, Some(1));
    let config = ClientConfig { read_timeout: Duration::from_millis(300), ..ClientConfig::default() };
    let manager = env.manager().with_client(HttpClient::new(&config).unwrap());
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    assert!(env.gets_under(&path).len() >= 2);
    manager.verify(KIND, ARCH).unwrap();
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
async fn wrong_bytes_fail_with_a_digest_mismatch_naming_the_item() {
    let env = Env::new().await;
    let (path, _) = os_image(&env);
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
async fn not_found_fails_at_once() {
    let env = Env::new().await;
    let (path, _) = os_image(&env);
    env.mirror.set_fault(&path, Fault::Status(404), None);
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("os-image") && err.to_string().contains("404"), "{err}");
    assert_eq!(env.gets_under(&path).len(), 1, "no retries for 404");
    assert_nothing_incomplete(&env);
}

#[tokio::test]
async fn persistent_server_errors_fail_after_retries() {
    let env = Env::new().await;
    let (path, _) = os_image(&env);
    env.mirror.set_fault(&path, Fault::Status(500), None);
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("os-image") && msg.contains("retries"), "{msg}");
    assert_nothing_incomplete(&env);
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
