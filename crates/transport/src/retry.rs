//! Retry schedules and the one explicit "is this transient?" test.
//!
//! Transient: connection failures, timeouts, bodies that break off, and HTTP
//! 408, 429 and 5xx. Everything else (404, 403, a digest mismatch) fails at
//! once. A `Retry-After` header replaces the computed delay, capped so a
//! hostile server cannot park us for hours.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

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
    fn transient_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 206, 301, 400, 401, 403, 404, 416] {
            assert!(!is_transient_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }
}
