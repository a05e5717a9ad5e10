//! Seed snapshots: fetched by URL and checked against sha512, or copied from
//! a local manifest's `path`; the lookups that other commands use.

use deps_manager::DownloadOptions;

use crate::support::Env;

const KIND: &str = "knc";
const ARCH: &str = "arm64";

#[tokio::test]
async fn url_snapshots_are_downloaded_and_found_by_version() {
    let env = Env::new().await;
    let manager = env.manager();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let version = manager.cached_seeds_version().unwrap();
    assert_eq!(version, "fixture-1");
    let path = manager.cached_seed_snapshot_path("minimal", &version).unwrap();
    assert!(path.starts_with(manager.seeds_snapshots_cache_dir()));
    assert!(path.ends_with("minimal/fixture-1/minimal.netsy"), "{}", path.display());
    let err = manager.cached_seed_snapshot_path("minimal", "other").unwrap_err();
    assert!(err.to_string().contains("other"), "{err}");
}

#[tokio::test]
async fn skip_seeds_leaves_seeds_alone() {
    let env = Env::new().await;
    let opts = DownloadOptions::default().skip_seeds(true);
    env.manager().download(KIND, ARCH, opts).await.unwrap();
    assert!(env.gets_under("/manifests/seeds.json").is_empty());
    assert!(env.manager().cached_seeds_version().unwrap_err().is_not_cached());
}

#[tokio::test]
async fn local_path_snapshots_are_copied_relative_to_the_manifest() {
    let env = Env::new().await;
    let local = env.mirror_dir().join("local").join("seeds.json");
    let opts = DownloadOptions::default().seeds_manifest_path(Some(local));
    let manager = env.manager();
    manager.download(KIND, ARCH, opts).await.unwrap();
    let version = manager.cached_seeds_version().unwrap();
    let path = manager.cached_seed_snapshot_path("minimal", &version).unwrap();
    let source = env.mirror_dir().join("local").join("minimal.netsy");
    assert_eq!(std::fs::read(path).unwrap(), std::fs::read(source).unwrap());
}

#[tokio::test]
async fn ensure_seed_snapshot_fetches_when_needed() {
    let env = Env::new().await;
    let manager = env.manager();
    let path = manager.ensure_seed_snapshot("recommended", "fixture-1", None).await.unwrap();
    assert!(path.is_file());
    env.mirror.clear_requests();
    let again = manager.ensure_seed_snapshot("recommended", "fixture-1", None).await.unwrap();
    assert_eq!(path, again);
    assert!(env.mirror.requests().is_empty(), "cached snapshot needs no request");
}

#[tokio::test]
async fn corrupt_seed_download_is_rejected() {
    let env = Env::new().await;
    let m = env.mirror_manifest("seeds.json");
    let url = m["seeds"]["snapshots"]["minimal"]["url"].as_str().unwrap().to_owned();
    let path = url.trim_start_matches("http://mirror.invalid").to_owned();
    env.mirror.set_fault(&path, xtask::mirror::Fault::WrongBytes, None);
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("minimal"), "{err}");
    assert!(env.manager().cached_seeds_version().is_err());
}
