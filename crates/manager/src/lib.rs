//! The orchestrator of deps: the [`Manager`] downloads, verifies and reports
//! the status of everything a local VM needs, from a mirror into the cache.
//!
//! It ties the lower crates together: manifests (`deps-manifest`) are fetched
//! (`deps-transport`) or read from local files, selected and validated, checked
//! against the cache (`deps-store`), and what is missing is downloaded with
//! bounded concurrency. Progress reaches the caller as [`DownloadEvent`]s.

mod charts;
mod download;
pub(crate) mod dry_run;
mod error;
mod events;
mod images;
mod manager;
mod nudge;
mod options;
mod seeds;
mod source;
pub(crate) mod status;
mod verify;

pub use deps_manifest as manifest;
pub use deps_store::{Error as StoreError, LockWait};
pub use deps_transport::{ClientConfig, HttpClient, RegistryClient, RegistryConfig, RetryPolicy};
pub use dry_run::human_bytes;
pub use error::{Error, Problem};
pub use events::{DownloadEvent, DownloadEventType, ProgressFn};
pub use images::populate_components_zot_store;
pub use manager::Manager;
pub use options::DownloadOptions;
pub use status::Domain;
pub use verify::VerifyOptions;
