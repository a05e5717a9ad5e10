//! The one configured HTTP client: rustls (ring), HTTP/2 where offered, a
//! connection pool sized to the concurrency, proxy variables honoured, an
//! optional extra CA, and no transparent decompression (we hash the bytes as
//! the server sent them).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::Error;
use crate::error::redact;

/// Settings of the HTTP client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Idle connections kept per host (the download concurrency).
    pub concurrency: usize,
    /// The User-Agent header.
    pub user_agent: String,
    /// A PEM file with an extra CA certificate to trust (e.g. an internal mirror's).
    pub extra_ca_cert: Option<PathBuf>,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest silence between two reads of a response.
    pub read_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            user_agent: format!("deps/{}", env!("CARGO_PKG_VERSION")),
            extra_ca_cert: None,
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(30),
        }
    }
}

/// A cheaply clonable HTTP client shared by every request of a run.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
}

impl HttpClient {
    /// Builds the client from its settings.
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        // reqwest is built without a default crypto provider: install ring once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(&config.user_agent)
            .pool_max_idle_per_host(config.concurrency.max(1))
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .tcp_nodelay(true);
        if let Some(path) = &config.extra_ca_cert {
            let pem = std::fs::read(path)
                .map_err(|e| Error::CaCert { path: path.clone(), reason: e.to_string() })?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| Error::CaCert { path: path.clone(), reason: e.to_string() })?;
            builder = builder.add_root_certificate(cert);
        }
        Ok(Self { inner: builder.build().map_err(Error::Client)? })
    }

    /// Wraps a client the caller configured.
    pub fn from_reqwest(inner: reqwest::Client) -> Self {
        Self { inner }
    }

    /// The underlying reqwest client.
    pub fn inner(&self) -> &reqwest::Client {
        &self.inner
    }
}

/// True for `localhost` and loopback addresses (127.0.0.0/8, ::1).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Accepts https always, http only for loopback hosts or hosts listed as
/// insecure (`*` lists every host).
pub fn check_scheme(url: &str, insecure_hosts: &[String]) -> Result<(), Error> {
    let parsed =
        url::Url::parse(url).map_err(|e| Error::InvalidUrl { url: redact(url), reason: e.to_string() })?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let listed = insecure_hosts.iter().any(|h| h == "*" || h.eq_ignore_ascii_case(host));
            if is_loopback_host(host) || listed {
                Ok(())
            } else {
                Err(Error::InsecureUrl { url: redact(url) })
            }
        }
        other => Err(Error::InvalidUrl { url: redact(url), reason: format!("unsupported scheme {other:?}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_or_listed_hosts() {
        assert!(check_scheme("https://example.com/x", &[]).is_ok());
        assert!(check_scheme("http://127.0.0.1:8080/x", &[]).is_ok());
        assert!(check_scheme("http://127.1.2.3/x", &[]).is_ok());
        assert!(check_scheme("http://[::1]:80/x", &[]).is_ok());
        assert!(check_scheme("http://localhost/x", &[]).is_ok());
        let err = check_scheme("http://mirror.lan/x", &[]).unwrap_err();
        assert!(err.to_string().contains("http://mirror.lan/x"), "{err}");
        assert!(check_scheme("http://mirror.lan/x", &["mirror.lan".into()]).is_ok());
        assert!(check_scheme("http://mirror.lan/x", &["*".into()]).is_ok());
        assert!(check_scheme("ftp://mirror.lan/x", &["*".into()]).is_err());
        assert!(check_scheme("not a url", &[]).is_err());
    }

    #[test]
    fn client_builds_and_rejects_a_bad_ca_file() {
        assert!(HttpClient::new(&ClientConfig::default()).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let config = ClientConfig { extra_ca_cert: Some(path.clone()), ..ClientConfig::default() };
        let err = HttpClient::new(&config).unwrap_err();
        assert!(err.to_string().contains("ca.pem"), "{err}");
    }
}
