//! Manifests by tag and by digest: exact bytes, media types from the
//! registry, digests verified against everything the caller and the
//! registry named; HEAD; 404 and transient failures.

use deps_transport::{Error, RegistryClient};
use xtask::mirror::Fault;

use crate::support::{DOCKER_MANIFEST, Env, OCI_MANIFEST, sha256};

#[tokio::test]
async fn by_tag_returns_the_exact_bytes_and_media_type() {
    let (env, images) = Env::standard().await;
    let client = env.client();
    for (image, media_type) in images.iter().zip([DOCKER_MANIFEST, OCI_MANIFEST]) {
        let got = client.get_manifest(&image.registry, &image.repository, &image.tag, None).await.unwrap();
        assert_eq!(got.bytes, image.manifest, "never re-serialised");
        assert_eq!(got.media_type, media_type);
        assert_eq!(got.media_type, image.media_type);
        assert_eq!(got.digest, image.digest);
    }
}

#[tokio::test]
async fn by_digest_and_with_an_expected_digest() {
    let (env, images) = Env::standard().await;
    let cilium = &images[1];
    let client = env.client();
    let reference = cilium.digest.to_string();
    let got =
        client.get_manifest(&cilium.registry, &cilium.repository, &reference, Some(&cilium.digest)).await;
    assert_eq!(got.unwrap().bytes, cilium.manifest);

    let other = sha256(b"something else");
    let err = client
        .get_manifest(&cilium.registry, &cilium.repository, &cilium.tag, Some(&other))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::ManifestDigestMismatch { .. }), "{err:?}");
    assert!(msg.contains(&other.to_string()) && msg.contains(&cilium.digest.to_string()), "{msg}");
}

#[tokio::test]
async fn wrong_bytes_are_a_mismatch_by_digest_and_by_tag() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    let client = env.client();
    let reference = caddy.digest.to_string();
    env.mirror.set_fault(&caddy.manifest_path(&reference), Fault::WrongBytes, None);
    let err = client.get_manifest(&caddy.registry, &caddy.repository, &reference, None).await.unwrap_err();
    assert!(
        matches!(&err, Error::ManifestDigestMismatch { expected, .. } if *expected == reference),
        "{err:?}"
    );
    let gets = env.requests_under(&caddy.manifest_path(&reference));
    assert_eq!(gets.iter().filter(|r| r.status == 200).count(), 1, "a mismatch is not retried");

    // By tag, the registry's Docker-Content-Digest is the reference.
    env.mirror.set_fault(&caddy.manifest_path("2"), Fault::WrongBytes, None);
    let err = client.get_manifest(&caddy.registry, &caddy.repository, "2", None).await.unwrap_err();
    assert!(
        matches!(&err, Error::ManifestDigestMismatch { expected, .. } if *expected == reference),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_tags_and_repositories_are_clear_errors() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    let client = env.client();
    let err = client.get_manifest(&caddy.registry, &caddy.repository, "9.9", None).await.unwrap_err();
    assert!(matches!(err, Error::ManifestUnknown { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("manifest 9.9 not found in docker.io via http://127.0.0.1:"), "{msg}");
    assert!(msg.contains("library/caddy"), "{msg}");
    let err = client.get_manifest("ghcr.io", "nobody/nothing", "1", None).await.unwrap_err();
    assert!(err.to_string().contains("nobody/nothing"), "{err}");
    let err = client.get_manifest("ghcr.io", "a", "../../x", None).await.unwrap_err();
    assert!(matches!(err, Error::InvalidReference { .. }), "{err:?}");
}

#[tokio::test]
async fn manifests_over_4_mib_are_refused() {
    let (env, images) = Env::standard().await;
    let cilium = &images[1];
    let padding = "x".repeat(4 << 20);
    let huge = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "annotations": {"padding": padding},
    }))
    .unwrap();
    env.tag_manifest(cilium, &huge, "huge");
    let err =
        env.client().get_manifest(&cilium.registry, &cilium.repository, "huge", None).await.unwrap_err();
    assert!(matches!(err, Error::BodyTooLong { limit: 4194304, .. }), "{err:?}");
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let (env, images) = Env::standard().await;
    let cilium = &images[1];
    env.mirror.set_fault(&cilium.manifest_path(&cilium.tag), Fault::Status(503), Some(2));
    let got =
        env.client().get_manifest(&cilium.registry, &cilium.repository, &cilium.tag, None).await.unwrap();
    assert_eq!(got.digest, cilium.digest);

    env.mirror.set_fault(&cilium.manifest_path(&cilium.tag), Fault::Status(503), None);
    let err =
        env.client().get_manifest(&cilium.registry, &cilium.repository, &cilium.tag, None).await.unwrap_err();
    assert!(err.to_string().contains("after 3 retries"), "{err}");
}

#[tokio::test]
async fn the_token_endpoint_is_retried_too() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    env.mirror.set_fault("/token", Fault::TooManyRequests { retry_after_secs: 0 }, Some(2));
    env.client().get_manifest(&caddy.registry, &caddy.repository, &caddy.tag, None).await.unwrap();
    assert_eq!(env.requests_under("/token").len(), 3);
}

#[test]
fn only_public_ecr_is_limited() {
    assert_eq!(RegistryClient::host_limit("public.ecr.aws"), Some(1));
    assert_eq!(RegistryClient::host_limit("docker.io"), None);
}
