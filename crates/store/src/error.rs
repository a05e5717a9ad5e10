//! The store crate's error type.
//!
//! Every variant names the file it is about: the cache file that could not be
//! read or written, the download whose bytes did not match, the lock that is
//! held. Callers branch on the variant; the message alone is enough for a user.

use std::io;
use std::path::PathBuf;

use deps_manifest::Digest;

use crate::LockHolder;

/// Everything that can go wrong in the cache on disk.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What we were doing (e.g. "create directory", "rename into place").
        action: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A cached JSON file that does not parse.
    #[error("cached file {} is corrupt: {source}", path.display())]
    Corrupt {
        /// The cached file.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// Downloaded bytes whose digest is not the one the manifest names.
    #[error("digest mismatch for {}: expected {expected}, got {actual}", path.display())]
    DigestMismatch {
        /// The destination the bytes were meant for.
        path: PathBuf,
        /// The digest the manifest names.
        expected: Digest,
        /// The digest of the bytes received.
        actual: Digest,
    },
    /// Downloaded bytes whose length is not the one the manifest names.
    #[error("size mismatch for {}: expected {expected} bytes, got {actual}", path.display())]
    SizeMismatch {
        /// The destination the bytes were meant for.
        path: PathBuf,
        /// The size the manifest names.
        expected: u64,
        /// The number of bytes received.
        actual: u64,
    },
    /// A download that would grow beyond its expected size; the excess is not written.
    #[error("{} would exceed its expected size: expected {expected} bytes, got at least {got}", path.display())]
    TooLong {
        /// The destination the bytes were meant for.
        path: PathBuf,
        /// The size the manifest names.
        expected: u64,
        /// The size the write would have reached.
        got: u64,
    },
    /// The cache lock is held by another process and we were told not to wait.
    #[error("the cache lock {} is held by {holder}", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as far as the lock file says.
        holder: LockHolder,
    },
    /// A manifest value rejected before it became part of a path.
    #[error(transparent)]
    Manifest(#[from] deps_manifest::Error),
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
