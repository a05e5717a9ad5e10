//! What a request path resolves to: a regular file under the root, streamed
//! from disk, or a JSON manifest under `manifests/`, read whole (they are
//! small) with the placeholder host replaced by the mirror's base URL; and
//! the same for registry blobs and manifests. Files are looked up afresh on
//! every request, so tests may edit them while the mirror runs. Validators
//! always describe the bytes actually served.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use super::range::Validators;
use super::reqpath::ReqPath;
use crate::fixtures::PLACEHOLDER_BASE_URL;

/// The bytes behind a path.
#[derive(Debug, Clone)]
pub(super) enum Content {
    /// A file on disk, streamed.
    File(PathBuf),
    /// Bytes prepared in memory.
    Memory(Bytes),
}

/// A resolved resource.
#[derive(Debug, Clone)]
pub(super) struct Resource {
    /// Where the bytes come from.
    pub(super) content: Content,
    /// How many bytes are served.
    pub(super) len: u64,
    /// The ETag and Last-Modified date.
    pub(super) validators: Validators,
    /// The `Content-Type` to send.
    pub(super) content_type: String,
}

/// Resolves `path` under `root`; `Ok(None)` when there is no such file.
pub(super) async fn resolve(root: &Path, path: &ReqPath, base_url: &str) -> io::Result<Option<Resource>> {
    let file = path.under(root);
    if !path.is_manifest() {
        return self::file(&file, "application/octet-stream").await;
    }
    let Some(modified) = modified(&file).await? else { return Ok(None) };
    let text = tokio::fs::read(&file).await?;
    let rewritten = replace_placeholder(&text, base_url);
    let etag = format!("\"{}-{}\"", rewritten.len(), &hex::encode(Sha256::digest(&rewritten))[..16]);
    Ok(Some(Resource {
        len: rewritten.len() as u64,
        content: Content::Memory(Bytes::from(rewritten)),
        validators: Validators { etag, last_modified: httpdate::fmt_http_date(modified) },
        content_type: "application/json".to_owned(),
    }))
}

/// The regular file at `file`, streamed; `Ok(None)` when there is none.
pub(super) async fn file(file: &Path, content_type: &str) -> io::Result<Option<Resource>> {
    let meta = match tokio::fs::metadata(file).await {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let etag = format!("\"{}-{:x}\"", meta.len(), nanos(modified));
    Ok(Some(Resource {
        content: Content::File(file.to_path_buf()),
        len: meta.len(),
        validators: Validators { etag, last_modified: httpdate::fmt_http_date(modified) },
        content_type: content_type.to_owned(),
    }))
}

/// `bytes` read from `file` (for its date), served from memory with `etag`.
pub(super) async fn memory(
    file: &Path,
    bytes: Vec<u8>,
    etag: String,
    content_type: &str,
) -> io::Result<Resource> {
    let modified = modified(file).await?.unwrap_or(UNIX_EPOCH);
    Ok(Resource {
        len: bytes.len() as u64,
        content: Content::Memory(Bytes::from(bytes)),
        validators: Validators { etag, last_modified: httpdate::fmt_http_date(modified) },
        content_type: content_type.to_owned(),
    })
}

/// The modification time of the regular file `file`; `None` when there is none.
async fn modified(file: &Path) -> io::Result<Option<SystemTime>> {
    match tokio::fs::metadata(file).await {
        Ok(meta) if meta.is_file() => Ok(Some(meta.modified().unwrap_or(UNIX_EPOCH))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Nanoseconds since the epoch (0 before it).
fn nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// `text` with every placeholder host replaced by `base_url`.
fn replace_placeholder(text: &[u8], base_url: &str) -> Vec<u8> {
    let needle = PLACEHOLDER_BASE_URL.as_bytes();
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(base_url.as_bytes());
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_is_replaced_everywhere() {
        let text = br#"{"a":"http://mirror.invalid/x","b":"http://mirror.invalid"}"#;
        assert_eq!(
            replace_placeholder(text, "http://127.0.0.1:9"),
            br#"{"a":"http://127.0.0.1:9/x","b":"http://127.0.0.1:9"}"#
        );
    }
}
