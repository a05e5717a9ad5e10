//! Go `encoding/json` conventions the manifest types follow, as serde helpers.
//!
//! The manifests are written by Go programs: `omitempty` leaves out zero
//! values, and nil slices and maps are written as `null`, which Go reads back
//! as empty. These helpers let the serde attributes say the same thing; the
//! OCI layout types and Helm's chart metadata (deps-oci) use them too.

use serde::{Deserialize, Deserializer};

/// `omitempty` for booleans: skip `false`.
pub fn is_false(value: &bool) -> bool {
    !*value
}

/// `omitempty` for an optional string: skip when absent or empty.
pub(crate) fn is_none_or_empty(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(str::is_empty)
}

/// Reads `null` as the type's empty value, as Go does for slices and maps.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
