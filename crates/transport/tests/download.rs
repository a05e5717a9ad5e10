//! `HttpClient::download` and `get_bytes` against the fake mirror (a real
//! HTTP server on 127.0.0.1) serving a temp directory, with every fault it
//! can inject and retry delays shrunk to milliseconds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use deps_manifest::{Digest, DigestAlgo};
use deps_store::{Committed, PartialMeta};
use deps_transport::{ClientConfig, DownloadRequest, Error, HttpClient, RetryPolicy};
use tempfile::TempDir;
use xtask::mirror::{Fault, Mirror, RequestRecord};

/// The served file's path on the mirror.
const PATH: &str = "/files/blob.bin";
/// Its size: several body chunks, not a round number.
const SIZE: u64 = 300_007;

/// A mirror serving one file, an empty cache and a client.
struct Env {
    root: TempDir,
    cache: TempDir,
    mirror: Mirror,
    client: HttpClient,
    digest: Digest,
}

/// Deterministic, incompressible-looking bytes.
fn content(len: u64) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Retries after a few milliseconds instead of seconds.
fn fast() -> RetryPolicy {
    RetryPolicy::download().with_base(Duration::from_millis(5))
}

impl Env {
    async fn new() -> Env {
        Self::with_client(ClientConfig::default()).await
    }

    async fn with_client(config: ClientConfig) -> Env {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("files/blob.bin");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, content(SIZE)).unwrap();
        let digest = deps_store::hash_file(&file, DigestAlgo::Sha256).unwrap();
        let mirror = Mirror::start(root.path().to_owned()).await.unwrap();
        let client = HttpClient::new(&config).unwrap();
        Env { root, cache: tempfile::tempdir().unwrap(), mirror, client, digest }
    }

    fn url(&self) -> String {
        format!("{}{PATH}", self.mirror.base_url())
    }

    fn dest(&self) -> PathBuf {
        self.cache.path().join("artifacts/blob.bin")
    }

    fn request(&self) -> DownloadRequest {
        DownloadRequest {
            url: self.url(),
            dest: self.dest(),
            digest: self.digest.clone(),
            size: Some(SIZE),
            policy: fast(),
            authorization: None,
        }
    }

    async fn download(&self, req: DownloadRequest) -> Result<Committed, Error> {
        self.client.download(req, &|_, _| {}).await
    }

    /// The GETs of the served file, in order.
    fn gets(&self) -> Vec<RequestRecord> {
        self.mirror.requests().into_iter().filter(|r| r.method == "GET" && r.path == PATH).collect()
    }

    /// Files left in the cache, relative and sorted.
    fn cache_files(&self) -> Vec<String> {
        let dir = self.dest().parent().unwrap().to_owned();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut names: Vec<String> = entries.map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    /// A "previous run" that stopped half-way: leaves a partial and its sidecar.
    async fn interrupted_run(&self) -> u64 {
        self.mirror.set_fault(PATH, Fault::Truncate { after: SIZE / 2 }, Some(1));
        let err = self.download(DownloadRequest { policy: fast().with_max_retries(0), ..self.request() });
        let err = err.await.unwrap_err();
        assert!(matches!(err, Error::RetriesExhausted { retries: 0, .. }), "{err:?}");
        let partial = std::fs::metadata(deps_store::partial_path(&self.dest())).unwrap().len();
        assert!(partial > 0 && partial < SIZE, "{partial}");
        assert!(deps_store::read_partial_meta(&self.dest()).unwrap().unwrap().validator.is_some());
        self.mirror.clear_requests();
        partial
    }

    fn assert_committed(&self, done: &Committed) {
        assert_eq!(done.path, self.dest());
        assert_eq!(done.size, SIZE);
        assert_eq!(done.digest, self.digest);
        assert_eq!(std::fs::read(self.dest()).unwrap(), content(SIZE));
        assert_eq!(self.cache_files(), ["blob.bin"], "no partial or sidecar left");
    }
}

#[tokio::test]
async fn plain_download_commits_and_reports_progress() {
    let env = Env::new().await;
    let calls = Mutex::new(Vec::new());
    let done =
        env.client.download(env.request(), &|cur, total| calls.lock().unwrap().push((cur, total))).await;
    env.assert_committed(&done.unwrap());
    let calls = calls.into_inner().unwrap();
    assert_eq!(calls.first(), Some(&(0, SIZE)));
    assert_eq!(calls.last(), Some(&(SIZE, SIZE)));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "progress never goes back");
    let gets = env.gets();
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].range, None);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::Status(503), Some(2));
    env.assert_committed(&env.download(env.request()).await.unwrap());
    assert_eq!(env.gets().iter().map(|r| r.status).collect::<Vec<_>>(), [503, 503, 200]);
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::TooManyRequests { retry_after_secs: 1 }, Some(1));
    let started = Instant::now();
    env.assert_committed(&env.download(env.request()).await.unwrap());
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After honoured: {:?}", started.elapsed());
    assert_eq!(env.gets().len(), 2);
}

#[tokio::test]
async fn persistent_server_errors_fail_after_retries_saying_how_many() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::Status(500), None);
    let err = env.download(DownloadRequest { policy: fast().with_max_retries(2), ..env.request() }).await;
    let err = err.unwrap_err();
    assert!(matches!(&err, Error::RetriesExhausted { retries: 2, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("GET {} failed after 2 retries in ", env.url())), "{msg}");
    assert!(msg.ends_with("HTTP 500"), "{msg}");
    assert_eq!(env.gets().len(), 3);
    assert!(!env.dest().exists());
}

#[tokio::test]
async fn not_found_fails_at_once() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::Status(404), None);
    let err = env.download(env.request()).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err:?}");
    assert_eq!(env.gets().len(), 1, "no retries for 404");
    assert!(!env.dest().exists());
}

#[tokio::test]
async fn truncated_body_resumes_with_range() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::Truncate { after: SIZE / 2 }, Some(1));
    env.assert_committed(&env.download(env.request()).await.unwrap());
    let gets = env.gets();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[0].range, None);
    assert_eq!(gets[1].range.as_deref(), Some(format!("bytes={}-", SIZE / 2).as_str()), "{gets:?}");
    assert!(gets[1].if_range.is_some(), "{gets:?}");
    assert_eq!(gets[1].status, 206);
    assert_eq!(env.mirror.bytes_served(PATH), SIZE, "no byte fetched twice");
}

#[tokio::test]
async fn connection_reset_mid_body_resumes() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::ResetAfter { after: SIZE / 3 }, Some(1));
    env.assert_committed(&env.download(env.request()).await.unwrap());
    assert_eq!(env.gets().len(), 2, "{:?}", env.gets());
}

#[tokio::test]
async fn stalled_body_times_out_and_resumes() {
    let config = ClientConfig { low_speed_time: Duration::from_millis(200), ..ClientConfig::default() };
    let env = Env::with_client(config).await;
    let stall = Fault::Stall { after: SIZE / 2, duration: Duration::from_secs(3) };
    env.mirror.set_fault(PATH, stall, Some(1));
    env.assert_committed(&env.download(env.request()).await.unwrap());
    let gets = env.gets();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert!(gets[1].range.is_some(), "{gets:?}");
}

#[tokio::test]
async fn wrong_bytes_fail_with_a_digest_mismatch_and_leave_nothing() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::WrongBytes, None);
    let err = env.download(env.request()).await.unwrap_err();
    match &err {
        Error::Store(deps_store::Error::DigestMismatch { expected, .. }) => assert_eq!(expected, &env.digest),
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert_eq!(env.gets().len(), 1, "a digest mismatch is not retried");
    assert!(env.cache_files().is_empty(), "{:?}", env.cache_files());
}

#[tokio::test]
async fn body_longer_than_declared_size_is_refused() {
    let env = Env::new().await;
    let req = DownloadRequest { size: Some(SIZE - 10), ..env.request() };
    let err = env.download(req).await.unwrap_err();
    assert!(matches!(err, Error::BodyTooLong { limit, .. } if limit == SIZE - 10), "{err:?}");
    assert_eq!(env.gets().len(), 1);
    assert!(!env.dest().exists());
}

#[tokio::test]
async fn partial_from_a_previous_run_resumes_with_range_and_if_range() {
    let env = Env::new().await;
    let offset = env.interrupted_run().await;
    let calls = Mutex::new(Vec::new());
    let done =
        env.client.download(env.request(), &|cur, total| calls.lock().unwrap().push((cur, total))).await;
    env.assert_committed(&done.unwrap());
    let gets = env.gets();
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert_eq!(gets[0].range.as_deref(), Some(format!("bytes={offset}-").as_str()));
    assert!(gets[0].if_range.is_some());
    assert_eq!(env.mirror.bytes_served(PATH), SIZE - offset);
    assert_eq!(calls.into_inner().unwrap().first(), Some(&(offset, SIZE)), "progress counts resumed bytes");
}

#[tokio::test]
async fn a_damaged_partial_restarts_from_zero_once_instead_of_failing() {
    let env = Env::new().await;
    let offset = env.interrupted_run().await;
    // The kept bytes rotted (same length, another byte in the middle): the resumed body cannot verify.
    let partial = deps_store::partial_path(&env.dest());
    let mut bytes = std::fs::read(&partial).unwrap();
    bytes[(offset / 2) as usize] ^= 0xff;
    std::fs::write(&partial, bytes).unwrap();
    env.assert_committed(&env.download(env.request()).await.unwrap());
    let gets = env.gets();
    assert_eq!(gets.len(), 2, "the resume, then one fresh start: {gets:?}");
    assert!(gets[0].range.is_some() && gets[1].range.is_none(), "{gets:?}");
}

#[tokio::test]
async fn resume_partial_restarts_if_server_ignores_range() {
    let env = Env::new().await;
    env.interrupted_run().await;
    env.mirror.set_fault(PATH, Fault::IgnoreRange, None);
    env.assert_committed(&env.download(env.request()).await.unwrap());
    let gets = env.gets();
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert!(gets[0].range.is_some());
    assert_eq!(gets[0].status, 200);
    assert_eq!(env.mirror.bytes_served(PATH), SIZE);
}

#[tokio::test]
async fn changed_validator_means_a_full_download() {
    let env = Env::new().await;
    env.interrupted_run().await;
    // Same bytes, new modification time: the ETag the partial was recorded with no longer matches.
    let file = std::fs::File::options().write(true).open(env.root.path().join("files/blob.bin")).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(3600)).unwrap();
    drop(file);
    env.assert_committed(&env.download(env.request()).await.unwrap());
    let gets = env.gets();
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert!(gets[0].if_range.is_some());
    assert_eq!(gets[0].status, 200, "If-Range did not match: the whole body");
    assert_eq!(env.mirror.bytes_served(PATH), SIZE);
}

#[tokio::test]
async fn partial_for_another_url_is_not_resumed() {
    let env = Env::new().await;
    env.interrupted_run().await;
    let meta = deps_store::read_partial_meta(&env.dest()).unwrap().unwrap();
    let other = PartialMeta { url: format!("{}/elsewhere", env.mirror.base_url()), ..meta };
    deps_store::write_partial_meta(&env.dest(), &other).unwrap();
    env.assert_committed(&env.download(env.request()).await.unwrap());
    assert_eq!(env.gets()[0].range, None);
}

#[tokio::test]
async fn complete_partial_is_committed_without_a_request() {
    let env = Env::new().await;
    std::fs::create_dir_all(env.dest().parent().unwrap()).unwrap();
    std::fs::write(deps_store::partial_path(&env.dest()), content(SIZE)).unwrap();
    let meta = PartialMeta { url: env.url(), validator: Some("\"v1\"".to_owned()) };
    deps_store::write_partial_meta(&env.dest(), &meta).unwrap();
    env.assert_committed(&env.download(env.request()).await.unwrap());
    assert!(env.gets().is_empty(), "{:?}", env.gets());
}

#[tokio::test]
async fn server_that_ignores_range_and_always_cuts_off_exhausts_the_retries() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::Truncate { after: SIZE / 2 }, None);
    env.mirror.set_fault(PATH, Fault::IgnoreRange, None);
    let err = env.download(DownloadRequest { policy: fast().with_max_retries(3), ..env.request() }).await;
    let err = err.unwrap_err();
    assert!(matches!(err, Error::RetriesExhausted { retries: 3, .. }), "{err:?}");
    // Every restart from zero gets no further than the first attempt did: no progress, no free retry.
    assert_eq!(env.gets().len(), 4, "{:?}", env.gets());
    assert!(!env.dest().exists());
}

#[tokio::test]
async fn server_without_validator_that_always_cuts_at_the_same_offset_exhausts_the_retries() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::NoValidators, None);
    env.mirror.set_fault(PATH, Fault::Truncate { after: SIZE / 2 }, None);
    // Each attempt restarts from byte 0 (nothing to resume with) and breaks off where the
    // first did: only the first counts as progress, so the budget runs out.
    let req = DownloadRequest { policy: fast().with_max_retries(3), ..env.request() };
    let outcome = tokio::time::timeout(Duration::from_secs(30), env.download(req)).await;
    let err = outcome.expect("the download must give up, not loop forever").unwrap_err();
    assert!(matches!(err, Error::RetriesExhausted { retries: 3, .. }), "{err:?}");
    let gets = env.gets();
    assert_eq!(gets.len(), 4, "one attempt and three retries: {gets:?}");
    assert!(gets.iter().all(|g| g.range.is_none()), "no validator, no resume: {gets:?}");
}

#[tokio::test]
async fn get_bytes_retries_server_errors() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::Status(502), Some(1));
    let policy = RetryPolicy::manifest().with_base(Duration::from_millis(5));
    let body = env.client.get_bytes(&env.url(), &policy, 1 << 20).await.unwrap();
    assert_eq!(body, content(SIZE));
    assert_eq!(env.gets().len(), 2);
}

#[tokio::test]
async fn get_bytes_fails_at_once_on_client_errors() {
    let env = Env::new().await;
    env.mirror.set_fault(PATH, Fault::Status(403), None);
    let policy = RetryPolicy::manifest().with_base(Duration::from_millis(5));
    let err = env.client.get_bytes(&env.url(), &policy, 1 << 20).await.unwrap_err();
    assert_eq!(err.to_string(), format!("GET {}: HTTP 403", env.url()));
    assert_eq!(env.gets().len(), 1);
}

#[tokio::test]
async fn get_bytes_refuses_a_body_over_the_limit() {
    let env = Env::new().await;
    let policy = RetryPolicy::manifest().with_base(Duration::from_millis(5));
    let err = env.client.get_bytes(&env.url(), &policy, 1000).await.unwrap_err();
    assert!(matches!(err, Error::BodyTooLong { limit: 1000, .. }), "{err:?}");
}
