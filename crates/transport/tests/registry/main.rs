//! The registry client against the fake mirror's distribution API: token
//! auth and its renewal, manifests by tag and digest with verification,
//! HEAD, blobs with resume and redirects, Basic auth from a Docker config.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

mod auth;
mod blobs;
mod manifests;
mod support;
