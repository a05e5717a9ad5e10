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
    #[error("{} has {reason}", component_image_label(.components, .image))]
    ComponentImage {
        /// The components that render the image (may be empty).
        components: Vec<String>,
        /// The image reference as written (may be empty).
        image: String,
        /// What is wrong with it, phrased to follow "has" (e.g. "missing size").
        reason: String,
    },
    /// A runtime image (of `vmconfig.images` or `templates.images`) that cannot be pulled as described.
    #[error("runtime image {}has {reason}", if .image.is_empty() { String::new() } else { format!("{} ", .image) })]
    RuntimeImage {
        /// The image reference as written (may be empty).
        image: String,
        /// What is wrong with it, phrased to follow "has" (e.g. "missing size").
        reason: String,
    },
    /// A `components.source` entry that names no repository or not exactly one ref.
    #[error("components source {url:?} {reason}")]
    ComponentsSource {
        /// The repository URL as written.
        url: String,
        /// What is wrong with it.
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

/// "component X[,Y] image Z", leaving out whichever part is empty.
fn component_image_label(components: &[String], image: &str) -> String {
    let component = components.join(",");
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
            components: vec!["cilium".to_owned()],
            image: "quay.io/cilium/cilium:v1.16.3".to_owned(),
            reason: "missing size".to_owned(),
        };
        assert_eq!(err.to_string(), "component cilium image quay.io/cilium/cilium:v1.16.3 has missing size");
        let shared = Error::ComponentImage {
            components: Vec::new(),
            image: "docker.io/library/caddy:2".to_owned(),
            reason: "empty digest".to_owned(),
        };
        assert_eq!(shared.to_string(), "image docker.io/library/caddy:2 has empty digest");
        let no_image = Error::ComponentImage {
            components: vec!["x".to_owned()],
            image: String::new(),
            reason: "empty image".to_owned(),
        };
        assert_eq!(no_image.to_string(), "component x has empty image");
        let shared_by_two = Error::ComponentImage {
            components: vec!["trust-manager".to_owned(), "cert-manager".to_owned()],
            image: "quay.io/jetstack/cert-manager-ctl:v1".to_owned(),
            reason: "missing size".to_owned(),
        };
        assert_eq!(
            shared_by_two.to_string(),
            "component trust-manager,cert-manager image quay.io/jetstack/cert-manager-ctl:v1 has missing size"
        );
    }
}
