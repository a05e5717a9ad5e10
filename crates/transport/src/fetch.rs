//! Small bodies fetched whole (manifests), with the retry schedule.
//!
//! Only 200 is an answer; 408, 429, 5xx and transport failures are retried
//! (BEHAVIOR.md §5), every other status fails at once. The body is capped so
//! a hostile server cannot make us buffer without bound.

use futures_util::StreamExt;
use reqwest::Response;

use crate::retry::{Failure, classify, retrying, send_failure};
use crate::{Error, HttpClient, RetryPolicy, redact};

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
            return Err(classify(url, status, response.headers()));
        }
        read_body(response, url, max_len).await
    }
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
