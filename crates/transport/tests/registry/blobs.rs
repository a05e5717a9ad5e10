//! Blobs: streamed and verified into place with progress, resumed with
//! `Range` after a cut, and fetched through a redirect to a storage host that
//! never sees our token.

use std::sync::Mutex;

use deps_transport::{Error, RegistryConfig};
use xtask::mirror::Fault;

use crate::support::{Env, Image};

async fn download(env: &Env, image: &Image, name: &str) -> Result<deps_store::Committed, Error> {
    let size = image.layer.len() as u64;
    let client = env.client();
    client
        .download_blob(
            &image.registry,
            &image.repository,
            &image.layer_digest,
            size,
            env.dest(name),
            &|_, _| {},
        )
        .await
}

#[tokio::test]
async fn a_blob_lands_verified_with_progress() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    let seen = Mutex::new(Vec::new());
    let progress = |current: u64, total: u64| seen.lock().unwrap().push((current, total));
    let size = caddy.layer.len() as u64;
    let done = env
        .client()
        .download_blob(
            &caddy.registry,
            &caddy.repository,
            &caddy.layer_digest,
            size,
            env.dest("l"),
            &progress,
        )
        .await
        .unwrap();
    assert_eq!(done.digest, caddy.layer_digest);
    assert_eq!(std::fs::read(env.dest("l")).unwrap(), caddy.layer);
    assert_eq!(seen.lock().unwrap().last(), Some(&(size, size)));
}

#[tokio::test]
async fn a_cut_body_resumes_with_range() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    let client = env.client();
    // Get the token first: the fault counts every request to the path, a 401 too.
    client.get_manifest(&caddy.registry, &caddy.repository, &caddy.tag, None).await.unwrap();
    env.mirror.set_fault(&caddy.layer_path(), Fault::Truncate { after: 40_000 }, Some(1));
    let size = caddy.layer.len() as u64;
    let dest = env.dest("l");
    client
        .download_blob(&caddy.registry, &caddy.repository, &caddy.layer_digest, size, dest, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(std::fs::read(env.dest("l")).unwrap(), caddy.layer);
    let gets = env.requests_under(&caddy.layer_path());
    assert_eq!(gets.len(), 2, "{gets:#?}");
    assert_eq!(gets[1].range.as_deref(), Some("bytes=40000-"));
    assert_eq!(gets[1].status, 206);
    assert!(gets.iter().all(|r| r.authorization));
}

#[tokio::test]
async fn a_redirect_to_storage_drops_the_token_and_resumes_there() {
    let (env, images) = Env::standard().await;
    let cilium = &images[1];
    env.mirror.set_blob_redirect(true);
    let storage_path = format!("/blobs/sha256/{}", cilium.layer_digest.hex());
    env.mirror.set_fault(&storage_path, Fault::Truncate { after: 30_000 }, Some(1));
    download(&env, cilium, "l").await.unwrap();
    assert_eq!(std::fs::read(env.dest("l")).unwrap(), cilium.layer);

    let storage_host = env.mirror.storage_url().trim_start_matches("http://").to_owned();
    let log = env.mirror.requests();
    let at_storage: Vec<_> = log.iter().filter(|r| r.host == storage_host).collect();
    assert_eq!(at_storage.len(), 2, "{log:#?}");
    assert!(at_storage.iter().all(|r| !r.authorization), "the storage host never sees the token: {log:#?}");
    assert_eq!(at_storage[1].range.as_deref(), Some("bytes=30000-"));
    let redirects: Vec<_> = log.iter().filter(|r| r.status == 307).collect();
    assert!(redirects.len() == 2 && redirects.iter().all(|r| r.authorization), "{log:#?}");
}

#[tokio::test]
async fn a_missing_blob_is_a_clear_error() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    let missing = crate::support::sha256(b"not in the registry");
    let client = env.client();
    let err = client
        .download_blob(&caddy.registry, &caddy.repository, &missing, 3, env.dest("m"), &|_, _| {})
        .await;
    let err = err.unwrap_err();
    assert!(matches!(err, Error::BlobUnknown { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&missing.to_string()) && err.to_string().contains("library/caddy"),
        "{err}"
    );
}

#[tokio::test]
async fn wrong_blob_bytes_are_refused_and_not_kept() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    env.mirror.set_fault(&caddy.layer_path(), Fault::WrongBytes, None);
    let err = download(&env, caddy, "l").await.unwrap_err();
    assert!(err.to_string().contains(&caddy.layer_digest.to_string()), "{err}");
    assert!(!env.dest("l").exists());
}

#[test]
fn download_requests_never_show_their_authorization() {
    let request = deps_transport::DownloadRequest {
        url: "http://127.0.0.1:1/v2/a/blobs/x".into(),
        dest: "/tmp/x".into(),
        digest: crate::support::sha256(b"x"),
        size: Some(1),
        policy: crate::support::fast(0),
        authorization: Some("Bearer s3cret-token".into()),
    };
    let debug = format!("{request:?}");
    assert!(debug.contains("<redacted>") && !debug.contains("s3cret"), "{debug}");
}

#[tokio::test]
async fn a_blob_redirect_to_plain_http_elsewhere_needs_the_registry_allowance() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    env.mirror.set_registry_auth(false);
    // 0.0.0.0 reaches the same mirror on Linux, but is not loopback to the URL policy.
    let port = env.mirror.base_url().rsplit(':').next().unwrap().to_owned();
    let elsewhere = format!("0.0.0.0:{port}");
    let target = format!("http://{elsewhere}{}", caddy.layer_path());
    env.mirror.set_fault(&caddy.layer_path(), Fault::RedirectTo(target.clone()), Some(1));
    let err = download(&env, caddy, "refused").await.unwrap_err();
    assert!(matches!(&err, Error::RedirectRefused { target: t, .. } if *t == target), "{err:?}");
    assert!(!env.dest("refused").exists());

    // Listed as an insecure registry: the client's redirect policy follows it.
    env.mirror.set_fault(&caddy.layer_path(), Fault::RedirectTo(target), Some(1));
    let config = RegistryConfig { insecure_hosts: vec![elsewhere], ..env.config() };
    let size = caddy.layer.len() as u64;
    env.client_with(config)
        .download_blob(
            &caddy.registry,
            &caddy.repository,
            &caddy.layer_digest,
            size,
            env.dest("ok"),
            &|_, _| {},
        )
        .await
        .unwrap();
    assert_eq!(std::fs::read(env.dest("ok")).unwrap(), caddy.layer);
}
