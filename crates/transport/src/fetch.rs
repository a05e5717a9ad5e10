//! Small bodies fetched whole (manifests), with the retry schedule.
//!
//! Only 200 is an answer; 408, 429, 5xx and transport failures are retried
//! (BEHAVIOR.md §5), every other status fails at once. The body is capped so
//! a hostile server cannot make us buffer without bound, and each attempt
//! keeps the small-request deadlines (a slow manifest times out).

use reqwest::Response;

use crate::deadline::Deadlines;
use crate::retry::{Failure, classify, retrying};
use crate::{Error, HttpClient, RetryPolicy, redact};

impl HttpClient {
    /// GETs `url` and returns its body (at most `max_len` bytes), retrying
    /// transient failures on `policy`'s schedule.
    pub async fn get_bytes(&self, url: &str, policy: &RetryPolicy, max_len: u64) -> Result<Vec<u8>, Error> {
        retrying(url, policy, || self.get_once(url, max_len)).await
    }

    async fn get_once(&self, url: &str, max_len: u64) -> Result<Vec<u8>, Failure> {
        let mut deadlines = self.small_deadlines(url);
        let response = deadlines.send(self.inner().get(url)).await?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(classify(url, status, response.headers()));
        }
        read_body(response, url, max_len, &mut deadlines).await
    }
}

/// The whole body, refused past `max_len` bytes, read within `deadlines`.
pub(crate) async fn read_body(
    response: Response,
    url: &str,
    max_len: u64,
    deadlines: &mut Deadlines,
) -> Result<Vec<u8>, Failure> {
    let too_long = || Failure::Fatal(Error::BodyTooLong { url: redact(url), limit: max_len });
    if response.content_length().is_some_and(|n| n > max_len) {
        return Err(too_long());
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = deadlines.next(&mut stream).await {
        let chunk = chunk?;
        if body.len() as u64 + chunk.len() as u64 > max_len {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
