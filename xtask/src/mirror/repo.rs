//! The registry's storage as the mirror reads it: one OCI image layout per
//! repository under `<root>/registry/<name>/` (the fixture generator's
//! output, or anything `skopeo copy` wrote as `oci:`). Tags come from the
//! `org.opencontainers.image.ref.name` annotations of `index.json`; blobs
//! are `blobs/sha256/<hex>`. Everything is read afresh on each request.

use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::fixtures::REGISTRY_DIR;

/// Media types served from the manifests endpoint.
const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The annotation holding a tag.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// One repository's layout.
#[derive(Debug)]
pub(super) struct Repo {
    dir: PathBuf,
}

/// A manifest found by tag or digest.
#[derive(Debug)]
pub(super) struct FoundManifest {
    /// Its digest, `sha256:<hex>`.
    pub(super) digest: String,
    /// Its media type.
    pub(super) media_type: String,
    /// The manifest file, for its bytes and date.
    pub(super) path: PathBuf,
}

/// A descriptor in `index.json` (only the fields used here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// The fields of `index.json` or a manifest used here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    schema_version: Option<u32>,
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

impl Repo {
    /// The repository `name` under the mirror `root`, if it has a layout.
    pub(super) async fn open(root: &Path, name: &str) -> io::Result<Option<Repo>> {
        let dir = name.split('/').fold(root.join(REGISTRY_DIR), |dir, part| dir.join(part));
        Ok(is_file(&dir.join("index.json")).await?.then_some(Repo { dir }))
    }

    /// `(tag, descriptor)` for every tag in `index.json`.
    async fn tagged(&self) -> io::Result<Vec<(String, Descriptor)>> {
        let text = tokio::fs::read(self.dir.join("index.json")).await?;
        let index: Document = serde_json::from_slice(&text).map_err(io::Error::other)?;
        Ok(index
            .manifests
            .unwrap_or_default()
            .into_iter()
            .filter_map(|mut d| Some((d.annotations.remove(REF_NAME)?, d)))
            .collect())
    }

    /// The tags, sorted.
    pub(super) async fn tags(&self) -> io::Result<Vec<String>> {
        let mut tags: Vec<String> = self.tagged().await?.into_iter().map(|(tag, _)| tag).collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    /// The manifest `reference` (a tag or a `sha256:` digest) names, if stored.
    pub(super) async fn manifest(&self, reference: &str) -> io::Result<Option<FoundManifest>> {
        let (digest, listed_type) = if reference.contains(':') {
            (reference.to_owned(), None)
        } else {
            match self.tagged().await?.into_iter().find(|(tag, _)| tag == reference) {
                Some((_, d)) => (d.digest, d.media_type),
                None => return Ok(None),
            }
        };
        let Some(path) = self.blob(&digest) else { return Ok(None) };
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Ok(doc) = serde_json::from_slice::<Document>(&bytes) else { return Ok(None) };
        if doc.schema_version != Some(2) {
            return Ok(None);
        }
        let inferred = if doc.manifests.is_some() { MANIFEST_TYPES[0] } else { MANIFEST_TYPES[1] };
        let media_type = doc.media_type.or(listed_type).unwrap_or_else(|| inferred.to_owned());
        if !MANIFEST_TYPES.contains(&media_type.as_str()) {
            return Ok(None);
        }
        Ok(Some(FoundManifest { digest, media_type, path }))
    }

    /// The file of blob `digest`; `None` when the digest is not a valid `sha256:` one.
    pub(super) fn blob(&self, digest: &str) -> Option<PathBuf> {
        sha256_hex(digest).map(|hex| self.dir.join("blobs/sha256").join(hex))
    }
}

/// The hex of a `sha256:<64 lower-case hex>` digest.
pub(super) fn sha256_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(hex)
}

/// Whether `path` is a regular file.
pub(super) async fn is_file(path: &Path) -> io::Result<bool> {
    match tokio::fs::metadata(path).await {
        Ok(meta) => Ok(meta.is_file()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the digest syntax is one the API accepts (`algo:hex`, any algorithm).
pub(super) fn is_digest_syntax(reference: &str) -> bool {
    reference.split_once(':').is_some_and(|(algo, hex)| {
        !algo.is_empty()
            && algo.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
            && hex.len() >= 32
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        let hex = "a".repeat(64);
        assert_eq!(sha256_hex(&format!("sha256:{hex}")), Some(hex.as_str()));
        assert_eq!(sha256_hex(&format!("sha256:{}", "A".repeat(64))), None);
        assert_eq!(sha256_hex("sha256:abc"), None);
        assert_eq!(sha256_hex(&format!("sha512:{hex}")), None);
        assert!(is_digest_syntax(&format!("sha512:{hex}")));
        assert!(!is_digest_syntax("sha256:xyz"));
        assert!(!is_digest_syntax("latest"));
    }
}
