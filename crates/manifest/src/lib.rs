//! Typed deps manifests (vmconfig, components, templates, seeds) and the rules
//! for reading them: digests, selection filters, image references and the path
//! checks every manifest value passes before it becomes part of a path, and
//! the media types of the OCI image manifests images are pulled by. Every
//! manifest type keeps the fields it does not know ([`Extra`]), so a cached copy
//! is the upstream manifest plus our `cached` markers.
//!
//! Pure data and parsing: no I/O, no async.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod arch;
mod boot;
mod cached_json;
mod components;
mod dependency;
mod digest;
mod error;
mod extra;
mod filter;
pub mod go_json;
mod item;
pub mod media;
pub mod pathsafe;
mod reference;
mod runtime_image;
mod seeds;
mod source;
mod templates;
mod vmconfig;

pub use arch::{SUPPORTED_ARCHS, host_arch, normalize_archs};
pub use boot::{BootArtifact, BootInfo};
pub use cached_json::to_cached_json;
pub use components::{ComponentImage, Components, ComponentsManifest, RECOMMENDED_ADDONS};
pub use dependency::Dependency;
pub use digest::{Digest, DigestAlgo};
pub use error::Error;
pub use extra::Extra;
pub use filter::{ComponentImageFilter, ItemFilter, parse_list, secrets_providers};
pub use item::Item;
pub use reference::ImageRef;
pub use runtime_image::RuntimeImage;
pub use seeds::{SeedSnapshot, Seeds, SeedsManifest};
pub use source::{ComponentsSource, ComponentsSourceRef};
pub use templates::{
    TEMPLATE_CHART_TYPE_CHART, TEMPLATE_CHART_TYPE_OCI, TemplateChart, TemplateDependencies, Templates,
    TemplatesManifest,
};
pub use vmconfig::{
    DEFAULT_KIND, IMAGE_DEP_NAME, Manifest, OS, OsInfo, VMCONFIG_DEP_NAME, VmConfig, vmconfig_manifest_name,
};
