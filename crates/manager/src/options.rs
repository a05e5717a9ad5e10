//! Options of one `download` call, mirroring the original API's
//! `DownloadOptions` plus what we add (an artifact mirror, `fail_fast`).
//! The dry-run report is returned as data ([`crate::DownloadPlan`]), so there
//! is no output writer: the library never prints.

use std::path::PathBuf;

use deps_transport::HttpClient;

use crate::events::{Events, ProgressFn};

/// Default number of downloads in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Controls one [`Manager::download`](crate::Manager::download) run.
///
/// Build it from `Default` and the chained setters (`DownloadOptions::default().dry_run(true)`),
/// or set the public fields of a default value.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct DownloadOptions {
    /// Plan only: return what would be downloaded; download and write nothing.
    pub dry_run: bool,
    /// Downloads in flight at once (0 means the default, 4).
    pub concurrency: usize,
    /// Stop at the first failed item, as the original does, instead of letting the others finish.
    pub fail_fast: bool,
    /// An HTTP client to use instead of the manager's own.
    pub client: Option<HttpClient>,
    /// Receives progress events.
    pub progress: Option<ProgressFn>,
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
    /// Skip the components Git source's mirror.
    pub skip_components_git: bool,
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

/// A chained setter per field.
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        impl DownloadOptions {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $field(mut self, value: $ty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`DownloadOptions::dry_run`].
    dry_run: bool,
    /// Sets [`DownloadOptions::concurrency`].
    concurrency: usize,
    /// Sets [`DownloadOptions::fail_fast`].
    fail_fast: bool,
    /// Sets [`DownloadOptions::client`].
    client: Option<HttpClient>,
    /// Sets [`DownloadOptions::progress`].
    progress: Option<ProgressFn>,
    /// Sets [`DownloadOptions::archs`].
    archs: Vec<String>,
    /// Sets [`DownloadOptions::providers`].
    providers: Vec<String>,
    /// Sets [`DownloadOptions::addons`].
    addons: Vec<String>,
    /// Sets [`DownloadOptions::skip_cross_arch_dependencies`].
    skip_cross_arch_dependencies: bool,
    /// Sets [`DownloadOptions::skip_seeds`].
    skip_seeds: bool,
    /// Sets [`DownloadOptions::skip_components_git`].
    skip_components_git: bool,
    /// Sets [`DownloadOptions::vmconfig_manifest_path`].
    vmconfig_manifest_path: Option<PathBuf>,
    /// Sets [`DownloadOptions::components_manifest_path`].
    components_manifest_path: Option<PathBuf>,
    /// Sets [`DownloadOptions::templates_manifest_path`].
    templates_manifest_path: Option<PathBuf>,
    /// Sets [`DownloadOptions::seeds_manifest_path`].
    seeds_manifest_path: Option<PathBuf>,
    /// Sets [`DownloadOptions::mirror`].
    mirror: Option<String>,
}

impl DownloadOptions {
    /// The effective concurrency.
    pub(crate) fn effective_concurrency(&self) -> usize {
        if self.concurrency == 0 { DEFAULT_CONCURRENCY } else { self.concurrency }
    }

    /// Where this run's events go.
    pub(crate) fn events(&self) -> Events {
        Events::new(self.progress.clone())
    }
}

impl std::fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("dry_run", &self.dry_run)
            .field("concurrency", &self.concurrency)
            .field("fail_fast", &self.fail_fast)
            .field("archs", &self.archs)
            .field("providers", &self.providers)
            .field("addons", &self.addons)
            .field("skip_cross_arch_dependencies", &self.skip_cross_arch_dependencies)
            .field("skip_seeds", &self.skip_seeds)
            .field("skip_components_git", &self.skip_components_git)
            .field("mirror", &self.mirror)
            .finish_non_exhaustive()
    }
}
