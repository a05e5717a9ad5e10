//! The `--json` stream: one object per line on stdout, every object with the
//! same keys (`type`, `name`, `path`, `current`, `total`, `message`, `error`).
//! `type` is an event type's wire name, or `dry-run` for the dry-run report
//! (its text in `message`).

use deps_manager::DownloadEvent;
use serde_json::json;

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

/// The JSON object carrying a dry-run report.
pub fn dry_run_line(report: &str) -> serde_json::Value {
    json!({
        "type": "dry-run",
        "name": "",
        "path": null,
        "current": 0,
        "total": 0,
        "message": report,
        "error": null,
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
        assert_eq!(keys(json_line(&event)), keys(dry_run_line("Manifest: x\n")));
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
