//! HTTP for deps: one configured reqwest client, one explicit test of what is
//! transient, retries with backoff that honour `Retry-After`, and downloads
//! that stream through a digest into a resumable partial file.

mod client;
mod download;
mod error;
mod fetch;
mod retry;

pub use client::{ClientConfig, HttpClient, check_scheme, is_loopback_host};
pub use download::DownloadRequest;
pub use error::{Error, redact};
pub use retry::RetryPolicy;
