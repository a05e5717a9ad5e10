//! Shared helpers for the workspace integration tests live in `it/`.
