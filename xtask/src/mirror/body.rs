//! Response bodies: a byte range of a resource streamed in 64 KiB chunks
//! (never loaded whole), with the body faults applied on the way out:
//! inverted bytes, a throttle, a pause, or a cut (clean close or TCP reset).
//! Each chunk is counted in the request log as it is handed to the server.
//! Every wait also ends when the mirror shuts down.

use std::io::{self, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
use tokio::sync::watch;
use tokio::time::Instant;

use super::conn::ConnHandle;
use super::resource::Content;

/// Largest chunk handed to the server at once.
const CHUNK: u64 = 64 << 10;

/// Pause before a cut, so the server flushes the bytes sent before it.
const FLUSH_GRACE: Duration = Duration::from_millis(50);

/// How a body stream ends early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// Close the connection after `after` bytes.
    Close {
        /// Body bytes before the close.
        after: u64,
    },
    /// Reset the connection after `after` bytes.
    Reset {
        /// Body bytes before the reset.
        after: u64,
    },
}

impl Cut {
    fn after(self) -> u64 {
        match self {
            Cut::Close { after } | Cut::Reset { after } => after,
        }
    }
}

/// The body faults for one response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct BodyPlan {
    /// End the body early.
    pub(super) cut: Option<Cut>,
    /// Invert every byte.
    pub(super) invert: bool,
    /// Pause once, after this many bytes, for this long.
    pub(super) stall: Option<(u64, Duration)>,
    /// Throttle to this rate.
    pub(super) bytes_per_sec: Option<u64>,
}

/// Where a body's bytes come from and where its progress goes.
pub(super) struct BodySource {
    /// The resource's bytes.
    pub(super) content: Content,
    /// First byte to send.
    pub(super) start: u64,
    /// One past the last byte to send.
    pub(super) end: u64,
    /// The log counter of this request.
    pub(super) counter: Arc<AtomicU64>,
    /// The connection, to reset it.
    pub(super) conn: ConnHandle,
    /// Becomes true when the mirror shuts down.
    pub(super) shutdown: watch::Receiver<bool>,
}

/// The streaming body for `source` under `plan`.
pub(super) fn stream(source: BodySource, plan: BodyPlan) -> Body {
    let pos = source.start;
    let state =
        Stream { source, plan, file: None, pos, sent: 0, stalled: false, done: false, began: Instant::now() };
    Body::from_stream(futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        match s.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), s)),
            Ok(None) => None,
            Err(e) => {
                s.done = true;
                Some((Err(e), s))
            }
        }
    }))
}

/// The state of one streaming body.
struct Stream {
    source: BodySource,
    plan: BodyPlan,
    file: Option<tokio::fs::File>,
    pos: u64,
    sent: u64,
    stalled: bool,
    done: bool,
    began: Instant,
}

impl Stream {
    /// The next chunk, `None` at the end, or the error that ends the body.
    async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        if let Some(cut) = self.plan.cut
            && self.sent >= cut.after()
            && self.pos < self.source.end
        {
            self.pause(FLUSH_GRACE).await?;
            if let Cut::Reset { .. } = cut {
                self.source.conn.reset();
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "fault: connection reset"));
            }
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "fault: body truncated"));
        }
        if self.pos >= self.source.end {
            return Ok(None);
        }
        if let Some((after, duration)) = self.plan.stall
            && !self.stalled
            && self.sent >= after
        {
            self.stalled = true;
            self.pause(duration).await?;
        }
        let len = self.chunk_len();
        let mut chunk = self.read(len).await?;
        if self.plan.invert {
            chunk.iter_mut().for_each(|b| *b = !*b);
        }
        if let Some(rate) = self.plan.bytes_per_sec {
            let due = self.began + Duration::from_secs_f64((self.sent + len) as f64 / rate as f64);
            self.pause(due.saturating_duration_since(Instant::now())).await?;
        }
        self.pos += len;
        self.sent += len;
        self.source.counter.fetch_add(len, Ordering::Relaxed);
        Ok(Some(chunk.freeze()))
    }

    /// How many bytes to send next: a chunk, stopping at every fault boundary.
    fn chunk_len(&self) -> u64 {
        let mut len = CHUNK.min(self.source.end - self.pos);
        let boundaries =
            [self.plan.cut.map(Cut::after), self.plan.stall.filter(|_| !self.stalled).map(|s| s.0)];
        for after in boundaries.into_iter().flatten() {
            if after > self.sent {
                len = len.min(after - self.sent);
            }
        }
        if let Some(rate) = self.plan.bytes_per_sec {
            len = len.min((rate / 10).max(1));
        }
        len
    }

    /// `len` bytes at the current position.
    async fn read(&mut self, len: u64) -> io::Result<BytesMut> {
        let n = usize::try_from(len).map_err(io::Error::other)?;
        match &self.source.content {
            Content::Memory(bytes) => {
                let start = usize::try_from(self.pos).map_err(io::Error::other)?;
                let slice =
                    bytes.get(start..start + n).ok_or_else(|| io::Error::other("range past the end"))?;
                Ok(BytesMut::from(slice))
            }
            Content::File(path) => {
                if self.file.is_none() {
                    let mut file = tokio::fs::File::open(path).await?;
                    file.seek(SeekFrom::Start(self.pos)).await?;
                    self.file = Some(file);
                }
                let file = self.file.as_mut().ok_or_else(|| io::Error::other("file not open"))?;
                let mut buf = BytesMut::zeroed(n);
                file.read_exact(&mut buf).await?;
                Ok(buf)
            }
        }
    }

    /// Sleeps for `duration`, failing early if the mirror shuts down.
    async fn pause(&mut self, duration: Duration) -> io::Result<()> {
        if duration.is_zero() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => Ok(()),
            _ = self.source.shutdown.wait_for(|down| *down) => {
                Err(io::Error::new(io::ErrorKind::ConnectionAborted, "mirror shutting down"))
            }
        }
    }
}
