//! The dry-run report (BEHAVIOR.md §5.3): where the manifest came from, the
//! cache directory, each missing artifact relative to the cache root, then the
//! counts of component images, template charts and seed snapshots. Nothing is
//! downloaded or written.

use std::io::Write;

use crate::download::{CrossArch, Job};
use crate::source::Source;
use crate::{DownloadOptions, Error, Manager};

impl Manager {
    /// Prints what a download would fetch.
    pub(crate) fn print_dry_run(
        &self,
        source: &Source,
        jobs: &[Job],
        cross: Option<&CrossArch>,
        opts: &DownloadOptions,
    ) -> Result<(), Error> {
        // Read-only: fingerprints spare the hashing, but what is learnt is not saved.
        let fingerprints = deps_store::Fingerprints::load(self.cache_dir());
        let mut missing = Vec::new();
        for job in jobs {
            if !fingerprints.check(&job.dest, &job.digest)? {
                missing.push(job);
            }
        }
        let mut out = String::new();
        out.push_str(&format!("Manifest: {source}\n"));
        out.push_str(&format!("Cache: {}\n", self.cache_dir().display()));
        if missing.is_empty() {
            out.push_str("All dependencies already cached, nothing to download.\n");
        } else {
            out.push_str(&format!("Would download {} artifacts:\n", missing.len()));
            for job in &missing {
                let rel = job.dest.strip_prefix(self.cache_dir()).unwrap_or(&job.dest);
                out.push_str(&format!("  {} ({})\n", rel.display(), human_bytes(job.size)));
            }
        }
        if let Some(cross) = cross {
            out.push_str(&format!("Component images: {}\n", cross.image_indexes.len()));
            out.push_str(&format!("Template charts: {}\n", cross.templates.manifest.templates.charts.len()));
            let seeds = cross.seeds.as_ref().map_or(0, |(_, plans)| plans.len());
            out.push_str(&format!("Seed snapshots: {seeds}\n"));
        }
        let written = match &opts.output {
            Some(output) => {
                let mut w = output.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                w.write_all(out.as_bytes()).and_then(|()| w.flush())
            }
            None => std::io::stdout().lock().write_all(out.as_bytes()),
        };
        written.map_err(|source| Error::Io { path: "<output>".into(), source })
    }
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
    use super::human_bytes;

    #[test]
    fn human_bytes_uses_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(335_740_928), "320.2 MiB");
    }
}
