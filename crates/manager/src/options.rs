//! Options of one `download` call, mirroring the original API's
//! `DownloadOptions` plus the mirror override we add.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use deps_transport::HttpClient;

use crate::events::{DownloadEvent, ProgressFn};

/// Default number of downloads in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Controls one [`Manager::download`](crate::Manager::download) run.
#[derive(Clone, Default)]
pub struct DownloadOptions {
    /// Print what would be downloaded; download and write nothing.
    pub dry_run: bool,
    /// Downloads in flight at once (0 means the default, 4).
    pub concurrency: usize,
    /// An HTTP client to use instead of the manager's own.
    pub client: Option<HttpClient>,
    /// Receives progress events.
    pub progress: Option<ProgressFn>,
    /// Where the dry-run summary is written (stdout when unset).
    pub output: Option<Arc<Mutex<dyn Write + Send>>>,
    /// Architectures whose component images are selected (the run's arch when empty).
    pub archs: Vec<String>,
    /// Providers selected (`all` for every one; empty for provider-neutral only).
    pub providers: Vec<String>,
    /// Addon components selected (`all` for every one).
    pub addons: Vec<String>,
    /// Skip work shared across architectures: component images, template charts, seeds.
    pub skip_cross_arch_dependencies: bool,
    /// Skip loading and caching the seeds manifest and snapshots.
    pub skip_seeds: bool,
    /// Read the vmconfig manifest from this local file instead of the mirror.
    pub vmconfig_manifest_path: Option<PathBuf>,
    /// Read the components manifest from this local file instead of the mirror.
    pub components_manifest_path: Option<PathBuf>,
    /// Read the templates manifest from this local file instead of the mirror.
    pub templates_manifest_path: Option<PathBuf>,
    /// Read the seeds manifest from this local file instead of the mirror.
    pub seeds_manifest_path: Option<PathBuf>,
    /// Fetch artifacts from `<mirror>/vmconfig/artifacts/<name>/<version>/<file>`
    /// instead of their upstream URLs.
    pub mirror: Option<String>,
}

impl DownloadOptions {
    /// The effective concurrency.
    pub(crate) fn concurrency(&self) -> usize {
        if self.concurrency == 0 { DEFAULT_CONCURRENCY } else { self.concurrency }
    }

    /// Sends an event to the progress callback, if any.
    pub(crate) fn emit(&self, event: DownloadEvent) {
        if let Some(progress) = &self.progress {
            progress(&event);
        }
    }
}

impl std::fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("dry_run", &self.dry_run)
            .field("concurrency", &self.concurrency)
            .field("archs", &self.archs)
            .field("providers", &self.providers)
            .field("addons", &self.addons)
            .field("skip_cross_arch_dependencies", &self.skip_cross_arch_dependencies)
            .field("skip_seeds", &self.skip_seeds)
            .field("mirror", &self.mirror)
            .finish_non_exhaustive()
    }
}
