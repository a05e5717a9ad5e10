//! Real programs against our fixtures: the images pushed into a real
//! registry (Debian's `docker-registry`, with Debian's `skopeo`) keep every
//! digest, a pull of each tag there answering the same index (or chart
//! manifest) as the fixture; and skopeo, a real client, pulls from the fake
//! mirror through its token auth and blob redirects. Skipped with a note
//! when a program is not installed.

use std::path::Path;

use sha2::{Digest as _, Sha256};
use xtask::registry::{RealRegistry, SKOPEO, push_fixture_images};

use crate::client::request;

const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

#[tokio::test]
async fn pushed_fixture_images_keep_their_digests() {
    let work = tempfile::tempdir().unwrap();
    let Some(registry) = RealRegistry::start(&work.path().join("registry")).unwrap() else { return };
    if !Path::new(SKOPEO).is_file() {
        eprintln!("note: {SKOPEO} is not installed; skipping");
        return;
    }
    assert!(registry.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(registry.base_url(), format!("http://{}", registry.host()));
    let mirror = work.path().join("mirror");
    let summary = crate::images::generate(&mirror);
    push_fixture_images(&mirror, &registry, "mirror/").unwrap();

    let mut want: Vec<(String, String, String)> = summary
        .images
        .iter()
        .map(|i| (i.repository.clone(), i.tag.clone(), i.index.digest.clone()))
        .collect();
    want.extend(
        summary.charts.iter().map(|c| (c.repository.clone(), c.tag.clone(), c.manifest.digest.clone())),
    );
    want.dedup();
    for (repository, tag, digest) in want {
        let path = format!("/v2/mirror/{repository}/manifests/{tag}");
        let reply = request(&registry.base_url(), "GET", &path, &[("Accept", ACCEPT_ALL)]).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("docker-content-digest"), Some(digest.as_str()), "{path}");
        assert_eq!(format!("sha256:{}", hex::encode(Sha256::digest(&reply.body))), digest, "{path}");
    }
    // Blobs came along too, shared base layer included.
    let image = summary.images_of("quay.io/cilium/operator-generic").next().unwrap();
    let path = format!("/v2/mirror/quay.io/cilium/operator-generic/blobs/{}", image.layers[0].digest);
    assert_eq!(
        request(&registry.base_url(), "HEAD", &path, &[]).await.content_length(),
        Some(image.layers[0].size)
    );
}

#[test]
fn a_registry_that_is_dropped_stops() {
    let work = tempfile::tempdir().unwrap();
    let Some(registry) = RealRegistry::start(work.path()).unwrap() else { return };
    let addr = registry.host();
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    drop(registry);
    assert!(std::net::TcpStream::connect(&addr).is_err(), "nothing listens on {addr} after drop");
}

#[tokio::test]
async fn skopeo_pulls_from_the_fake_mirror_through_tokens_and_redirects() {
    if !Path::new(SKOPEO).is_file() {
        eprintln!("note: {SKOPEO} is not installed; skipping");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("mirror");
    let summary = crate::images::generate(&root);
    let mirror = xtask::mirror::Mirror::start(root).await.unwrap();
    mirror.set_blob_redirect(true);
    for repository in ["docker.io/library/caddy", "quay.io/cilium/cilium"] {
        let image = summary.images_of(repository).next().unwrap();
        let source = format!("docker://{}/{repository}:{}", mirror.registry_host(), image.tag);
        // skopeo 1.9 writes Docker manifest lists to `dir:` only, not to `oci:`.
        let pulled = work.path().join(repository.replace('/', "_"));
        let dest = format!("dir:{}", pulled.display());
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(SKOPEO)
                .args(["--insecure-policy", "copy", "--quiet", "--all", "--preserve-digests"])
                .args(["--src-tls-verify=false", &source, &dest])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let top = std::fs::read(pulled.join("manifest.json")).unwrap();
        assert_eq!(
            format!("sha256:{}", hex::encode(Sha256::digest(&top))),
            image.index.digest,
            "{repository}"
        );
        let hex = image.layers[0].digest.strip_prefix("sha256:").unwrap();
        assert_eq!(std::fs::metadata(pulled.join(hex)).unwrap().len(), image.layers[0].size);
    }
    let log = mirror.requests();
    assert!(mirror.tokens_issued() >= 2);
    assert!(log.iter().any(|r| r.status == 307), "blobs were redirected");
    let storage = mirror.storage_url();
    let storage_host = storage.trim_start_matches("http://");
    assert!(log.iter().filter(|r| r.host == storage_host).all(|r| !r.authorization && r.status == 200));
}
