//! The store against a tampered cache: links, special files and stray
//! temporary files where the store expects its own regular files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(unix)]
mod special_files;
#[cfg(unix)]
mod support;
mod sweep;
#[cfg(unix)]
mod symlinks;
