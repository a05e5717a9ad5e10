//! The registry client: manifests and blobs of one repository,
//! each request wrapped in the auth layer: send with the preemptive header,
//! and on a 401 renew once and resend; a second 401 is final.
//!
//! Manifests are fetched whole (at most 4 MiB) and verified here; blobs
//! stream through [`HttpClient::download`], which verifies, resumes and
//! reports progress, and follows redirects (reqwest drops `Authorization`
//! when a redirect leaves the host, so storage hosts never see our token).
//! Every redirect hop must pass the registry's own insecure-host list.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use deps_manifest::Digest;
use deps_store::Committed;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap};

use super::auth::{Auth, unauthorized};
use super::endpoint::{self, Endpoint, check_reference};
use super::manifest::{self, FetchedManifest, MAX_MANIFEST_BYTES};
use crate::fetch::read_body;
use crate::headers::{authorization, header};
use crate::retry::{Failure, classify, retrying};
use crate::{DownloadRequest, Error, HttpClient, RegistryConfig};

/// The registry's digest header.
const CONTENT_DIGEST: &str = "docker-content-digest";

/// A client of OCI distribution registries (or a mirror of them); clones share connections and tokens.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

/// What clones share.
struct Inner {
    http: HttpClient,
    config: RegistryConfig,
    auth: Auth,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

/// An answer whose body was read: headers and bytes.
type Answer = (HeaderMap, Vec<u8>);

impl RegistryClient {
    /// A client sending its requests through `http`.
    pub fn new(http: HttpClient, config: RegistryConfig) -> Self {
        // Redirects (to blob storage, say) may go over plain http where the registry list allows.
        let http = match http.with_insecure_hosts(&config.insecure_hosts) {
            Ok(http) => http,
            Err(err) => {
                tracing::warn!(error = %err, "keeping the caller's redirect policy for the registry");
                http
            }
        };
        let auth = Auth::new(http.clone(), &config);
        Self { inner: Arc::new(Inner { http, config, auth }) }
    }

    /// GETs a manifest by tag or digest and checks its digest against `reference`
    /// (when a digest) and `expected`; returns its exact bytes.
    pub async fn get_manifest(
        &self,
        registry: &str,
        repository: &str,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<FetchedManifest, Error> {
        let ep = self.endpoint(registry, repository)?;
        let asked = check_reference(reference)?;
        let url = ep.manifest_url(reference);
        let Some((headers, bytes)) = self.manifest_request(&ep, &url).await? else {
            return Err(Error::ManifestUnknown {
                registry: ep.display_registry(),
                repository: ep.repository.clone(),
                reference: reference.to_owned(),
                url: crate::redact(&url),
            });
        };
        let served = header(&headers, CONTENT_DIGEST).and_then(|d| d.parse::<Digest>().ok());
        let wanted: Vec<&Digest> = asked.iter().chain(expected).chain(served.iter()).collect();
        let digest = manifest::verify(&url, &bytes, &wanted)?;
        let media_type = manifest::media_type(header(&headers, CONTENT_TYPE).as_deref(), &bytes);
        Ok(FetchedManifest { bytes, media_type, digest })
    }

    /// Streams a blob into `dest`, verified against `digest` and `size`, resuming a
    /// partial and following redirects; `progress` gets (bytes so far, total).
    pub async fn download_blob(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        size: u64,
        dest: PathBuf,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<Committed, Error> {
        let ep = self.endpoint(registry, repository)?;
        let url = ep.blob_url(digest);
        let (http, policy) = (&self.inner.http, &self.inner.config.blob_policy);
        let download = |authorization| {
            let request = DownloadRequest {
                url: url.clone(),
                dest: dest.clone(),
                digest: digest.clone(),
                size: Some(size),
                policy: policy.clone(),
                authorization,
            };
            http.download(request, progress)
        };
        self.authorized(&ep, download).await.map_err(|err| match err {
            Error::Status { url, status: 404 } => Error::BlobUnknown {
                registry: ep.display_registry(),
                repository: ep.repository.clone(),
                digest: digest.to_string(),
                url,
            },
            other => other,
        })
    }

    /// The most requests to `registry` the caller should run at once (`None`: no limit).
    pub fn host_limit(registry: &str) -> Option<usize> {
        endpoint::host_limit(registry)
    }

    /// `registry`/`repository` under this client's configuration.
    fn endpoint(&self, registry: &str, repository: &str) -> Result<Endpoint, Error> {
        Endpoint::new(&self.inner.config, registry, repository)
    }

    /// A manifest GET with retries and auth; `None` on 404.
    async fn manifest_request(&self, ep: &Endpoint, url: &str) -> Result<Option<Answer>, Error> {
        let send = |authorization: Option<String>| async move {
            let attempt = || self.manifest_once(url, authorization.as_deref());
            retrying(url, &self.inner.config.manifest_policy, attempt).await
        };
        self.authorized(ep, send).await
    }

    /// One manifest GET.
    async fn manifest_once(&self, url: &str, auth_header: Option<&str>) -> Result<Option<Answer>, Failure> {
        let mut request = self.inner.http.inner().get(url).header(ACCEPT, manifest::accept_header());
        if let Some(value) = auth_header {
            request = request.header(AUTHORIZATION, authorization(url, value)?);
        }
        let mut deadlines = self.inner.http.small_deadlines(url);
        let response = deadlines.send(request).await?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(classify(url, status, response.headers()));
        }
        let headers = response.headers().clone();
        let body = read_body(response, url, MAX_MANIFEST_BYTES, &mut deadlines).await?;
        Ok(Some((headers, body)))
    }

    /// Runs `op` with the preemptive `Authorization` header; after a 401, renews it once and runs `op` again.
    async fn authorized<T, F, Fut>(&self, ep: &Endpoint, mut op: F) -> Result<T, Error>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let auth = &self.inner.auth;
        let mut sent = auth.preemptive(ep).await?;
        let mut renewed = false;
        loop {
            match op(sent.clone()).await {
                Err(Error::Unauthorized { url, www_authenticate }) => {
                    if renewed {
                        let reason = format!(
                            "{url} answered 401 again after authenticating (the repository may not exist, \
                             or may need other credentials)"
                        );
                        return Err(unauthorized(ep, reason));
                    }
                    tracing::debug!(%url, "registry asked for authentication");
                    sent = Some(auth.renew(ep, sent.as_deref(), www_authenticate.as_deref()).await?);
                    renewed = true;
                }
                other => return other,
            }
        }
    }
}
