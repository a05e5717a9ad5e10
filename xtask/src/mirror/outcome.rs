//! What a route decides to answer, before faults and ranges are applied: a
//! resource to serve (ranges honoured) or a fixed reply with a small body
//! (errors, challenges, redirects, tokens, tag lists). Errors on `/v2/` use
//! the distribution API's JSON error body.

use axum::http::{HeaderName, StatusCode, header};
use bytes::Bytes;
use serde_json::json;

use super::resource::Resource;

/// A route's answer.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Serve `resource`, adding `headers`.
    Serve {
        /// What to serve.
        resource: Resource,
        /// Headers besides those describing the resource.
        headers: Vec<(HeaderName, String)>,
    },
    /// Answer `status` with `headers` and `body`.
    Reply {
        /// The status.
        status: StatusCode,
        /// The headers (Content-Length is added).
        headers: Vec<(HeaderName, String)>,
        /// The body.
        body: Bytes,
    },
}

impl Outcome {
    /// An empty reply.
    pub(super) fn status(status: StatusCode) -> Outcome {
        Outcome::Reply { status, headers: Vec::new(), body: Bytes::new() }
    }

    /// A JSON reply.
    pub(super) fn json(status: StatusCode, value: &serde_json::Value) -> Outcome {
        let body = Bytes::from(value.to_string());
        Outcome::Reply { status, headers: vec![(header::CONTENT_TYPE, "application/json".to_owned())], body }
    }

    /// A distribution API error: `{"errors":[{"code","message","detail"}]}`.
    pub(super) fn oci_error(status: StatusCode, code: &str, message: &str, detail: &str) -> Outcome {
        let body = json!({"errors": [{"code": code, "message": message, "detail": detail}]});
        Outcome::json(status, &body)
    }

    /// This outcome with one more header.
    pub(super) fn with_header(mut self, name: HeaderName, value: String) -> Outcome {
        match &mut self {
            Outcome::Serve { headers, .. } | Outcome::Reply { headers, .. } => headers.push((name, value)),
        }
        self
    }
}
