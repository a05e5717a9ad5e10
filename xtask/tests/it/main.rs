//! xtask's own tests: fixture generation (reproducible, self-consistent) and
//! the fake mirror (HTTP semantics, faults, log) driven by a raw HTTP/1.1
//! client, so nothing between the test and the socket hides what was sent.

// Test helpers outside `#[test]` functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod faults;
mod fixtures;
mod images;
mod mirror;
mod real_registry;
mod registry;
