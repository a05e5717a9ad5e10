//! Progress events: the one channel through which the manager tells its caller
//! what it is doing. The CLI turns them into bars, plain lines or JSON; the
//! manager never prints progress itself.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// What a [`DownloadEvent`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    /// An item failed; `message` says why (the typed error is in the run's result).
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
#[non_exhaustive]
pub struct DownloadEvent {
    /// What happened.
    pub kind: DownloadEventType,
    /// The item's name (e.g. `kubectl`, `os-image`, `seed/minimal`); empty for status.
    pub name: String,
    /// Where the item lives in the cache, when it has a path.
    pub path: Option<PathBuf>,
    /// A human-readable message (status events, and why a `failed` item failed).
    pub message: String,
    /// Bytes so far (progress, done).
    pub current: u64,
    /// Total bytes expected.
    pub total: u64,
}

impl DownloadEvent {
    /// A top-level status message.
    pub fn status(message: impl Into<String>) -> Self {
        Self::item(DownloadEventType::Status, "", None, 0).with_message(message)
    }

    /// An item event with its path and total size.
    pub fn item(kind: DownloadEventType, name: &str, path: Option<PathBuf>, total: u64) -> Self {
        Self { kind, name: name.to_owned(), path, message: String::new(), current: 0, total }
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

/// Where a run's events go: the caller's callback, or nowhere.
#[derive(Clone, Default)]
pub(crate) struct Events(Option<ProgressFn>);

impl Events {
    /// Events for this callback.
    pub(crate) fn new(progress: Option<ProgressFn>) -> Self {
        Self(progress)
    }

    /// Sends one event.
    pub(crate) fn emit(&self, event: DownloadEvent) {
        if let Some(progress) = &self.0 {
            progress(&event);
        }
    }
}

/// Least time between two progress events of one item.
const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Byte progress of one item, throttled so a fast download does not flood the caller.
pub(crate) struct ItemProgress {
    events: Events,
    name: String,
    path: Option<PathBuf>,
    total: u64,
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl ItemProgress {
    /// Progress of the item `name` (at `path`) expecting `total` bytes.
    pub(crate) fn new(events: Events, name: &str, path: Option<PathBuf>, total: u64) -> Self {
        Self { events, name: name.to_owned(), path, total, last: std::sync::Mutex::default() }
    }

    /// Reports `current` bytes; the last one (`current >= total`) always goes out.
    pub(crate) fn report(&self, current: u64) {
        let now = std::time::Instant::now();
        {
            let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if current < self.total && last.is_some_and(|t| now.duration_since(t) < PROGRESS_INTERVAL) {
                return;
            }
            *last = Some(now);
        }
        let event =
            DownloadEvent::item(DownloadEventType::Progress, &self.name, self.path.clone(), self.total);
        self.events.emit(event.with_current(current));
    }
}
