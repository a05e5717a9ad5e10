//! Credentials from the user's Docker config: `auths.<host>.auth` (base64
//! `user:password`), `auths.<host>.username`/`password`, identity tokens, and
//! `credHelpers.<host>` / `credsStore` through `docker-credential-<name> get`
//! (the `docker_credential` crate). Docker Hub is looked up under
//! `https://index.docker.io/v1/` as `docker login` writes it, then `docker.io`.
//!
//! A config that cannot be read or parsed is an error naming it; a helper
//! that fails is logged and the pull goes on anonymously. Secrets never show
//! in `Debug` output or errors (helper output is not kept either).

use std::path::Path;

use base64::Engine as _;
use docker_credential::{CredentialRetrievalError, DockerCredential};

use crate::Error;

/// Credentials for one registry host.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// A user name and password (or access token) sent as Basic auth.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// An OAuth2 refresh token from `docker login` against an identity provider.
    IdentityToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { username, .. } => {
                f.debug_struct("Basic").field("username", username).field("password", &"<redacted>").finish()
            }
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

impl Credential {
    /// The `Authorization: Basic ...` value, for user name and password credentials.
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credential::Basic { username, password } => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
                Some(format!("Basic {encoded}"))
            }
            Credential::IdentityToken(_) => None,
        }
    }
}

/// The credentials the Docker config at `path` holds for `host` (blocking: may run a helper).
pub(crate) fn lookup(path: &Path, host: &str) -> Result<Option<Credential>, Error> {
    let config_error = |reason: String| Error::DockerConfig { path: path.to_owned(), reason };
    let bytes = fs_err::read(path).map_err(|e| {
        config_error(std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string))
    })?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|e| config_error(format!("not JSON: {e}")))?;
    for server in server_keys(host) {
        match docker_credential::get_credential_from_reader(bytes.as_slice(), server) {
            Ok(DockerCredential::UsernamePassword(username, password)) => {
                return Ok(Some(Credential::Basic { username, password }));
            }
            Ok(DockerCredential::IdentityToken(token)) => return Ok(Some(Credential::IdentityToken(token))),
            Err(CredentialRetrievalError::NoCredentialConfigured) => {}
            Err(CredentialRetrievalError::HelperFailure { helper, .. }) => {
                tracing::warn!(%helper, %host, "the credential helper failed; pulling anonymously");
                return Ok(None);
            }
            Err(CredentialRetrievalError::HelperCommunicationError) => {
                tracing::warn!(%host, "could not run the credential helper; pulling anonymously");
                return Ok(None);
            }
            Err(other) => return Err(config_error(format!("credentials for {host}: {other}"))),
        }
    }
    Ok(None)
}

/// The config keys `host`'s credentials may be stored under, in order.
fn server_keys(host: &str) -> Vec<&str> {
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            vec!["https://index.docker.io/v1/", "docker.io"]
        }
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        (dir, path)
    }

    fn basic(user: &str, pass: &str) -> Option<Credential> {
        Some(Credential::Basic { username: user.into(), password: pass.into() })
    }

    #[test]
    fn auth_entries_decode_to_basic_credentials() {
        // "user:pa:ss" base64: a password may hold colons.
        let (_dir, path) = config(
            r#"{"auths":{"quay.io":{"auth":"dXNlcjpwYTpzcw=="},"127.0.0.1:5000":{"username":"u","password":"p"}}}"#,
        );
        assert_eq!(lookup(&path, "quay.io").unwrap(), basic("user", "pa:ss"));
        assert_eq!(lookup(&path, "127.0.0.1:5000").unwrap(), basic("u", "p"));
        assert_eq!(lookup(&path, "ghcr.io").unwrap(), None);
    }

    #[test]
    fn docker_hub_is_found_under_its_login_url_and_url_keys_match_hosts() {
        let (_dir, path) = config(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOmh1YnBhc3M="},"https://ghcr.io":{"auth":"Z2g6cGF0"}}}"#,
        );
        assert_eq!(lookup(&path, "docker.io").unwrap(), basic("hub", "hubpass"));
        assert_eq!(lookup(&path, "ghcr.io").unwrap(), basic("gh", "pat"));
    }

    #[test]
    fn identity_tokens_are_kept_apart() {
        let (_dir, path) = config(r#"{"auths":{"myreg.lan":{"identitytoken":"refresh-me"}}}"#);
        let found = lookup(&path, "myreg.lan").unwrap().unwrap();
        assert_eq!(found, Credential::IdentityToken("refresh-me".into()));
        assert_eq!(found.basic_header(), None);
        assert!(!format!("{found:?}").contains("refresh-me"));
    }

    #[test]
    fn a_missing_helper_means_anonymous() {
        let (_dir, path) = config(r#"{"auths":{},"credHelpers":{"quay.io":"deps-test-no-such-helper"}}"#);
        assert_eq!(lookup(&path, "quay.io").unwrap(), None);
    }

    #[test]
    fn unreadable_or_malformed_configs_name_the_file() {
        let (dir, path) = config("{not json");
        let err = lookup(&path, "quay.io").unwrap_err();
        assert!(err.to_string().contains("config.json") && err.to_string().contains("not JSON"), "{err}");
        let missing = dir.path().join("absent.json");
        let err = lookup(&missing, "quay.io").unwrap_err();
        assert!(err.to_string().contains("absent.json"), "{err}");
        let (_dir, path) = config(r#"{"auths":{"quay.io":{"auth":"!!!"}}}"#);
        assert!(lookup(&path, "quay.io").is_err());
    }

    #[test]
    fn basic_header_and_debug() {
        let cred = Credential::Basic { username: "user".into(), password: "pass".into() };
        assert_eq!(cred.basic_header().unwrap(), "Basic dXNlcjpwYXNz");
        let debug = format!("{cred:?}");
        assert!(debug.contains("user") && !debug.contains("\"pass\""), "{debug}");
    }
}
