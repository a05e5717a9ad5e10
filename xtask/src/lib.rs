//! Developer tasks for `deps`, usable as a library from tests: a generator of
//! fixture mirrors (scaled-down, byte-reproducible copies of the real
//! manifests, their artifacts, component images and template charts), a fake
//! mirror that serves such a directory over HTTP/1.1 on loopback (files and
//! the OCI distribution API), with injectable faults, and helpers that run a
//! real registry and push the fixture images into it, and the benchmark
//! harness that times `deps` against curl, aria2c, sha256sum and skopeo.
//!
//! This crate stands apart from the `deps-*` crates so that it can test them.

pub mod bench;
pub mod fixtures;
mod localhost;
pub mod mirror;
pub mod registry;
