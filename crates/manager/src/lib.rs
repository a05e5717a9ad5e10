//! The orchestrator of deps: the [`Manager`] downloads, verifies and reports
//! the status of everything a local VM needs, from a mirror into the cache.
//!
//! It ties the lower crates together: manifests (`deps-manifest`) are fetched
//! (`deps-transport`) or read from local files, selected and validated, checked
//! against the cache (`deps-store`, `deps-oci`), and what is missing runs
//! through one scheduler with bounded concurrency. Progress reaches the caller
//! as [`DownloadEvent`]s; plans, cache state and verification results come
//! back as data ([`DownloadPlan`], [`CacheStatus`], [`VerifyReport`]). The
//! library never prints.
//!
//! Modules, leaves first: `error`, `domain`, `events`, `options`, `job`,
//! `report` (shared types); `scheduler` and `pull` (the machinery); `files`,
//! `images`, `charts`, `seeds` (one kind of item each); `download`, `plan`,
//! `verify`, `status`, `nudge` (the operations). No two import each other.

mod charts;
mod checks;
mod domain;
mod download;
mod error;
mod events;
mod files;
mod git;
mod images;
mod job;
mod manager;
mod migrate;
mod nudge;
mod options;
mod plan;
mod pull;
mod report;
mod scheduler;
mod seeds;
mod source;
mod status;
mod verify;

pub use deps_manifest as manifest;
pub use deps_oci::Error as OciError;
pub use deps_store::{Error as StoreError, LockWait};
pub use deps_transport::{
    ClientConfig, Error as TransportError, HttpClient, RegistryClient, RegistryConfig, RetryPolicy,
};
pub use domain::Domain;
pub use error::{Cause, Error, Failure, Problem};
pub use events::{DownloadEvent, DownloadEventType, ProgressFn};
pub use images::populate_components_zot_store;
pub use manager::Manager;
pub use options::{DEFAULT_CONCURRENCY, DownloadOptions};
pub use report::{
    CacheStatus, DomainStatus, DownloadPlan, PlannedFile, PlannedGit, SharedCounts, VerifyReport,
};
pub use verify::VerifyOptions;
