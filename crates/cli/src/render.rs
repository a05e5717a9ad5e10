//! Turns manager events into output: plain lines on stderr, one JSON object
//! per event on stdout (`--json`), or nothing (`--quiet`). Counts what it saw
//! so the command can end with a one-line summary.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deps_manager::{DownloadEvent, DownloadEventType as Ev, ProgressFn};
use serde_json::json;

/// How events are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plain lines on stderr.
    Plain,
    /// NDJSON on stdout.
    Json,
    /// Nothing.
    Quiet,
}

/// Counters of one run.
#[derive(Debug, Default)]
pub struct Tally {
    /// Items found in the cache.
    pub cached: AtomicU64,
    /// Items downloaded.
    pub done: AtomicU64,
    /// Bytes downloaded.
    pub bytes: AtomicU64,
}

/// Builds the progress callback for a mode; `tally` counts what it sees.
pub fn progress(mode: Mode, tally: Arc<Tally>) -> ProgressFn {
    Arc::new(move |event: &DownloadEvent| {
        match event.kind {
            Ev::Cached => {
                tally.cached.fetch_add(1, Ordering::Relaxed);
            }
            Ev::Done => {
                tally.done.fetch_add(1, Ordering::Relaxed);
                tally.bytes.fetch_add(event.current, Ordering::Relaxed);
            }
            _ => {}
        }
        match mode {
            Mode::Quiet => {}
            Mode::Json => {
                let line = json_line(event);
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
            }
            Mode::Plain => {
                if let Some(line) = plain_line(event) {
                    eprintln!("{line}");
                }
            }
        }
    })
}

/// The JSON object of one event.
pub fn json_line(event: &DownloadEvent) -> serde_json::Value {
    json!({
        "type": event.kind.as_str(),
        "name": event.name,
        "path": event.path.as_ref().map(|p| p.display().to_string()),
        "current": event.current,
        "total": event.total,
        "message": event.message,
        "error": event.error.as_ref().map(|e| e.to_string()),
    })
}

/// The plain line of one event; `None` for events too chatty for a log.
pub fn plain_line(event: &DownloadEvent) -> Option<String> {
    let size = deps_manager::human_bytes(event.total);
    match event.kind {
        Ev::Status => Some(event.message.clone()),
        Ev::Started => Some(format!("fetching {} ({size})", event.name)),
        Ev::Done => Some(format!("done     {} ({size})", event.name)),
        Ev::Failed => Some(format!("failed   {}: {}", event.name, event.message)),
        Ev::Checking | Ev::Cached | Ev::Queued | Ev::Progress => None,
    }
}
