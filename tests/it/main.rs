//! Workspace integration tests: the manager against the fake mirror (a real
//! HTTP server on 127.0.0.1), with fixtures generated per test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

mod support;

mod current;
mod download;
mod failures;
mod faults;
mod hostile;
mod images;
mod seeds;
mod verify;
