//! zot's per-repository OCI image layouts for deps: `index.json` and tags,
//! blob completeness, platform tag indexes, cross-repository blob dedupe, and
//! Helm chart packaging into OCI.
//!
//! Disk only: this crate never touches the network. The manager fetches
//! manifests and blobs (with the transport crate) and hands them here as
//! bytes or verified files; manifests are only read, never re-serialised.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod blobs;
mod chart;
mod check;
pub mod conformance;
mod descriptor;
mod error;
mod hash;
mod index;
mod layout;
pub mod media;
mod parse;
mod tags;

pub use blobs::{BlobIndex, Placement};
pub use chart::{
    ChartDependency, ChartMetadata, HelmIgnore, Maintainer, PackagedChart, StoredChart, cached_chart,
    chart_tag, find_chart_layer, package_chart, store_chart,
};
pub use check::{ImageBlobs, Problem};
pub use descriptor::{Descriptor, Platform};
pub use error::{Error, Result};
pub use hash::sha256;
pub use index::ImageIndex;
pub use layout::{RepoLayout, STAGING_DIR};
pub use parse::{Parsed, parse_manifest};
