//! The deps cache on disk: where every file lives, how downloaded bytes are
//! verified and moved into place, how unfinished downloads are resumed, and
//! the lock that keeps two processes from writing one cache.
//!
//! Synchronous `std::fs` and `sha2` only: no HTTP, no async. Callers on an
//! async runtime run these functions on a blocking thread.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod atomic;
mod error;
mod fingerprint;
mod fsio;
mod hasher;
mod layout;
mod lock;
mod manifest_kind;
mod manifests;
mod partial;
mod sweep;
mod verified;

pub use atomic::{atomic_copy, atomic_write};
pub use error::{Error, Result};
pub use fingerprint::Fingerprints;
pub use fsio::{DIR_MODE, FILE_MODE, create_dir_all, remove_if_exists, sync_dir};
pub use hasher::{digest_bytes, hash_file};
pub use layout::Layout;
pub use lock::{CacheLock, LockHolder, LockWait};
pub use manifest_kind::ManifestKind;
pub use manifests::{
    WrittenManifest, read_cached_json, read_cached_manifest, write_cached_manifest, write_cached_manifest_at,
};
pub use partial::{
    PartialMeta, discard_partial, partial_meta_path, partial_path, read_partial_meta, write_partial_meta,
};
pub use sweep::sweep_stray_temp_files;
pub use verified::{Committed, VerifiedWriter};
