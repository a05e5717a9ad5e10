//! Fields a manifest type does not know, kept so a cached copy loses nothing.
//!
//! Every manifest struct flattens an [`Extra`] map named `extra`: parsing puts
//! each key the struct does not declare there, and writing appends those keys
//! after the known fields, sorted (as Go writes map keys). So a cached copy is
//! the upstream manifest plus our `cached` markers even when upstream has added
//! fields since this crate was written. Known fields never land in `extra`;
//! a caller that inserts a known field's name there writes it twice.

use std::collections::BTreeMap;

/// Unknown fields of a manifest object, by key, with their JSON values as read.
pub type Extra = BTreeMap<String, serde_json::Value>;
