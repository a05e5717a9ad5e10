//! Turns manager events into what the user sees, one [`Reporter`] per run.
//!
//! - A terminal on stderr (and neither `--quiet` nor `--json`): live progress
//!   bars (`bars`), status messages and failures printed above them, the bars
//!   cleared at the end so the last line is the summary.
//! - stderr not a terminal: plain lines on stderr (`plain`), one per status,
//!   start, finish and failure, then the summary.
//! - `--json`: one JSON object per event on stdout (`json`) and nothing else
//!   on stdout: the dry-run report becomes one `{"type":"dry-run"}` object.
//! - `--quiet`: no progress and no summary; errors still reach stderr (from
//!   `main`). A dry run still prints its report: it is the command's result.
//!
//! Whatever the mode, the reporter counts cached and downloaded items so the
//! run can end with one summary line.

mod bars;
mod json;
mod plain;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use deps_manager::{DownloadEvent, DownloadEventType as Ev, ProgressFn};

pub use bars::Bars;
pub use json::{dry_run_line, json_line};
pub use plain::plain_line;

/// How events are shown, as the flags ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Human output on stderr: bars on a terminal, plain lines otherwise.
    Plain,
    /// NDJSON on stdout.
    Json,
    /// Nothing but errors.
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

impl Tally {
    /// Counts one event.
    fn count(&self, event: &DownloadEvent) {
        match event.kind {
            Ev::Cached => {
                self.cached.fetch_add(1, Ordering::Relaxed);
            }
            Ev::Done => {
                self.done.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(event.current, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// Where one run's events go.
#[derive(Debug, Clone)]
enum Sink {
    Plain,
    Bars(Arc<Bars>),
    Json,
    Quiet,
}

/// Shows one run's events and its closing summary.
#[derive(Debug)]
pub struct Reporter {
    sink: Sink,
    tally: Arc<Tally>,
    started: Instant,
    dry_run: Arc<Mutex<Vec<u8>>>,
}

impl Reporter {
    /// A reporter for `mode`; bars when stderr is a terminal in plain mode.
    pub fn new(mode: Mode) -> Self {
        Self::with_terminal(mode, std::io::stderr().is_terminal())
    }

    /// A reporter for `mode`, told whether stderr is a terminal.
    pub fn with_terminal(mode: Mode, terminal: bool) -> Self {
        let sink = match mode {
            Mode::Plain if terminal => Sink::Bars(Arc::new(Bars::new())),
            Mode::Plain => Sink::Plain,
            Mode::Json => Sink::Json,
            Mode::Quiet => Sink::Quiet,
        };
        Self { sink, tally: Arc::default(), started: Instant::now(), dry_run: Arc::default() }
    }

    /// The callback to hand to the manager.
    pub fn callback(&self) -> ProgressFn {
        let (sink, tally) = (self.sink.clone(), Arc::clone(&self.tally));
        Arc::new(move |event: &DownloadEvent| {
            tally.count(event);
            match &sink {
                Sink::Quiet => {}
                Sink::Json => write_stdout(&json_line(event).to_string()),
                Sink::Plain => {
                    if let Some(line) = plain_line(event) {
                        eprintln!("{line}");
                    }
                }
                Sink::Bars(bars) => bars.event(event),
            }
        })
    }

    /// Where the manager writes a dry-run report: a buffer in JSON mode
    /// (see [`Reporter::flush_dry_run`]), stdout otherwise.
    pub fn dry_run_output(&self) -> Option<Arc<Mutex<dyn Write + Send>>> {
        match self.sink {
            Sink::Json => Some(Arc::clone(&self.dry_run) as Arc<Mutex<dyn Write + Send>>),
            _ => None,
        }
    }

    /// Emits a buffered dry-run report as one JSON object, if there is one.
    pub fn flush_dry_run(&self) {
        let text = std::mem::take(&mut *self.dry_run.lock().unwrap_or_else(PoisonError::into_inner));
        if !text.is_empty() {
            write_stdout(&dry_run_line(&String::from_utf8_lossy(&text)).to_string());
        }
    }

    /// Clears the bars and prints the summary line (not in JSON or quiet mode).
    pub fn finish(&self, cache_dir: &Path) {
        if let Sink::Bars(bars) = &self.sink {
            bars.clear();
        }
        if matches!(self.sink, Sink::Plain | Sink::Bars(_)) {
            eprintln!("{}", summary(&self.tally, self.started.elapsed(), cache_dir));
        }
    }
}

impl Drop for Reporter {
    /// Clears the bars so an error printed after a failed run starts on a clean line.
    fn drop(&mut self) {
        if let Sink::Bars(bars) = &self.sink {
            bars.clear();
        }
    }
}

/// Writes one line to stdout, whole; a closed stdout is not worth a panic.
fn write_stdout(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// The closing line: "Downloaded N items (X) in Ys; M already cached. Cache: DIR".
pub fn summary(tally: &Tally, elapsed: Duration, cache_dir: &Path) -> String {
    format!(
        "Downloaded {} items ({}) in {:.1}s; {} already cached. Cache: {}",
        tally.done.load(Ordering::Relaxed),
        deps_manager::human_bytes(tally.bytes.load(Ordering::Relaxed)),
        elapsed.as_secs_f64(),
        tally.cached.load(Ordering::Relaxed),
        cache_dir.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_downloads_bytes_and_cached_items() {
        let tally = Tally::default();
        let item = |kind, current| DownloadEvent::item(kind, "kubectl", None, 0).with_current(current);
        tally.count(&item(Ev::Done, 3 << 20));
        tally.count(&item(Ev::Done, 1 << 20));
        tally.count(&item(Ev::Cached, 0));
        tally.count(&item(Ev::Progress, 1 << 20));
        let line = summary(&tally, Duration::from_millis(2345), Path::new("/c"));
        assert_eq!(line, "Downloaded 2 items (4.0 MiB) in 2.3s; 1 already cached. Cache: /c");
    }

    #[test]
    fn json_mode_buffers_the_dry_run_report() {
        let reporter = Reporter::with_terminal(Mode::Json, true);
        assert!(reporter.dry_run_output().is_some());
        assert!(Reporter::with_terminal(Mode::Plain, false).dry_run_output().is_none());
    }
}
