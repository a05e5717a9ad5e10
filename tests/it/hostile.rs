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
