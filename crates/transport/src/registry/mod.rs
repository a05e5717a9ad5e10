//! The OCI distribution client (pull side): manifests by tag or digest,
//! blobs streamed into the store, bearer-token and Basic auth.
//!
//! Invariants: manifest bytes are returned exactly as received and only after
//! their digest matched what was asked for; tokens and passwords never reach
//! an error message, a log line or a `Debug` output; a request that a fresh
//! token cannot get past fails after one re-authentication, never loops.

mod auth;
mod challenge;
mod client;
mod config;
mod credentials;
mod endpoint;
mod manifest;
mod token;

pub use client::RegistryClient;
pub use config::RegistryConfig;
pub use manifest::FetchedManifest;
