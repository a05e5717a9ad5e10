//! Developer tasks for `deps`, usable as a library from tests: a generator of
//! fixture mirrors (scaled-down, byte-reproducible copies of the real
//! manifests and their artifacts) and a fake mirror that serves such a
//! directory over HTTP/1.1 on loopback, with injectable faults.
//!
//! This crate stands apart from the `deps-*` crates so that it can test them.

pub mod fixtures;
pub mod mirror;
