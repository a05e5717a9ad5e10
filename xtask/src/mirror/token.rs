//! Anonymous bearer-token auth as ghcr.io and docker.io do it: `/v2/`
//! requests without a valid token get 401 and a `WWW-Authenticate: Bearer`
//! challenge naming `<base>/token`; `GET /token?service=..&scope=..` hands out
//! an opaque token for the repositories whose `pull` the scopes ask for,
//! valid until its TTL passes or tokens are revoked. Optionally `/token`
//! itself demands Basic credentials. Tokens are random per mirror and never
//! valid on another mirror.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::{StatusCode, header};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

use super::outcome::Outcome;
use super::query;

/// The `service` of the challenge; `/token` refuses any other.
pub(super) const SERVICE: &str = "deps-fake-mirror";

/// How long tokens live unless a test says otherwise.
const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// No bearer token was sent.
    Missing,
    /// The token is unknown, revoked or expired.
    InvalidToken,
    /// The token does not cover the repository.
    InsufficientScope,
}

impl Refusal {
    /// The `error` parameter of the challenge, if any.
    pub(super) fn error_param(self) -> Option<&'static str> {
        match self {
            Refusal::Missing => None,
            Refusal::InvalidToken => Some("invalid_token"),
            Refusal::InsufficientScope => Some("insufficient_scope"),
        }
    }
}

/// What one token grants.
#[derive(Debug)]
struct Grant {
    repositories: HashSet<String>,
    expires: Instant,
}

/// The mutable settings and the issued tokens.
#[derive(Debug)]
struct State {
    enabled: bool,
    ttl: Duration,
    basic: Option<String>,
    grants: HashMap<String, Grant>,
}

/// The token issuer and checker of one mirror.
#[derive(Debug)]
pub(super) struct TokenAuth {
    state: Mutex<State>,
    issued: AtomicUsize,
    secret: [u64; 2],
}

impl Default for TokenAuth {
    fn default() -> Self {
        let random = || RandomState::new().build_hasher().finish();
        TokenAuth {
            state: Mutex::new(State { enabled: true, ttl: DEFAULT_TTL, basic: None, grants: HashMap::new() }),
            issued: AtomicUsize::new(0),
            secret: [random(), random()],
        }
    }
}

impl TokenAuth {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Turns the token requirement on `/v2/` on or off.
    pub(super) fn set_enabled(&self, enabled: bool) {
        self.state().enabled = enabled;
    }

    /// Sets the lifetime of tokens issued from now on.
    pub(super) fn set_ttl(&self, ttl: Duration) {
        self.state().ttl = ttl;
    }

    /// Makes `/token` require these Basic credentials (`None`: anonymous).
    pub(super) fn set_basic(&self, credentials: Option<(&str, &str)>) {
        self.state().basic = credentials.map(|(user, pass)| base64(format!("{user}:{pass}").as_bytes()));
    }

    /// Invalidates every token issued so far.
    pub(super) fn revoke(&self) {
        self.state().grants.clear();
    }

    /// Tokens issued since the mirror started.
    pub(super) fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// Checks an `Authorization` header for `repository` (`None`: the `/v2/` root, any valid token).
    pub(super) fn check(&self, authorization: Option<&str>, repository: Option<&str>) -> Result<(), Refusal> {
        let state = self.state();
        if !state.enabled {
            return Ok(());
        }
        let token = authorization.and_then(|a| scheme_value(a, "bearer")).ok_or(Refusal::Missing)?;
        let grant = state.grants.get(token).ok_or(Refusal::InvalidToken)?;
        if Instant::now() >= grant.expires {
            return Err(Refusal::InvalidToken);
        }
        match repository {
            Some(repo) if !grant.repositories.contains(repo) => Err(Refusal::InsufficientScope),
            _ => Ok(()),
        }
    }

    /// Answers `GET /token` with `query` and the request's `Authorization` header.
    pub(super) fn token_endpoint(&self, query: Option<&str>, authorization: Option<&str>) -> Outcome {
        let params = query::params(query);
        let mut state = self.state();
        if let Some(expected) = &state.basic
            && authorization.and_then(|a| scheme_value(a, "basic")) != Some(expected.as_str())
        {
            return Outcome::oci_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "authentication required",
                "",
            )
            .with_header(header::WWW_AUTHENTICATE, format!("Basic realm=\"{SERVICE}\""));
        }
        let service = query::values(&params, "service").next();
        if service != Some(SERVICE) {
            let detail = format!("service {service:?}, want {SERVICE:?}");
            return Outcome::oci_error(StatusCode::BAD_REQUEST, "DENIED", "unknown service", &detail);
        }
        let repositories = query::values(&params, "scope")
            .flat_map(|s| s.split(' '))
            .filter_map(pull_scope)
            .map(str::to_owned)
            .collect::<HashSet<_>>();
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let token = self.make_token(n);
        let ttl = state.ttl;
        state.grants.insert(token.clone(), Grant { repositories, expires: Instant::now() + ttl });
        let issued_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned());
        let expires_in = u64::try_from(ttl.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
        Outcome::json(
            StatusCode::OK,
            &json!({"token": token, "access_token": token, "expires_in": expires_in, "issued_at": issued_at}),
        )
    }

    /// The `n`th token: unguessable without this mirror's secret.
    fn make_token(&self, n: usize) -> String {
        let mut hash = Sha256::new();
        hash.update(self.secret[0].to_le_bytes());
        hash.update(self.secret[1].to_le_bytes());
        hash.update(n.to_le_bytes());
        format!("fake.{}", hex::encode(hash.finalize()))
    }
}

/// The repository of a `repository:<name>:<actions>` scope whose actions include `pull`.
fn pull_scope(scope: &str) -> Option<&str> {
    let (name, actions) = scope.strip_prefix("repository:")?.rsplit_once(':')?;
    (!name.is_empty() && actions.split(',').any(|a| a == "pull" || a == "*")).then_some(name)
}

/// The value of an `Authorization` header using `scheme` (case-insensitive).
fn scheme_value<'a>(authorization: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, value) = authorization.trim().split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| value.trim())
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_values() {
        for (plain, encoded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("user:pass", "dXNlcjpwYXNz")]
        {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn scopes_grant_pull_only() {
        assert_eq!(pull_scope("repository:quay.io/cilium/cilium:pull"), Some("quay.io/cilium/cilium"));
        assert_eq!(pull_scope("repository:localhost:5000/a:pull,push"), Some("localhost:5000/a"));
        assert_eq!(pull_scope("repository:a:push"), None);
        assert_eq!(pull_scope("registry:catalog:*"), None);
        assert_eq!(pull_scope("repository::pull"), None);
    }

    #[test]
    fn tokens_cover_their_scopes_until_revoked() {
        let auth = TokenAuth::default();
        assert_eq!(auth.check(None, Some("a")), Err(Refusal::Missing));
        let Outcome::Reply { status, body, .. } =
            auth.token_endpoint(Some("service=deps-fake-mirror&scope=repository:a:pull"), None)
        else {
            panic!("a reply")
        };
        assert_eq!(status, StatusCode::OK);
        let reply: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let bearer = format!("Bearer {}", reply["token"].as_str().unwrap());
        assert_eq!(auth.check(Some(&bearer), Some("a")), Ok(()));
        assert_eq!(auth.check(Some(&bearer), None), Ok(()));
        assert_eq!(auth.check(Some(&bearer), Some("b")), Err(Refusal::InsufficientScope));
        auth.revoke();
        assert_eq!(auth.check(Some(&bearer), Some("a")), Err(Refusal::InvalidToken));
        auth.set_enabled(false);
        assert_eq!(auth.check(None, Some("a")), Ok(()));
        assert_eq!(auth.issued(), 1);
    }
}
