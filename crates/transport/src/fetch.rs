//! Small bodies fetched whole (manifests), with the retry schedule.
//!
//! Only 200 is an answer; 408, 429, 5xx and transport failures are retried
//! (BEHAVIOR.md §5), every other status fails at once. The body is capped so
//! a hostile server cannot make us buffer without bound.

use std::future::Future;
use std::time::Instant;

use futures_util::StreamExt;
use reqwest::Response;

use crate::retry::{is_transient_error, is_transient_status, retry_after};
use crate::{Error, HttpClient, RetryPolicy, redact};

/// The outcome of one failed attempt.
pub(crate) enum Failure {
    /// Worth another try, after the server's `Retry-After` if it sent one.
    Transient(Error, Option<std::time::Duration>),
    /// Final.
    Fatal(Error),
}

impl HttpClient {
    /// GETs `url` and returns its body (at most `max_len` bytes), retrying
    /// transient failures on `policy`'s schedule.
    pub async fn get_bytes(&self, url: &str, policy: &RetryPolicy, max_len: u64) -> Result<Vec<u8>, Error> {
        retrying(url, policy, || self.get_once(url, max_len)).await
    }

    async fn get_once(&self, url: &str, max_len: u64) -> Result<Vec<u8>, Failure> {
        let request_error = |source: reqwest::Error| send_failure(url, source);
        let response = self.inner().get(url).send().await.map_err(request_error)?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            let err = Error::Status { url: redact(url), status: status.as_u16() };
            return Err(if is_transient_status(status) {
                Failure::Transient(err, retry_after(response.headers()))
            } else {
                Failure::Fatal(err)
            });
        }
        read_body(response, url, max_len).await
    }
}

/// The error after the last retry, remembering how many and how long.
pub(crate) fn exhausted(url: &str, retries: u32, started: Instant, last: Error) -> Error {
    Error::RetriesExhausted { url: redact(url), retries, elapsed: started.elapsed(), last: Box::new(last) }
}

/// Runs `attempt` until it succeeds, fails for good, or `policy`'s retries are spent.
pub(crate) async fn retrying<T, F, Fut>(url: &str, policy: &RetryPolicy, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let started = Instant::now();
    let mut retry = 0;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Failure::Fatal(err)) => return Err(err),
            Err(Failure::Transient(err, wait)) => {
                if retry >= policy.max_retries() {
                    return Err(exhausted(url, retry, started, err));
                }
                tracing::debug!(url = %redact(url), retry, error = %err, "retrying");
                tokio::time::sleep(policy.delay(retry, wait)).await;
                retry += 1;
            }
        }
    }
}

/// A send that failed before an answer: transient or not.
pub(crate) fn send_failure(url: &str, source: reqwest::Error) -> Failure {
    let transient = is_transient_error(&source);
    let err = Error::Request { url: redact(url), source };
    if transient { Failure::Transient(err, None) } else { Failure::Fatal(err) }
}

/// The whole body, refused past `max_len` bytes.
pub(crate) async fn read_body(response: Response, url: &str, max_len: u64) -> Result<Vec<u8>, Failure> {
    let too_long = || Failure::Fatal(Error::BodyTooLong { url: redact(url), limit: max_len });
    if response.content_length().is_some_and(|n| n > max_len) {
        return Err(too_long());
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| send_failure(url, e))?;
        if body.len() as u64 + chunk.len() as u64 > max_len {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
