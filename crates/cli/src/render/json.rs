//! The `--json` stream: one object per line on stdout, every object with at
//! least the same keys (`type`, `name`, `path`, `current`, `total`,
//! `message`, `error`). `type` is an event type's wire name, `dry-run` for the
//! plan of a dry run (its text in `message`, its data in `plan`), or `summary`
//! for the last object of a run (counts, and every failed item in `failures`).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use deps_manager::{DownloadEvent, DownloadEventType as Ev, DownloadPlan, Failure};
use serde_json::json;

use super::{Tally, plan_text, summary};

/// The JSON object of one event.
pub fn json_line(event: &DownloadEvent) -> serde_json::Value {
    json!({
        "type": event.kind.as_str(),
        "name": event.name,
        "path": event.path.as_ref().map(|p| p.display().to_string()),
        "current": event.current,
        "total": event.total,
        "message": event.message,
        "error": (event.kind == Ev::Failed).then_some(&event.message),
    })
}

/// The JSON object carrying a dry-run plan.
pub fn dry_run_line(plan: &DownloadPlan) -> serde_json::Value {
    let missing: Vec<_> = plan
        .missing
        .iter()
        .map(|f| json!({ "name": f.name, "path": f.path.display().to_string(), "size": f.size }))
        .collect();
    let shared = plan.shared.map(|s| {
        json!({
            "component_images": s.component_images,
            "template_charts": s.template_charts,
            "template_images": s.template_images,
            "seed_snapshots": s.seed_snapshots,
        })
    });
    json!({
        "type": "dry-run",
        "name": plan.target,
        "path": plan.cache_dir.display().to_string(),
        "current": 0,
        "total": plan.missing.iter().map(|f| f.size).sum::<u64>(),
        "message": plan_text(plan),
        "error": null,
        "plan": {
            "target": plan.target,
            "manifest_source": plan.manifest_source,
            "cache_dir": plan.cache_dir.display().to_string(),
            "missing": missing,
            "vmconfig_images": plan.vmconfig_images,
            "git": plan.git.as_ref().map(|g| json!({
                "url": g.url,
                "ref": g.reference,
                "path": g.path.display().to_string(),
                "action": if g.clone { "clone" } else { "fetch" },
            })),
            "shared": shared,
        },
    })
}

/// The last JSON object of a run: what was downloaded, cached and failed.
pub fn summary_line(
    tally: &Tally,
    elapsed: Duration,
    cache_dir: &Path,
    failures: &[Failure],
) -> serde_json::Value {
    let failed: Vec<_> = failures
        .iter()
        .map(|f| json!({ "name": f.item, "error": f.error.to_string(), "hint": f.error.hint() }))
        .collect();
    json!({
        "type": "summary",
        "name": "",
        "path": cache_dir.display().to_string(),
        "current": tally.bytes.load(Ordering::Relaxed),
        "total": tally.bytes.load(Ordering::Relaxed),
        "message": summary(tally, elapsed, cache_dir),
        "error": (!failures.is_empty()).then(|| format!("{} items failed", failures.len())),
        "downloaded": tally.done.load(Ordering::Relaxed),
        "cached": tally.cached.load(Ordering::Relaxed),
        "failed": failures.len(),
        "elapsed_secs": elapsed.as_secs_f64(),
        "failures": failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use deps_manager::DownloadEventType as Ev;

    #[test]
    fn every_line_has_the_same_keys() {
        let event = DownloadEvent::item(Ev::Progress, "kubectl", Some("a/b".into()), 10).with_current(4);
        let keys = |v: serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let summary = summary_line(&Tally::default(), Duration::ZERO, Path::new("/c"), &[]);
        let common = keys(json_line(&event));
        assert!(common.iter().all(|k| keys(summary.clone()).contains(k)), "{summary}");
        insta::assert_json_snapshot!(json_line(&event), @r#"
        {
          "current": 4,
          "error": null,
          "message": "",
          "name": "kubectl",
          "path": "a/b",
          "total": 10,
          "type": "progress"
        }
        "#);
    }
}
