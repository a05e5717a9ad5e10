//! Fixture mirrors: a directory laid out like a deps base URL (manifests,
//! artifacts, seed snapshots) generated from the real-shaped manifests, with
//! every size divided by a scale and every byte produced by a deterministic
//! generator, so the same options always give byte-identical output.
//!
//! Manifests name the host as [`PLACEHOLDER_BASE_URL`]; the mirror swaps in
//! its own address when it serves them. Component images and template charts
//! are OCI layouts under [`REGISTRY_DIR`], one per repository named with its
//! upstream registry first (`registry/quay.io/cilium/cilium`), which the
//! mirror serves through the distribution API.
//!
//! Two manifest shapes: [`Shape::Legacy`] (the default, the seed API's
//! manifests) and [`Shape::Current`] (today's podplane: `components` lists, a
//! components source, served vmconfig and template images, kube binaries with
//! one file name and per-architecture bytes, fields deps does not know, and
//! the components Git repository under [`GIT_DIR`], served at `/git/`).

mod charts;
mod content;
mod current;
mod generate;
mod gitrepo;
mod imageref;
mod images;
mod json;
mod layout;
mod oci;
mod oci_layout;
mod options;
mod prng;
mod seeds;
mod source;
mod summary;
mod tarball;
mod vmconfig;

pub use charts::{CHART_NAME, CHART_REPOSITORY, CHART_VERSION, LOCAL_CHART_DIR};

pub use generate::{default_scale, generate};
pub use gitrepo::{COMPONENTS_REPO, COMPONENTS_TAG, FixtureGit, commit_file, write_components_repo};
pub use layout::{
    ARCHS, FIXTURE_VERSION, GIT_DIR, KIND, KUBE_BINARIES, PLACEHOLDER_BASE_URL, PRIMARY_ARCH, REGISTRY_DIR,
    SUMMARY_FILE, vmconfig_manifest_file,
};
pub use options::{FixtureOptions, Shape, default_out_dir};
pub use source::{EMBEDDED_FILES, default_source_dir};
pub use summary::{FixtureBlob, FixtureChart, FixtureImage, FixtureItem, FixtureSummary};
