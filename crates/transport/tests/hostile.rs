//! A hostile or broken server against `HttpClient` and `RegistryClient`:
//! redirects that would downgrade the root of trust, a black hole that
//! accepts and never answers, a slow drip, a manifest slower than its
//! deadline. The fake mirror on 127.0.0.1 plays the server; `0.0.0.0:PORT`
//! reaches the same mirror on Linux but is not loopback to the URL policy,
//! so it stands in for "plain http to another host" without leaving the machine.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::time::Duration;

use deps_manifest::{Digest, DigestAlgo};
use deps_transport::{ClientConfig, DownloadRequest, Error, HttpClient, RetryPolicy};
use tempfile::TempDir;
use xtask::mirror::{Fault, Mirror, RequestRecord};

/// The served file's path on the mirror.
const PATH: &str = "/files/blob.bin";
/// Its size.
const SIZE: usize = 100_003;

/// A mirror serving one file and an empty cache.
struct Env {
    _root: TempDir,
    cache: TempDir,
    mirror: Mirror,
    digest: Digest,
}

fn content() -> Vec<u8> {
    (0..SIZE).map(|i| (i * 31 % 251) as u8).collect()
}

/// Retries after milliseconds, at most `retries` of them.
fn fast(retries: u32) -> RetryPolicy {
    RetryPolicy::download().with_base(Duration::from_millis(5)).with_max_retries(retries)
}

impl Env {
    async fn new() -> Env {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("files/blob.bin");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, content()).unwrap();
        let digest = deps_store::digest_bytes(DigestAlgo::Sha256, &content());
        let mirror = Mirror::start(root.path().to_owned()).await.unwrap();
        Env { _root: root, cache: tempfile::tempdir().unwrap(), mirror, digest }
    }

    fn url(&self) -> String {
        format!("{}{PATH}", self.mirror.base_url())
    }

    /// The same file through `0.0.0.0`: the same server, but not a loopback URL.
    fn elsewhere(&self) -> String {
        let port = self.mirror.base_url().rsplit(':').next().unwrap().to_owned();
        format!("http://0.0.0.0:{port}{PATH}")
    }

    fn request(&self, retries: u32) -> DownloadRequest {
        DownloadRequest {
            url: self.url(),
            dest: self.cache.path().join("blob.bin"),
            digest: self.digest.clone(),
            size: Some(SIZE as u64),
            policy: fast(retries),
            authorization: None,
        }
    }

    fn gets(&self) -> Vec<RequestRecord> {
        self.mirror.requests().into_iter().filter(|r| r.path == PATH).collect()
    }
}

fn client(config: ClientConfig) -> HttpClient {
    HttpClient::new(&config).unwrap()
}

/// Small deadlines, so a test waits fractions of a second.
fn impatient() -> ClientConfig {
    ClientConfig {
        low_speed_limit: 1_000,
        low_speed_time: Duration::from_millis(300),
        manifest_timeout: Some(Duration::from_millis(500)),
        ..ClientConfig::default()
    }
}

#[tokio::test]
async fn a_redirect_to_plain_http_on_another_host_is_refused() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::RedirectTo(env.elsewhere()), Some(1));
    let err = client(ClientConfig::default()).download(env.request(3), &|_, _| {}).await.unwrap_err();
    assert!(matches!(&err, Error::RedirectRefused { target, .. } if *target == env.elsewhere()), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("refused the redirect") && text.contains(&env.elsewhere()), "{text}");
    assert_eq!(env.gets().len(), 1, "the target is never asked, and a refusal is not retried");
    assert!(!env.cache.path().join("blob.bin").exists());
}

#[tokio::test]
async fn a_redirect_of_a_manifest_is_held_to_the_same_policy() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::RedirectTo(env.elsewhere()), Some(1));
    let policy = RetryPolicy::manifest().with_base(Duration::from_millis(5));
    let err = client(ClientConfig::default()).get_bytes(&env.url(), &policy, 1 << 20).await.unwrap_err();
    assert!(matches!(err, Error::RedirectRefused { .. }), "{err:?}");
    assert_eq!(env.gets().len(), 1);
}

#[tokio::test]
async fn a_redirect_to_a_host_allowed_insecure_is_followed() {
    let env = Env::new().await;
    let host = env.elsewhere().trim_start_matches("http://").split('/').next().unwrap().to_owned();
    env.mirror.set_fault(PATH, Fault::RedirectTo(env.elsewhere()), Some(1));
    let allowed = client(ClientConfig { insecure_hosts: vec![host], ..ClientConfig::default() });
    allowed.download(env.request(0), &|_, _| {}).await.unwrap();
    assert_eq!(std::fs::read(env.cache.path().join("blob.bin")).unwrap(), content());
    assert_eq!(env.gets().iter().map(|r| r.status).collect::<Vec<_>>(), [302, 200]);
    // A client built without the allowance, and one whose allowance was replaced, refuse it.
    env.mirror.set_fault(PATH, Fault::RedirectTo(env.elsewhere()), Some(1));
    let stricter = allowed.with_insecure_hosts(&[]).unwrap();
    let err = stricter.get_bytes(&env.url(), &fast(0), 1 << 20).await.unwrap_err();
    assert!(matches!(err, Error::RedirectRefused { .. }), "{err:?}");
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_refused_even_with_insecure_allowed() {
    let env = Env::new().await;
    let target = format!("ftp://127.0.0.1{PATH}");
    env.mirror.set_fault(PATH, Fault::RedirectTo(target.clone()), None);
    let any = client(ClientConfig { insecure_hosts: vec!["*".into()], ..ClientConfig::default() });
    let err = any.download(env.request(3), &|_, _| {}).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::RedirectRefused { .. }), "{err:?}");
    assert!(text.contains(&target) && text.contains("unsupported scheme"), "{text}");
    assert_eq!(env.gets().len(), 1);
}

#[tokio::test]
async fn a_redirect_with_credentials_is_named_redacted() {
    let env = Env::new().await;
    let target = env.elsewhere().replace("http://", "http://user:hunter2@");
    env.mirror.set_fault(PATH, Fault::RedirectTo(target), Some(1));
    let err = client(ClientConfig::default()).download(env.request(0), &|_, _| {}).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&env.elsewhere()) && !text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn a_black_hole_times_out_and_says_so() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::BlackHole, None);
    let err = client(impatient()).download(env.request(1), &|_, _| {}).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        matches!(&err, Error::RetriesExhausted { retries: 1, last, .. }
        if matches!(**last, Error::TimedOut { .. })),
        "{err:?}"
    );
    let text = format!("{err}");
    assert!(text.contains("timed out waiting for an answer"), "{text}");
    assert_eq!(env.gets().len(), 2, "a timed-out attempt is retried on the usual schedule");
}

#[tokio::test]
async fn a_black_hole_manifest_times_out() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::BlackHole, None);
    let policy = RetryPolicy::manifest().with_base(Duration::from_millis(5)).with_max_retries(0);
    let err = client(impatient()).get_bytes(&env.url(), &policy, 1 << 20).await.unwrap_err();
    assert!(err.is_timeout() && err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_slow_drip_fails_the_low_speed_limit_and_keeps_its_bytes() {
    let env = Env::new().await;
    // One byte every 250 ms: 4 bytes a second against a limit of 1000.
    env.mirror.set_fault(PATH, Fault::Slow { bytes_per_sec: 4 }, None);
    let err = client(impatient()).download(env.request(0), &|_, _| {}).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("below the low-speed limit"), "{err}");
    // The next run resumes what the drip delivered.
    env.mirror.clear_faults();
    env.mirror.clear_requests();
    client(impatient()).download(env.request(0), &|_, _| {}).await.unwrap();
    assert_eq!(std::fs::read(env.cache.path().join("blob.bin")).unwrap(), content());
}

#[tokio::test]
async fn a_manifest_slower_than_its_deadline_times_out_a_download_has_none() {
    let env = Env::new().await;
    // 100 kB at 100 kB/s: fast enough for the speed limit, slower than the 500 ms deadline.
    env.mirror.set_fault(PATH, Fault::Slow { bytes_per_sec: 100_000 }, None);
    let policy = RetryPolicy::manifest().with_base(Duration::from_millis(5)).with_max_retries(0);
    let err = client(impatient()).get_bytes(&env.url(), &policy, 1 << 20).await.unwrap_err();
    assert!(err.is_timeout() && err.to_string().contains("deadline"), "{err}");
    // No overall deadline for downloads by default: the same body arrives whole.
    client(impatient()).download(env.request(0), &|_, _| {}).await.unwrap();
}

#[tokio::test]
async fn a_download_deadline_bounds_one_attempt() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::Slow { bytes_per_sec: 100_000 }, None);
    let config = ClientConfig { download_timeout: Some(Duration::from_millis(300)), ..impatient() };
    let err = client(config).download(env.request(0), &|_, _| {}).await.unwrap_err();
    assert!(err.is_timeout() && err.to_string().contains("deadline"), "{err}");
}
