//! Streamed, verified, resumable downloads into the cache.
//!
//! Bytes are hashed once, as they arrive, by the store's `VerifiedWriter`,
//! which owns `<dest>.partial` and renames it into place only when size and
//! digest match. The writer runs on a blocking thread fed through a bounded
//! channel, so hashing and disk writes never stall the async runtime and
//! memory stays flat (at most `CHANNEL_CHUNKS` chunks in flight).
//!
//! Resume: a partial that has a validator (ETag or Last-Modified) recorded
//! beside it for the same URL is continued with `Range: bytes=N-` and
//! `If-Range`. 206 appends; 200 (the server ignored Range, or the file
//! changed) starts over; 416 drops the partial and retries from zero. A body
//! that breaks off half-way is retried as a resume from where it stopped
//! (the second retry layer); an attempt that got further into the file than
//! every attempt before it does not use up the retry budget (one that
//! restarted from zero and broke off no further than before does, so a server
//! that has no validator or ignores `Range` and always cuts the body short
//! cannot keep us looping). A partial that already holds every declared byte
//! is verified and committed without a request. Each attempt keeps the
//! download deadlines (low-speed limit, optional overall deadline); one that
//! times out keeps its bytes and is retried like a body that broke off.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use deps_manifest::Digest;
use deps_store::{Committed, PartialMeta, VerifiedWriter};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use tokio::sync::mpsc;

use crate::headers::{authorization, header};
use crate::retry::{Failure, RetryState, classify};
use crate::{Error, HttpClient, RetryPolicy, redact};

/// Chunks buffered between the network and the writer thread.
const CHANNEL_CHUNKS: usize = 4;

/// One file to download and verify.
#[derive(Clone)]
pub struct DownloadRequest {
    /// Where to fetch it.
    pub url: String,
    /// Where it lands once verified.
    pub dest: PathBuf,
    /// Its expected digest.
    pub digest: Digest,
    /// Its declared size, when known; longer bodies are refused.
    pub size: Option<u64>,
    /// The retry schedule.
    pub policy: RetryPolicy,
    /// An `Authorization` header value for the first request (dropped by redirects to another host).
    pub authorization: Option<String>,
}

impl std::fmt::Debug for DownloadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadRequest")
            .field("url", &redact(&self.url))
            .field("dest", &self.dest)
            .field("digest", &self.digest)
            .field("size", &self.size)
            .field("policy", &self.policy)
            .field("authorization", &self.authorization.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Messages to the writer thread.
enum Write {
    Chunk(Bytes),
    Restart,
    Finish,
}

impl HttpClient {
    /// Downloads `req.url` into `req.dest`, verifying size and digest, resuming
    /// a partial from an earlier run, retrying transient failures. `progress`
    /// gets (bytes so far, total) as data arrives.
    pub async fn download(
        &self,
        req: DownloadRequest,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<Committed, Error> {
        let mut state = RetryState::new();
        let mut restarted = false;
        loop {
            let (mut reached, mut resumed) = (0, false);
            match self.download_once(&req, progress, &mut reached, &mut resumed).await {
                Ok(done) => return Ok(done),
                // A resumed body that fails its digest may be the old partial's fault, not
                // the server's: the store has dropped the bytes, so start over once from zero.
                Err(Failure::Fatal(Error::Store(
                    deps_store::Error::DigestMismatch { .. } | deps_store::Error::SizeMismatch { .. },
                ))) if resumed && !restarted => {
                    restarted = true;
                    tracing::debug!(url = %redact(&req.url), "a resumed download failed its digest; starting over");
                }
                Err(failure) => {
                    state.reached(reached);
                    state.wait_or_give_up(&req.url, &req.policy, failure).await?;
                }
            }
        }
    }

    /// One attempt; `reached` is set to the furthest byte offset the partial
    /// got to, `resumed` when it continued earlier bytes.
    async fn download_once(
        &self,
        req: &DownloadRequest,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
        reached: &mut u64,
        resumed: &mut bool,
    ) -> Result<Committed, Failure> {
        let url = redact(&req.url);
        let fatal = |e: Error| Failure::Fatal(e);

        // Open (or resume) the partial on a blocking thread: resuming re-hashes it.
        let (dest, digest, size, target) = (req.dest.clone(), req.digest.clone(), req.size, req.url.clone());
        let opened = tokio::task::spawn_blocking(move || open_partial(&dest, digest, size, &target))
            .await
            .map_err(|e| fatal(Error::Task(e.to_string())))?
            .map_err(fatal)?;
        let (writer, validator) = match opened {
            Opened::Complete(done) => return Ok(done),
            Opened::Writer(writer, validator) => (*writer, validator),
        };
        let offset = writer.offset();
        *reached = offset;

        let mut request = self.inner().get(&req.url);
        if let Some(value) = &req.authorization {
            request = request.header(AUTHORIZATION, authorization(&req.url, value)?);
        }
        let ranged = offset > 0 && validator.is_some();
        if let (true, Some(validator)) = (ranged, &validator) {
            request = request.header(RANGE, format!("bytes={offset}-")).header(IF_RANGE, validator.as_str());
        }
        let mut deadlines = self.download_deadlines(&req.url);
        let response = deadlines.send(request).await?;
        let status = response.status();
        let mut start = 0;
        match status {
            StatusCode::PARTIAL_CONTENT if ranged => {
                let range_start = content_range_start(response.headers());
                if range_start != Some(offset) {
                    discard(writer).await?;
                    return Err(Failure::Transient(
                        Error::Protocol {
                            url,
                            reason: format!("asked for bytes {offset}-, got {range_start:?}"),
                        },
                        None,
                    ));
                }
                start = offset;
                *resumed = true;
            }
            StatusCode::OK => {}
            StatusCode::RANGE_NOT_SATISFIABLE if ranged => {
                discard(writer).await?;
                let reason = "server refused the resume range; starting over".to_owned();
                return Err(Failure::Transient(Error::Protocol { url, reason }, None));
            }
            s => return Err(classify(&req.url, s, response.headers())),
        }
        // Without a declared size, the total is what the server announces (0: unknown).
        let total = req.size.or(response.content_length().map(|len| start + len)).unwrap_or(0);
        if let (Some(declared), Some(len)) = (req.size, response.content_length())
            && start + len > declared
        {
            return Err(fatal(Error::BodyTooLong { url, limit: declared }));
        }
        let validator =
            header(response.headers(), ETAG).or_else(|| header(response.headers(), LAST_MODIFIED));

        // The writer thread: restarts when the server sent the whole body, records
        // the validator for a later resume, then hashes and writes every chunk.
        let (tx, mut rx) = mpsc::channel::<Write>(CHANNEL_CHUNKS);
        let meta = PartialMeta { url: req.url.clone(), validator };
        let dest = req.dest.clone();
        let mut writer = writer;
        let worker = tokio::task::spawn_blocking(move || -> Result<Option<Committed>, Error> {
            while let Some(msg) = rx.blocking_recv() {
                match msg {
                    Write::Restart => {
                        writer.restart()?;
                        deps_store::write_partial_meta(&dest, &meta)?;
                    }
                    Write::Chunk(chunk) => writer.write_all(&chunk)?,
                    Write::Finish => return writer.commit().map(Some).map_err(Error::from),
                }
            }
            Ok(None) // The sender went away: keep the partial for a resume.
        });
        let send = |msg| {
            let tx = tx.clone();
            async move { tx.send(msg).await.is_ok() }
        };
        if start == 0 {
            send(Write::Restart).await;
        }
        let mut current = start;
        progress(current, total);
        let mut stream = response.bytes_stream();
        let mut body_error = None;
        while let Some(chunk) = deadlines.next(&mut stream).await {
            match chunk {
                Ok(chunk) => {
                    current += chunk.len() as u64;
                    *reached = current;
                    if !send(Write::Chunk(chunk)).await {
                        break;
                    }
                    progress(current, total);
                }
                Err(err) => {
                    body_error = Some(err);
                    break;
                }
            }
        }
        if body_error.is_none() {
            send(Write::Finish).await;
        }
        drop(tx);
        let written = worker.await.map_err(|e| fatal(Error::Task(e.to_string())))?;
        match (written, body_error) {
            (Err(err), _) => Err(fatal(err)),
            (Ok(Some(done)), _) => Ok(done),
            (Ok(None), Some(failure)) => Err(failure),
            (Ok(None), None) => Err(fatal(Error::Task("writer stopped early".to_owned()))),
        }
    }
}

/// What an earlier run left at `<dest>.partial`.
enum Opened {
    /// It held every declared byte and they verified: now committed.
    Complete(Committed),
    /// A writer at the end of the bytes kept, and the validator to resume them with.
    Writer(Box<VerifiedWriter>, Option<String>),
}

/// Resumes the partial when its sidecar names the same URL and a validator,
/// else starts afresh; a partial already as long as the declared size is
/// committed without asking the server (a `Range` from its end would be 416).
fn open_partial(dest: &Path, digest: Digest, size: Option<u64>, url: &str) -> Result<Opened, Error> {
    let meta = deps_store::read_partial_meta(dest).ok().flatten();
    let Some(validator) = meta.and_then(|m| m.validator.filter(|_| m.url == url)) else {
        return Ok(Opened::Writer(Box::new(VerifiedWriter::create(dest, digest, size)?), None));
    };
    let writer = VerifiedWriter::resume(dest, digest.clone(), size)?;
    if size.is_some_and(|size| size > 0 && writer.offset() == size) {
        return match writer.commit() {
            Ok(done) => Ok(Opened::Complete(done)),
            // The store removed the bad bytes: fetch them all again.
            Err(deps_store::Error::DigestMismatch { .. } | deps_store::Error::SizeMismatch { .. }) => {
                Ok(Opened::Writer(Box::new(VerifiedWriter::create(dest, digest, size)?), None))
            }
            Err(err) => Err(err.into()),
        };
    }
    Ok(Opened::Writer(Box::new(writer), Some(validator)))
}

/// Drops a partial whose bytes cannot be continued.
async fn discard(writer: VerifiedWriter) -> Result<(), Failure> {
    tokio::task::spawn_blocking(move || {
        let mut writer = writer;
        writer.restart()
    })
    .await
    .map_err(|e| Failure::Fatal(Error::Task(e.to_string())))?
    .map_err(|e| Failure::Fatal(e.into()))
}

/// The first byte position of a `Content-Range: bytes N-M/T` header.
fn content_range_start(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split(['-', '/']).next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn content_range_start_parses_the_first_byte() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_RANGE, HeaderValue::from_static("bytes 100-199/200"));
        assert_eq!(content_range_start(&h), Some(100));
        h.insert(CONTENT_RANGE, HeaderValue::from_static("bytes */200"));
        assert_eq!(content_range_start(&h), None);
    }
}
