//! The media types of image manifests and indexes, OCI's and Docker's
//! schema 2, which the registry client asks for and the OCI layout reads.
//!
//! Pure data: the strings as the specs spell them, the `Accept` list in the
//! order of preference, and two predicates. The types of what goes inside a
//! manifest (configs, layers, Helm charts) belong to the crate that writes them.

/// OCI image manifest.
pub const OCI_IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (Docker's image index).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The manifest media types a registry may answer with, for an `Accept` header: indexes first.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_lists_every_manifest_type_once() {
        for media_type in MANIFEST_ACCEPT {
            assert!(is_index(media_type) ^ is_image_manifest(media_type), "{media_type}");
        }
        assert!(!is_index("application/json") && !is_image_manifest("application/json"));
    }
}
