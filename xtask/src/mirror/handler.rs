//! The request handler of both listeners: checks the path, applies the
//! armed faults (a black hole never answers, a redirect answers 302), routes (files, `/token`, `/v2/...`,
//! smart HTTP Git under `/git/` (GET and POST) on the mirror; signed
//! blobs on the storage listener), then answers a resource with the headers a
//! download client relies on (Content-Length, Accept-Ranges, ETag,
//! Last-Modified, Content-Range) or a fixed reply. Faults apply to every
//! path alike. Every request is logged before its body starts, whatever its
//! outcome.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;

use super::body::{self, BodySource};
use super::conn::ConnHandle;
use super::distribution;
use super::fault::FaultPlan;
use super::githttp;
use super::log::RequestRecord;
use super::outcome::Outcome;
use super::range::{self, Selection};
use super::reqpath::ReqPath;
use super::resource::{self, Content, Resource};
use super::server::Shared;

/// Which listener a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The mirror: files, `/token`, `/v2/`.
    Mirror,
    /// The blob storage host that redirects point at.
    Storage,
}

/// One listener's view: the shared state, its role and its address.
pub(super) struct Endpoint {
    /// The mirror's state.
    pub(super) shared: Arc<Shared>,
    /// What this listener serves.
    pub(super) role: Role,
    /// `host:port` it listens on.
    pub(super) addr: String,
}

/// Answers one request.
pub(super) async fn handle(
    State(endpoint): State<Arc<Endpoint>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
) -> Response {
    // Only Git requests need the body; it is read here, before anything else awaits.
    let (req, body) = req.into_parts();
    let shared = &endpoint.shared;
    let text = |name: HeaderName| req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut record = RequestRecord {
        method: req.method.to_string(),
        path: req.uri.path().to_owned(),
        range: text(header::RANGE),
        if_range: text(header::IF_RANGE),
        status: 0,
        bytes_sent: 0,
        authorization: req.headers.contains_key(header::AUTHORIZATION),
        host: endpoint.addr.clone(),
    };
    let Some(path) = ReqPath::parse(req.uri.path()) else {
        return finish(shared, record, StatusCode::BAD_REQUEST, Vec::new());
    };
    record.path = path.as_url_path();
    let git = endpoint.role == Role::Mirror && githttp::is_git(&path);
    let body = if git {
        match axum::body::to_bytes(body, githttp::MAX_REQUEST_BODY).await {
            Ok(bytes) => bytes,
            Err(_) => return finish(shared, record, StatusCode::BAD_REQUEST, Vec::new()),
        }
    } else {
        drop(body);
        Bytes::new()
    };
    let plan = shared.faults.take(&record.path);
    let head = req.method == Method::HEAD;
    if !head && req.method != Method::GET && !(git && req.method == Method::POST) {
        return finish(
            shared,
            record,
            StatusCode::METHOD_NOT_ALLOWED,
            vec![(header::ALLOW, "GET, HEAD".into())],
        );
    }
    if plan.black_hole {
        // Logged as status 0: accepted, never answered.
        shared.log.push(record);
        let mut shutdown = shared.shutdown.clone();
        let _ = shutdown.wait_for(|down| *down).await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some((code, retry_after)) = plan.reject {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = retry_after.map(|s| (header::RETRY_AFTER, s.to_string())).into_iter().collect();
        return finish(shared, record, status, headers);
    }
    if let Some(location) = plan.redirect.clone() {
        return finish(shared, record, StatusCode::FOUND, vec![(header::LOCATION, location)]);
    }
    let outcome = match endpoint.role {
        Role::Mirror if git => githttp::handle(&shared.root, &path, &req, body).await,
        Role::Mirror => route(shared, &path, &req).await,
        Role::Storage => shared.storage.serve(&path, req.uri.query()).await,
    };
    let out = Out { shared, record, plan, conn, head };
    match outcome {
        Outcome::Serve { resource, headers } => out.serve(resource, headers),
        Outcome::Reply { status, headers, body } => out.reply(status, headers, body),
    }
}

/// Routes a request to the mirror listener.
async fn route(shared: &Shared, path: &ReqPath, req: &Parts) -> Outcome {
    let parts = path.parts();
    if parts.first().is_some_and(|p| p == "v2") {
        return distribution::handle(shared, path, req).await;
    }
    if parts == ["token"] {
        let authorization = req.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        return shared.auth.token_endpoint(req.uri.query(), authorization);
    }
    match resource::resolve(&shared.root, path, &shared.base_url).await {
        Ok(Some(resource)) => Outcome::Serve { resource, headers: Vec::new() },
        Ok(None) => Outcome::status(StatusCode::NOT_FOUND),
        Err(e) => {
            tracing::warn!(path = %path.as_url_path(), error = %e, "mirror could not read a file");
            Outcome::status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// What answering a request needs once it is routed.
struct Out<'a> {
    shared: &'a Shared,
    record: RequestRecord,
    plan: FaultPlan,
    conn: ConnHandle,
    head: bool,
}

impl Out<'_> {
    /// Serves `resource` (whole or the requested range) with `extra` headers.
    fn serve(self, resource: Resource, extra: Vec<(HeaderName, String)>) -> Response {
        let selection = if self.plan.ignore_range {
            Selection::Full
        } else {
            let r = &self.record;
            range::select(r.range.as_deref(), r.if_range.as_deref(), &resource.validators, resource.len)
        };
        let (status, start, end) = match selection {
            Selection::Full => (StatusCode::OK, 0, resource.len),
            Selection::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end + 1),
            Selection::Unsatisfiable => {
                let headers = vec![(header::CONTENT_RANGE, format!("bytes */{}", resource.len))];
                return finish(self.shared, self.record, StatusCode::RANGE_NOT_SATISFIABLE, headers);
            }
        };
        let mut headers = resource_headers(&resource, end - start);
        if self.plan.no_validators {
            headers.retain(|(name, _)| name != header::ETAG && name != header::LAST_MODIFIED);
        }
        if status == StatusCode::PARTIAL_CONTENT {
            headers.push((header::CONTENT_RANGE, format!("bytes {start}-{}/{}", end - 1, resource.len)));
        }
        headers.extend(extra);
        self.send(status, headers, resource.content, start, end)
    }

    /// Answers `status` with `headers` and the small `body`.
    fn reply(self, status: StatusCode, mut headers: Vec<(HeaderName, String)>, body: Bytes) -> Response {
        let len = body.len() as u64;
        headers.push((header::CONTENT_LENGTH, len.to_string()));
        self.send(status, headers, Content::Memory(body), 0, len)
    }

    /// Logs the request and sends bytes `start..end` of `content` through the body faults.
    fn send(
        mut self,
        status: StatusCode,
        headers: Vec<(HeaderName, String)>,
        content: Content,
        start: u64,
        end: u64,
    ) -> Response {
        self.record.status = status.as_u16();
        let counter = self.shared.log.push(self.record);
        let body = if self.head || start == end {
            Body::empty()
        } else {
            let source = BodySource {
                content,
                start,
                end,
                counter,
                conn: self.conn,
                shutdown: self.shared.shutdown.clone(),
            };
            body::stream(source, self.plan.body)
        };
        response(status, headers, body)
    }
}

/// The headers describing `resource` when `len` of its bytes are sent.
fn resource_headers(resource: &Resource, len: u64) -> Vec<(HeaderName, String)> {
    vec![
        (header::CONTENT_TYPE, resource.content_type.clone()),
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
