//! deps-oci scenario tests: images pulled into layouts, charts packaged and
//! stored, and real tools (`skopeo`, `umoci`, `tar`) reading the result.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod charts;
mod conformance;
#[cfg(unix)]
mod hostile;
mod images;
mod support;
mod tools;
