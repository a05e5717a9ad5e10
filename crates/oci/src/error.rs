//! The OCI crate's error type.
//!
//! Every variant names what it is about: the layout file or blob path, the
//! digest that did not match, the chart directory and file. Manifest bytes
//! handed in by the caller have no path of their own, so the caller adds the
//! reference it fetched them from.

use std::io;
use std::path::PathBuf;

use deps_manifest::Digest;

/// Everything that can go wrong reading or writing an OCI layout or packaging a chart.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system operation failed; fs-err puts the path and the operation in the message.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A file-system operation on a path we name ourselves failed.
    #[error("could not {action} {}: {source}", path.display())]
    IoAt {
        /// What we were doing (e.g. "hard-link", "rename into place").
        action: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// An error from the cache store (verified writes, hashing).
    #[error(transparent)]
    Store(#[from] deps_store::Error),
    /// A repository name or chart value rejected before it became part of a path.
    #[error(transparent)]
    Manifest(#[from] deps_manifest::Error),
    /// An `index.json` or `oci-layout` file that does not parse.
    #[error("OCI layout file {} is corrupt: {source}", path.display())]
    CorruptLayoutFile {
        /// The file.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// Bytes offered as a blob whose digest is not the one they were offered under.
    #[error("blob {} does not match its digest: expected {expected}, got {actual}", path.display())]
    DigestMismatch {
        /// Where the blob was to be written.
        path: PathBuf,
        /// The digest the bytes were offered under.
        expected: Digest,
        /// The digest of the bytes.
        actual: Digest,
    },
    /// A blob on disk whose size is not the one its descriptor names.
    #[error("blob {} has {actual} bytes, expected {expected}", path.display())]
    SizeMismatch {
        /// The blob file.
        path: PathBuf,
        /// The size the descriptor names.
        expected: u64,
        /// The size on disk.
        actual: u64,
    },
    /// A descriptor about to be recorded in `index.json` whose blob is not in the layout yet.
    #[error("blob {digest} is not in the layout (expected at {})", path.display())]
    MissingBlob {
        /// The digest.
        digest: Digest,
        /// Where the blob should be.
        path: PathBuf,
    },
    /// Manifest bytes that are not JSON of a manifest's shape.
    #[error("invalid manifest JSON: {source}")]
    ManifestJson {
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// Manifest JSON that is neither an image manifest nor an index we support.
    #[error("unsupported manifest: {reason}")]
    UnsupportedManifest {
        /// What is wrong (media type, schema version, shape).
        reason: String,
    },
    /// A manifest blob in a layout that is not the kind of manifest expected there.
    #[error("manifest blob {} is unusable: {reason}", path.display())]
    CorruptBlob {
        /// The blob file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A platform string that is not `os/arch[/variant]`.
    #[error("invalid platform {value:?}: expected os/arch or os/arch/variant")]
    InvalidPlatform {
        /// The string as given.
        value: String,
    },
    /// A platform manifest descriptor without the platform needed to place it in a tag index.
    #[error("descriptor {digest} has no platform; a tag index entry needs one")]
    NoPlatform {
        /// The descriptor's digest.
        digest: Digest,
    },
    /// A manifest without a layer that could be the Helm chart archive.
    #[error("no Helm chart layer: {reason}")]
    NoChartLayer {
        /// Why no layer qualifies.
        reason: String,
    },
    /// A `Chart.yaml` that does not parse.
    #[error("invalid chart metadata {}: {source}", path.display())]
    ChartYaml {
        /// The `Chart.yaml` file.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: yaml_serde::Error,
    },
    /// A chart directory that cannot be packaged.
    #[error("cannot package chart {}: {reason}", path.display())]
    InvalidChart {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A `.helmignore` line that is not a valid pattern.
    #[error("{}:{line}: invalid .helmignore pattern {pattern:?}: {reason}", path.display())]
    HelmIgnore {
        /// The `.helmignore` file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The pattern as written.
        pattern: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
