//! Component images and template charts through the mirror's registry into
//! zot's OCI layout, read back by real tools.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use deps_manager::DownloadOptions;
use serde_json::Value;
use xtask::mirror::Fault;

use crate::support::{Env, assert_zot_serves, have_tool, read_json, recording};

const KIND: &str = "knc";

fn both_archs() -> DownloadOptions {
    DownloadOptions::default().archs(vec!["amd64".into(), "arm64".into()])
}

fn image_requests(env: &Env) -> Vec<xtask::mirror::RequestRecord> {
    env.mirror.requests().into_iter().filter(|r| r.path.starts_with("/v2/") && r.method == "GET").collect()
}

fn repo_dir(env: &Env, repo: &str) -> PathBuf {
    env.cache_dir().join("registry/mirror").join(repo)
}

#[tokio::test]
async fn images_land_in_zot_layout_and_a_second_run_pulls_nothing() {
    let env = Env::new().await;
    let manager = env.manager();
    manager.download(KIND, "arm64", both_archs()).await.unwrap();

    let cached = read_json(&manager.components_manifest_cache_path());
    let images = cached["components"]["images"].as_array().unwrap();
    let marked: Vec<&Value> = images.iter().filter(|i| i["cached"] == true).collect();
    assert!(!marked.is_empty());
    for image in images {
        let addon = image["addon"] == true;
        let provider_specific = image.get("providers").is_some();
        assert_eq!(image["cached"] == true, !addon && !provider_specific, "{image}");
    }
    assert!(repo_dir(&env, "docker.io/library/caddy/oci-layout").is_file());
    manager.verify(KIND, "arm64").unwrap();
    assert_zot_serves(&env);

    env.mirror.clear_requests();
    manager.download(KIND, "arm64", both_archs()).await.unwrap();
    assert!(image_requests(&env).is_empty(), "second run pulled {:?}", image_requests(&env));
}

#[tokio::test]
async fn a_cache_in_the_old_layout_moves_to_the_registry_cache_without_a_download() {
    let env = Env::new().await;
    let manager = env.manager();
    manager.download(KIND, "arm64", both_archs()).await.unwrap();
    // What an older deps left: the image store under components/images.
    let (store, legacy) =
        (env.cache_dir().join("registry/mirror"), env.cache_dir().join("components/images"));
    std::fs::rename(&store, &legacy).unwrap();

    env.mirror.clear_requests();
    let (opts, events) = recording();
    manager.download(KIND, "arm64", opts.archs(vec!["amd64".into(), "arm64".into()])).await.unwrap();
    let blobs: Vec<_> = image_requests(&env).into_iter().filter(|r| r.path.contains("/blobs/")).collect();
    assert!(blobs.is_empty(), "the move fetched blobs again: {blobs:?}");
    assert!(!legacy.exists(), "the old store is gone");
    assert!(repo_dir(&env, "docker.io/library/caddy/index.json").is_file());
    let events = events.lock().unwrap().clone();
    assert!(events.iter().any(|e| e.message.starts_with("Moved the image store")), "the move is reported");
    manager.verify(KIND, "arm64").unwrap();
    assert_zot_serves(&env);
}

#[tokio::test]
async fn two_archs_of_one_tag_share_one_tag_index() {
    let env = Env::new().await;
    env.manager().download(KIND, "arm64", both_archs()).await.unwrap();
    let index = read_json(&repo_dir(&env, "docker.io/library/caddy").join("index.json"));
    let tagged: Vec<&Value> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["annotations"]["org.opencontainers.image.ref.name"] == "2")
        .collect();
    assert_eq!(tagged.len(), 1, "{index}");
    let digest = tagged[0]["digest"].as_str().unwrap().trim_start_matches("sha256:");
    let tag_index = read_json(&repo_dir(&env, "docker.io/library/caddy").join("blobs/sha256").join(digest));
    let platforms: Vec<String> = tag_index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(platforms.len(), 2, "{tag_index}");
    assert!(platforms.contains(&"amd64".to_owned()) && platforms.contains(&"arm64".to_owned()));
}

#[tokio::test]
async fn a_base_layer_shared_by_two_repositories_is_fetched_once() {
    let env = Env::new().await;
    env.manager().download(KIND, "arm64", DownloadOptions::default()).await.unwrap();
    let cilium = blobs_of(&repo_dir(&env, "quay.io/cilium/cilium"));
    let operator = blobs_of(&repo_dir(&env, "quay.io/cilium/operator-generic"));
    let shared: Vec<&String> = cilium.iter().filter(|b| operator.contains(b)).collect();
    assert!(!shared.is_empty(), "fixtures share a base layer");
    for hex in shared {
        let gets = image_requests(&env)
            .into_iter()
            .filter(|r| r.path.ends_with(&format!("/blobs/sha256:{hex}")))
            .count();
        assert_eq!(gets, 1, "shared blob {hex} fetched {gets} times");
        let a = std::fs::metadata(repo_dir(&env, "quay.io/cilium/cilium").join("blobs/sha256").join(hex))
            .unwrap();
        let b = std::fs::metadata(
            repo_dir(&env, "quay.io/cilium/operator-generic").join("blobs/sha256").join(hex),
        )
        .unwrap();
        assert_eq!(a.ino(), b.ino(), "stored once, hard-linked");
    }
}

fn blobs_of(repo: &Path) -> Vec<String> {
    std::fs::read_dir(repo.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn a_blob_with_wrong_bytes_is_rejected_and_not_kept() {
    let env = Env::new().await;
    let components = env.mirror_manifest("components.json");
    let coredns = components["components"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["image"].as_str().unwrap().contains("coredns") && i["platform"] == "linux/arm64")
        .unwrap()
        .clone();
    // Corrupt every blob of the coredns repository.
    let manifest_path =
        format!("/v2/docker.io/coredns/coredns/manifests/{}", coredns["digest"].as_str().unwrap());
    env.manager().download(KIND, "arm64", DownloadOptions::default().dry_run(true)).await.unwrap();
    let repo = env.mirror_dir().join("registry/docker.io/coredns/coredns/blobs/sha256");
    for blob in std::fs::read_dir(&repo).unwrap() {
        let name = blob.unwrap().file_name().to_string_lossy().into_owned();
        env.mirror.set_fault(
            &format!("/v2/docker.io/coredns/coredns/blobs/sha256:{name}"),
            Fault::WrongBytes,
            None,
        );
    }
    let err = env.manager().download(KIND, "arm64", DownloadOptions::default()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("coredns") && msg.contains("expected"), "{msg}");
    let kept = repo_dir(&env, "docker.io/coredns/coredns").join("blobs/sha256");
    let layers_kept = std::fs::read_dir(&kept).map(|d| d.count()).unwrap_or(0);
    assert!(layers_kept <= 1, "only the verified manifest may be kept: {layers_kept} ({manifest_path})");
}

#[tokio::test]
async fn an_expired_token_mid_run_reauthenticates() {
    let env = Env::new().await;
    env.mirror.set_registry_auth(true);
    let components = env.mirror_manifest("components.json");
    assert!(components["components"]["images"].as_array().unwrap().len() > 4);
    // Revoke every token as soon as the first is issued: later requests of the
    // run carry a token the registry no longer accepts.
    env.mirror.set_token_ttl(Duration::from_secs(3600));
    let mirror = &env.mirror;
    let manager = env.manager();
    let run = manager.download(KIND, "arm64", DownloadOptions::default().concurrency(1));
    let revoke = async {
        while mirror.tokens_issued() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        mirror.revoke_tokens();
    };
    let (result, ()) = tokio::join!(run, revoke);
    result.unwrap();
    assert!(mirror.tokens_issued() >= 2, "re-authenticated after the revocation");
    manager.verify(KIND, "arm64").unwrap();
}

#[tokio::test]
async fn oci_chart_is_cached_and_unpacks_with_tar() {
    let env = Env::new().await;
    let manager = env.manager();
    manager.download(KIND, "arm64", DownloadOptions::default()).await.unwrap();
    let (chart, path) = manager.cached_template_chart("web").unwrap();
    assert!(chart.cached && chart.chart_layer_digest.is_some());
    assert_eq!(manager.cached_template_chart_path("web").unwrap(), path);
    let out = env.dir.path().join("unpacked");
    std::fs::create_dir_all(&out).unwrap();
    let status = Command::new("tar").arg("-xzf").arg(&path).arg("-C").arg(&out).status().unwrap();
    assert!(status.success());
    assert!(out.join("web/Chart.yaml").is_file());
    assert!(
        manager.cached_template_chart("missing").unwrap_err().to_string().contains("run `deps download`")
    );
}

#[tokio::test]
async fn a_local_chart_is_packaged_reproducibly() {
    let env = Env::new().await;
    let local = env.mirror_dir().join("local/templates.json");
    let opts = || DownloadOptions::default().templates_manifest_path(Some(local.clone()));
    let manager = env.manager();
    manager.download(KIND, "arm64", opts()).await.unwrap();
    let (first, path) = manager.cached_template_chart("web").unwrap();
    std::fs::remove_dir_all(manager.templates_charts_cache_dir()).unwrap();
    manager.download(KIND, "arm64", opts()).await.unwrap();
    let (second, _) = manager.cached_template_chart("web").unwrap();
    assert_eq!(first.chart_layer_digest, second.chart_layer_digest, "same directory, same digest");
    let listing = Command::new("tar").arg("-tzf").arg(&path).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.lines().all(|l| l.starts_with("web/")), "{listing}");
    assert!(listing.contains("web/Chart.yaml") && !listing.contains(".tmp"), "{listing}");
}

#[tokio::test]
async fn skopeo_reads_single_multi_arch_and_pinned_images() {
    let env = Env::new().await;
    env.manager().download(KIND, "arm64", both_archs()).await.unwrap();
    if !have_tool("skopeo") {
        return;
    }
    for (repo, tag) in [
        ("docker.io/library/caddy", "2"),
        ("quay.io/cilium/cilium", "v1.16.3"),
        ("docker.io/coredns/coredns", "1.11.3"),
    ] {
        let layout = format!("oci:{}:{tag}", repo_dir(&env, repo).display());
        let out = Command::new("skopeo").args(["inspect", "--raw", &layout]).output().unwrap();
        assert!(out.status.success(), "skopeo inspect {layout}: {}", String::from_utf8_lossy(&out.stderr));
        let dest = env.dir.path().join("copy").join(repo.replace('/', "_"));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let out = Command::new("skopeo")
            .args(["copy", "--override-arch", "arm64", &layout, &format!("dir:{}", dest.display())])
            .output()
            .unwrap();
        assert!(out.status.success(), "skopeo copy {layout}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // The pinned reference's tag points at the upstream index digest.
    let components = env.mirror_manifest("components.json");
    let pinned = components["components"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["image"].as_str().unwrap().starts_with("quay.io/cilium/cilium:"))
        .unwrap()
        .clone();
    let index = read_json(&repo_dir(&env, "quay.io/cilium/cilium").join("index.json"));
    let tagged = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == "v1.16.3")
        .unwrap()
        .clone();
    assert_eq!(tagged["digest"], pinned["index"]);
}

#[tokio::test]
async fn pulls_from_a_real_registry() {
    if !have_tool("skopeo") {
        return;
    }
    let env = Env::new().await;
    let Some(registry) = xtask::registry::RealRegistry::start(&env.dir.path().join("registry")).unwrap()
    else {
        assert!(std::env::var_os("DEPS_REQUIRE_TOOLS").is_none(), "docker-registry is required");
        return;
    };
    xtask::registry::push_fixture_images(&env.mirror_dir(), &registry, "").unwrap();
    let config = deps_manager::RegistryConfig {
        mirror: Some(registry.base_url()),
        manifest_policy: crate::support::fast(3),
        blob_policy: crate::support::fast(5),
        ..deps_manager::RegistryConfig::default()
    };
    let manager = env.manager().with_registry_config(config);
    manager.download(KIND, "arm64", both_archs()).await.unwrap();
    manager.verify(KIND, "arm64").unwrap();
    let cached = read_json(&manager.components_manifest_cache_path());
    assert!(cached["components"]["images"].as_array().unwrap().iter().any(|i| i["cached"] == true));
}

#[tokio::test]
async fn skopeo_reads_a_single_arch_tag() {
    let env = Env::new().await;
    env.manager().download(KIND, "arm64", DownloadOptions::default()).await.unwrap();
    let repo = repo_dir(&env, "docker.io/library/caddy");
    let index = read_json(&repo.join("index.json"));
    let tagged = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == "2")
        .unwrap()
        .clone();
    let tag_index = read_json(
        &repo.join("blobs/sha256").join(tagged["digest"].as_str().unwrap().trim_start_matches("sha256:")),
    );
    assert_eq!(tag_index["manifests"].as_array().unwrap().len(), 1, "one platform under the tag");
    if !have_tool("skopeo") {
        return;
    }
    let layout = format!("oci:{}:2", repo.display());
    let dest = env.dir.path().join("copy");
    let out = Command::new("skopeo")
        .args(["copy", "--override-arch", "arm64", &layout, &format!("dir:{}", dest.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo copy {layout}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(dest.join("manifest.json").is_file());
}
