//! Content descriptors and platforms, the two small types every OCI document is made of.
//!
//! Reading is lenient where the specs are (a missing `mediaType` or empty
//! `variant` is tolerated) and strict where a wrong value would mislead us: a
//! digest must be `sha256:`/`sha512:` with the right length, a size must be a
//! non-negative integer. Writing is deterministic: fields in the spec's order,
//! annotations sorted by key.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use deps_manifest::Digest;
use serde::{Deserialize, Deserializer, Serialize};

use deps_manifest::go_json::nullable;

use crate::hash::{deserialize_digest, serialize_digest};
use crate::media::ANNOTATION_REF_NAME;
use crate::{Error, Result};

/// A reference to a blob or manifest: media type, digest, size and optional platform and annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// The media type of the referenced content (empty when the document omits it).
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    /// The digest of the referenced content.
    #[serde(serialize_with = "serialize_digest", deserialize_with = "deserialize_digest")]
    pub digest: Digest,
    /// The size of the referenced content in bytes.
    pub size: u64,
    /// The platform of a manifest listed in an index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor with no platform and no annotations.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Self {
        Self { media_type: media_type.into(), digest, size, platform: None, annotations: BTreeMap::new() }
    }

    /// This descriptor with `platform` set.
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// The tag it carries in `index.json` (`org.opencontainers.image.ref.name`), if any.
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations.get(ANNOTATION_REF_NAME).map(String::as_str)
    }

    /// This descriptor tagged `tag` (the ref.name annotation set).
    pub fn with_ref_name(mut self, tag: &str) -> Self {
        self.annotations.insert(ANNOTATION_REF_NAME.to_owned(), tag.to_owned());
        self
    }

    /// This descriptor without a tag.
    pub fn without_ref_name(mut self) -> Self {
        self.annotations.remove(ANNOTATION_REF_NAME);
        self
    }
}

/// The platform an image manifest runs on: `os/architecture[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, ...).
    pub architecture: String,
    /// Operating system (`linux`, ...).
    pub os: String,
    /// CPU variant (`v8`, `v7`, ...), when the platform names one.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "non_empty")]
    pub variant: Option<String>,
}

impl Platform {
    /// A platform from its parts.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        Self { architecture: architecture.to_owned(), os: os.to_owned(), variant: variant.map(str::to_owned) }
    }

    /// Parses `os/arch` or `os/arch/variant` (as components manifests write it).
    pub fn parse(value: &str) -> Result<Self> {
        let parts: Vec<&str> = value.split('/').collect();
        let ok = |s: &&str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Self::new(os, arch, None)),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => {
                Ok(Self::new(os, arch, Some(variant)))
            }
            _ => Err(Error::InvalidPlatform { value: value.to_owned() }),
        }
    }
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// Reads an absent, `null` or empty string as `None`.
fn non_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_parses_and_displays() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(
            (p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()),
            ("linux", "arm64", Some("v8"))
        );
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(Platform::parse("linux/amd64").unwrap().to_string(), "linux/amd64");
        for bad in ["", "linux", "linux/", "/amd64", "linux/arm64/", "a/b/c/d", "linux/am d64"] {
            assert!(Platform::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn descriptor_json_round_trip_is_ordered_and_strict() {
        let json = format!(
            r#"{{"size":7,"digest":"sha256:{}","mediaType":"m","annotations":{{"b":"2","a":"1"}},"platform":{{"os":"linux","architecture":"arm64","variant":""}}}}"#,
            "a".repeat(64)
        );
        let d: Descriptor = serde_json::from_str(&json).unwrap();
        assert_eq!(d.platform.as_ref().unwrap().variant, None);
        let out = serde_json::to_string(&d).unwrap();
        assert_eq!(
            out,
            format!(
                r#"{{"mediaType":"m","digest":"sha256:{}","size":7,"platform":{{"architecture":"arm64","os":"linux"}},"annotations":{{"a":"1","b":"2"}}}}"#,
                "a".repeat(64)
            )
        );
        let bad_digest = r#"{"mediaType":"m","digest":"sha256:abc","size":1}"#;
        assert!(serde_json::from_str::<Descriptor>(bad_digest).is_err());
        let negative = format!(r#"{{"mediaType":"m","digest":"sha256:{}","size":-1}}"#, "a".repeat(64));
        assert!(serde_json::from_str::<Descriptor>(&negative).is_err());
    }

    #[test]
    fn ref_name_helpers() {
        let d = Descriptor::new("m", crate::sha256(b"x"), 1).with_ref_name("v1");
        assert_eq!(d.ref_name(), Some("v1"));
        assert_eq!(d.without_ref_name().ref_name(), None);
    }
}
