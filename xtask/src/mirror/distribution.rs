//! The OCI distribution API (pull side) over the registry directory, with
//! every upstream registry under one endpoint, its host first in the name
//! (`/v2/quay.io/cilium/cilium/manifests/v1.16.3`): `GET /v2/`, `GET|HEAD`
//! manifests by tag or digest, blobs (ranges, optional redirect) and
//! `tags/list`. The name is everything between `/v2/` and the last
//! `/manifests/<ref>`, `/blobs/<digest>` or `/tags/list`. With token auth on,
//! every request needs a bearer token covering the repository. A manifest
//! request whose `Accept` names neither its media type nor a wildcard is
//! answered 404, as strict registries do: clients must ask for what they take.

use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode, header};
use serde_json::json;

use super::outcome::Outcome;
use super::repo::{self, Repo, sha256_hex};
use super::reqpath::ReqPath;
use super::resource;
use super::server::Shared;
use super::token::{Refusal, SERVICE};

/// The API version header every `/v2/` answer carries.
const API_VERSION: (&str, &str) = ("docker-distribution-api-version", "registry/2.0");

/// A `/v2/` route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// `/v2/`.
    Root,
    /// `/v2/<name>/manifests/<reference>`.
    Manifest { name: String, reference: String },
    /// `/v2/<name>/blobs/<digest>`.
    Blob { name: String, digest: String },
    /// `/v2/<name>/tags/list`.
    Tags { name: String },
}

/// Answers a request whose path starts with `/v2`.
pub(super) async fn handle(shared: &Shared, path: &ReqPath, req: &Parts) -> Outcome {
    let outcome = match route(path.parts()) {
        Some(route) => answer(shared, route, req).await.unwrap_or_else(|e| {
            tracing::warn!(path = %path.as_url_path(), error = %e, "mirror could not read the registry");
            Outcome::oci_error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "storage error", "")
        }),
        None => Outcome::oci_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "unknown endpoint", ""),
    };
    outcome.with_header(HeaderName::from_static(API_VERSION.0), API_VERSION.1.to_owned())
}

/// Parses the route from the path components (`parts[0]` is `v2`).
fn route(parts: &[String]) -> Option<Route> {
    let (first, rest) = parts.split_first()?;
    if first != "v2" {
        return None;
    }
    let n = rest.len();
    if n == 0 {
        return Some(Route::Root);
    }
    if n >= 3 && rest[n - 2] == "tags" && rest[n - 1] == "list" {
        return Some(Route::Tags { name: rest[..n - 2].join("/") });
    }
    if n < 3 {
        return None;
    }
    let (name, last) = (rest[..n - 2].join("/"), rest[n - 1].clone());
    match rest[n - 2].as_str() {
        "manifests" => Some(Route::Manifest { name, reference: last }),
        "blobs" => Some(Route::Blob { name, digest: last }),
        _ => None,
    }
}

/// Answers one route.
async fn answer(shared: &Shared, route: Route, req: &Parts) -> std::io::Result<Outcome> {
    let authorization = req.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let name = match &route {
        Route::Root => None,
        Route::Manifest { name, .. } | Route::Blob { name, .. } | Route::Tags { name } => Some(name.as_str()),
    };
    if let Err(refusal) = shared.auth.check(authorization, name) {
        return Ok(challenge(&shared.base_url, name, refusal));
    }
    let Some(name) = name else {
        return Ok(Outcome::json(StatusCode::OK, &json!({})));
    };
    let Some(repo) = Repo::open(&shared.root, name).await? else {
        let detail = format!("repository {name} is not known");
        return Ok(Outcome::oci_error(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "repository name not known",
            &detail,
        ));
    };
    match route {
        Route::Root => Ok(Outcome::json(StatusCode::OK, &json!({}))),
        Route::Tags { name } => {
            Ok(Outcome::json(StatusCode::OK, &json!({"name": name, "tags": repo.tags().await?})))
        }
        Route::Manifest { reference, .. } => manifest(&repo, &reference, req).await,
        Route::Blob { digest, .. } => blob(shared, &repo, &digest, req).await,
    }
}

/// Answers a manifest request.
async fn manifest(repo: &Repo, reference: &str, req: &Parts) -> std::io::Result<Outcome> {
    let unknown = |detail: String| {
        Outcome::oci_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown", &detail)
    };
    let Some(found) = repo.manifest(reference).await? else {
        return Ok(unknown(format!("no manifest {reference}")));
    };
    if !accepts(req, &found.media_type) {
        return Ok(unknown(format!(
            "manifest {reference} is {}, which the Accept header does not name",
            found.media_type
        )));
    }
    let bytes = tokio::fs::read(&found.path).await?;
    let etag = format!("\"{}\"", found.digest);
    let resource = resource::memory(&found.path, bytes, etag, &found.media_type).await?;
    Ok(Outcome::Serve { resource, headers: vec![(digest_header(), found.digest)] })
}

/// Answers a blob request.
async fn blob(shared: &Shared, repo: &Repo, digest: &str, req: &Parts) -> std::io::Result<Outcome> {
    if !repo::is_digest_syntax(digest) {
        let detail = format!("{digest} is not a digest");
        return Ok(Outcome::oci_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest", &detail));
    }
    let unknown = || {
        let detail = format!("no blob {digest}");
        Outcome::oci_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry", &detail)
    };
    let (Some(hex), Some(file)) = (sha256_hex(digest), repo.blob(digest)) else { return Ok(unknown()) };
    if !repo::is_file(&file).await? {
        return Ok(unknown());
    }
    if req.method == axum::http::Method::GET && shared.storage.enabled() {
        return Ok(shared.storage.redirect(hex, file).with_header(digest_header(), digest.to_owned()));
    }
    let Some(mut resource) = resource::file(&file, "application/octet-stream").await? else {
        return Ok(unknown());
    };
    resource.validators.etag = format!("\"{digest}\"");
    Ok(Outcome::Serve { resource, headers: vec![(digest_header(), digest.to_owned())] })
}

/// Whether the request's `Accept` headers take `media_type` (no `Accept` takes anything).
fn accepts(req: &Parts, media_type: &str) -> bool {
    let mut accepted = req
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
        .peekable();
    if accepted.peek().is_none() {
        return true;
    }
    accepted.any(|a| a == media_type || a == "*/*" || a == "application/*")
}

/// The 401 asking for a token covering `name` (any token for the root).
fn challenge(base_url: &str, name: Option<&str>, refusal: Refusal) -> Outcome {
    let mut value = format!("Bearer realm=\"{base_url}/token\",service=\"{SERVICE}\"");
    if let Some(name) = name {
        value.push_str(&format!(",scope=\"repository:{name}:pull\""));
    }
    if let Some(error) = refusal.error_param() {
        value.push_str(&format!(",error=\"{error}\""));
    }
    let detail = name.map(|n| format!("repository:{n}:pull")).unwrap_or_default();
    Outcome::oci_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required", &detail)
        .with_header(header::WWW_AUTHENTICATE, value)
}

/// `Docker-Content-Digest`.
fn digest_header() -> HeaderName {
    HeaderName::from_static("docker-content-digest")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parts(path: &str) -> Vec<String> {
        path.split('/').filter(|p| !p.is_empty()).map(str::to_owned).collect()
    }

    #[test]
    fn routes_take_the_name_up_to_the_last_endpoint() {
        let m = |name: &str, reference: &str| {
            Some(Route::Manifest { name: name.into(), reference: reference.into() })
        };
        assert_eq!(route(&parts("/v2")), Some(Route::Root));
        assert_eq!(
            route(&parts("/v2/docker.io/library/caddy/manifests/2")),
            m("docker.io/library/caddy", "2")
        );
        assert_eq!(route(&parts("/v2/a/manifests/b/manifests/sha256:00")), m("a/manifests/b", "sha256:00"));
        assert_eq!(
            route(&parts("/v2/quay.io/cilium/cilium/blobs/sha256:00")),
            Some(Route::Blob { name: "quay.io/cilium/cilium".into(), digest: "sha256:00".into() })
        );
        assert_eq!(route(&parts("/v2/a/b/tags/list")), Some(Route::Tags { name: "a/b".into() }));
        for bad in ["/v2/manifests/x", "/v2/a/b/c", "/v3/a/manifests/x", "/v2/tags/list"] {
            assert_eq!(route(&parts(bad)), None, "{bad}");
        }
    }

    #[test]
    fn challenges_name_the_realm_service_and_scope() {
        let Outcome::Reply { status, headers, .. } =
            challenge("http://127.0.0.1:9", Some("a/b"), Refusal::Missing)
        else {
            panic!("a reply")
        };
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let value = &headers.iter().find(|(n, _)| n == header::WWW_AUTHENTICATE).unwrap().1;
        assert_eq!(
            value,
            r#"Bearer realm="http://127.0.0.1:9/token",service="deps-fake-mirror",scope="repository:a/b:pull""#
        );
    }

    proptest! {
        #[test]
        fn any_name_and_reference_round_trip(
            name in "[a-z0-9]{1,8}(/[a-z0-9._-]{1,8}){0,4}",
            reference in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}",
        ) {
            let manifest = route(&parts(&format!("/v2/{name}/manifests/{reference}")));
            prop_assert_eq!(manifest, Some(Route::Manifest { name: name.clone(), reference: reference.clone() }));
            let blob = route(&parts(&format!("/v2/{name}/blobs/{reference}")));
            prop_assert_eq!(blob, Some(Route::Blob { name: name.clone(), digest: reference }));
            prop_assert_eq!(route(&parts(&format!("/v2/{name}/tags/list"))), Some(Route::Tags { name }));
        }
    }
}
