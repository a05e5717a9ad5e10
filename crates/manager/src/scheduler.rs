//! The one scheduler every download path runs through: artifacts, seed
//! snapshots, component images and template charts (BEHAVIOR.md §5 step 5).
//!
//! Work comes as lanes of units. Units of one lane run one after another (the
//! images of one repository share an `index.json`); lanes run side by side,
//! at most `concurrency` units at once, and at most a host's own limit for a
//! host that has one (`public.ecr.aws`: 1). This is the one place that emits
//! `started`, `done` and `failed`.
//!
//! When a unit fails, the rest go on to the end and every failure is
//! returned (**beyond** the original); with `fail_fast` the first failure
//! aborts everything still running, as the original does. Either way only
//! the units that finished are reported done, so nothing incomplete is marked
//! cached.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::Error;
use crate::error::Failure;
use crate::events::{DownloadEvent, DownloadEventType as Ev, Events};
use crate::job::Target;

/// The work of one unit: its bytes fetched and stored, then what it marks cached.
pub(crate) type Work = Pin<Box<dyn Future<Output = Result<Finished, Error>> + Send>>;

/// What a unit that succeeded reports.
#[derive(Debug)]
pub(crate) struct Finished {
    /// What it marks cached.
    pub(crate) target: Target,
    /// The bytes it stored.
    pub(crate) bytes: u64,
}

/// One item to run: its event name, path and size, and its work.
pub(crate) struct Unit {
    pub(crate) name: String,
    pub(crate) path: Option<PathBuf>,
    pub(crate) size: u64,
    /// A host with a limit of its own, and that limit.
    pub(crate) host_limit: Option<(String, usize)>,
    pub(crate) work: Work,
}

impl Unit {
    /// A unit with no host limit.
    pub(crate) fn new(
        name: &str,
        path: Option<PathBuf>,
        size: u64,
        work: impl Future<Output = Result<Finished, Error>> + Send + 'static,
    ) -> Self {
        Self { name: name.to_owned(), path, size, host_limit: None, work: Box::pin(work) }
    }

    /// The same unit, limited to `limit` at once on `host`.
    pub(crate) fn with_host_limit(mut self, host: Option<(String, usize)>) -> Self {
        self.host_limit = host;
        self
    }
}

/// Units that run one after another.
pub(crate) type Lane = Vec<Unit>;

/// What a run of the scheduler did.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The targets of the units that finished.
    pub(crate) done: Vec<Target>,
    /// Every unit that failed (with `fail_fast`, the first), in the order they failed.
    pub(crate) failures: Vec<Failure>,
}

impl Outcome {
    /// Adds another run's outcome.
    pub(crate) fn extend(&mut self, other: Outcome) {
        self.done.extend(other.done);
        self.failures.extend(other.failures);
    }
}

/// Runs lanes of units with bounded concurrency.
#[derive(Clone)]
pub(crate) struct Scheduler {
    slots: Arc<Semaphore>,
    host_slots: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    fail_fast: bool,
    events: Events,
}

impl Scheduler {
    /// A scheduler running at most `concurrency` units at once.
    pub(crate) fn new(concurrency: usize, fail_fast: bool, events: Events) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            host_slots: Arc::default(),
            fail_fast,
            events,
        }
    }

    /// Where this scheduler's events go.
    pub(crate) fn events(&self) -> &Events {
        &self.events
    }

    /// Runs every lane to the end (or to the first failure with `fail_fast`).
    pub(crate) async fn run(&self, lanes: Vec<Lane>) -> Outcome {
        let mut set = JoinSet::new();
        let mut labels = HashMap::new();
        for lane in lanes.into_iter().filter(|lane| !lane.is_empty()) {
            let label = match lane.as_slice() {
                [one] => one.name.clone(),
                [first, rest @ ..] => format!("{} (and {} more)", first.name, rest.len()),
                [] => continue,
            };
            let handle = set.spawn(self.clone().run_lane(lane));
            labels.insert(handle.id(), label);
        }
        let mut outcome = Outcome::default();
        while let Some(joined) = set.join_next_with_id().await {
            match joined {
                Ok((_, lane)) => outcome.extend(lane),
                Err(err) if err.is_cancelled() => {}
                Err(err) => {
                    let item = labels.remove(&err.id()).unwrap_or_default();
                    outcome.failures.push(self.failed(&item, None, 0, Error::Task(err)));
                }
            }
            if self.fail_fast && !outcome.failures.is_empty() {
                set.abort_all();
                while set.join_next().await.is_some() {}
                break;
            }
        }
        outcome
    }

    /// Runs one lane's units in order.
    async fn run_lane(self, lane: Lane) -> Outcome {
        let mut outcome = Outcome::default();
        for unit in lane {
            let Unit { name, path, size, host_limit, work } = unit;
            let host = host_limit.map(|(host, limit)| self.host_slot(&host, limit));
            // The semaphores are never closed, so acquiring only waits.
            let _host = match &host {
                Some(slot) => slot.acquire().await.ok(),
                None => None,
            };
            let _slot = self.slots.acquire().await.ok();
            self.events.emit(DownloadEvent::item(Ev::Started, &name, path.clone(), size));
            match work.await {
                Ok(Finished { target, bytes }) => {
                    self.events.emit(DownloadEvent::item(Ev::Done, &name, path, size).with_current(bytes));
                    outcome.done.push(target);
                }
                Err(err) => {
                    outcome.failures.push(self.failed(&name, path, size, err));
                    if self.fail_fast {
                        break;
                    }
                }
            }
        }
        outcome
    }

    /// Emits `failed` for an item; returns its failure.
    fn failed(&self, name: &str, path: Option<PathBuf>, size: u64, error: Error) -> Failure {
        let event = DownloadEvent::item(Ev::Failed, name, path, size).with_message(error.to_string());
        self.events.emit(event);
        Failure { item: name.to_owned(), error }
    }

    /// The semaphore limiting one host.
    fn host_slot(&self, host: &str, limit: usize) -> Arc<Semaphore> {
        let mut slots = self.host_slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(host.to_owned()).or_insert_with(|| Arc::new(Semaphore::new(limit.max(1)))))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Notify;

    use super::*;
    use crate::events::DownloadEvent;

    /// Each (type, name) emitted.
    type Seen = Arc<Mutex<Vec<(Ev, String)>>>;

    /// Events that record each (type, name).
    fn recorder() -> (Events, Seen) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let events = Events::new(Some(Arc::new(move |e: &DownloadEvent| {
            sink.lock().unwrap().push((e.kind, e.name.clone()));
        })));
        (events, seen)
    }

    fn ok(name: &str) -> Unit {
        let target = Target::Artifact(name.to_owned());
        Unit::new(name, None, 1, async move { Ok(Finished { target, bytes: 1 }) })
    }

    fn fails(name: &str) -> Unit {
        let reason = format!("{name} is broken");
        Unit::new(name, None, 1, async move { Err(Error::rejected("test", reason)) })
    }

    #[tokio::test]
    async fn a_failure_lets_every_other_unit_finish() {
        let (events, seen) = recorder();
        let scheduler = Scheduler::new(2, false, events);
        let outcome = scheduler.run(vec![vec![ok("a")], vec![fails("b"), ok("c")], vec![ok("d")]]).await;
        let mut done: Vec<_> = outcome.done.iter().map(|t| format!("{t:?}")).collect();
        done.sort();
        assert_eq!(done, [r#"Artifact("a")"#, r#"Artifact("c")"#, r#"Artifact("d")"#]);
        assert_eq!(outcome.failures.len(), 1);
        assert_eq!(outcome.failures[0].item, "b");
        let seen = seen.lock().unwrap();
        assert!(seen.contains(&(Ev::Failed, "b".to_owned())));
        assert_eq!(seen.iter().filter(|(kind, _)| *kind == Ev::Done).count(), 3);
    }

    #[tokio::test]
    async fn fail_fast_aborts_what_is_still_running() {
        let (events, seen) = recorder();
        let scheduler = Scheduler::new(4, true, events);
        let never = Arc::new(Notify::new());
        let waiting = Arc::clone(&never);
        let stuck = Unit::new("stuck", None, 1, async move {
            waiting.notified().await;
            Ok(Finished { target: Target::Artifact("stuck".to_owned()), bytes: 1 })
        });
        let outcome = scheduler.run(vec![vec![stuck], vec![fails("b")]]).await;
        assert_eq!(outcome.failures.len(), 1);
        assert!(outcome.done.is_empty(), "{:?}", outcome.done);
        assert!(!seen.lock().unwrap().contains(&(Ev::Done, "stuck".to_owned())));
    }

    #[tokio::test]
    async fn a_lane_runs_in_order_and_a_host_limit_holds() {
        let (events, _) = recorder();
        let scheduler = Scheduler::new(8, false, events);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let order = Arc::new(Mutex::new(Vec::new()));
        let unit = |name: &'static str| {
            let (running, most, order) = (Arc::clone(&running), Arc::clone(&most), Arc::clone(&order));
            Unit::new(name, None, 1, async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                order.lock().unwrap().push(name);
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(Finished { target: Target::Artifact(name.to_owned()), bytes: 1 })
            })
            .with_host_limit(Some(("public.ecr.aws".to_owned(), 1)))
        };
        let outcome =
            scheduler.run(vec![vec![unit("a1"), unit("a2")], vec![unit("b1")], vec![unit("c1")]]).await;
        assert_eq!(outcome.done.len(), 4);
        assert_eq!(most.load(Ordering::SeqCst), 1, "one at a time on a host limited to 1");
        let order = order.lock().unwrap();
        let position = |name| order.iter().position(|n| *n == name).unwrap();
        assert!(position("a1") < position("a2"), "{order:?}");
    }

    #[tokio::test]
    async fn a_panicking_unit_is_a_failure_named_after_its_lane() {
        let (events, _) = recorder();
        let scheduler = Scheduler::new(2, false, events);
        let panics = Unit::new("boom", None, 1, async { panic!("a bug") });
        let outcome = scheduler.run(vec![vec![panics], vec![ok("fine")]]).await;
        assert_eq!(outcome.done.len(), 1);
        assert_eq!(outcome.failures.len(), 1);
        assert_eq!(outcome.failures[0].item, "boom");
        assert!(matches!(outcome.failures[0].error, Error::Task(_)));
        assert!(matches!(outcome.failures[0].error.cause(), crate::Cause::Bug));
    }
}
