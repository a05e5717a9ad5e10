//! What the scheduler runs and what a finished item marks cached: the types
//! and helpers every download path shares (artifacts, seeds, images, charts).
//! A leaf: it names no other module of the orchestration.

use std::path::{Path, PathBuf};

use deps_manifest::Digest;
use deps_store::Fingerprints;

use crate::Error;

/// One file to fetch, verify and rename into place.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// What the job marks cached when it succeeds.
    pub(crate) target: Target,
    /// The event name.
    pub(crate) name: String,
    pub(crate) url: String,
    /// Where to try when `url` answers 404 (a mirror's arch path falls back to its original path).
    pub(crate) fallback: Option<String>,
    pub(crate) dest: PathBuf,
    pub(crate) digest: Digest,
    pub(crate) size: u64,
}

/// The manifest entry a finished item marks cached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// A vmconfig item, by name.
    Artifact(String),
    /// A seed snapshot, by name.
    Seed(String),
    /// A component image, by its index in the components manifest.
    Image(usize),
    /// A vmconfig image (the VM's own runtime images), by its index in the vmconfig manifest.
    VmImage(usize),
    /// A template image, by its index in the templates manifest.
    TemplateImage(usize),
    /// The components Git source's mirror.
    Git,
    /// A template chart, by its index in the templates manifest, with its chart layer digest.
    Chart(usize, Digest),
}

/// Runs blocking work (disk I/O, hashing) off the async worker threads.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, Error>
where
    F: FnOnce() -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work).await?
}

/// Saves what a run fingerprinted; they only spare later runs some hashing, so failing fails nothing.
pub(crate) fn save_fingerprints(fingerprints: &Fingerprints) {
    if let Err(err) = fingerprints.save() {
        tracing::warn!(%err, "could not save the cache fingerprints");
    }
}

/// Fingerprints a file whose bytes were just verified; failing only costs a later re-hash.
pub(crate) fn record_fingerprint(fingerprints: &Fingerprints, path: &Path, digest: &Digest) {
    if let Err(err) = fingerprints.record(path, digest) {
        tracing::debug!(%err, "could not fingerprint");
    }
}
