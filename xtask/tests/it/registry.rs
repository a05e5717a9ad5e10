//! The mirror's OCI distribution API seen from a raw client: the token
//! dance and its scopes, expiry and revocation, manifests and blobs (headers,
//! digests, ranges, errors), tags, blob redirects to another host, faults.

use std::time::Duration;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use xtask::fixtures::{FixtureImage, FixtureSummary};
use xtask::mirror::{Fault, Mirror};

use crate::client::{Reply, get, request};

const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

const CILIUM: &str = "quay.io/cilium/cilium";
const CADDY: &str = "docker.io/library/caddy";

struct Env {
    _dir: tempfile::TempDir,
    summary: FixtureSummary,
    mirror: Mirror,
    base: String,
}

impl Env {
    async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let summary = crate::images::generate(dir.path());
        let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
        let base = mirror.base_url();
        Env { _dir: dir, summary, mirror, base }
    }

    fn image<'a>(&'a self, repository: &'a str, platform: &str) -> &'a FixtureImage {
        self.summary.images_of(repository).find(|i| i.platform == platform).unwrap()
    }

    /// A token for pulling `repositories`.
    async fn token(&self, repositories: &[&str]) -> String {
        let scopes: String = repositories.iter().map(|r| format!("&scope=repository:{r}:pull")).collect();
        let reply = get(&self.base, &format!("/token?service=deps-fake-mirror{scopes}")).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        json(&reply)["token"].as_str().unwrap().to_owned()
    }

    /// `GET|HEAD path` with `token` and every manifest type accepted.
    async fn pull(&self, method: &str, path: &str, token: &str) -> Reply {
        let auth = format!("Bearer {token}");
        request(&self.base, method, path, &[("Authorization", &auth), ("Accept", ACCEPT_ALL)]).await
    }
}

fn json(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn error_code(reply: &Reply) -> String {
    json(reply)["errors"][0]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_token_dance_401_then_token_then_200() {
    let env = Env::new().await;
    let path = format!("/v2/{CILIUM}/manifests/v1.16.3");
    let denied = request(&env.base, "GET", &path, &[("Accept", ACCEPT_ALL)]).await;
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.header("www-authenticate").unwrap(),
        format!(
            r#"Bearer realm="{}/token",service="deps-fake-mirror",scope="repository:{CILIUM}:pull""#,
            env.base
        )
    );
    assert_eq!(error_code(&denied), "UNAUTHORIZED");
    assert_eq!(denied.header("docker-distribution-api-version"), Some("registry/2.0"));

    let root = get(&env.base, "/v2/").await;
    assert_eq!(root.status, 401);
    assert!(!root.header("www-authenticate").unwrap().contains("scope="));

    let reply =
        get(&env.base, &format!("/token?service=deps-fake-mirror&scope=repository%3A{CILIUM}%3Apull")).await;
    assert_eq!(reply.status, 200);
    let token = json(&reply);
    assert_eq!(token["token"], token["access_token"]);
    assert_eq!(token["expires_in"], 300);
    let issued_at = token["issued_at"].as_str().unwrap();
    assert!(issued_at.len() >= 20 && issued_at.contains('T') && issued_at.ends_with('Z'), "{issued_at}");

    let token = token["token"].as_str().unwrap();
    let ok = env.pull("GET", &path, token).await;
    assert_eq!(ok.status, 200);
    assert_eq!(env.pull("GET", "/v2/", token).await.status, 200);
    assert_eq!(env.mirror.tokens_issued(), 1);
    let log = env.mirror.requests();
    assert!(!log[0].authorization && log.last().unwrap().authorization);
}

#[tokio::test]
async fn tokens_are_valid_only_for_their_scopes() {
    let env = Env::new().await;
    let caddy = env.token(&[CADDY]).await;
    let denied = env.pull("GET", &format!("/v2/{CILIUM}/tags/list"), &caddy).await;
    assert_eq!(denied.status, 401);
    assert!(denied.header("www-authenticate").unwrap().ends_with(r#",error="insufficient_scope""#));
    assert_eq!(env.pull("GET", &format!("/v2/{CADDY}/tags/list"), &caddy).await.status, 200);

    let both = env.token(&[CADDY, CILIUM]).await;
    for repo in [CADDY, CILIUM] {
        assert_eq!(env.pull("GET", &format!("/v2/{repo}/tags/list"), &both).await.status, 200, "{repo}");
    }
    let made_up = env.pull("GET", &format!("/v2/{CADDY}/tags/list"), "fake.0000").await;
    assert!(made_up.header("www-authenticate").unwrap().ends_with(r#",error="invalid_token""#));
}

#[tokio::test]
async fn revoked_and_expired_tokens_get_401_again() {
    let env = Env::new().await;
    let path = format!("/v2/{CADDY}/manifests/2");
    let token = env.token(&[CADDY]).await;
    assert_eq!(env.pull("HEAD", &path, &token).await.status, 200);
    env.mirror.revoke_tokens();
    assert_eq!(env.pull("HEAD", &path, &token).await.status, 401);
    let fresh = env.token(&[CADDY]).await;
    assert_eq!(env.pull("HEAD", &path, &fresh).await.status, 200);

    env.mirror.set_token_ttl(Duration::from_millis(200));
    let reply =
        get(&env.base, &format!("/token?service=deps-fake-mirror&scope=repository:{CADDY}:pull")).await;
    assert_eq!(json(&reply)["expires_in"], 1, "rounded up to whole seconds");
    let short = json(&reply)["token"].as_str().unwrap().to_owned();
    assert_eq!(env.pull("HEAD", &path, &short).await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expired = env.pull("HEAD", &path, &short).await;
    assert_eq!(expired.status, 401);
    assert_eq!(env.mirror.tokens_issued(), 3);
}

#[tokio::test]
async fn basic_credentials_can_guard_the_token_endpoint() {
    let env = Env::new().await;
    let path = format!("/token?service=deps-fake-mirror&scope=repository:{CADDY}:pull");
    env.mirror.set_basic_auth(Some(("user", "pass")));
    let anonymous = get(&env.base, &path).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.header("www-authenticate"), Some(r#"Basic realm="deps-fake-mirror""#));
    let wrong = request(&env.base, "GET", &path, &[("Authorization", "Basic dXNlcjpub3Bl")]).await;
    assert_eq!(wrong.status, 401);
    let right = request(&env.base, "GET", &path, &[("Authorization", "Basic dXNlcjpwYXNz")]).await;
    assert_eq!(right.status, 200);
    env.mirror.set_basic_auth(None);
    assert_eq!(get(&env.base, &path).await.status, 200);
    assert_eq!(get(&env.base, "/token?service=other").await.status, 400);
    assert_eq!(env.mirror.tokens_issued(), 2);
}

#[tokio::test]
async fn registry_auth_can_be_switched_off() {
    let env = Env::new().await;
    env.mirror.set_registry_auth(false);
    let reply =
        request(&env.base, "GET", &format!("/v2/{CADDY}/manifests/2"), &[("Accept", ACCEPT_ALL)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(get(&env.base, "/v2/").await.status, 200);
}

#[tokio::test]
async fn manifests_by_tag_and_digest_carry_type_digest_and_length() {
    let env = Env::new().await;
    for (repo, platform) in [(CADDY, "linux/arm64/v8"), (CILIUM, "linux/amd64")] {
        let image = env.image(repo, platform);
        let token = env.token(&[repo]).await;
        let by_tag = env.pull("GET", &format!("/v2/{repo}/manifests/{}", image.tag), &token).await;
        assert_eq!(by_tag.status, 200);
        assert_eq!(by_tag.header("content-type"), Some(image.index.media_type.as_str()));
        assert_eq!(by_tag.header("docker-content-digest"), Some(image.index.digest.as_str()));
        assert_eq!(sha256(&by_tag.body), image.index.digest);
        assert_eq!(by_tag.content_length(), Some(by_tag.body.len() as u64));

        let head = env.pull("HEAD", &format!("/v2/{repo}/manifests/{}", image.tag), &token).await;
        assert_eq!((head.status, head.body.len()), (200, 0));
        assert_eq!(head.content_length(), Some(image.index.size));
        assert_eq!(head.header("docker-content-digest"), Some(image.index.digest.as_str()));

        for blob in [&image.index, &image.manifest] {
            let by_digest = env.pull("GET", &format!("/v2/{repo}/manifests/{}", blob.digest), &token).await;
            assert_eq!(by_digest.status, 200);
            assert_eq!(by_digest.header("content-type"), Some(blob.media_type.as_str()));
            assert_eq!(by_digest.header("docker-content-digest"), Some(blob.digest.as_str()));
            assert_eq!(sha256(&by_digest.body), blob.digest);
        }
    }
    let chart = &env.summary.charts[0];
    let token = env.token(&[&chart.repository]).await;
    let reply = env.pull("GET", &format!("/v2/{}/manifests/{}", chart.repository, chart.tag), &token).await;
    assert_eq!(reply.header("content-type"), Some("application/vnd.oci.image.manifest.v1+json"));
    assert_eq!(sha256(&reply.body), chart.manifest.digest);
}

#[tokio::test]
async fn unknown_things_are_404_with_oci_error_codes() {
    let env = Env::new().await;
    let token = env.token(&[CADDY, "docker.io/library/nope"]).await;
    let zero = format!("sha256:{}", "0".repeat(64));
    for (path, status, code) in [
        (format!("/v2/{CADDY}/manifests/nope"), 404, "MANIFEST_UNKNOWN"),
        (format!("/v2/{CADDY}/manifests/{zero}"), 404, "MANIFEST_UNKNOWN"),
        (format!("/v2/{CADDY}/blobs/{zero}"), 404, "BLOB_UNKNOWN"),
        (format!("/v2/{CADDY}/blobs/latest"), 400, "DIGEST_INVALID"),
        ("/v2/docker.io/library/nope/manifests/2".to_owned(), 404, "NAME_UNKNOWN"),
    ] {
        let reply = env.pull("GET", &path, &token).await;
        assert_eq!((reply.status, error_code(&reply).as_str()), (status, code), "{path}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }
    // A config blob is not a manifest.
    let config = &env.image(CADDY, "linux/amd64").config.digest;
    let reply = env.pull("GET", &format!("/v2/{CADDY}/manifests/{config}"), &token).await;
    assert_eq!(error_code(&reply), "MANIFEST_UNKNOWN");
    let head = env.pull("HEAD", &format!("/v2/{CADDY}/manifests/nope"), &token).await;
    assert_eq!((head.status, head.body.len()), (404, 0));
}

#[tokio::test]
async fn a_manifest_whose_type_is_not_accepted_is_404() {
    let env = Env::new().await;
    let token = env.token(&[CADDY]).await;
    let auth = format!("Bearer {token}");
    let path = format!("/v2/{CADDY}/manifests/2");
    let oci_only = [("Authorization", auth.as_str()), ("Accept", "application/vnd.oci.image.index.v1+json")];
    let reply = request(&env.base, "GET", &path, &oci_only).await;
    assert_eq!((reply.status, error_code(&reply).as_str()), (404, "MANIFEST_UNKNOWN"));
    let no_accept = request(&env.base, "GET", &path, &[("Authorization", auth.as_str())]).await;
    assert_eq!(no_accept.status, 200);
    let list = [
        ("Authorization", auth.as_str()),
        ("Accept", "application/vnd.docker.distribution.manifest.list.v2+json"),
    ];
    assert_eq!(request(&env.base, "GET", &path, &list).await.status, 200);
}

#[tokio::test]
async fn blobs_serve_ranges_and_digest_headers() {
    let env = Env::new().await;
    let image = env.image(CILIUM, "linux/arm64");
    let layer = &image.layers[1];
    let token = env.token(&[CILIUM]).await;
    let path = format!("/v2/{CILIUM}/blobs/{}", layer.digest);
    let whole = env.pull("GET", &path, &token).await;
    assert_eq!(whole.status, 200);
    assert_eq!(sha256(&whole.body), layer.digest);
    assert_eq!(whole.header("docker-content-digest"), Some(layer.digest.as_str()));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));

    let auth = format!("Bearer {token}");
    let etag = whole.header("etag").unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", layer.digest));
    let part = request(
        &env.base,
        "GET",
        &path,
        &[("Authorization", &auth), ("Range", "bytes=100-"), ("If-Range", &etag)],
    )
    .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, whole.body[100..]);
    assert_eq!(part.header("content-range").unwrap(), format!("bytes 100-{}/{}", layer.size - 1, layer.size));

    let head = env.pull("HEAD", &path, &token).await;
    assert_eq!((head.status, head.content_length()), (200, Some(layer.size)));
}

#[tokio::test]
async fn tags_list_names_the_repository_and_its_tags() {
    let env = Env::new().await;
    let token = env.token(&[CILIUM]).await;
    let reply = env.pull("GET", &format!("/v2/{CILIUM}/tags/list"), &token).await;
    assert_eq!(json(&reply), serde_json::json!({"name": CILIUM, "tags": ["v1.16.3"]}));
}

#[tokio::test]
async fn redirected_blobs_come_from_another_host_without_credentials() {
    let env = Env::new().await;
    env.mirror.set_blob_redirect(true);
    let layer = env.image(CADDY, "linux/amd64").layers[0].clone();
    let token = env.token(&[CADDY]).await;
    let path = format!("/v2/{CADDY}/blobs/{}", layer.digest);
    let redirect = env.pull("GET", &path, &token).await;
    assert_eq!(redirect.status, 307);
    let location = redirect.header("location").unwrap().to_owned();
    let storage = env.mirror.storage_url();
    assert!(storage.starts_with("http://127.0.0.2:"), "{storage}");
    let hex = layer.digest.strip_prefix("sha256:").unwrap();
    assert!(location.starts_with(&format!("{storage}/blobs/sha256/{hex}?sig=")), "{location}");

    // Follow it as a careful client does: no Authorization for the other host.
    let target = location.strip_prefix(&storage).unwrap();
    let blob = get(&storage, target).await;
    assert_eq!(blob.status, 200);
    assert_eq!(sha256(&blob.body), layer.digest);
    let ranged = request(&storage, "GET", target, &[("Range", "bytes=-10")]).await;
    assert_eq!((ranged.status, ranged.body.as_slice()), (206, &blob.body[blob.body.len() - 10..]));

    let log = env.mirror.requests();
    let storage_host = storage.trim_start_matches("http://");
    let to_storage: Vec<_> = log.iter().filter(|r| r.host == storage_host).collect();
    assert_eq!(to_storage.len(), 2);
    assert!(to_storage.iter().all(|r| !r.authorization && r.path == format!("/blobs/sha256/{hex}")));
    assert!(log.iter().any(|r| r.host == env.mirror.registry_host() && r.authorization && r.status == 307));

    // The signature is checked; HEAD is answered in place.
    let forged = get(&storage, &format!("/blobs/sha256/{hex}?sig=00")).await;
    assert_eq!(forged.status, 403);
    assert_eq!(env.pull("HEAD", &path, &token).await.status, 200);
    env.mirror.set_blob_redirect(false);
    assert_eq!(env.pull("GET", &path, &token).await.status, 200);
}

#[tokio::test]
async fn faults_apply_to_registry_paths() {
    let env = Env::new().await;
    let token = env.token(&[CADDY]).await;
    let path = format!("/v2/{CADDY}/manifests/2");
    env.mirror.set_fault(&path, Fault::Status(503), Some(1));
    assert_eq!(env.pull("GET", &path, &token).await.status, 503);
    assert_eq!(env.pull("GET", &path, &token).await.status, 200);

    let layer = &env.image(CADDY, "linux/amd64").layers[1];
    let blob = format!("/v2/{CADDY}/blobs/{}", layer.digest);
    env.mirror.set_fault(&blob, Fault::Truncate { after: 100 }, Some(1));
    let cut = env.pull("GET", &blob, &token).await;
    assert_eq!((cut.content_length(), cut.body.len()), (Some(layer.size), 100));

    env.mirror.set_fault("/token", Fault::TooManyRequests { retry_after_secs: 2 }, Some(1));
    let limited = get(&env.base, "/token?service=deps-fake-mirror").await;
    assert_eq!((limited.status, limited.header("retry-after")), (429, Some("2")));
}
