//! One registry request with the crate's retry schedule: send, classify the
//! answer (401 is `Error::Unauthorized` for the auth layer, 404 is "absent",
//! 408/429/5xx and broken connections are retried), read a bounded body.

use futures_util::StreamExt as _;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};

use crate::fetch::Failure;
pub(crate) use crate::fetch::{retrying, send_failure};
use crate::retry::{is_transient_status, retry_after};
use crate::{Error, redact};

/// The failure an unsuccessful status stands for (401 keeps its challenge).
pub(crate) fn status_failure(url: &str, response: &Response) -> Failure {
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        let www_authenticate = header(response.headers(), WWW_AUTHENTICATE.as_str());
        return Failure::Fatal(Error::Unauthorized { url: redact(url), www_authenticate });
    }
    let err = Error::Status { url: redact(url), status: status.as_u16() };
    if is_transient_status(status) {
        Failure::Transient(err, retry_after(response.headers()))
    } else {
        Failure::Fatal(err)
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

/// A header's value as text.
pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}
