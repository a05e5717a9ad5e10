//! Bearer tokens: fetched once per repository and reused, renewed once after
//! a revocation, shared by concurrent requests; Basic credentials from a
//! Docker config; clear errors when nothing gets past the 401.

use std::time::Duration;

use base64::Engine as _;
use deps_transport::Error;
use serde_json::json;

use crate::support::Env;

#[tokio::test]
async fn one_token_serves_every_request_of_a_repository() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    let client = env.client();
    for _ in 0..3 {
        client.get_manifest(&caddy.registry, &caddy.repository, &caddy.tag, None).await.unwrap();
    }
    let dest = env.dest("layer");
    let layer_len = caddy.layer.len() as u64;
    client
        .download_blob("docker.io", "library/caddy", &caddy.layer_digest, layer_len, dest, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(env.mirror.tokens_issued(), 1);

    let v2 = env.requests_under("/v2/");
    let refused: Vec<_> = v2.iter().filter(|r| r.status == 401).collect();
    assert_eq!(refused.len(), 1, "only the very first request is challenged: {v2:#?}");
    assert!(!refused[0].authorization);
    assert!(v2.iter().filter(|r| r.status != 401).all(|r| r.authorization && r.status == 200), "{v2:#?}");
    // A clone shares the token.
    client.clone().get_manifest("docker.io", "library/caddy", "2", None).await.unwrap();
    assert_eq!(env.mirror.tokens_issued(), 1);
}

#[tokio::test]
async fn another_repository_gets_its_token_before_its_first_request() {
    let (env, images) = Env::standard().await;
    let client = env.client();
    for image in &images {
        client.get_manifest(&image.registry, &image.repository, &image.tag, None).await.unwrap();
    }
    assert_eq!(env.mirror.tokens_issued(), 2, "one token per repository");
    let cilium = env.requests_under("/v2/quay.io/");
    assert!(cilium.iter().all(|r| r.status == 200 && r.authorization), "the realm was known: {cilium:#?}");
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    let client = env.client();
    client.get_manifest(&caddy.registry, &caddy.repository, &caddy.tag, None).await.unwrap();
    env.mirror.revoke_tokens();
    env.mirror.clear_requests();
    let got = client.get_manifest(&caddy.registry, &caddy.repository, &caddy.tag, None).await.unwrap();
    assert_eq!(got.bytes, caddy.manifest);
    assert_eq!(env.mirror.tokens_issued(), 2);
    let statuses: Vec<(u16, bool)> =
        env.requests_under("/v2/").iter().map(|r| (r.status, r.authorization)).collect();
    assert_eq!(statuses, [(401, true), (200, true)]);
}

#[tokio::test]
async fn concurrent_requests_share_one_renewal() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    let client = env.client();
    client.get_manifest(&caddy.registry, &caddy.repository, &caddy.tag, None).await.unwrap();
    env.mirror.revoke_tokens();
    let pulls = (0..6).map(|_| client.get_manifest(&caddy.registry, &caddy.repository, &caddy.tag, None));
    for result in futures_util::future::join_all(pulls).await {
        result.unwrap();
    }
    assert_eq!(env.mirror.tokens_issued(), 2, "one renewal for all six");
}

#[tokio::test]
async fn a_registry_that_refuses_fresh_tokens_fails_clearly_without_looping() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    // Every token the mirror issues is already expired when it arrives.
    env.mirror.set_token_ttl(Duration::ZERO);
    let err =
        env.client().get_manifest(&caddy.registry, &caddy.repository, &caddy.tag, None).await.unwrap_err();
    assert!(matches!(err, Error::RegistryUnauthorized { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("unauthorized:"), "{msg}");
    assert!(
        msg.contains("docker.io") && msg.contains("library/caddy") && msg.contains(".docker/config.json"),
        "{msg}"
    );
    assert!(!msg.contains("fake."), "no token in the message: {msg}");
    assert_eq!(env.mirror.tokens_issued(), 1);
    assert_eq!(env.requests_under("/v2/").len(), 2);
}

#[tokio::test]
async fn a_401_without_a_challenge_is_a_clear_error() {
    let (env, images) = Env::standard().await;
    let caddy = &images[0];
    env.mirror.set_fault(&caddy.manifest_path("2"), xtask::mirror::Fault::Status(401), None);
    let err = env.client().get_manifest(&caddy.registry, &caddy.repository, "2", None).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("without a Bearer or Basic challenge") && msg.contains("library/caddy"), "{msg}");
}

fn basic(user: &str, pass: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

#[tokio::test]
async fn basic_credentials_from_the_docker_config_reach_the_token_endpoint() {
    let (env, images) = Env::standard().await;
    let cilium = &images[1];
    env.mirror.set_basic_auth(Some(("robot", "s3cret:pw")));
    let path =
        env.docker_config(json!({ env.mirror.registry_host(): {"auth": basic("robot", "s3cret:pw")} }));
    let config = deps_transport::RegistryConfig { docker_config: Some(path), ..env.config() };
    let client = env.client_with(config);
    let got = client.get_manifest(&cilium.registry, &cilium.repository, &cilium.tag, None).await.unwrap();
    assert_eq!(got.digest, cilium.digest);
    assert!(!format!("{client:?}").contains("s3cret"));
    let token_requests = env.requests_under("/token");
    assert_eq!(token_requests.len(), 1);
    assert!(token_requests[0].authorization && token_requests[0].status == 200);
}

#[tokio::test]
async fn missing_or_wrong_credentials_say_so() {
    let (env, images) = Env::standard().await;
    let cilium = &images[1];
    env.mirror.set_basic_auth(Some(("robot", "right")));
    let err =
        env.client().get_manifest(&cilium.registry, &cilium.repository, &cilium.tag, None).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no credentials are configured for 127.0.0.1:") && msg.contains("cilium/cilium"),
        "{msg}"
    );

    let path =
        env.docker_config(json!({ env.mirror.registry_host(): {"username": "robot", "password": "wrong"} }));
    let config = deps_transport::RegistryConfig { docker_config: Some(path), ..env.config() };
    let err =
        env.client_with(config).get_manifest(&cilium.registry, &cilium.repository, &cilium.tag, None).await;
    let msg = err.unwrap_err().to_string();
    assert!(msg.contains("refused the credentials") && !msg.contains("wrong"), "{msg}");
}

#[tokio::test]
async fn without_auth_no_token_is_fetched() {
    let (env, images) = Env::standard().await;
    env.mirror.set_registry_auth(false);
    let caddy = &images[0];
    env.client().get_manifest(&caddy.registry, &caddy.repository, &caddy.tag, None).await.unwrap();
    assert_eq!(env.mirror.tokens_issued(), 0);
    assert!(env.requests_under("/v2/").iter().all(|r| !r.authorization && r.status == 200));
}
