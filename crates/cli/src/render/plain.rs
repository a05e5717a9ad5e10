//! Plain lines for a log or a pipe: one line per status message, download
//! start, finish and failure; `checking`, `cached`, `queued` and `progress`
//! are too chatty for a log and print nothing. Logs and scripts read these
//! lines (docs/cli.md, "Output"): keep the format stable.

use deps_manager::{DownloadEvent, DownloadEventType as Ev};

/// The plain line of one event; `None` for events too chatty for a log.
pub fn plain_line(event: &DownloadEvent) -> Option<String> {
    // A size not known in advance (a chart) is shown once it is: on `done`.
    let size = match event.total.max(event.current) {
        0 => String::new(),
        n => format!(" ({})", super::human_bytes(n)),
    };
    match event.kind {
        Ev::Status => Some(event.message.clone()),
        Ev::Started => Some(format!("fetching {}{size}", event.name)),
        Ev::Done => Some(format!("done     {}{size}", event.name)),
        Ev::Failed => Some(format!("failed   {}: {}", event.name, event.message)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_status_start_done_and_failure_make_lines() {
        let item = |kind| DownloadEvent::item(kind, "kubectl", None, 1536);
        assert_eq!(plain_line(&item(Ev::Started)).as_deref(), Some("fetching kubectl (1.5 KiB)"));
        assert_eq!(plain_line(&item(Ev::Done)).as_deref(), Some("done     kubectl (1.5 KiB)"));
        let failed = item(Ev::Failed).with_message("digest mismatch");
        assert_eq!(plain_line(&failed).as_deref(), Some("failed   kubectl: digest mismatch"));
        assert_eq!(plain_line(&DownloadEvent::status("hi")).as_deref(), Some("hi"));
        let unsized_start = DownloadEvent::item(Ev::Started, "chart/web", None, 0);
        assert_eq!(plain_line(&unsized_start).as_deref(), Some("fetching chart/web"));
        let unsized_done = DownloadEvent::item(Ev::Done, "chart/web", None, 0).with_current(2048);
        assert_eq!(plain_line(&unsized_done).as_deref(), Some("done     chart/web (2.0 KiB)"));
        for kind in [Ev::Checking, Ev::Cached, Ev::Queued, Ev::Progress] {
            assert_eq!(plain_line(&item(kind)), None);
        }
    }
}
