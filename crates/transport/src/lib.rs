//! HTTP for deps: one configured reqwest client (redirects held to the URL
//! policy, deadlines on every attempt), one explicit test of what is
//! transient, retries with backoff that honour `Retry-After`, downloads that
//! stream through a digest into a resumable partial file, and the OCI
//! distribution client (token auth, manifests, blobs) built on them; and
//! bare Git mirrors kept with the `git` command line under the same URL and
//! retry policies.

mod client;
mod deadline;
mod download;
mod error;
mod fetch;
mod git;
mod headers;
mod redirect;
mod registry;
mod retry;

pub use client::{ClientConfig, HttpClient, check_scheme, is_loopback_host, is_loopback_url};
pub use download::DownloadRequest;
pub use error::{Error, redact};
pub use git::{GitMirror, GitMirrorState, GitRef, GitSynced};
pub use registry::{FetchedManifest, RegistryClient, RegistryConfig};
pub use retry::RetryPolicy;
