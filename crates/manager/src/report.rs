//! What the manager reports as data, for a caller to render: the plan of a
//! download (the dry run), the state of the cache (`status`), the result of a
//! verification. The library never prints.

use std::path::PathBuf;

use crate::{Domain, Problem};

/// What one download run fetches, or would fetch in a dry run (BEHAVIOR.md §5 step 3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadPlan {
    /// `<kind>_debian-13_<arch>`.
    pub target: String,
    /// Where the vmconfig manifest came from (URL or local path).
    pub manifest_source: String,
    /// The cache root.
    pub cache_dir: PathBuf,
    /// Each artifact missing from the cache, in manifest order.
    pub missing: Vec<PlannedFile>,
    /// vmconfig images (the VM's own runtime images) selected for this arch.
    pub vmconfig_images: usize,
    /// The counts of the work shared across archs; `None` when this run skips it.
    pub shared: Option<SharedCounts>,
    /// The components Git source's mirror; `None` without one, or when skipped.
    pub git: Option<PlannedGit>,
}

/// What a run does for the components Git source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedGit {
    /// The repository (credentials removed).
    pub url: String,
    /// The ref it must hold (`tag v1.2.3`, ...).
    pub reference: String,
    /// The mirror's directory, relative to the cache root.
    pub path: PathBuf,
    /// True when the mirror would be cloned, false when an existing one would be fetched.
    pub clone: bool,
}

/// One file a run fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedFile {
    /// The item's name.
    pub name: String,
    /// Where it goes, relative to the cache root.
    pub path: PathBuf,
    /// Its size in bytes (0 when the manifest does not say).
    pub size: u64,
}

/// How many items of each shared domain a run selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SharedCounts {
    /// Component images selected.
    pub component_images: usize,
    /// Template charts.
    pub template_charts: usize,
    /// Template images selected for the run's archs.
    pub template_images: usize,
    /// Seed snapshots (0 when seeds are skipped).
    pub seed_snapshots: usize,
}

/// What the cache holds for one domain (and one arch, for vmconfig): a cheap
/// existence and size check, not a re-hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DomainStatus {
    /// The domain.
    pub domain: Domain,
    /// The arch, for vmconfig; `None` for shared domains.
    pub arch: Option<String>,
    /// The cached manifest's version; `None` when nothing is downloaded yet.
    pub version: Option<String>,
    /// Items present in the cache (vmconfig: files present of those marked cached).
    pub cached: usize,
    /// Items expected (vmconfig: marked cached; components: selected; others: all).
    pub total: usize,
    /// Runtime images present in the image store (vmconfig and templates).
    pub images_cached: usize,
    /// Runtime images selected (vmconfig: for this arch; templates: for the archs asked).
    pub images_total: usize,
    /// Components: the Git mirror of the source (`<path> (<ref>)`) and the commit it holds
    /// for the ref, `None` inside when the mirror or the ref is missing.
    pub git: Option<(String, Option<String>)>,
}

impl DomainStatus {
    /// True when every expected item is present.
    pub fn is_complete(&self) -> bool {
        self.version.is_some() && self.cached >= self.total && self.images_cached >= self.images_total
    }
}

/// The state of the whole cache for a kind and some archs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStatus {
    /// The cache root.
    pub cache_dir: PathBuf,
    /// One entry per arch for vmconfig, then components, templates, seeds.
    pub domains: Vec<DomainStatus>,
}

/// What `verify` found, for every arch asked and every domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Archs with no cached vmconfig manifest: nothing to verify there.
    pub not_cached: Vec<String>,
    /// Items checked per domain; `None` for a domain with no cached manifest.
    pub checked: Vec<(Domain, Option<usize>)>,
    /// Every problem found, each once.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when everything asked is cached and intact.
    pub fn is_ok(&self) -> bool {
        self.not_cached.is_empty() && self.problems.is_empty()
    }
}
