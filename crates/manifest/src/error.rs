//! The manifest crate's error type.

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
}
