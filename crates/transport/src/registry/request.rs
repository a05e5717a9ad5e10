//! One registry request with the crate's retry schedule: send, classify the
//! answer (401 is `Error::Unauthorized` for the auth layer, 404 is "absent",
//! 408/429/5xx and broken connections are retried), read a bounded body.

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};

use crate::fetch::Failure;
pub(crate) use crate::fetch::{read_body, retrying, send_failure};
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

/// A header's value as text.
pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}
