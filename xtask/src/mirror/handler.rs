//! The one request handler: checks the path, applies the armed faults,
//! resolves the resource, picks the range and answers with the headers a
//! download client relies on (Content-Length, Accept-Ranges, ETag,
//! Last-Modified, Content-Range). Every request is logged before its body
//! starts, whatever its outcome.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse as _, Response};

use super::body::{self, BodySource};
use super::conn::ConnHandle;
use super::log::RequestRecord;
use super::range::{self, Selection};
use super::reqpath::ReqPath;
use super::resource::{self, Resource};
use super::server::Shared;

/// Answers one request.
pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
) -> Response {
    // Only the head is needed; the body is not `Sync` and must not live across awaits.
    let (req, _) = req.into_parts();
    let text = |name: HeaderName| req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut record = RequestRecord {
        method: req.method.to_string(),
        path: req.uri.path().to_owned(),
        range: text(header::RANGE),
        if_range: text(header::IF_RANGE),
        status: 0,
        bytes_sent: 0,
    };
    let Some(path) = ReqPath::parse(req.uri.path()) else {
        return finish(&shared, record, StatusCode::BAD_REQUEST, Vec::new());
    };
    record.path = path.as_url_path();
    let plan = shared.faults.take(&record.path);
    let head = req.method == Method::HEAD;
    if !head && req.method != Method::GET {
        return finish(
            &shared,
            record,
            StatusCode::METHOD_NOT_ALLOWED,
            vec![(header::ALLOW, "GET, HEAD".into())],
        );
    }
    if let Some((code, retry_after)) = plan.reject {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = retry_after.map(|s| (header::RETRY_AFTER, s.to_string())).into_iter().collect();
        return finish(&shared, record, status, headers);
    }
    let resource = match resource::resolve(&shared.root, &path, &shared.base_url).await {
        Ok(Some(resource)) => resource,
        Ok(None) => return finish(&shared, record, StatusCode::NOT_FOUND, Vec::new()),
        Err(e) => {
            tracing::warn!(path = %record.path, error = %e, "mirror could not read a file");
            return finish(&shared, record, StatusCode::INTERNAL_SERVER_ERROR, Vec::new());
        }
    };
    let selection = if plan.ignore_range {
        Selection::Full
    } else {
        range::select(record.range.as_deref(), record.if_range.as_deref(), &resource.validators, resource.len)
    };
    let (status, start, end) = match selection {
        Selection::Full => (StatusCode::OK, 0, resource.len),
        Selection::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end + 1),
        Selection::Unsatisfiable => {
            let headers = vec![(header::CONTENT_RANGE, format!("bytes */{}", resource.len))];
            return finish(&shared, record, StatusCode::RANGE_NOT_SATISFIABLE, headers);
        }
    };
    let mut headers = resource_headers(&resource, end - start);
    if status == StatusCode::PARTIAL_CONTENT {
        headers.push((header::CONTENT_RANGE, format!("bytes {start}-{}/{}", end - 1, resource.len)));
    }
    record.status = status.as_u16();
    let counter = shared.log.push(record);
    let body = if head {
        Body::empty()
    } else {
        let source = BodySource {
            content: resource.content,
            start,
            end,
            counter,
            conn,
            shutdown: shared.shutdown.clone(),
        };
        body::stream(source, plan.body)
    };
    response(status, headers, body)
}

/// The headers describing `resource` when `len` of its bytes are sent.
fn resource_headers(resource: &Resource, len: u64) -> Vec<(HeaderName, String)> {
    vec![
        (header::CONTENT_TYPE, resource.content_type.to_owned()),
        (header::CONTENT_LENGTH, len.to_string()),
        (header::ACCEPT_RANGES, "bytes".to_owned()),
        (header::ETAG, resource.validators.etag.clone()),
        (header::LAST_MODIFIED, resource.validators.last_modified.clone()),
    ]
}

/// Logs `record` with `status` and answers it with an empty body.
fn finish(
    shared: &Shared,
    mut record: RequestRecord,
    status: StatusCode,
    mut headers: Vec<(HeaderName, String)>,
) -> Response {
    record.status = status.as_u16();
    shared.log.push(record);
    headers.push((header::CONTENT_LENGTH, "0".to_owned()));
    response(status, headers, Body::empty())
}

/// Assembles a response.
fn response(status: StatusCode, headers: Vec<(HeaderName, String)>, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    for (name, value) in headers {
        match HeaderValue::try_from(value) {
            Ok(value) => {
                response.headers_mut().insert(name, value);
            }
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    response
}
