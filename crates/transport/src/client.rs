//! The one configured HTTP client: rustls (ring), HTTP/2 where offered, a
//! connection pool sized to the concurrency, proxy variables honoured, an
//! optional extra CA, and no transparent decompression (we hash the bytes as
//! the server sent them). Plain http is allowed only to loopback hosts and to
//! hosts the user listed as insecure; callers check with [`check_scheme`]
//! before the first request to a URL.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::Error;
use crate::deadline::Deadlines;
use crate::error::redact;
use crate::redirect;

/// Settings of the HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Idle connections kept per host (the download concurrency).
    pub concurrency: usize,
    /// The User-Agent header.
    pub user_agent: String,
    /// A PEM file with an extra CA certificate to trust (e.g. an internal mirror's).
    pub extra_ca_cert: Option<PathBuf>,
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// The low-speed limit in bytes per second (0: none): an attempt that gets fewer
    /// than `low_speed_limit × low_speed_time` bytes in `low_speed_time` times out.
    pub low_speed_limit: u64,
    /// The window of the low-speed limit (also the longest wait for an answer).
    pub low_speed_time: Duration,
    /// Deadline of one download attempt, start to last byte (`None`: none; big files take long).
    pub download_timeout: Option<Duration>,
    /// Deadline of one small request (a manifest or a token), start to last byte.
    pub manifest_timeout: Option<Duration>,
    /// Hosts (`host` or `host:port`, `*` for any) a redirect may lead to over plain http;
    /// loopback always may. The same rule as [`check_scheme`], applied to every hop.
    pub insecure_hosts: Vec<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            user_agent: format!("deps/{}", env!("CARGO_PKG_VERSION")),
            extra_ca_cert: None,
            connect_timeout: Duration::from_secs(10),
            low_speed_limit: 1,
            low_speed_time: Duration::from_secs(30),
            download_timeout: None,
            manifest_timeout: Some(Duration::from_secs(60)),
            insecure_hosts: Vec::new(),
        }
    }
}

/// A cheaply clonable HTTP client shared by every request of a run. It follows
/// only redirects [`check_scheme`] accepts, and every request it sends keeps
/// the deadlines of its [`ClientConfig`].
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: Arc<ClientConfig>,
    certs: Arc<[reqwest::Certificate]>,
}

impl HttpClient {
    /// Builds the client from its settings.
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        let certs: Arc<[reqwest::Certificate]> = match &config.extra_ca_cert {
            Some(path) => read_ca_file(path)?.into(),
            None => Arc::new([]),
        };
        Self::build(Arc::new(config.clone()), certs)
    }

    /// The same client, but redirects may lead over plain http to `hosts` (instead
    /// of the hosts it was built with). Shares nothing but the settings.
    pub fn with_insecure_hosts(&self, hosts: &[String]) -> Result<Self, Error> {
        if self.config.insecure_hosts == hosts {
            return Ok(self.clone());
        }
        let config = ClientConfig { insecure_hosts: hosts.to_vec(), ..(*self.config).clone() };
        Self::build(Arc::new(config), Arc::clone(&self.certs))
    }

    fn build(config: Arc<ClientConfig>, certs: Arc<[reqwest::Certificate]>) -> Result<Self, Error> {
        // reqwest is built without a default crypto provider: install ring once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(&config.user_agent)
            .pool_max_idle_per_host(config.concurrency.max(1))
            .connect_timeout(config.connect_timeout)
            .redirect(redirect::policy(config.insecure_hosts.clone()))
            .tcp_nodelay(true);
        for cert in certs.iter() {
            builder = builder.add_root_certificate(cert.clone());
        }
        let inner = builder.build().map_err(Error::Client)?;
        Ok(Self { inner, config, certs })
    }

    /// The underlying reqwest client.
    pub(crate) fn inner(&self) -> &reqwest::Client {
        &self.inner
    }

    /// The deadlines of one download attempt of `url`.
    pub(crate) fn download_deadlines(&self, url: &str) -> Deadlines {
        Deadlines::new(url, &self.config, self.config.download_timeout)
    }

    /// The deadlines of one small request (manifest, token) to `url`.
    pub(crate) fn small_deadlines(&self, url: &str) -> Deadlines {
        Deadlines::new(url, &self.config, self.config.manifest_timeout)
    }
}

/// The certificates of a PEM file; an error when it holds none or a broken one
/// (reqwest itself would accept any text and trust nothing).
fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, Error> {
    let ca_error = |reason: String| Error::CaCert { path: path.to_owned(), reason };
    let pem = fs_err::read(path).map_err(|e| ca_error(e.to_string()))?;
    let mut certs = Vec::new();
    for der in CertificateDer::pem_slice_iter(&pem) {
        let der = der.map_err(|e| ca_error(format!("bad PEM: {e}")))?;
        certs.push(reqwest::Certificate::from_der(&der).map_err(|e| ca_error(e.to_string()))?);
    }
    if certs.is_empty() {
        return Err(ca_error("no PEM certificate in the file".to_owned()));
    }
    Ok(certs)
}

/// True for `localhost` and loopback addresses (127.0.0.0/8, ::1).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// True when `url`'s host is `localhost` or a loopback address.
pub fn is_loopback_url(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
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
            let with_port = parsed.port().map(|port| format!("{host}:{port}"));
            let listed = insecure_hosts.iter().any(|h| {
                h == "*" || h.eq_ignore_ascii_case(host) || with_port.as_deref().is_some_and(|hp| h == hp)
            });
            if is_loopback_url(&parsed) || listed {
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
        assert!(check_scheme("http://mirror.lan:5000/x", &["mirror.lan:5000".into()]).is_ok());
        assert!(check_scheme("http://mirror.lan:5000/x", &["mirror.lan:5001".into()]).is_err());
        assert!(check_scheme("http://127.0.0.1.evil.example/x", &[]).is_err());
        assert!(check_scheme("http://localhost.evil.example/x", &[]).is_err());
    }

    #[test]
    fn insecure_error_redacts_credentials() {
        let err = check_scheme("http://user:hunter2@mirror.lan/x", &[]).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn loopback_urls() {
        for url in ["http://127.0.0.1/", "http://127.9.9.9:80/", "http://[::1]/", "http://LOCALHOST/"] {
            assert!(is_loopback_url(&url::Url::parse(url).unwrap()), "{url}");
        }
        for url in ["http://10.0.0.1/", "http://[::2]/", "http://example.com/", "file:///tmp/x"] {
            assert!(!is_loopback_url(&url::Url::parse(url).unwrap()), "{url}");
        }
    }

    #[test]
    fn client_builds_and_rejects_a_bad_ca_file() {
        assert!(HttpClient::new(&ClientConfig::default()).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let config = ClientConfig { extra_ca_cert: Some(path.clone()), ..ClientConfig::default() };
        let err = HttpClient::new(&config).unwrap_err();
        assert!(err.to_string().contains("ca.pem") && err.to_string().contains("no PEM"), "{err}");
        let missing = ClientConfig { extra_ca_cert: Some(dir.path().join("nope.pem")), ..config };
        let err = HttpClient::new(&missing).unwrap_err();
        assert!(err.to_string().contains("nope.pem"), "{err}");
    }

    /// A self-signed CA certificate, test data only (its key was thrown away).
    const TEST_CA: &str = "\
-----BEGIN CERTIFICATE-----
MIIBhjCCASugAwIBAgIUTpohzAx7ex6Wmxbh2L1ChJC0LuAwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMZGVwcyB0ZXN0IENBMCAXDTI2MTEzMDE5MzQxNloYDzIxMjYx
MTA2MTkzNDE2WjAXMRUwEwYDVQQDDAxkZXBzIHRlc3QgQ0EwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASHzkFpDcgjV3/QzO8DbqwXoReYCd4dq4djw9N+5QbMHLU3
s3lT10qvlLVgrgCcnpYks9Gx+Zs8YXS6/u8Q8DOKo1MwUTAdBgNVHQ4EFgQUwG39
yBf7vd8Eo569x+xWMRGijU8wHwYDVR0jBBgwFoAUwG39yBf7vd8Eo569x+xWMRGi
jU8wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA8yHyO/cFN+HE
1QHrb4u0EaZuVk+nTDbUv/m+vwIvRU4CIQCdcnGqUU8/StaH/QBc23/70egXjCvI
iFs0w8jb8OaiZw==
-----END CERTIFICATE-----
";

    #[test]
    fn client_trusts_a_pem_ca_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, TEST_CA).unwrap();
        let config = ClientConfig { extra_ca_cert: Some(path), ..ClientConfig::default() };
        assert!(HttpClient::new(&config).is_ok());
    }
}
