//! deps-manager.
