//! The seeds manifest: named seed snapshots (`.netsy` files) of one seeds release.
//!
//! Each snapshot is either a local `path` or a `url` with a sha512 `digest` and
//! a size, never both. Snapshots are cached under
//! `<name>/<seeds version>/<file>`, so the name, the version and the file name
//! must all be safe path components.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cached_json::to_cached_json;
use crate::dependency::url_basename;
use crate::go_json::{is_false, nullable};
use crate::{Digest, DigestAlgo, Error, Extra, pathsafe};

/// A seeds manifest file: `{"seeds": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedsManifest {
    /// The payload.
    pub seeds: Seeds,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The seed snapshots of one seeds release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seeds {
    /// Seeds release version; part of every snapshot's cache path.
    pub version: String,
    /// The components version the snapshots were made with.
    pub components: String,
    /// Snapshots by name.
    #[serde(deserialize_with = "nullable")]
    pub snapshots: BTreeMap<String, SeedSnapshot>,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One seed snapshot: a local `path`, or a `url` with digest and size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedSnapshot {
    /// Local file, relative to the manifest file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Download URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Content digest (sha512 only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub digest: String,
    /// Size in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub size: i64,
    /// Local marker: present and verified in the cache.
    #[serde(skip_serializing_if = "is_false")]
    pub cached: bool,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `omitempty` for sizes.
fn is_zero(value: &i64) -> bool {
    *value == 0
}

impl SeedsManifest {
    /// The cached copy's bytes: Go-style indented JSON with `cached` markers and a trailing newline.
    pub fn to_cached_json(&self) -> Vec<u8> {
        to_cached_json(self)
    }

    /// Marks the snapshot `name` cached; false when there is no such snapshot.
    pub fn mark_cached(&mut self, name: &str) -> bool {
        self.seeds.snapshots.get_mut(name).map(|snap| snap.cached = true).is_some()
    }

    /// Clears every snapshot's `cached` marker.
    pub fn reset_cached(&mut self) {
        for snap in self.seeds.snapshots.values_mut() {
            snap.cached = false;
        }
    }

    /// Validates the seeds version and every snapshot.
    pub fn validate(&self) -> Result<(), Error> {
        self.seeds.validate()
    }
}

impl Seeds {
    /// Validates the version (a safe path component) and every snapshot.
    pub fn validate(&self) -> Result<(), Error> {
        pathsafe::component("seeds version", &self.version)?;
        self.snapshots.iter().try_for_each(|(name, snap)| snap.validate(name))
    }
}

impl SeedSnapshot {
    /// Checks the snapshot `name`: a safe name, exactly one of path and url, sha512 and size for a url.
    pub fn validate(&self, name: &str) -> Result<(), Error> {
        let invalid = |reason: String| Error::SeedSnapshot { name: name.to_owned(), reason };
        pathsafe::component("name", name).map_err(|err| invalid(err.to_string()))?;
        match (self.path.is_empty(), self.url.is_empty()) {
            (true, true) => return Err(invalid("needs a path or a url".to_owned())),
            (false, false) => return Err(invalid("has both a path and a url".to_owned())),
            (true, false) => {
                if self.digest.is_empty() {
                    return Err(invalid("missing digest".to_owned()));
                }
                if self.size <= 0 {
                    return Err(invalid("missing size".to_owned()));
                }
            }
            (false, true) => {}
        }
        if !self.digest.is_empty() {
            let digest: Digest = self.digest.parse().map_err(|err: Error| invalid(err.to_string()))?;
            if digest.algo() != DigestAlgo::Sha512 {
                return Err(invalid(format!("digest {:?} must be sha512", self.digest)));
            }
        }
        self.filename(name)?;
        Ok(())
    }

    /// The cached file name: the basename of the url (or path), else `<name>.netsy`; checked to be safe.
    pub fn filename(&self, name: &str) -> Result<String, Error> {
        let source = if self.url.is_empty() { self.path.as_str() } else { self.url.as_str() };
        let base = if self.url.is_empty() {
            source.rsplit(['/', '\\']).next().unwrap_or_default()
        } else {
            url_basename(source)
        };
        let file = if base.is_empty() { format!("{name}.netsy") } else { base.to_owned() };
        pathsafe::component("file name", &file)
            .map(str::to_owned)
            .map_err(|err| Error::SeedSnapshot { name: name.to_owned(), reason: err.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote() -> SeedSnapshot {
        SeedSnapshot {
            url: "https://seeds.example/v1/recommended.netsy?sig=1".to_owned(),
            digest: format!("sha512:{}", "f".repeat(128)),
            size: 42,
            ..SeedSnapshot::default()
        }
    }

    fn local() -> SeedSnapshot {
        SeedSnapshot { path: "../minimal.netsy".to_owned(), ..SeedSnapshot::default() }
    }

    fn manifest() -> SeedsManifest {
        let snapshots =
            BTreeMap::from([("recommended".to_owned(), remote()), ("minimal".to_owned(), local())]);
        let seeds =
            Seeds { version: "v1".to_owned(), components: "dev".to_owned(), snapshots, ..Seeds::default() };
        SeedsManifest { seeds, ..SeedsManifest::default() }
    }

    #[test]
    fn valid_snapshots_pass() {
        manifest().validate().unwrap();
    }

    #[test]
    fn filename_comes_from_url_or_path_else_the_name() {
        assert_eq!(remote().filename("recommended").unwrap(), "recommended.netsy");
        assert_eq!(local().filename("minimal").unwrap(), "minimal.netsy");
        let dir = SeedSnapshot { path: "snapshots/".to_owned(), ..SeedSnapshot::default() };
        assert_eq!(dir.filename("x").unwrap(), "x.netsy");
        let dotdot = SeedSnapshot { path: "a/..".to_owned(), ..SeedSnapshot::default() };
        assert!(dotdot.filename("x").is_err());
    }

    #[test]
    fn validate_rejects_each_broken_field() {
        let cases: [(&str, &str, SeedSnapshot); 8] = [
            ("x", "needs a path or a url", SeedSnapshot::default()),
            ("x", "has both a path and a url", SeedSnapshot { path: "p".to_owned(), ..remote() }),
            ("x", "missing digest", SeedSnapshot { digest: String::new(), ..remote() }),
            ("x", "missing size", SeedSnapshot { size: 0, ..remote() }),
            (
                "x",
                "must be sha512",
                SeedSnapshot { digest: format!("sha256:{}", "0".repeat(64)), ..remote() },
            ),
            ("x", "invalid digest", SeedSnapshot { digest: "sha512:00".to_owned(), ..remote() }),
            ("../x", "unsafe name", remote()),
            ("x", "unsafe file name", SeedSnapshot { url: "https://h/a/..".to_owned(), ..remote() }),
        ];
        for (name, want, snap) in cases {
            let msg = snap.validate(name).unwrap_err().to_string();
            assert!(msg.starts_with(&format!("seed snapshot {name}: ")), "{msg}");
            assert!(msg.contains(want), "{want:?} not in {msg:?}");
        }
    }

    #[test]
    fn seeds_version_must_be_a_safe_component() {
        let mut m = manifest();
        m.seeds.version = "../v1".to_owned();
        assert!(m.validate().unwrap_err().to_string().contains("seeds version"));
        m.seeds.version.clear();
        assert!(m.validate().is_err());
    }

    #[test]
    fn mark_and_reset_cached_by_name() {
        let mut m = manifest();
        assert!(m.mark_cached("minimal"));
        assert!(!m.mark_cached("missing"));
        assert!(m.seeds.snapshots["minimal"].cached && !m.seeds.snapshots["recommended"].cached);
        assert!(!m.seeds.snapshots.contains_key("missing"));
        m.reset_cached();
        assert!(m.seeds.snapshots.values().all(|s| !s.cached));
    }

    #[test]
    fn omits_empty_fields() {
        assert_eq!(serde_json::to_string(&local()).unwrap(), r#"{"path":"../minimal.netsy"}"#);
        let mut snap = remote();
        snap.cached = true;
        let json = serde_json::to_string(&snap).unwrap();
        assert!(json.starts_with(r#"{"url":"#) && json.ends_with(r#""size":42,"cached":true}"#), "{json}");
    }
}
