//! verify, status, staleness and the update nudge against a real cache.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use deps_manager::{DownloadOptions, VerifyOptions};

use crate::support::{Env, files_under, read_json};

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

/// Flips a byte of `path` in place and puts its mtime back: same size, inode
/// and mtime, different content (what a failing disk does).
fn corrupt_keeping_metadata(path: &Path) {
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    bytes[0] ^= 0xff;
    let mut file = std::fs::File::options().write(true).open(path).unwrap();
    file.write_all(&bytes).unwrap();
    file.set_modified(mtime).unwrap();
}

/// Sets a file's mtime to now, as `touch` does.
fn touch(path: &Path) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(1)).unwrap();
}

/// The largest layer blob of the cached component images.
fn largest_image_blob(env: &Env) -> PathBuf {
    let root = env.cache_dir().join("registry/mirror");
    files_under(&root)
        .into_iter()
        .filter(|f| f.contains("/blobs/sha256/"))
        .map(|f| root.join(f))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
}

#[tokio::test]
async fn fingerprints_spare_unchanged_files_and_deep_rehashes_everything() {
    let env = Env::new().await;
    let manager = env.manager();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    assert!(env.cache_dir().join(".fingerprints.json").is_file());
    let manifest = manager.verify(KIND, ARCH).unwrap();
    let kubectl = manager.vmconfig_artifact_cache_path("kubectl", &manifest.vmconfig.dependencies["kubectl"]);
    let kubectl = kubectl.unwrap();
    let blob = largest_image_blob(&env);
    corrupt_keeping_metadata(&kubectl);
    corrupt_keeping_metadata(&blob);

    // Nothing in the metadata changed: a plain verify and a warm download trust both files
    // without reading them (which is what makes them quick)...
    manager.verify(KIND, ARCH).unwrap();
    env.mirror.clear_requests();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    assert!(env.gets_under("/vmconfig/artifacts/").is_empty(), "{:?}", env.gets_under("/"));
    assert!(env.gets_under("/v2/").iter().all(|r| !r.path.contains("/blobs/")));

    // ...while --deep reads everything and finds both.
    let deep = VerifyOptions::default().deep(true);
    let Err(deps_manager::Error::Incomplete { problems }) = manager.verify_with(KIND, ARCH, deep) else {
        panic!("deep verify must find the corruption");
    };
    let paths: Vec<&Path> = problems.iter().map(|p| p.path.as_path()).collect();
    assert_eq!(paths.len(), 2, "{problems:?}");
    assert!(paths.contains(&kubectl.as_path()) && paths.contains(&blob.as_path()), "{problems:?}");
    assert!(problems.iter().all(|p| p.reason.contains("digest mismatch")), "{problems:?}");

    // Any metadata change sends both back to hashing: verify reports them, download repairs them.
    touch(&kubectl);
    touch(&blob);
    let Err(deps_manager::Error::Incomplete { problems }) = manager.verify(KIND, ARCH) else {
        panic!("a touched file is re-hashed");
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    manager.verify_with(KIND, ARCH, deep).unwrap();
}

#[tokio::test]
async fn a_lost_fingerprint_file_costs_a_rehash_and_nothing_else() {
    let env = Env::new().await;
    let manager = env.manager();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let fingerprints = env.cache_dir().join(".fingerprints.json");
    std::fs::write(&fingerprints, b"{ not json").unwrap();
    env.mirror.clear_requests();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    assert!(env.gets_under("/vmconfig/artifacts/").is_empty(), "intact files are re-hashed, not re-fetched");
    let saved: serde_json::Value = read_json(&fingerprints);
    assert!(saved["files"].as_object().unwrap().len() > 10, "rewritten whole: {saved}");
    std::fs::remove_file(&fingerprints).unwrap();
    manager.verify(KIND, ARCH).unwrap();
    assert!(fingerprints.is_file(), "verify saves what it hashed when the cache is idle");
}
