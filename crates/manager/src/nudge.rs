//! Staleness and the update nudge: a cheap mtime check (`is_stale`) that gates
//! a background fetch (`check_update_nudge`) which never fails, only folds
//! what happened into one line for the user. Its disk work runs off the async
//! worker threads.

use std::time::{Duration, SystemTime};

use crate::Manager;

impl Manager {
    /// True when the cached vmconfig manifest is missing or older than `threshold`.
    pub fn is_stale(&self, kind: &str, arch: &str, threshold: Duration) -> bool {
        let Ok(path) = self.vmconfig_manifest_cache_path(kind, arch) else { return true };
        match fs_err::metadata(&path).and_then(|m| m.modified()) {
            Ok(mtime) => SystemTime::now().duration_since(mtime).unwrap_or_default() > threshold,
            Err(_) => true,
        }
    }

    /// Checks the mirror for a newer vmconfig manifest and returns a one-line
    /// nudge, or an empty string when there is nothing to say. Gives up after
    /// `timeout`; never returns an error.
    pub async fn check_update_nudge(&self, kind: &str, arch: &str, timeout: Duration) -> String {
        let (k, a) = (kind.to_owned(), arch.to_owned());
        let cached = self
            .off_thread(move |m| {
                Ok((m.vmconfig_manifest_cache_path(&k, &a)?, m.read_cached_manifest(&k, &a)?))
            })
            .await;
        let Ok((path, Some((cached, _)))) = cached else { return String::new() };
        let fetched = tokio::time::timeout(timeout, self.fetch_vmconfig(kind, arch)).await;
        let age = {
            let path = path.clone();
            let fresh = matches!(fetched, Ok(Ok(_)));
            tokio::task::spawn_blocking(move || {
                if fresh {
                    touch(&path);
                }
                fs_err::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|mtime| SystemTime::now().duration_since(mtime).ok())
                    .unwrap_or_default()
            })
            .await
            .unwrap_or_default()
        };
        match fetched {
            Ok(Ok(latest)) => {
                let (old, new) = (&cached.vmconfig.version, &latest.vmconfig.version);
                if old == new {
                    String::new()
                } else {
                    format!("Newer dependencies available ({old} -> {new}). Run `deps download`.")
                }
            }
            _ => {
                let days = age.as_secs() / 86_400;
                format!(
                    "Manifest is {days} days old and we couldn't check for updates. Run `deps download` when you are online."
                )
            }
        }
    }
}

/// Sets a file's mtime to now, so a fresh check is not repeated on every start.
fn touch(path: &std::path::Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}
