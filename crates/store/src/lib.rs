//! deps-store.
