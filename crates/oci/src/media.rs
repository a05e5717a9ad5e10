//! Media types, annotation keys and the layout version this crate reads and writes.
//!
//! Docker's schema 2 types are accepted when reading fetched manifests; what
//! we write ourselves (index.json, local tag indexes, chart manifests) always
//! uses the OCI types.

/// OCI image manifest.
pub const OCI_IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (Docker's image index).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
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

/// The manifest media types a registry may answer with, for an `Accept` header.
pub const MANIFEST_ACCEPT: [&str; 4] =
    [OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2];

/// Whether `media_type` names an image index or Docker manifest list.
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_IMAGE_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// Whether `media_type` names an OCI or Docker schema 2 image manifest.
pub fn is_image_manifest(media_type: &str) -> bool {
    media_type == OCI_IMAGE_MANIFEST || media_type == DOCKER_MANIFEST_V2
}
