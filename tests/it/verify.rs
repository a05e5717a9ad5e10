//! verify, status, staleness and the update nudge against a real cache.

use std::time::Duration;

use deps_manager::DownloadOptions;

use crate::support::Env;

const KIND: &str = "knc";
const ARCH: &str = "arm64";

#[tokio::test]
async fn verify_distinguishes_not_cached_from_incomplete() {
    let env = Env::new().await;
    let manager = env.manager();
    assert!(manager.verify(KIND, ARCH).unwrap_err().is_not_cached());

    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let manifest = manager.verify(KIND, ARCH).unwrap();
    let kubectl = &manifest.vmconfig.dependencies["kubectl"];
    let runc = &manifest.vmconfig.dependencies["runc"];
    let kubectl_path = manager.vmconfig_artifact_cache_path("kubectl", kubectl).unwrap();
    let runc_path = manager.vmconfig_artifact_cache_path("runc", runc).unwrap();
    std::fs::write(&kubectl_path, b"tampered").unwrap();
    std::fs::remove_file(&runc_path).unwrap();

    let err = manager.verify(KIND, ARCH).unwrap_err();
    assert!(err.is_incomplete());
    let deps_manager::Error::Incomplete { problems } = &err else { unreachable!() };
    assert_eq!(problems.len(), 2, "every problem is reported: {problems:?}");
    assert!(problems.iter().any(|p| p.path == kubectl_path && p.reason.contains("digest mismatch")));
    assert!(problems.iter().any(|p| p.path == runc_path && p.reason == "missing"));

    // A new download repairs both.
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    manager.verify(KIND, ARCH).unwrap();
}

#[tokio::test]
async fn status_compares_ignoring_cached_markers() {
    let env = Env::new().await;
    let manager = env.manager();
    let (needed, latest) = manager.status(KIND, ARCH).await.unwrap();
    assert!(needed, "nothing cached yet");
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let (needed, _) = manager.status(KIND, ARCH).await.unwrap();
    assert!(!needed, "cached markers do not count as a difference");
    env.edit_mirror_manifest("vmconfig_knc_debian-13_arm64.json", |m| {
        m["vmconfig"]["version"] = "next".into()
    });
    let (needed, newer) = manager.status(KIND, ARCH).await.unwrap();
    assert!(needed);
    assert_ne!(latest.vmconfig.version, newer.vmconfig.version);
}

#[tokio::test]
async fn staleness_and_nudge() {
    let env = Env::new().await;
    let manager = env.manager();
    assert!(manager.is_stale(KIND, ARCH, Duration::from_secs(3600)), "missing counts as stale");
    assert_eq!(
        manager.check_update_nudge(KIND, ARCH, Duration::from_secs(5)).await,
        "",
        "no cache, no nudge"
    );

    let manifest = manager.ensure_vmconfig_manifest_cached(KIND, ARCH).await.unwrap();
    assert!(!manager.is_stale(KIND, ARCH, Duration::from_secs(3600)));
    assert!(manager.is_stale(KIND, ARCH, Duration::ZERO));
    assert_eq!(manager.check_update_nudge(KIND, ARCH, Duration::from_secs(5)).await, "");

    // An old cached manifest and a newer published one.
    let path = manager.vmconfig_manifest_cache_path(KIND, ARCH).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3 * 86_400);
    std::fs::File::options().append(true).open(&path).unwrap().set_modified(old).unwrap();
    env.edit_mirror_manifest("vmconfig_knc_debian-13_arm64.json", |m| {
        m["vmconfig"]["version"] = "next".into()
    });
    let nudge = manager.check_update_nudge(KIND, ARCH, Duration::from_secs(5)).await;
    assert_eq!(
        nudge,
        format!("Newer dependencies available ({} -> next). Run `deps download`.", manifest.vmconfig.version)
    );
    assert!(
        !manager.is_stale(KIND, ARCH, Duration::from_secs(3600)),
        "a successful check touches the manifest"
    );

    // The mirror fails: the nudge says how old the manifest is.
    std::fs::File::options().append(true).open(&path).unwrap().set_modified(old).unwrap();
    env.mirror.set_fault(
        "/manifests/vmconfig_knc_debian-13_arm64.json",
        xtask::mirror::Fault::Status(404),
        None,
    );
    let nudge = manager.check_update_nudge(KIND, ARCH, Duration::from_secs(5)).await;
    assert!(nudge.starts_with("Manifest is 3 days old and we couldn't check for updates."), "{nudge}");
}
