//! Manifests as fetched: the exact bytes, their media type and digest.
//!
//! The bytes are never re-serialised. Their digest is computed here and must
//! equal every digest the caller named (the reference, the expected one, the
//! registry's `Docker-Content-Digest`); a mismatch is final. The media type
//! is the response's `Content-Type` when it names a manifest type, else the
//! document's own `mediaType`, else inferred from its shape.

use deps_manifest::media::{MANIFEST_ACCEPT, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST};
use deps_manifest::{Digest, DigestAlgo};
use deps_store::digest_bytes;

use crate::{Error, redact};

/// Largest manifest accepted.
pub(crate) const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// A manifest's bytes exactly as the registry sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    /// The bytes received.
    pub bytes: Vec<u8>,
    /// The media type (from `Content-Type`, else the document's `mediaType`).
    pub media_type: String,
    /// The digest of `bytes` (checked against every digest asked for).
    pub digest: Digest,
}

/// The `Accept` header value for manifests.
pub(crate) fn accept_header() -> String {
    MANIFEST_ACCEPT.join(", ")
}

/// The media type of `bytes` served with `content_type`.
pub(crate) fn media_type(content_type: Option<&str>, bytes: &[u8]) -> String {
    let served = content_type.and_then(|ct| ct.split(';').next()).map(str::trim).unwrap_or_default();
    if MANIFEST_ACCEPT.contains(&served) {
        return served.to_owned();
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    let shape = serde_json::from_slice::<Shape>(bytes).ok();
    if let Some(declared) = shape.as_ref().and_then(|s| s.media_type.clone()).filter(|m| !m.is_empty()) {
        return declared;
    }
    let generic = ["", "application/json", "text/plain", "application/octet-stream"];
    if !generic.contains(&served) {
        return served.to_owned();
    }
    let is_index = shape.is_some_and(|s| s.manifests.is_some());
    (if is_index { OCI_IMAGE_INDEX } else { OCI_IMAGE_MANIFEST }).to_owned()
}

/// Checks `bytes` against every digest in `wanted`; returns their digest in the first one's algorithm (sha256 when none).
pub(crate) fn verify(url: &str, bytes: &[u8], wanted: &[&Digest]) -> Result<Digest, Error> {
    for expected in wanted {
        let actual = digest_bytes(expected.algo(), bytes);
        if actual != **expected {
            return Err(Error::ManifestDigestMismatch {
                url: redact(url),
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
    }
    Ok(match wanted.first() {
        Some(first) => (*first).clone(),
        None => digest_bytes(DigestAlgo::Sha256, bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC_SHA256: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn content_type_wins_when_it_names_a_manifest_type() {
        let oci = "application/vnd.oci.image.manifest.v1+json";
        let docker = "application/vnd.docker.distribution.manifest.v2+json";
        let body = format!(r#"{{"schemaVersion":2,"mediaType":"{docker}"}}"#);
        assert_eq!(media_type(Some(&format!("{oci}; charset=utf-8")), body.as_bytes()), oci);
        assert_eq!(media_type(Some("application/json"), body.as_bytes()), docker);
        assert_eq!(media_type(None, body.as_bytes()), docker);
    }

    #[test]
    fn shape_decides_when_nothing_names_the_type() {
        assert_eq!(media_type(None, br#"{"schemaVersion":2,"manifests":[]}"#), OCI_IMAGE_INDEX);
        assert_eq!(media_type(Some("text/plain"), br#"{"schemaVersion":2,"layers":[]}"#), OCI_IMAGE_MANIFEST);
        assert_eq!(media_type(Some("application/x-other"), b"{}"), "application/x-other");
    }

    #[test]
    fn verify_names_both_digests() {
        let abc: Digest = ABC_SHA256.parse().unwrap();
        assert_eq!(verify("u", b"abc", &[]).unwrap(), abc);
        assert_eq!(verify("u", b"abc", &[&abc, &abc]).unwrap(), abc);
        let err = verify("http://r/v2/a/manifests/x", b"abd", &[&abc]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(ABC_SHA256) && msg.contains(&digest_bytes(DigestAlgo::Sha256, b"abd").to_string()),
            "{msg}"
        );
        let sha512 = digest_bytes(DigestAlgo::Sha512, b"abc");
        assert_eq!(verify("u", b"abc", &[&sha512, &abc]).unwrap(), sha512);
    }

    #[test]
    fn accept_names_all_four_types() {
        assert_eq!(accept_header().split(", ").count(), 4);
    }
}
