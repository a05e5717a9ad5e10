//! Progress events: the one channel through which the manager tells its caller
//! what it is doing. The CLI turns them into bars, plain lines or JSON; the
//! manager never prints progress itself.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::Error;

/// What a [`DownloadEvent`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DownloadEventType {
    /// A top-level status message; `name` is empty.
    Status,
    /// An item is being checked against the cache.
    Checking,
    /// An item is already in the cache.
    Cached,
    /// An item is missing and waits for a download slot.
    Queued,
    /// An item's download started.
    Started,
    /// Bytes arrived for an item (`current` of `total`).
    Progress,
    /// An item was downloaded and verified.
    Done,
    /// An item failed; `error` says why.
    Failed,
}

impl DownloadEventType {
    /// The event type's wire name, as in the original API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Checking => "checking",
            Self::Cached => "cached",
            Self::Queued => "queued",
            Self::Started => "started",
            Self::Progress => "progress",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for DownloadEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Progress for one item, or a top-level status message when `name` is empty.
#[derive(Debug, Clone)]
pub struct DownloadEvent {
    /// What happened.
    pub kind: DownloadEventType,
    /// The item's name (e.g. `kubectl`, `os-image`, `seed/minimal`); empty for status.
    pub name: String,
    /// Where the item lives in the cache, when it has a path.
    pub path: Option<PathBuf>,
    /// A human-readable message (status events).
    pub message: String,
    /// Bytes so far (progress, done).
    pub current: u64,
    /// Total bytes expected.
    pub total: u64,
    /// The error of a failed event.
    pub error: Option<Arc<Error>>,
}

impl DownloadEvent {
    /// A top-level status message.
    pub fn status(message: impl Into<String>) -> Self {
        Self::item(DownloadEventType::Status, "", None, 0).with_message(message)
    }

    /// An item event with its path and total size.
    pub fn item(kind: DownloadEventType, name: &str, path: Option<PathBuf>, total: u64) -> Self {
        Self { kind, name: name.to_owned(), path, message: String::new(), current: 0, total, error: None }
    }

    /// The same event with a message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The same event with a byte count.
    pub fn with_current(mut self, current: u64) -> Self {
        self.current = current;
        self
    }
}

/// The callback that receives events; called from several tasks at once.
pub type ProgressFn = Arc<dyn Fn(&DownloadEvent) + Send + Sync>;
