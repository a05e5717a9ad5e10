//! deps-transport.
