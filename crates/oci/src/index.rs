//! The image index document: a layout's `index.json` and the local tag indexes we build.
//!
//! Both are OCI image indexes (`schemaVersion` 2, the OCI index media type);
//! we write them with a fixed field order and sorted annotations, so the same
//! content always gives the same bytes (and, for a tag index, the same
//! digest). The tag operations here are pure: [`crate::RepoLayout`] reads,
//! changes and writes the document.
//!
//! Tags are the `org.opencontainers.image.ref.name` annotation. A tag names at
//! most one descriptor; an untagged descriptor is listed at most once per digest.

use std::collections::BTreeMap;

use deps_manifest::Digest;
use serde::{Deserialize, Serialize};

use crate::descriptor::Descriptor;
use crate::media::OCI_IMAGE_INDEX;
use deps_manifest::go_json::nullable;

/// An OCI image index: the manifests it lists and its annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WireIndex", into = "WireIndex")]
pub struct ImageIndex {
    /// The listed manifests, in document order.
    pub manifests: Vec<Descriptor>,
    /// Index-level annotations, sorted by key.
    pub annotations: BTreeMap<String, String>,
}

/// The JSON form: `schemaVersion` and `mediaType` are fixed on write and checked on read.
#[derive(Serialize, Deserialize)]
struct WireIndex {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "nullable")]
    annotations: BTreeMap<String, String>,
}

impl TryFrom<WireIndex> for ImageIndex {
    type Error = String;

    fn try_from(wire: WireIndex) -> Result<Self, String> {
        if wire.schema_version != 2 {
            return Err(format!("schemaVersion {} (expected 2)", wire.schema_version));
        }
        match wire.media_type.as_deref() {
            None | Some(OCI_IMAGE_INDEX) => {
                Ok(Self { manifests: wire.manifests, annotations: wire.annotations })
            }
            Some(other) => Err(format!("mediaType {other:?} (expected {OCI_IMAGE_INDEX})")),
        }
    }
}

impl From<ImageIndex> for WireIndex {
    fn from(index: ImageIndex) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(OCI_IMAGE_INDEX.to_owned()),
            manifests: index.manifests,
            annotations: index.annotations,
        }
    }
}

impl ImageIndex {
    /// An index listing `manifests`.
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        Self { manifests, annotations: BTreeMap::new() }
    }

    /// The document's bytes: compact JSON, fields in the spec's order.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self)
            .unwrap_or_else(|err| unreachable!("an index of strings and integers always serialises: {err}"))
    }

    /// The descriptor tagged `tag`, if any.
    pub fn tagged(&self, tag: &str) -> Option<&Descriptor> {
        self.manifests.iter().find(|d| d.ref_name() == Some(tag))
    }

    /// The first descriptor (tagged or not) with this digest.
    pub fn find(&self, digest: &Digest) -> Option<&Descriptor> {
        self.manifests.iter().find(|d| d.digest == *digest)
    }

    /// The tags in document order.
    pub fn tags(&self) -> Vec<&str> {
        self.manifests.iter().filter_map(Descriptor::ref_name).collect()
    }

    /// Points `tag` at `descriptor`: the tag's old descriptor is replaced in place, or it is appended.
    pub fn set_tag(&mut self, tag: &str, descriptor: &Descriptor) {
        let tagged = descriptor.clone().with_ref_name(tag);
        let mut replaced = false;
        self.manifests.retain_mut(|d| {
            if d.ref_name() != Some(tag) {
                return true;
            }
            if replaced {
                return false;
            }
            *d = tagged.clone();
            replaced = true;
            true
        });
        if !replaced {
            self.manifests.push(tagged);
        }
    }

    /// Lists `descriptor` without a tag unless an untagged one with its digest is there; true when added.
    pub fn add_untagged(&mut self, descriptor: &Descriptor) -> bool {
        let present = self.manifests.iter().any(|d| d.ref_name().is_none() && d.digest == descriptor.digest);
        if !present {
            self.manifests.push(descriptor.clone().without_ref_name());
        }
        !present
    }

    /// Puts a platform manifest in this tag index, replacing any entry of the same platform.
    ///
    /// Entries stay sorted by platform string (then digest), so the document is
    /// the same whatever order the platforms were pulled in.
    pub fn upsert_platform(&mut self, descriptor: &Descriptor) {
        let platform = descriptor.platform.as_ref();
        self.manifests.retain(|d| d.platform.is_none() || d.platform.as_ref() != platform);
        self.manifests.push(descriptor.clone().without_ref_name());
        self.manifests.sort_by(|a, b| {
            let key = |d: &Descriptor| d.platform.as_ref().map(ToString::to_string);
            key(a).cmp(&key(b)).then_with(|| a.digest.cmp(&b.digest))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Platform, media, sha256};

    fn desc(seed: &str) -> Descriptor {
        Descriptor::new(media::OCI_IMAGE_MANIFEST, sha256(seed.as_bytes()), seed.len() as u64)
    }

    #[test]
    fn empty_index_json() {
        assert_eq!(
            String::from_utf8(ImageIndex::default().to_json()).unwrap(),
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
        );
    }

    #[test]
    fn reads_index_without_media_type_and_rejects_others() {
        let ok: ImageIndex = serde_json::from_str(r#"{"schemaVersion":2,"manifests":null}"#).unwrap();
        assert!(ok.manifests.is_empty());
        assert!(serde_json::from_str::<ImageIndex>(r#"{"schemaVersion":1,"manifests":[]}"#).is_err());
        let docker =
            format!(r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[]}}"#, media::DOCKER_MANIFEST_LIST);
        assert!(serde_json::from_str::<ImageIndex>(&docker).is_err());
    }

    #[test]
    fn set_tag_replaces_in_place_and_drops_duplicates() {
        let mut index = ImageIndex::default();
        index.set_tag("v1", &desc("a"));
        index.add_untagged(&desc("x"));
        index.set_tag("v2", &desc("b"));
        index.manifests.push(desc("dup").with_ref_name("v1"));
        index.set_tag("v1", &desc("c"));
        assert_eq!(index.tags(), ["v1", "v2"]);
        assert_eq!(index.tagged("v1").unwrap().digest, sha256(b"c"));
        assert_eq!(index.manifests[0].digest, sha256(b"c"), "replaced in place");
        assert_eq!(index.manifests.len(), 3);
    }

    #[test]
    fn add_untagged_once_per_digest() {
        let mut index = ImageIndex::default();
        index.set_tag("v1", &desc("a"));
        assert!(index.add_untagged(&desc("a").with_ref_name("other")), "a tagged one does not count");
        assert!(!index.add_untagged(&desc("a")));
        assert_eq!(index.manifests.len(), 2);
        assert_eq!(index.manifests[1].ref_name(), None);
    }

    #[test]
    fn upsert_platform_replaces_same_platform_and_sorts() {
        let arm = Platform::parse("linux/arm64/v8").unwrap();
        let amd = Platform::parse("linux/amd64").unwrap();
        let mut index = ImageIndex::default();
        index.upsert_platform(&desc("arm-1").with_platform(arm.clone()));
        index.upsert_platform(&desc("amd-1").with_platform(amd.clone()));
        index.upsert_platform(&desc("arm-2").with_platform(arm.clone()));
        let got: Vec<_> =
            index.manifests.iter().map(|d| (d.platform.clone().unwrap(), d.digest.clone())).collect();
        assert_eq!(got, [(amd, sha256(b"amd-1")), (arm, sha256(b"arm-2"))]);
    }
}
