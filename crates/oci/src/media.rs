//! Media types, annotation keys and the layout version this crate reads and writes.
//!
//! Docker's schema 2 types are accepted when reading fetched manifests; what
//! we write ourselves (index.json, local tag indexes, chart manifests) always
//! uses the OCI types. The manifest and index types themselves live in
//! `deps_manifest::media` (the registry client asks for them too) and are
//! re-exported here.

pub use deps_manifest::media::{
    DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, is_image_manifest,
    is_index,
};

/// OCI image configuration.
pub const OCI_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker image configuration.
pub const DOCKER_IMAGE_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// OCI gzip-compressed tar layer.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Helm chart configuration (the chart metadata as JSON).
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm chart archive layer (`<name>-<version>.tgz`).
pub const HELM_CHART_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// The `imageLayoutVersion` written to `oci-layout`.
pub const OCI_LAYOUT_VERSION: &str = "1.0.0";

/// Annotation carrying a descriptor's tag in `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation: human-readable title (Helm: the chart name).
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// Annotation: version of the packaged software (Helm: the chart version).
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
/// Annotation: human-readable description.
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";
/// Annotation: URL for more information.
pub const ANNOTATION_URL: &str = "org.opencontainers.image.url";
/// Annotation: URL of the source.
pub const ANNOTATION_SOURCE: &str = "org.opencontainers.image.source";
/// Annotation: the authors.
pub const ANNOTATION_AUTHORS: &str = "org.opencontainers.image.authors";
