//! The manifest crate's error type.
//!
//! Every variant names what was wrong and where: the manifest, the entry (an
//! artifact, component image, template chart or seed snapshot) and the value.

/// Everything that can be wrong with a manifest value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A digest string that is not `sha256:<64 hex>` or `sha512:<128 hex>`.
    #[error("invalid digest {digest:?}: {reason}")]
    InvalidDigest {
        /// The digest as written.
        digest: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A manifest value that would not be a safe path component.
    #[error("unsafe {field} {value:?}: {reason}")]
    UnsafePath {
        /// Which field the value came from (e.g. "version").
        field: String,
        /// The offending value.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A vmconfig artifact (the OS image or a dependency) that cannot be downloaded as described.
    #[error("vmconfig artifact {name}: {reason}")]
    Artifact {
        /// The item's name (`os-image` for the OS image).
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A component image entry that cannot be pulled as described.
    #[error("{} has {reason}", component_image_label(.component, .image))]
    ComponentImage {
        /// The component that renders the image (may be empty for shared images).
        component: String,
        /// The image reference as written (may be empty).
        image: String,
        /// What is wrong with it, phrased to follow "has" (e.g. "missing size").
        reason: String,
    },
    /// A template chart entry that cannot be cached as described.
    #[error("template chart {name}: {reason}")]
    TemplateChart {
        /// The chart's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A seed snapshot entry that cannot be cached as described.
    #[error("seed snapshot {name}: {reason}")]
    SeedSnapshot {
        /// The snapshot's name (its key in `snapshots`).
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An image reference that does not follow the OCI reference grammar.
    #[error("invalid image reference {reference:?}: {reason}")]
    ImageRef {
        /// The reference as written.
        reference: String,
        /// Which part is wrong.
        reason: String,
    },
    /// An architecture other than `amd64` and `arm64` (or their aliases).
    #[error("unsupported architecture {arch:?} (supported: amd64, arm64)")]
    UnsupportedArch {
        /// The value as given.
        arch: String,
    },
    /// An architecture selection that names no architecture at all.
    #[error("no architecture selected (supported: amd64, arm64)")]
    NoArch,
}

/// "component X image Y", leaving out whichever part is empty.
fn component_image_label(component: &str, image: &str) -> String {
    match (component.is_empty(), image.is_empty()) {
        (false, false) => format!("component {component} image {image}"),
        (false, true) => format!("component {component}"),
        (true, false) => format!("image {image}"),
        (true, true) => "component image".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_image_message_names_component_and_image() {
        let err = Error::ComponentImage {
            component: "cilium".to_owned(),
            image: "quay.io/cilium/cilium:v1.16.3".to_owned(),
            reason: "missing size".to_owned(),
        };
        assert_eq!(err.to_string(), "component cilium image quay.io/cilium/cilium:v1.16.3 has missing size");
        let shared = Error::ComponentImage {
            component: String::new(),
            image: "docker.io/library/caddy:2".to_owned(),
            reason: "empty digest".to_owned(),
        };
        assert_eq!(shared.to_string(), "image docker.io/library/caddy:2 has empty digest");
        let no_image = Error::ComponentImage {
            component: "x".to_owned(),
            image: String::new(),
            reason: "empty image".to_owned(),
        };
        assert_eq!(no_image.to_string(), "component x has empty image");
    }
}
