//! Registry authentication: which `Authorization` header a request carries,
//! and how a 401 is answered.
//!
//! Tokens are cached per endpoint and repository (one scope each) until they
//! are retired, and sent preemptively. Once an endpoint has shown its Bearer
//! realm, tokens for its other repositories are fetched before the first
//! request instead of after a 401. A 401 drops the token that was refused and
//! gets a fresh one; concurrent requests of one repository share that fetch
//! (one lock per repository), so a revocation costs one token, not one per
//! request. Basic challenges are answered with the Docker config's
//! credentials, which are also sent to the token endpoint. Credentials are
//! looked up once per host; they and the tokens never leave this module
//! except inside a header value.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use reqwest::StatusCode;

use super::challenge::{self, Challenge};
use super::credentials::{self, Credential};
use super::endpoint::Endpoint;
use super::token::Token;
use crate::fetch::read_body;
use crate::headers::authorization;
use crate::retry::{Failure, classify, retrying};
use crate::{Error, HttpClient, RegistryConfig, RetryPolicy, check_scheme, redact};

/// Largest token endpoint answer read.
const MAX_TOKEN_BYTES: u64 = 1 << 20;

/// What an endpoint's challenge told us, for its other repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    /// Tokens from `realm` for `service`.
    Bearer { realm: String, service: Option<String> },
    /// Credentials sent directly.
    Basic,
}

/// The cached token of one repository, behind the lock that single-flights its renewal.
type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

/// The authentication state of one client, shared by its clones.
#[derive(Debug)]
pub(crate) struct Auth {
    http: HttpClient,
    docker_config: Option<PathBuf>,
    insecure_hosts: Vec<String>,
    policy: RetryPolicy,
    /// Token slots by (endpoint base, repository name).
    slots: Mutex<HashMap<(String, String), Slot>>,
    /// Schemes by endpoint base.
    schemes: Mutex<HashMap<String, Scheme>>,
    /// Credentials by host, looked up once.
    credentials: tokio::sync::Mutex<HashMap<String, Option<Credential>>>,
}

impl Auth {
    /// Auth state for a client with `config`.
    pub(crate) fn new(http: HttpClient, config: &RegistryConfig) -> Self {
        Self {
            http,
            docker_config: config.docker_config.clone(),
            insecure_hosts: config.insecure_hosts.clone(),
            policy: config.manifest_policy.clone(),
            slots: Mutex::default(),
            schemes: Mutex::default(),
            credentials: tokio::sync::Mutex::default(),
        }
    }

    /// The header to send before any challenge: a cached token, a token from the
    /// endpoint's known realm, Basic credentials for a Basic endpoint, or nothing.
    pub(crate) async fn preemptive(&self, ep: &Endpoint) -> Result<Option<String>, Error> {
        let slot = self.slot(ep);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.is_fresh(Instant::now())) {
            return Ok(Some(token.header()));
        }
        let scheme = self.schemes.lock().unwrap_or_else(PoisonError::into_inner).get(&ep.base).cloned();
        match scheme {
            Some(Scheme::Bearer { realm, service }) => {
                let token = self.fetch_token(ep, &realm, service.as_deref(), &default_scope(ep)).await?;
                let header = token.header();
                *cached = Some(token);
                Ok(Some(header))
            }
            Some(Scheme::Basic) => Ok(self.credential(ep).await?.and_then(|c| c.basic_header())),
            None => Ok(None),
        }
    }

    /// The header to retry with after `failed` (what was sent, if anything) got a
    /// 401 carrying `www_authenticate`.
    pub(crate) async fn renew(
        &self,
        ep: &Endpoint,
        failed: Option<&str>,
        www_authenticate: Option<&str>,
    ) -> Result<String, Error> {
        let challenge = www_authenticate.and_then(challenge::pick).ok_or_else(|| {
            unauthorized(ep, "the registry answered 401 without a Bearer or Basic challenge".to_owned())
        })?;
        match challenge {
            Challenge::Bearer { realm, service, scope } => {
                let scheme = Scheme::Bearer { realm: realm.clone(), service: service.clone() };
                self.schemes.lock().unwrap_or_else(PoisonError::into_inner).insert(ep.base.clone(), scheme);
                let slot = self.slot(ep);
                let mut cached = slot.lock().await;
                // Another request may have renewed it while we waited for the lock.
                if let Some(token) = cached.as_ref().filter(|t| t.is_fresh(Instant::now()))
                    && failed != Some(token.header().as_str())
                {
                    return Ok(token.header());
                }
                *cached = None;
                let scope = scope.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| default_scope(ep));
                let token = self.fetch_token(ep, &realm, service.as_deref(), &scope).await?;
                let header = token.header();
                *cached = Some(token);
                Ok(header)
            }
            Challenge::Basic => {
                self.schemes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(ep.base.clone(), Scheme::Basic);
                let credential = self.credential(ep).await?;
                credential.and_then(|c| c.basic_header()).ok_or_else(|| {
                    unauthorized(
                        ep,
                        format!("it asks for a password and none is configured for {}", ep.credential_host),
                    )
                })
            }
        }
    }

    /// The token slot of `ep`'s repository.
    fn slot(&self, ep: &Endpoint) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry((ep.base.clone(), ep.name.clone())).or_default())
    }

    /// The credentials for `ep`'s host, looked up once per client.
    async fn credential(&self, ep: &Endpoint) -> Result<Option<Credential>, Error> {
        let Some(path) = self.docker_config.clone() else { return Ok(None) };
        let mut known = self.credentials.lock().await;
        if let Some(found) = known.get(&ep.credential_host) {
            return Ok(found.clone());
        }
        let host = ep.credential_host.clone();
        let found = tokio::task::spawn_blocking(move || credentials::lookup(&path, &host))
            .await
            .map_err(|e| Error::Task(e.to_string()))??;
        known.insert(ep.credential_host.clone(), found.clone());
        Ok(found)
    }

    /// Gets a token for `scope` (space-separated scopes) from `realm`.
    async fn fetch_token(
        &self,
        ep: &Endpoint,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<Token, Error> {
        check_scheme(realm, &self.insecure_hosts)?;
        let mut url = url::Url::parse(realm)
            .map_err(|e| Error::InvalidUrl { url: redact(realm), reason: e.to_string() })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            for one in scope.split_whitespace() {
                query.append_pair("scope", one);
            }
        }
        let url = url.to_string();
        let credential = self.credential(ep).await?;
        let basic = credential.as_ref().and_then(Credential::basic_header);
        if matches!(credential, Some(Credential::IdentityToken(_))) {
            tracing::debug!(host = %ep.credential_host, "identity tokens are not supported; asking anonymously");
        }
        tracing::debug!(url = %redact(&url), "fetching a registry token");
        let attempt = || async {
            let mut request = self.http.inner().get(&url);
            if let Some(basic) = &basic {
                request = request.header(reqwest::header::AUTHORIZATION, authorization(&url, basic)?);
            }
            let mut deadlines = self.http.small_deadlines(&url);
            let response = deadlines.send(request).await?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                let reason = match &basic {
                    Some(_) => format!(
                        "the token endpoint {} refused the credentials configured for {} (HTTP {})",
                        redact(realm),
                        ep.credential_host,
                        status.as_u16()
                    ),
                    None => format!(
                        "the token endpoint {} refused an anonymous token and no credentials are configured for {} (HTTP {})",
                        redact(realm),
                        ep.credential_host,
                        status.as_u16()
                    ),
                };
                return Err(Failure::Fatal(unauthorized(ep, reason)));
            }
            if !status.is_success() {
                return Err(classify(&url, status, response.headers()));
            }
            let body = read_body(response, &url, MAX_TOKEN_BYTES, &mut deadlines).await?;
            Token::parse(&body, Instant::now(), SystemTime::now())
                .map_err(|reason| Failure::Fatal(Error::Token { url: redact(&url), reason }))
        };
        retrying(&url, &self.policy, attempt).await
    }
}

/// `repository:<name>:pull` for `ep`'s repository.
fn default_scope(ep: &Endpoint) -> String {
    format!("repository:{}:pull", ep.name)
}

/// The error for a registry that will not let us pull `ep`'s repository.
pub(crate) fn unauthorized(ep: &Endpoint, reason: String) -> Error {
    Error::RegistryUnauthorized { registry: ep.display_registry(), repository: ep.repository.clone(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_scope_is_pull_on_the_endpoint_name() {
        let config = RegistryConfig {
            mirror: Some("http://127.0.0.1:9".into()),
            docker_config: None,
            ..RegistryConfig::default()
        };
        let ep = Endpoint::new(&config, "docker.io", "library/caddy").unwrap();
        assert_eq!(default_scope(&ep), "repository:docker.io/library/caddy:pull");
    }
}
