//! Live progress bars for a terminal: one overall bar (bytes of the queued
//! items, rate, ETA, items done of queued), one bar per download in flight
//! (added on `started`, removed on `done` or `failed`), and one line counting
//! the items already cached. Status messages and failures print above the
//! bars. [`Bars::clear`] removes every bar for good (later events draw
//! nothing), so whatever prints next starts on a clean line. Names and
//! messages are escaped (`out::escape`): they come from manifests and servers.
//! Only the CLI knows about indicatif; the manager sends events.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use deps_manager::{DownloadEvent, DownloadEventType as Ev};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::out::escape;

/// The overall bar: percent, bytes, rate, ETA, then "done/queued items".
const OVERALL: &str = "{spinner} [{bar:30}] {percent:>3}% {binary_bytes}/{binary_total_bytes} \
     {binary_bytes_per_sec} ETA {eta} {msg}";
/// A download whose size is known.
const ITEM: &str = "  {msg:32!} [{bar:20}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}";
/// A download of unknown size.
const ITEM_UNSIZED: &str = "  {msg:32!} {spinner} {binary_bytes} {binary_bytes_per_sec}";
/// A line of text.
const LINE: &str = "{msg}";

/// The bars of one run; shared by every task that emits events.
#[derive(Debug)]
pub struct Bars {
    multi: MultiProgress,
    state: Mutex<State>,
}

/// What the bars show, updated under one lock.
#[derive(Debug, Default)]
struct State {
    overall: Option<ProgressBar>,
    cached_line: Option<ProgressBar>,
    /// Bars of the downloads in flight.
    active: HashMap<String, ProgressBar>,
    /// Bytes counted so far for each queued item.
    counted: HashMap<String, u64>,
    queued: u64,
    done: u64,
    cached: u64,
    /// Set by `clear`: the run is over (or interrupted) and nothing more is drawn.
    cleared: bool,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Default for Bars {
    fn default() -> Self {
        Self::new()
    }
}

impl Bars {
    /// Bars drawn on stderr.
    pub fn new() -> Self {
        Self { multi: MultiProgress::new(), state: Mutex::default() }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shows one event.
    pub fn event(&self, event: &DownloadEvent) {
        let mut state = self.state();
        if state.cleared {
            return;
        }
        match event.kind {
            Ev::Status => self.println(&event.message),
            Ev::Cached => {
                state.cached += 1;
                let n = state.cached;
                let line = state.cached_line.get_or_insert_with(|| self.insert_top(style(LINE)));
                line.set_message(format!("{n} item{} already cached", if n == 1 { "" } else { "s" }));
            }
            Ev::Queued => {
                state.queued += 1;
                state.counted.insert(event.name.clone(), 0);
                let overall = state.overall.get_or_insert_with(|| self.add_overall());
                overall.inc_length(event.total);
                self.update_items(&state);
            }
            Ev::Started => {
                let bar = ProgressBar::new(event.total).with_message(escape(&event.name).into_owned());
                bar.set_style(style(if event.total > 0 { ITEM } else { ITEM_UNSIZED }));
                let bar = match &state.overall {
                    Some(overall) => self.multi.insert_before(overall, bar),
                    None => self.multi.add(bar),
                };
                if let Some(old) = state.active.insert(event.name.clone(), bar) {
                    self.remove(&old);
                }
            }
            Ev::Progress => {
                if let Some(bar) = state.active.get(&event.name) {
                    if event.total > 0 && bar.length() != Some(event.total) {
                        bar.set_length(event.total);
                        bar.set_style(style(ITEM));
                    }
                    bar.set_position(event.current);
                }
                self.count_bytes(&mut state, &event.name, event.current);
            }
            Ev::Done => {
                if let Some(bar) = state.active.remove(&event.name) {
                    self.remove(&bar);
                }
                let size = if event.current > 0 { event.current } else { event.total };
                self.count_bytes(&mut state, &event.name, size);
                if state.counted.contains_key(&event.name) {
                    state.done += 1;
                    self.update_items(&state);
                }
            }
            Ev::Failed => {
                if let Some(bar) = state.active.remove(&event.name) {
                    self.remove(&bar);
                }
                self.println(&format!("failed   {}: {}", event.name, event.message));
            }
            _ => {}
        }
    }

    /// Removes every bar and line; later events draw nothing.
    pub fn clear(&self) {
        let mut state = self.state();
        state.cleared = true;
        // Wipe what is on screen, then draw nothing more: removing bars one
        // by one can leave a line behind.
        let _ = self.multi.clear();
        self.multi.set_draw_target(ProgressDrawTarget::hidden());
        let bars = state.active.drain().map(|(_, bar)| bar).collect::<Vec<_>>();
        for bar in bars.iter().chain(state.overall.take().iter()).chain(state.cached_line.take().iter()) {
            self.remove(bar);
        }
    }

    /// Prints a line above the bars; the terminal is the only reader, so a
    /// failed write is not worth reporting.
    fn println(&self, line: &str) {
        let _ = self.multi.println(escape(line));
    }

    fn remove(&self, bar: &ProgressBar) {
        bar.finish_and_clear();
        self.multi.remove(bar);
    }

    fn insert_top(&self, style: ProgressStyle) -> ProgressBar {
        self.multi.insert(0, ProgressBar::new(0).with_style(style))
    }

    fn add_overall(&self) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(0).with_style(style(OVERALL)));
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// Adds the bytes of a queued item not yet counted on the overall bar.
    fn count_bytes(&self, state: &mut State, name: &str, current: u64) {
        let Some(counted) = state.counted.get_mut(name) else { return };
        let delta = current.saturating_sub(*counted);
        *counted = (*counted).max(current);
        if let Some(overall) = &state.overall {
            overall.inc(delta);
        }
    }

    fn update_items(&self, state: &State) {
        if let Some(overall) = &state.overall {
            overall.set_message(format!("{}/{} items", state.done, state.queued));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden() -> Bars {
        let bars = Bars::new();
        bars.multi.set_draw_target(ProgressDrawTarget::hidden());
        bars
    }

    fn item(kind: Ev, name: &str, total: u64, current: u64) -> DownloadEvent {
        DownloadEvent::item(kind, name, None, total).with_current(current)
    }

    #[test]
    fn the_overall_bar_counts_bytes_and_items_of_queued_downloads() {
        let bars = hidden();
        bars.event(&item(Ev::Cached, "runc", 5, 0));
        bars.event(&item(Ev::Cached, "crun", 5, 0));
        bars.event(&item(Ev::Queued, "kubectl", 100, 0));
        bars.event(&item(Ev::Queued, "os-image", 1000, 0));
        bars.event(&item(Ev::Started, "kubectl", 100, 0));
        bars.event(&item(Ev::Progress, "kubectl", 100, 40));
        bars.event(&item(Ev::Progress, "kubectl", 100, 70));
        {
            let state = bars.state();
            let overall = state.overall.as_ref().unwrap();
            assert_eq!((overall.position(), overall.length()), (70, Some(1100)));
            assert_eq!(state.active.len(), 1);
            assert_eq!(state.cached_line.as_ref().unwrap().message(), "2 items already cached");
        }
        bars.event(&item(Ev::Done, "kubectl", 100, 100));
        bars.event(&item(Ev::Done, "chart/local", 7, 0)); // never queued: not counted
        let state = bars.state();
        let overall = state.overall.as_ref().unwrap();
        assert_eq!(overall.position(), 100);
        assert_eq!(overall.message(), "1/2 items");
        assert!(state.active.is_empty(), "the finished download's bar is gone");
    }

    #[test]
    fn clear_removes_every_bar() {
        let bars = hidden();
        bars.event(&item(Ev::Cached, "runc", 5, 0));
        bars.event(&item(Ev::Queued, "kubectl", 100, 0));
        bars.event(&item(Ev::Started, "kubectl", 100, 0));
        bars.clear();
        bars.event(&item(Ev::Started, "crun", 5, 0));
        let state = bars.state();
        assert!(state.active.is_empty() && state.overall.is_none() && state.cached_line.is_none());
    }

    #[test]
    fn a_name_with_control_characters_is_shown_escaped() {
        let bars = hidden();
        bars.event(&item(Ev::Started, "evil\u{1b}]0;title\u{7}", 5, 0));
        let state = bars.state();
        let bar = state.active.values().next().unwrap();
        assert_eq!(bar.message(), "evil\\u{1b}]0;title\\u{7}");
    }
}
