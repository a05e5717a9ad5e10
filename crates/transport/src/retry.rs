//! Retry schedules, the one explicit "is this transient?" test, and the one
//! retry loop.
//!
//! Transient: connection failures, timeouts, bodies that break off, and HTTP
//! 408, 429 and 5xx. A refused redirect is final. Everything else (404, 403, a digest mismatch) fails at
//! once; 401 is final here and carries its challenge to the registry's auth
//! layer. A `Retry-After` header replaces the computed delay, capped so a
//! hostile server cannot park us for hours.
//!
//! [`RetryState`] counts the retries of one request or download. A download
//! that gets further than any attempt before it earns its budget back; one
//! that restarts from zero (no validator, or the server ignores `Range`) and
//! breaks off no further than before does not, so a server that always cuts
//! the body short at the same point cannot keep us looping.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};

use crate::headers::header;
use crate::{Error, redact};

/// Longest `Retry-After` we honour.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How often and how long to wait between attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base: Duration,
    max: Duration,
    jitter: bool,
}

impl RetryPolicy {
    /// Manifests: three retries after 1 s, 2 s and 4 s (BEHAVIOR.md §5).
    pub fn manifest() -> Self {
        Self { max_retries: 3, base: Duration::from_secs(1), max: Duration::from_secs(4), jitter: false }
    }

    /// Artifacts and blobs: five retries, 500 ms doubling to 10 s, with jitter.
    pub fn download() -> Self {
        Self { max_retries: 5, base: Duration::from_millis(500), max: Duration::from_secs(10), jitter: true }
    }

    /// The same schedule with another retry count.
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The same schedule starting from `base` (the cap becomes 8 × base).
    pub fn with_base(mut self, base: Duration) -> Self {
        self.base = base;
        self.max = base * 8;
        self
    }

    /// How many retries follow the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before retry number `retry` (0-based), or the server's `Retry-After`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(MAX_RETRY_AFTER);
        }
        let exp = self.base.saturating_mul(1u32 << retry.min(20)).min(self.max);
        if self.jitter {
            let half = exp / 2;
            half + half.mul_f64(rand::random::<f64>())
        } else {
            exp
        }
    }
}

/// The outcome of one failed attempt.
pub(crate) enum Failure {
    /// Worth another try, after the server's `Retry-After` if it sent one.
    Transient(Error, Option<Duration>),
    /// Final.
    Fatal(Error),
}

/// The failure an unsuccessful status stands for: 401 is final and keeps its
/// challenge, 408/429/5xx are transient (after `Retry-After`), the rest final.
pub(crate) fn classify(url: &str, status: StatusCode, headers: &HeaderMap) -> Failure {
    if status == StatusCode::UNAUTHORIZED {
        let www_authenticate = header(headers, WWW_AUTHENTICATE);
        return Failure::Fatal(Error::Unauthorized { url: redact(url), www_authenticate });
    }
    let err = Error::Status { url: redact(url), status: status.as_u16() };
    if is_transient_status(status) {
        Failure::Transient(err, retry_after(headers))
    } else {
        Failure::Fatal(err)
    }
}

/// A send (or body read) that failed before a whole answer: a refused redirect
/// (final), a timeout (transient), or another error, transient or not.
pub(crate) fn send_failure(url: &str, source: reqwest::Error) -> Failure {
    if let Some(refusal) = crate::redirect::refused(&source) {
        return Failure::Fatal(Error::RedirectRefused {
            url: redact(url),
            target: refusal.target.clone(),
            reason: refusal.reason.clone(),
        });
    }
    if source.is_timeout() {
        let what = if source.is_connect() { "connecting" } else { "waiting for the server" };
        return Failure::Transient(Error::TimedOut { url: redact(url), what: what.to_owned() }, None);
    }
    let transient = is_transient_error(&source);
    let err = Error::Request { url: redact(url), source };
    if transient { Failure::Transient(err, None) } else { Failure::Fatal(err) }
}

/// The retry budget of one request or download: retries used, when it started,
/// and the furthest byte offset any attempt reached.
#[derive(Debug)]
pub(crate) struct RetryState {
    started: Instant,
    retries: u32,
    furthest: u64,
}

impl RetryState {
    /// A fresh budget, starting now.
    pub(crate) fn new() -> Self {
        Self { started: Instant::now(), retries: 0, furthest: 0 }
    }

    /// Records that an attempt got to byte `reached`; past every earlier attempt, the budget is restored.
    pub(crate) fn reached(&mut self, reached: u64) {
        if reached > self.furthest {
            self.furthest = reached;
            self.retries = 0;
        }
    }

    /// After a failed attempt: waits before the next one, or returns the error
    /// to give up with (a final failure, or the budget is spent).
    pub(crate) async fn wait_or_give_up(
        &mut self,
        url: &str,
        policy: &RetryPolicy,
        failure: Failure,
    ) -> Result<(), Error> {
        let (err, wait) = match failure {
            Failure::Fatal(err) => return Err(err),
            Failure::Transient(err, wait) => (err, wait),
        };
        if self.retries >= policy.max_retries() {
            return Err(Error::RetriesExhausted {
                url: redact(url),
                retries: self.retries,
                elapsed: self.started.elapsed(),
                last: Box::new(err),
            });
        }
        tracing::debug!(url = %redact(url), retry = self.retries, error = %err, "retrying");
        tokio::time::sleep(policy.delay(self.retries, wait)).await;
        self.retries += 1;
        Ok(())
    }
}

/// Runs `attempt` until it succeeds, fails for good, or `policy`'s retries are spent.
pub(crate) async fn retrying<T, F, Fut>(url: &str, policy: &RetryPolicy, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut state = RetryState::new();
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(failure) => state.wait_or_give_up(url, policy, failure).await?,
        }
    }
}

/// True for statuses worth retrying: 408, 429 and 5xx.
pub fn is_transient_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// True for client errors worth retrying: connect failures, timeouts, broken bodies.
pub fn is_transient_error(err: &reqwest::Error) -> bool {
    err.is_connect() || err.is_timeout() || err.is_body() || err.is_request() || err.is_decode()
}

/// The `Retry-After` of a response: seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn manifest_schedule_is_one_two_four_seconds() {
        let p = RetryPolicy::manifest();
        let delays: Vec<u64> = (0..3).map(|i| p.delay(i, None).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4]);
        assert_eq!(p.max_retries(), 3);
    }

    #[test]
    fn download_schedule_has_bounded_jitter() {
        let p = RetryPolicy::download();
        for retry in 0..8 {
            let d = p.delay(retry, None);
            let exp = Duration::from_millis(500).saturating_mul(1 << retry).min(Duration::from_secs(10));
            assert!(d >= exp / 2 && d <= exp, "{retry}: {d:?}");
        }
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let p = RetryPolicy::manifest();
        assert_eq!(p.delay(0, Some(Duration::from_secs(7))), Duration::from_secs(7));
        assert_eq!(p.delay(0, Some(Duration::from_secs(7200))), MAX_RETRY_AFTER);
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(28), "{d:?}");
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn classify_keeps_the_challenge_and_retry_after() {
        let mut h = HeaderMap::new();
        h.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"r\""));
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        let failure = classify("http://u:p@h/x", StatusCode::UNAUTHORIZED, &h);
        assert!(matches!(
            failure,
            Failure::Fatal(Error::Unauthorized { url, www_authenticate: Some(c) }) if url == "http://h/x" && c == "Bearer realm=\"r\""
        ));
        let failure = classify("http://h/x", StatusCode::SERVICE_UNAVAILABLE, &h);
        assert!(
            matches!(failure, Failure::Transient(Error::Status { status: 503, .. }, Some(d)) if d == Duration::from_secs(2))
        );
        let failure = classify("http://h/x", StatusCode::NOT_FOUND, &h);
        assert!(matches!(failure, Failure::Fatal(Error::Status { status: 404, .. })));
    }

    #[test]
    fn only_getting_further_than_before_restores_the_budget() {
        let mut state = RetryState { started: Instant::now(), retries: 2, furthest: 100 };
        state.reached(100);
        assert_eq!(state.retries, 2, "as far as before: no progress");
        state.reached(40);
        assert_eq!(state.retries, 2, "a restart from zero that broke off earlier");
        state.reached(101);
        assert_eq!((state.retries, state.furthest), (0, 101));
    }

    #[tokio::test]
    async fn the_budget_runs_out_after_max_retries() {
        let policy = RetryPolicy::manifest().with_base(Duration::from_millis(1)).with_max_retries(2);
        let mut state = RetryState::new();
        let transient = || Failure::Transient(Error::Status { url: "u".into(), status: 503 }, None);
        state.wait_or_give_up("u", &policy, transient()).await.unwrap();
        state.wait_or_give_up("u", &policy, transient()).await.unwrap();
        let err = state.wait_or_give_up("u", &policy, transient()).await.unwrap_err();
        assert!(matches!(err, Error::RetriesExhausted { retries: 2, .. }), "{err:?}");
    }

    #[test]
    fn transient_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 206, 301, 400, 401, 403, 404, 416] {
            assert!(!is_transient_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }
}
