//! Fixture mirrors: a directory laid out like a deps base URL (manifests,
//! artifacts, seed snapshots) generated from the real-shaped manifests, with
//! every size divided by a scale and every byte produced by a deterministic
//! generator, so the same options always give byte-identical output.
//!
//! Manifests name the host as [`PLACEHOLDER_BASE_URL`]; the mirror swaps in
//! its own address when it serves them.

mod content;
mod generate;
mod json;
mod layout;
mod options;
mod prng;
mod seeds;
mod source;
mod summary;
mod vmconfig;

pub use generate::{default_scale, generate};
pub use layout::{ARCHS, FIXTURE_VERSION, KIND, PLACEHOLDER_BASE_URL, SUMMARY_FILE, vmconfig_manifest_file};
pub use options::{FixtureOptions, default_out_dir};
pub use source::{EMBEDDED_FILES, default_source_dir};
pub use summary::{FixtureItem, FixtureSummary};
