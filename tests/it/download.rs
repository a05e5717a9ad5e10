//! Cold and warm downloads, dry runs, the mirror override.

use deps_manager::{DownloadEventType as Ev, DownloadOptions};

use crate::support::{Env, files_under, read_json, recording};

const KIND: &str = "knc";
const ARCH: &str = "arm64";

#[tokio::test]
async fn cold_download_fetches_everything_and_second_run_fetches_nothing() {
    let env = Env::new().await;
    let manager = env.manager();
    let (opts, events) = recording();
    manager.download(KIND, ARCH, opts).await.unwrap();

    // Every artifact of the manifest is in the cache with its digest, marked cached.
    let cached = read_json(&manager.vmconfig_manifest_cache_path(KIND, ARCH).unwrap());
    let deps = cached["vmconfig"]["dependencies"].as_object().unwrap();
    assert!(deps.len() > 10, "fixture has the real set of dependencies");
    for (name, dep) in deps {
        assert_eq!(dep["cached"], true, "{name} marked cached");
    }
    assert_eq!(cached["vmconfig"]["os"]["image"]["cached"], true);
    let artifact_gets = env.gets_under("/vmconfig/artifacts/");
    assert_eq!(artifact_gets.len(), deps.len() + 1, "one GET per artifact and the OS image");
    manager.verify(KIND, ARCH).unwrap();

    let kinds: Vec<Ev> = events.lock().unwrap().iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&Ev::Queued) && kinds.contains(&Ev::Started) && kinds.contains(&Ev::Done));
    assert_eq!(
        events.lock().unwrap().last().unwrap().message,
        "All dependencies for knc_debian-13_arm64 are up to date."
    );
    // The other manifests are cached too, and seeds are in place.
    assert!(manager.components_manifest_cache_path().is_file());
    assert!(manager.templates_manifest_cache_path().is_file());
    let seeds = read_json(&manager.seeds_manifest_cache_path());
    assert_eq!(seeds["seeds"]["snapshots"]["minimal"]["cached"], true);

    // Second run: nothing but manifests is fetched; everything reports cached.
    env.mirror.clear_requests();
    let (opts, events) = recording();
    manager.download(KIND, ARCH, opts).await.unwrap();
    let fetched: Vec<String> = env
        .mirror
        .requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/manifests/"))
        .map(|r| r.path)
        .collect();
    assert!(fetched.is_empty(), "second run fetched {fetched:?}");
    let events = events.lock().unwrap();
    assert!(events.iter().all(|e| !matches!(e.kind, Ev::Started | Ev::Done)));
    assert!(events.iter().filter(|e| e.kind == Ev::Cached).count() > deps.len());
}

#[tokio::test]
async fn no_temporary_or_partial_files_remain_after_a_run() {
    let env = Env::new().await;
    env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let leftovers: Vec<String> = files_under(&env.cache_dir())
        .into_iter()
        .filter(|f| f.ends_with(".partial") || f.ends_with(".meta") || f.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn dry_run_lists_missing_artifacts_and_writes_nothing() {
    let env = Env::new().await;
    let manager = env.manager();
    let mut plan = manager.download(KIND, ARCH, DownloadOptions::default().dry_run(true)).await.unwrap();
    assert_eq!(plan.cache_dir, env.cache_dir());
    plan.cache_dir = "[CACHE]".into();
    plan.manifest_source = plan.manifest_source.replace(&env.mirror.base_url(), "[MIRROR]");
    insta::assert_debug_snapshot!("dry_run_cold", plan);
    assert!(!env.cache_dir().exists() || files_under(&env.cache_dir()).is_empty());
    assert!(env.gets_under("/vmconfig/artifacts/").is_empty());

    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let plan = manager.download(KIND, ARCH, DownloadOptions::default().dry_run(true)).await.unwrap();
    assert!(plan.missing.is_empty(), "{plan:?}");
}

#[tokio::test]
async fn mirror_override_fetches_artifacts_from_the_mirror_layout() {
    let env = Env::new().await;
    // Upstream URLs point nowhere reachable; only the mirror override can work.
    env.edit_mirror_manifest("vmconfig_knc_debian-13_arm64.json", |m| {
        let deps = m["vmconfig"]["dependencies"].as_object_mut().unwrap();
        for dep in deps.values_mut() {
            let url =
                dep["url"].as_str().unwrap().replace("http://mirror.invalid", "https://upstream.invalid");
            dep["url"] = url.into();
        }
        let url = m["vmconfig"]["os"]["image"]["url"]
            .as_str()
            .unwrap()
            .replace("http://mirror.invalid", "https://upstream.invalid");
        m["vmconfig"]["os"]["image"]["url"] = url.into();
    });
    let opts = DownloadOptions::default().mirror(Some(env.mirror.base_url()));
    env.manager().download(KIND, ARCH, opts).await.unwrap();
    env.manager().verify(KIND, ARCH).unwrap();
}

#[tokio::test]
async fn providers_select_provider_specific_artifacts() {
    let env = Env::new().await;
    env.edit_mirror_manifest("vmconfig_knc_debian-13_arm64.json", |m| {
        m["vmconfig"]["dependencies"]["uidmap"]["providers"] = serde_json::json!(["aws"]);
    });
    let manager = env.manager();
    manager.download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    assert!(env.gets_under("/vmconfig/artifacts/uidmap/").is_empty(), "aws-only artifact skipped");
    let opts = DownloadOptions::default().providers(vec!["AWS".into()]);
    manager.download(KIND, ARCH, opts).await.unwrap();
    assert_eq!(env.gets_under("/vmconfig/artifacts/uidmap/").len(), 1);
}

#[tokio::test]
async fn second_arch_skips_cross_arch_work() {
    let env = Env::new().await;
    let manager = env.manager();
    manager.download(KIND, "amd64", DownloadOptions::default()).await.unwrap();
    env.mirror.clear_requests();
    let opts = DownloadOptions::default().skip_cross_arch_dependencies(true);
    manager.download(KIND, ARCH, opts).await.unwrap();
    let manifests: Vec<String> = env.gets_under("/manifests/").into_iter().map(|r| r.path).collect();
    assert_eq!(manifests, ["/manifests/vmconfig_knc_debian-13_arm64.json"]);
    manager.verify(KIND, "amd64").unwrap();
    manager.verify(KIND, ARCH).unwrap();
}

#[tokio::test]
async fn local_manifest_skips_the_unreleased_stub() {
    let env = Env::new().await;
    let local = env.mirror_dir().join("local").join("vmconfig.json");
    // A local file is not rewritten by the mirror: its artifacts come through the mirror override.
    let opts =
        DownloadOptions::default().vmconfig_manifest_path(Some(local)).mirror(Some(env.mirror.base_url()));
    env.manager().download(KIND, ARCH, opts).await.unwrap();
    assert!(env.gets_under("/vmconfig/artifacts/vmconfig/").is_empty());
    let cached = read_json(&env.manager().vmconfig_manifest_cache_path(KIND, ARCH).unwrap());
    assert!(cached["vmconfig"]["dependencies"]["vmconfig"].get("cached").is_none());
}

#[tokio::test]
async fn published_unreleased_stub_is_an_error() {
    let env = Env::new().await;
    env.edit_mirror_manifest("vmconfig_knc_debian-13_arm64.json", |m| {
        m["vmconfig"]["dependencies"]["vmconfig"] =
            serde_json::json!({"version": "dev", "url": "", "type": "tar.gz", "digest": "", "size": 0});
    });
    let err = env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap_err();
    assert!(
        err.to_string().contains("published vmconfig manifest contains unreleased vmconfig stub"),
        "{err}"
    );
    assert!(env.gets_under("/vmconfig/artifacts/").is_empty());
}
