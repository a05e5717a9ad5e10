//! Reading fetched manifests: OCI and Docker schema 2 image manifests and indexes.
//!
//! The kind is taken from `mediaType` and, when a document omits it (OCI
//! allows that), from its shape: `manifests` means an index, `config` an image
//! manifest. We only ever read these bytes: the caller keeps and stores the
//! original bytes, because re-serialising would change the digest.

use deps_manifest::Digest;
use serde::Deserialize;

use crate::descriptor::Descriptor;
use crate::media::{self, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST};
use crate::{Error, Result};
use deps_manifest::go_json::nullable;

/// A parsed manifest: what a layout needs to know to check it is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An image manifest: one config blob and its layers.
    Image {
        /// The document's media type (the OCI one when the document omits it).
        media_type: String,
        /// The image configuration blob.
        config: Descriptor,
        /// The layer blobs, in order.
        layers: Vec<Descriptor>,
    },
    /// An image index or Docker manifest list: manifests, usually one per platform.
    Index {
        /// The document's media type (the OCI one when the document omits it).
        media_type: String,
        /// The listed manifests, each with its platform when the index names one.
        manifests: Vec<Descriptor>,
    },
}

impl Parsed {
    /// The document's media type.
    pub fn media_type(&self) -> &str {
        match self {
            Parsed::Image { media_type, .. } | Parsed::Index { media_type, .. } => media_type,
        }
    }

    /// The blobs an image manifest references (config first, then layers); empty for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match self {
            Parsed::Image { config, layers, .. } => std::iter::once(config).chain(layers).collect(),
            Parsed::Index { .. } => Vec::new(),
        }
    }

    /// Whether an index lists a manifest with this digest.
    pub fn lists(&self, digest: &Digest) -> bool {
        matches!(self, Parsed::Index { manifests, .. } if manifests.iter().any(|m| m.digest == *digest))
    }
}

/// The fields of either kind of manifest; which ones are present decides the kind.
#[derive(Deserialize)]
struct RawManifest {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<i64>,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Option<Descriptor>,
    #[serde(default, deserialize_with = "nullable")]
    layers: Vec<Descriptor>,
    manifests: Option<Vec<Descriptor>>,
}

/// What kind of document a manifest is.
enum Kind {
    /// An image manifest.
    Image,
    /// An index or manifest list.
    Index,
}

/// Parses manifest bytes as an image manifest or an index (OCI or Docker schema 2).
pub fn parse_manifest(bytes: &[u8]) -> Result<Parsed> {
    let raw: RawManifest = serde_json::from_slice(bytes).map_err(|source| Error::ManifestJson { source })?;
    let unsupported = |reason: String| Error::UnsupportedManifest { reason };
    match raw.schema_version {
        Some(2) => {}
        Some(1) => {
            return Err(unsupported("Docker schema 1 manifests (schemaVersion 1) are not supported".into()));
        }
        Some(v) => return Err(unsupported(format!("schemaVersion {v} (expected 2)"))),
        None => return Err(unsupported("schemaVersion is missing".into())),
    }
    let declared = raw.media_type.filter(|m| !m.is_empty());
    let kind = match declared.as_deref() {
        Some(m) if media::is_index(m) => Kind::Index,
        Some(m) if media::is_image_manifest(m) => Kind::Image,
        Some(other) => return Err(unsupported(format!("media type {other:?}"))),
        None => match (raw.manifests.is_some(), raw.config.is_some()) {
            (true, false) => Kind::Index,
            (false, true) => Kind::Image,
            (true, true) => return Err(unsupported("has both manifests and config and no mediaType".into())),
            (false, false) => return Err(unsupported("has neither manifests nor config".into())),
        },
    };
    match kind {
        Kind::Image => {
            let config = raw.config.ok_or_else(|| unsupported("image manifest without config".into()))?;
            let media_type = declared.unwrap_or_else(|| OCI_IMAGE_MANIFEST.to_owned());
            Ok(Parsed::Image { media_type, config, layers: raw.layers })
        }
        Kind::Index => {
            // A declared index with no (or null) `manifests` lists nothing, as Go reads a nil slice.
            let media_type = declared.unwrap_or_else(|| OCI_IMAGE_INDEX.to_owned());
            Ok(Parsed::Index { media_type, manifests: raw.manifests.unwrap_or_default() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Platform;
    use crate::media::{DOCKER_IMAGE_CONFIG, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2, OCI_IMAGE_CONFIG};

    fn hex(c: char) -> String {
        c.to_string().repeat(64)
    }

    /// A Docker Hub style manifest list, as `docker.io/library/caddy:2` serves it.
    fn docker_list() -> String {
        format!(
            r#"{{
   "manifests": [
      {{"digest": "sha256:{a}", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "platform": {{"architecture": "amd64", "os": "linux"}}, "size": 1234}},
      {{"digest": "sha256:{b}", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "platform": {{"architecture": "arm64", "os": "linux", "variant": "v8"}}, "size": 1235}}
   ],
   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
   "schemaVersion": 2
}}"#,
            a = hex('a'),
            b = hex('b')
        )
    }

    #[test]
    fn docker_manifest_list() {
        let parsed = parse_manifest(docker_list().as_bytes()).unwrap();
        let Parsed::Index { media_type, manifests } = &parsed else { panic!("{parsed:?}") };
        assert_eq!(media_type, DOCKER_MANIFEST_LIST);
        assert_eq!(manifests.len(), 2);
        assert_eq!(manifests[1].platform, Some(Platform::parse("linux/arm64/v8").unwrap()));
        assert!(parsed.lists(&format!("sha256:{}", hex('b')).parse().unwrap()));
        assert!(parsed.blobs().is_empty());
    }

    #[test]
    fn docker_v2_manifest() {
        let json = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_V2}",
                "config":{{"mediaType":"{DOCKER_IMAGE_CONFIG}","size":1500,"digest":"sha256:{c}"}},
                "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":3000,"digest":"sha256:{l}"}}]}}"#,
            c = hex('c'),
            l = hex('d')
        );
        let parsed = parse_manifest(json.as_bytes()).unwrap();
        let Parsed::Image { media_type, config, layers } = &parsed else { panic!("{parsed:?}") };
        assert_eq!(media_type, DOCKER_MANIFEST_V2);
        assert_eq!((config.size, layers.len(), layers[0].size), (1500, 1, 3000));
        assert_eq!(parsed.blobs().len(), 2);
    }

    #[test]
    fn oci_documents_without_media_type_are_detected_by_shape() {
        let image = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{OCI_IMAGE_CONFIG}","size":2,"digest":"sha256:{c}"}},"layers":null,"annotations":{{"x":"y"}}}}"#,
            c = hex('c')
        );
        let parsed = parse_manifest(image.as_bytes()).unwrap();
        assert_eq!(parsed.media_type(), OCI_IMAGE_MANIFEST);
        assert_eq!(parsed.blobs().len(), 1);
        let index = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(parse_manifest(index.as_bytes()).unwrap().media_type(), OCI_IMAGE_INDEX);
        let oci_index = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_IMAGE_INDEX}","manifests":null}}"#);
        assert!(
            matches!(parse_manifest(oci_index.as_bytes()).unwrap(), Parsed::Index { manifests, .. } if manifests.is_empty())
        );
    }

    #[test]
    fn rejects_what_we_cannot_check() {
        let cases = [
            (r#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#, "schema 1"),
            (
                r#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
                "schemaVersion is missing",
            ),
            (
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json"}"#,
                "media type",
            ),
            (r#"{"schemaVersion":2}"#, "neither"),
            (
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#,
                "without config",
            ),
        ];
        for (json, want) in cases {
            let err = parse_manifest(json.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{json}: {err}");
        }
        let bad_digest = r#"{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"md5:00","size":1}]}"#;
        assert!(matches!(parse_manifest(bad_digest.as_bytes()), Err(Error::ManifestJson { .. })));
        assert!(matches!(parse_manifest(b"<html>"), Err(Error::ManifestJson { .. })));
    }
}
