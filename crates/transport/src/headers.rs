//! Header helpers shared by plain downloads and the registry client: a
//! header's value as text, and an `Authorization` value marked sensitive so
//! that it never shows in reqwest's `Debug` output or HTTP/2 header tables.

use reqwest::header::{AsHeaderName, HeaderMap, HeaderValue};

use crate::retry::Failure;
use crate::{Error, redact};

/// A header's value as text (`None` when absent or not visible ASCII).
pub(crate) fn header(headers: &HeaderMap, name: impl AsHeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// `value` as a sensitive `Authorization` header for a request to `url`; a value that is not a valid header is final.
pub(crate) fn authorization(url: &str, value: &str) -> Result<HeaderValue, Failure> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        let reason = "the Authorization value is not a valid header value".to_owned();
        Failure::Fatal(Error::Protocol { url: redact(url), reason })
    })?;
    value.set_sensitive(true);
    Ok(value)
}
