//! The request log: one record per request in arrival order, its body byte
//! count updated live as the body streams, so a request cut short (or still
//! running) shows how far it got.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// One request as the mirror saw and answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// The decoded URL path (as given to `set_fault`).
    pub path: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The `If-Range` header, if any.
    pub if_range: Option<String>,
    /// The status answered (0: never answered, a black hole).
    pub status: u16,
    /// Body bytes written so far.
    pub bytes_sent: u64,
    /// Whether the request carried an `Authorization` header.
    pub authorization: bool,
    /// The listener that received it, `host:port` (the mirror's, or the blob storage host's).
    pub host: String,
}

/// A logged request and its live body counter.
#[derive(Debug)]
struct Entry {
    record: RequestRecord,
    bytes: Arc<AtomicU64>,
}

/// Every request since the last clear.
#[derive(Debug, Default)]
pub(super) struct RequestLog {
    entries: Mutex<Vec<Entry>>,
}

impl RequestLog {
    /// Logs `record` and returns the counter its body adds to.
    pub(super) fn push(&self, record: RequestRecord) -> Arc<AtomicU64> {
        let bytes = Arc::new(AtomicU64::new(0));
        let entry = Entry { record, bytes: Arc::clone(&bytes) };
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).push(entry);
        bytes
    }

    /// The records, with their current byte counts.
    pub(super) fn records(&self) -> Vec<RequestRecord> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .map(|e| RequestRecord { bytes_sent: e.bytes.load(Ordering::Relaxed), ..e.record.clone() })
            .collect()
    }

    /// Forgets every record (bodies still streaming keep counting, unseen).
    pub(super) fn clear(&self) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Body bytes sent for `path`, over all logged requests.
    pub(super) fn bytes_served(&self, path: &str) -> u64 {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.iter().filter(|e| e.record.path == path).map(|e| e.bytes.load(Ordering::Relaxed)).sum()
    }
}
