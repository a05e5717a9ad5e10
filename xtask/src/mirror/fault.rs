//! Faults: what a test can make the mirror do wrong, armed per exact URL
//! path for the next N requests or forever. Several faults may be armed on
//! one path at once (one of each kind; arming a kind again replaces it) and
//! all of them apply to each request they are armed for.

use std::collections::HashMap;
use std::mem::discriminant;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::body::{BodyPlan, Cut};

/// A way to misbehave on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an empty body (invalid codes become 500).
    Status(u16),
    /// Answer 429 with a `Retry-After` of this many seconds.
    TooManyRequests {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// Announce the full length but close the connection after this many body bytes
    /// (no effect on a shorter body).
    Truncate {
        /// Body bytes sent before closing.
        after: u64,
    },
    /// Send the right length with every byte inverted.
    WrongBytes,
    /// Reset the connection (TCP RST) after this many body bytes (no effect on a shorter body).
    ResetAfter {
        /// Body bytes sent before the reset.
        after: u64,
    },
    /// Pause for `duration` after this many body bytes, then continue.
    Stall {
        /// Body bytes sent before the pause.
        after: u64,
        /// How long to pause.
        duration: Duration,
    },
    /// Answer 200 with the full body even to `Range` requests.
    IgnoreRange,
    /// Throttle the body to this many bytes per second (below 10, one byte at a time: a slow drip).
    Slow {
        /// The rate.
        bytes_per_sec: u64,
    },
    /// Answer `302 Found` with this `Location` (any scheme or host).
    RedirectTo(String),
    /// Accept the request and never answer it (until the mirror shuts down).
    BlackHole,
    /// Send neither `ETag` nor `Last-Modified`, so a client has nothing to resume with.
    NoValidators,
}

/// What the armed faults make of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FaultPlan {
    /// Answer with this status instead of serving (`Retry-After` seconds for 429).
    pub(super) reject: Option<(u16, Option<u64>)>,
    /// Answer `302` with this `Location` instead of serving.
    pub(super) redirect: Option<String>,
    /// Never answer.
    pub(super) black_hole: bool,
    /// Serve the full body whatever the `Range`.
    pub(super) ignore_range: bool,
    /// Leave out `ETag` and `Last-Modified`.
    pub(super) no_validators: bool,
    /// How to misbehave while sending the body.
    pub(super) body: BodyPlan,
}

impl FaultPlan {
    /// The combined effect of `faults` (the first rejecting fault wins).
    fn of(faults: &[Fault]) -> FaultPlan {
        let mut plan = FaultPlan::default();
        for fault in faults {
            match fault {
                Fault::RedirectTo(location) => plan.redirect = Some(location.clone()),
                Fault::BlackHole => plan.black_hole = true,
                Fault::NoValidators => plan.no_validators = true,
                &Fault::Status(code) => {
                    plan.reject.get_or_insert((code, None));
                }
                &Fault::TooManyRequests { retry_after_secs } => {
                    plan.reject.get_or_insert((429, Some(retry_after_secs)));
                }
                &Fault::Truncate { after } => plan.body.cut = Some(Cut::Close { after }),
                &Fault::ResetAfter { after } => plan.body.cut = Some(Cut::Reset { after }),
                Fault::WrongBytes => plan.body.invert = true,
                &Fault::Stall { after, duration } => plan.body.stall = Some((after, duration)),
                Fault::IgnoreRange => plan.ignore_range = true,
                &Fault::Slow { bytes_per_sec } => plan.body.bytes_per_sec = Some(bytes_per_sec.max(1)),
            }
        }
        plan
    }
}

/// One armed fault and how many more requests it applies to (`None`: forever).
#[derive(Debug)]
struct Armed {
    fault: Fault,
    remaining: Option<u32>,
}

/// The faults armed per URL path.
#[derive(Debug, Default)]
pub(super) struct FaultTable {
    armed: Mutex<HashMap<String, Vec<Armed>>>,
}

impl FaultTable {
    /// Arms `fault` on `path` for the next `times` requests (forever with `None`).
    pub(super) fn set(&self, path: &str, fault: Fault, times: Option<u32>) {
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        let list = armed.entry(path.to_owned()).or_default();
        list.retain(|a| discriminant(&a.fault) != discriminant(&fault));
        if times != Some(0) {
            list.push(Armed { fault, remaining: times });
        }
    }

    /// Disarms everything.
    pub(super) fn clear(&self) {
        self.armed.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// The plan for one request to `path`, counting it against each armed fault.
    pub(super) fn take(&self, path: &str) -> FaultPlan {
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(list) = armed.get_mut(path) else { return FaultPlan::default() };
        let faults: Vec<Fault> = list.iter().map(|a| a.fault.clone()).collect();
        for a in list.iter_mut() {
            if let Some(n) = a.remaining.as_mut() {
                *n -= 1;
            }
        }
        list.retain(|a| a.remaining != Some(0));
        if list.is_empty() {
            armed.remove(path);
        }
        FaultPlan::of(&faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_expire_and_kinds_stack() {
        let table = FaultTable::default();
        table.set("/a", Fault::Truncate { after: 5 }, Some(1));
        table.set("/a", Fault::IgnoreRange, None);
        let first = table.take("/a");
        assert_eq!(first.body.cut, Some(Cut::Close { after: 5 }));
        assert!(first.ignore_range);
        let second = table.take("/a");
        assert_eq!(second.body.cut, None);
        assert!(second.ignore_range);
        assert_eq!(table.take("/b"), FaultPlan::default());
    }

    #[test]
    fn hostile_faults_show_in_the_plan() {
        let table = FaultTable::default();
        table.set("/a", Fault::RedirectTo("http://0.0.0.0:1/x".into()), None);
        table.set("/a", Fault::RedirectTo("ftp://127.0.0.1/x".into()), None);
        table.set("/a", Fault::BlackHole, Some(1));
        table.set("/a", Fault::NoValidators, None);
        let plan = table.take("/a");
        assert_eq!(plan.redirect.as_deref(), Some("ftp://127.0.0.1/x"), "arming a kind again replaces it");
        assert!(plan.black_hole && plan.no_validators);
        assert!(!table.take("/a").black_hole);
    }

    #[test]
    fn arming_a_kind_again_replaces_it_and_zero_times_disarms() {
        let table = FaultTable::default();
        table.set("/a", Fault::Status(500), None);
        table.set("/a", Fault::Status(503), Some(2));
        assert_eq!(table.take("/a").reject, Some((503, None)));
        table.set("/a", Fault::Status(503), Some(0));
        assert_eq!(table.take("/a"), FaultPlan::default());
        table.set("/a", Fault::TooManyRequests { retry_after_secs: 7 }, None);
        assert_eq!(table.take("/a").reject, Some((429, Some(7))));
        table.clear();
        assert_eq!(table.take("/a"), FaultPlan::default());
    }
}
