//! Turns manager events into what the user sees, one [`Reporter`] per run.
//!
//! - A terminal on stderr (and neither `--quiet` nor `--json`): live progress
//!   bars (`bars`), status messages and failures printed above them, the bars
//!   cleared at the end so the last line is the summary.
//! - stderr not a terminal: plain lines on stderr (`plain`), one per status,
//!   start, finish and failure, then the summary.
//! - `--json`: one JSON object per event on stdout (`json`) and nothing else
//!   on stdout: the dry-run plan becomes one `{"type":"dry-run"}` object and
//!   the run ends with one `{"type":"summary"}` object.
//! - `--quiet`: no progress and no summary; errors still reach stderr (from
//!   `main`). A dry run still prints its report: it is the command's result.
//!
//! Whatever the mode, the reporter counts cached, downloaded and failed items
//! so the run can end with one summary line.

mod bars;
mod json;
mod plain;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deps_manager::{DownloadEvent, DownloadEventType as Ev, DownloadPlan, Failure, ProgressFn};

use crate::out;

pub use bars::Bars;
pub use json::{dry_run_line, json_line, summary_line};
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
    /// Items that failed.
    pub failed: AtomicU64,
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
            Ev::Failed => {
                self.failed.fetch_add(1, Ordering::Relaxed);
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
        Self { sink, tally: Arc::default(), started: Instant::now() }
    }

    /// The callback to hand to the manager.
    pub fn callback(&self) -> ProgressFn {
        let (sink, tally) = (self.sink.clone(), Arc::clone(&self.tally));
        Arc::new(move |event: &DownloadEvent| {
            tally.count(event);
            match &sink {
                Sink::Quiet => {}
                Sink::Json => out::print_json(&json_line(event)),
                Sink::Plain => {
                    if let Some(line) = plain_line(event) {
                        out::eprint_line(&line);
                    }
                }
                Sink::Bars(bars) => bars.event(event),
            }
        })
    }

    /// Shows a dry-run plan: its text on stdout, or one JSON object (even in quiet mode: it is the result).
    pub fn plan(&self, plan: &DownloadPlan) {
        match self.sink {
            Sink::Json => out::print_json(&dry_run_line(plan)),
            _ => out::print_lines(&plan_text(plan)),
        }
    }

    /// Clears the bars and prints the summary line (a `summary` object in JSON
    /// mode; nothing when quiet). `failures` are the items that failed.
    pub fn finish(&self, cache_dir: &Path, failures: &[Failure]) {
        if let Sink::Bars(bars) = &self.sink {
            bars.clear();
        }
        let elapsed = self.started.elapsed();
        match self.sink {
            Sink::Plain | Sink::Bars(_) => out::eprint_line(&summary(&self.tally, elapsed, cache_dir)),
            Sink::Json => out::print_json(&summary_line(&self.tally, elapsed, cache_dir, failures)),
            Sink::Quiet => {}
        }
    }
}

impl Reporter {
    /// Ends a run stopped by an error that is not an item's: the bars go, and
    /// in JSON mode a last `summary` object carries the error.
    pub fn abort(&self, cache_dir: &Path, error: &deps_manager::Error) {
        if let Sink::Bars(bars) = &self.sink {
            bars.clear();
        }
        if let Sink::Json = self.sink {
            let mut line = summary_line(&self.tally, self.started.elapsed(), cache_dir, &[]);
            line["error"] = serde_json::Value::String(error.to_string());
            line["hint"] = error.hint().map_or(serde_json::Value::Null, serde_json::Value::String);
            out::print_json(&line);
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

/// The closing line: "Downloaded N items (X) in Ys; M already cached[; K failed]. Cache: DIR".
pub fn summary(tally: &Tally, elapsed: Duration, cache_dir: &Path) -> String {
    let failed = tally.failed.load(Ordering::Relaxed);
    format!(
        "Downloaded {} items ({}) in {:.1}s; {} already cached{}. Cache: {}",
        tally.done.load(Ordering::Relaxed),
        human_bytes(tally.bytes.load(Ordering::Relaxed)),
        elapsed.as_secs_f64(),
        tally.cached.load(Ordering::Relaxed),
        if failed > 0 { format!("; {failed} failed") } else { String::new() },
        cache_dir.display(),
    )
}

/// The dry-run report (BEHAVIOR.md §5 step 3): the manifest source, the cache,
/// each missing artifact relative to the cache root, then the shared counts.
pub fn plan_text(plan: &DownloadPlan) -> String {
    let mut out = format!("Manifest: {}\nCache: {}\n", plan.manifest_source, plan.cache_dir.display());
    if plan.missing.is_empty() {
        out.push_str("All dependencies already cached, nothing to download.\n");
    } else {
        out.push_str(&format!("Would download {} artifacts:\n", plan.missing.len()));
        for file in &plan.missing {
            out.push_str(&format!("  {} ({})\n", file.path.display(), human_bytes(file.size)));
        }
    }
    out.push_str(&format!("VMConfig images: {}\n", plan.vmconfig_images));
    if let Some(git) = &plan.git {
        let action = if git.clone { "clone" } else { "fetch" };
        out.push_str(&format!(
            "Components Git source: would {action} {} ({}) into {}\n",
            git.url,
            git.reference,
            git.path.display()
        ));
    }
    if let Some(shared) = &plan.shared {
        out.push_str(&format!("Component images: {}\n", shared.component_images));
        out.push_str(&format!("Template charts: {}\n", shared.template_charts));
        out.push_str(&format!("Template images: {}\n", shared.template_images));
        out.push_str(&format!("Seed snapshots: {}\n", shared.seed_snapshots));
    }
    out
}

/// Formats a byte count with binary units (`53.1 MiB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
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
    fn a_failed_item_is_counted_in_the_summary() {
        let tally = Tally::default();
        tally.count(&DownloadEvent::item(Ev::Failed, "kubectl", None, 0));
        let line = summary(&tally, Duration::from_millis(100), Path::new("/c"));
        assert_eq!(line, "Downloaded 0 items (0 B) in 0.1s; 0 already cached; 1 failed. Cache: /c");
    }

    #[test]
    fn human_bytes_uses_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(335_740_928), "320.2 MiB");
    }
}
