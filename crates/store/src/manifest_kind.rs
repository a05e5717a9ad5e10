//! The four cached manifests as one type, so callers can write, read and
//! date manifests generically instead of once per kind.
//!
//! Also owns the historical-copy naming rule: `<UTC YYYYMMDDTHHMMSSZ>` and the
//! first 12 hex characters of the SHA-256 of the exact bytes, so the same
//! bytes cached in the same second share a name and different bytes never do.

use std::path::PathBuf;

use sha2::{Digest as _, Sha256};
use time::{OffsetDateTime, UtcOffset};

use crate::{Layout, Result};

/// Which cached manifest a path or write is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManifestKind<'a> {
    /// A vmconfig manifest for one instance kind and architecture.
    VmConfig {
        /// The instance kind (e.g. `knc`).
        kind: &'a str,
        /// The architecture (`amd64` or `arm64`).
        arch: &'a str,
    },
    /// The components manifest.
    Components,
    /// The templates manifest.
    Templates,
    /// The seeds manifest.
    Seeds,
}

impl ManifestKind<'_> {
    /// The manifest's short name as used in messages (`vmconfig`, `components`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ManifestKind::VmConfig { .. } => "vmconfig",
            ManifestKind::Components => "components",
            ManifestKind::Templates => "templates",
            ManifestKind::Seeds => "seeds",
        }
    }
}

impl Layout {
    /// The latest cached copy of a manifest.
    pub fn latest_manifest_path(&self, kind: &ManifestKind<'_>) -> Result<PathBuf> {
        Ok(match *kind {
            ManifestKind::VmConfig { kind, arch } => self.vmconfig_manifest_cache_path(kind, arch)?,
            ManifestKind::Components => self.components_manifest_cache_path(),
            ManifestKind::Templates => self.templates_manifest_cache_path(),
            ManifestKind::Seeds => self.seeds_manifest_cache_path(),
        })
    }

    /// The immutable historical copy of these manifest bytes, stamped with `now` in UTC.
    pub fn historical_manifest_path(
        &self,
        kind: &ManifestKind<'_>,
        raw: &[u8],
        now: OffsetDateTime,
    ) -> Result<PathBuf> {
        Ok(match *kind {
            ManifestKind::VmConfig { kind, arch } => {
                self.vmconfig_historical_manifest_cache_path(kind, arch, raw, now)?
            }
            ManifestKind::Components => self.components_historical_manifest_cache_path(raw, now),
            ManifestKind::Templates => self.templates_historical_manifest_cache_path(raw, now),
            ManifestKind::Seeds => self.seeds_historical_manifest_cache_path(raw, now),
        })
    }
}

/// `<stamp><sep><sha12>`: the UTC time and the first 12 hex of sha256(raw).
pub(crate) fn history_suffix(raw: &[u8], now: OffsetDateTime, sep: char) -> String {
    // Converting can only overflow at the edges of year ±9999; keep the given offset then.
    let t = now.checked_to_offset(UtcOffset::UTC).unwrap_or(now);
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let hash = Sha256::digest(raw);
    let sha12 = hex::encode(&hash[..6]);
    format!("{stamp}{sep}{sha12}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn suffix_is_utc_stamp_and_sha12() {
        // sha256("") = e3b0c44298fc1c149afbf4c8996fb924...
        let now = datetime!(2026-01-02 03:04:05 -01:00);
        assert_eq!(history_suffix(b"", now, '_'), "20260102T040405Z_e3b0c44298fc");
        assert_eq!(history_suffix(b"", now, '-'), "20260102T040405Z-e3b0c44298fc");
    }

    #[test]
    fn generic_paths_match_the_named_accessors() {
        let l = Layout::new("/c");
        let now = datetime!(2026-03-01 00:00:00 UTC);
        let raw = b"{}";
        let vm = ManifestKind::VmConfig { kind: "knc", arch: "amd64" };
        assert_eq!(
            l.latest_manifest_path(&vm).unwrap(),
            l.vmconfig_manifest_cache_path("knc", "amd64").unwrap()
        );
        assert_eq!(
            l.historical_manifest_path(&vm, raw, now).unwrap(),
            l.vmconfig_historical_manifest_cache_path("knc", "amd64", raw, now).unwrap()
        );
        let others = [
            (
                ManifestKind::Components,
                l.components_manifest_cache_path(),
                l.components_historical_manifest_cache_path(raw, now),
            ),
            (
                ManifestKind::Templates,
                l.templates_manifest_cache_path(),
                l.templates_historical_manifest_cache_path(raw, now),
            ),
            (
                ManifestKind::Seeds,
                l.seeds_manifest_cache_path(),
                l.seeds_historical_manifest_cache_path(raw, now),
            ),
        ];
        for (kind, latest, historical) in others {
            assert_eq!(l.latest_manifest_path(&kind).unwrap(), latest);
            assert_eq!(l.historical_manifest_path(&kind, raw, now).unwrap(), historical);
        }
        let bad = ManifestKind::VmConfig { kind: "..", arch: "amd64" };
        assert!(l.latest_manifest_path(&bad).is_err());
        assert!(l.historical_manifest_path(&bad, raw, now).is_err());
    }

    #[test]
    fn names() {
        let names: Vec<_> = [
            ManifestKind::VmConfig { kind: "knc", arch: "amd64" },
            ManifestKind::Components,
            ManifestKind::Templates,
            ManifestKind::Seeds,
        ]
        .iter()
        .map(ManifestKind::name)
        .collect();
        assert_eq!(names, ["vmconfig", "components", "templates", "seeds"]);
    }
}
