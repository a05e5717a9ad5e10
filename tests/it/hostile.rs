//! Hostile manifests: values that would escape the cache root are rejected
//! before any download, with a message naming the field, and nothing is
//! created outside the cache root.

use deps_manager::DownloadOptions;
use serde_json::{Value, json};

use crate::support::{Env, files_under};

const KIND: &str = "knc";
const ARCH: &str = "arm64";

async fn rejected(edit: impl FnOnce(&mut Value)) -> (Env, String) {
    let env = Env::new().await;
    env.edit_mirror_manifest("vmconfig_knc_debian-13_arm64.json", edit);
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    assert!(env.gets_under("/vmconfig/artifacts/").is_empty(), "nothing downloaded before validation");
    let outside: Vec<String> = files_under(env.dir.path())
        .into_iter()
        .filter(|f| !f.starts_with("mirror/") && !f.starts_with("cache/"))
        .collect();
    assert!(outside.is_empty(), "written outside the cache: {outside:?}");
    (env, err.to_string())
}

fn kubectl_like() -> Value {
    json!({
        "version": "1.0.0",
        "url": "http://mirror.invalid/vmconfig/artifacts/kubectl/1.36.1/kubectl",
        "type": "binary",
        "digest": format!("sha256:{}", "a".repeat(64)),
        "size": 10
    })
}

#[tokio::test]
async fn dependency_name_with_parent_reference_is_rejected() {
    let (_, msg) = rejected(|m| {
        m["vmconfig"]["dependencies"]["../x"] = kubectl_like();
    })
    .await;
    assert!(msg.contains("name") && msg.contains("../x"), "{msg}");
}

#[tokio::test]
async fn absolute_version_is_rejected() {
    let (_, msg) = rejected(|m| {
        m["vmconfig"]["dependencies"]["kubectl"]["version"] = "/etc".into();
    })
    .await;
    assert!(msg.contains("version") && msg.contains("/etc"), "{msg}");
}

#[tokio::test]
async fn url_whose_basename_is_dot_dot_is_rejected() {
    let (_, msg) = rejected(|m| {
        m["vmconfig"]["dependencies"]["kubectl"]["url"] = "http://mirror.invalid/a/..".into();
    })
    .await;
    assert!(msg.contains("file name") && msg.contains("kubectl"), "{msg}");
}

#[tokio::test]
async fn digest_of_the_wrong_length_is_rejected() {
    let (_, msg) = rejected(|m| {
        m["vmconfig"]["dependencies"]["kubectl"]["digest"] = format!("sha256:{}", "a".repeat(63)).into();
    })
    .await;
    assert!(msg.contains("kubectl") && msg.contains("digest"), "{msg}");
}

#[tokio::test]
async fn missing_size_is_rejected() {
    let (_, msg) = rejected(|m| {
        m["vmconfig"]["dependencies"]["kubectl"]["size"] = 0.into();
    })
    .await;
    assert!(msg.contains("kubectl") && msg.contains("size"), "{msg}");
}

#[tokio::test]
async fn remote_seed_path_entry_is_rejected() {
    let env = Env::new().await;
    env.edit_mirror_manifest("seeds.json", |m| {
        m["seeds"]["snapshots"]["evil"] = json!({"path": "/etc/passwd"});
    });
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("evil") && msg.contains("/etc/passwd"), "{msg}");
    assert!(env.gets_under("/vmconfig/artifacts/").is_empty());
}

#[tokio::test]
async fn hostile_seed_name_is_rejected() {
    let env = Env::new().await;
    env.edit_mirror_manifest("seeds.json", |m| {
        let minimal = m["seeds"]["snapshots"]["minimal"].clone();
        m["seeds"]["snapshots"][".."] = minimal;
    });
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains(".."), "{err}");
}

#[tokio::test]
async fn two_items_on_one_cache_path_are_rejected_naming_both() {
    // A dependency named like the OS image, with its version and file name: one path, two writers.
    let (_, msg) = rejected(|m| {
        let image = m["vmconfig"]["os"]["image"].clone();
        m["vmconfig"]["dependencies"]["os-image"] = image;
    })
    .await;
    assert!(msg.contains("both resolve") && msg.matches("os-image").count() >= 2, "{msg}");
}

#[tokio::test]
async fn a_file_name_too_long_for_the_file_system_is_rejected_before_anything_downloads() {
    let (_, msg) = rejected(|m| {
        let long = "k".repeat(250);
        m["vmconfig"]["dependencies"]["kubectl"]["url"] = format!("http://mirror.invalid/{long}").into();
    })
    .await;
    assert!(msg.contains("kubectl") && msg.contains("255-byte"), "{msg}");
}

#[tokio::test]
async fn a_manifest_declaring_a_terabyte_fails_at_once_for_lack_of_space() {
    let (_, msg) = rejected(|m| {
        m["vmconfig"]["dependencies"]["kubectl"]["size"] = (1_u64 << 40).into();
    })
    .await;
    assert!(msg.contains("not enough free space") && msg.contains("bytes still to download"), "{msg}");
}

#[tokio::test]
async fn a_corrupt_index_json_is_repaired_without_fetching_blobs_again() {
    let env = Env::new().await;
    let manager = env.manager();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let index = env.cache_dir().join("registry/mirror/docker.io/library/caddy/index.json");
    std::fs::write(&index, b"{ not json").unwrap();

    env.mirror.clear_requests();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let blobs: Vec<_> = env.mirror.requests().into_iter().filter(|r| r.path.contains("/blobs/")).collect();
    assert!(blobs.is_empty(), "the repair fetched blobs: {blobs:?}");
    serde_json::from_slice::<Value>(&std::fs::read(&index).unwrap()).unwrap();
    manager.verify(KIND, ARCH).unwrap();
    crate::support::assert_zot_serves(&env);
}

#[tokio::test]
async fn temporary_files_a_killed_run_left_are_removed_by_the_next_run() {
    let env = Env::new().await;
    let manager = env.manager();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let manifests = env.cache_dir().join("vmconfig/manifests");
    let stray = manifests.join(".vmconfig_knc_debian-13_arm64.json.A1b2C3.tmp");
    std::fs::write(&stray, b"half a manifest").unwrap();
    let kept = manifests.join("notes.tmp");
    std::fs::write(&kept, b"not ours").unwrap();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    assert!(!stray.exists(), "the stray temporary file is gone");
    assert!(kept.exists(), "a file that is not one of ours stays");
}

#[tokio::test]
async fn an_artifact_deleted_while_the_run_goes_on_is_not_marked_cached() {
    let env = Env::new().await;
    let (image, size) = {
        let m = env.mirror_manifest("vmconfig_knc_debian-13_arm64.json");
        let image = &m["vmconfig"]["os"]["image"];
        let url = image["url"].as_str().unwrap().trim_start_matches("http://mirror.invalid").to_owned();
        (url, image["size"].as_u64().unwrap())
    };
    // The OS image trickles in while another artifact is already in place.
    env.mirror.set_fault(&image, xtask::mirror::Fault::Slow { bytes_per_sec: (size / 3).max(1) }, None);
    let manager = env.manager();
    let run = tokio::spawn({
        let manager = manager.clone();
        async move { manager.download(KIND, ARCH, DownloadOptions::default()).await }
    });
    let runc = {
        let m = env.mirror_manifest("vmconfig_knc_debian-13_arm64.json");
        let dep: deps_manager::manifest::Dependency =
            serde_json::from_value(m["vmconfig"]["dependencies"]["runc"].clone()).unwrap();
        manager.vmconfig_artifact_cache_path("runc", &dep).unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !runc.is_file() {
        assert!(std::time::Instant::now() < deadline && !run.is_finished(), "runc never arrived");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    std::fs::remove_file(&runc).unwrap();
    let err = run.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("runc") && err.to_string().contains("deleted"), "{err}");
    assert!(!manager.vmconfig_manifest_cache_path(KIND, ARCH).unwrap().exists(), "nothing claims runc");
}
