//! Smart HTTP Git under `/git/`: each request runs `git http-backend` as a
//! CGI program over the repositories in the root's `git/` directory (all
//! exported, read-only: `receive-pack` stays off), with the request body
//! piped in and the whole answer read back before it is sent, so the body
//! faults (slow, stall, truncate, reset) apply to Git answers as to files.

use std::path::Path;
use std::process::Stdio;

use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode, header};
use bytes::Bytes;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use super::outcome::Outcome;
use super::reqpath::ReqPath;
use crate::fixtures::GIT_DIR;

/// The largest request body accepted (clients send wants and haves: small).
pub(super) const MAX_REQUEST_BODY: usize = 16 << 20;

/// True when `path` is under `/git/`.
pub(super) fn is_git(path: &ReqPath) -> bool {
    path.parts().first().is_some_and(|p| p == GIT_DIR)
}

/// Answers a `/git/...` request by running `git http-backend`.
pub(super) async fn handle(root: &Path, path: &ReqPath, req: &Parts, body: Bytes) -> Outcome {
    match run(root, path, req, body).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::warn!(path = %path.as_url_path(), error = %e, "git http-backend failed");
            Outcome::status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// Runs the CGI program and turns its output into a reply.
async fn run(root: &Path, path: &ReqPath, req: &Parts, body: Bytes) -> anyhow::Result<Outcome> {
    let path_info = format!("/{}", path.parts()[1..].join("/"));
    let text =
        |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root.join(GIT_DIR))
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path_info)
        .env("QUERY_STRING", req.uri.query().unwrap_or_default())
        .env("REQUEST_METHOD", req.method.as_str())
        .env("CONTENT_TYPE", text("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (header, var) in [("content-encoding", "HTTP_CONTENT_ENCODING"), ("git-protocol", "GIT_PROTOCOL")] {
        let value = text(header);
        if !value.is_empty() {
            command.env(var, value);
        }
    }
    let mut child = command.spawn()?;
    let mut stdin = child.stdin.take();
    let feed = async move {
        if let Some(pipe) = stdin.as_mut() {
            // The backend may answer (an error) without reading everything.
            let _ = pipe.write_all(&body).await;
        }
        drop(stdin);
    };
    let (_, out) = tokio::join!(feed, child.wait_with_output());
    let out = out?;
    if !out.stderr.is_empty() {
        tracing::debug!(stderr = %String::from_utf8_lossy(&out.stderr), "git http-backend");
    }
    parse_cgi(&out.stdout)
}

/// Splits a CGI answer into status, headers and body.
fn parse_cgi(raw: &[u8]) -> anyhow::Result<Outcome> {
    let (head_len, sep) = match find(raw, b"\r\n\r\n") {
        Some(i) => (i, 4),
        None => (find(raw, b"\n\n").ok_or_else(|| anyhow::anyhow!("no CGI header end"))?, 2),
    };
    let head = std::str::from_utf8(&raw[..head_len])?;
    let mut status = StatusCode::OK;
    let mut headers: Vec<(HeaderName, String)> = Vec::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or_default().parse::<u16>()?;
            status = StatusCode::from_u16(code)?;
        } else if let Ok(name) = HeaderName::try_from(name.trim())
            && name != header::CONTENT_LENGTH
        {
            headers.push((name, value.to_owned()));
        }
    }
    let body = Bytes::copy_from_slice(&raw[head_len + sep..]);
    Ok(Outcome::Reply { status, headers, body })
}

/// The first index of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgi_status_headers_and_body() {
        let raw = b"Status: 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nno\n";
        let Ok(Outcome::Reply { status, headers, body }) = parse_cgi(raw) else { panic!("not a reply") };
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers, vec![(header::CONTENT_TYPE, "text/plain".to_owned())]);
        assert_eq!(&body[..], b"no\n");
        assert!(parse_cgi(b"no header end").is_err());
    }
}
