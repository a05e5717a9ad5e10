//! One downloadable vmconfig artifact (binary, archive, deb or qcow2 image).
//!
//! Field names and `omitempty` follow the Go API's JSON tags. The accessors
//! never panic on bad input: a malformed digest or URL is an [`Error`].

use serde::{Deserialize, Serialize};

use crate::go_json::{is_false, nullable};
use crate::{Digest, DigestAlgo, Error, Extra, pathsafe};

/// A single downloadable artifact referenced by a vmconfig manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dependency {
    /// Upstream version; part of the artifact's cache path.
    pub version: String,
    /// Upstream download URL; its last path segment is the cached file name.
    pub url: String,
    /// Artifact type: `binary`, `deb`, `tar.gz` or `qcow2` (JSON `type`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Content digest, `sha256:<hex>` or `sha512:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: i64,
    /// Providers this artifact is for; empty means every provider.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub providers: Vec<String>,
    /// Local marker: present and verified in the cache.
    #[serde(skip_serializing_if = "is_false")]
    pub cached: bool,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Dependency {
    /// Parses the `digest` field (sha256 or sha512).
    pub fn parse_digest(&self) -> Result<Digest, Error> {
        self.digest.parse()
    }

    /// The hex sha256 of the artifact; an error for any other algorithm.
    #[deprecated(note = "use parse_digest, which also accepts sha512")]
    pub fn sha256(&self) -> Result<String, Error> {
        let digest = self.parse_digest()?;
        if digest.algo() != DigestAlgo::Sha256 {
            return Err(Error::InvalidDigest {
                digest: self.digest.clone(),
                reason: "only sha256 is supported here".to_owned(),
            });
        }
        Ok(digest.hex().to_owned())
    }

    /// The digest's lower-case hex part, without `algo:`; an error when the digest is malformed.
    pub fn digest_hex(&self) -> Result<String, Error> {
        Ok(self.parse_digest()?.hex().to_owned())
    }

    /// The URL's last path segment (query and fragment ignored), checked to be a safe file name.
    pub fn filename(&self) -> Result<String, Error> {
        pathsafe::component("file name", url_basename(&self.url)).map(str::to_owned)
    }
}

/// The last segment of a URL's path, ignoring query and fragment; empty when there is none.
///
/// Not checked: callers pass the result through [`pathsafe::component`].
pub(crate) fn url_basename(url: &str) -> &str {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    };
    path.rsplit('/').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(url: &str, digest: &str) -> Dependency {
        Dependency { url: url.to_owned(), digest: digest.to_owned(), ..Dependency::default() }
    }

    #[test]
    fn filename_is_the_last_path_segment() {
        let cases = [
            ("https://example.com/runc/v1.2.3/runc", "runc"),
            ("https://dl.k8s.io/release/v1.36.1/bin/linux/arm64/kubectl", "kubectl"),
            ("https://x.io/a/file.tar.gz?sig=abc/def#frag/x", "file.tar.gz"),
            ("https://x.io/a/file.deb#part", "file.deb"),
            ("relative/path/x.qcow2", "x.qcow2"),
            ("https://x.io/libpq5_17.9-0+deb13u1_arm64.deb", "libpq5_17.9-0+deb13u1_arm64.deb"),
        ];
        for (url, want) in cases {
            assert_eq!(dep(url, "").filename().unwrap(), want, "{url}");
        }
    }

    #[test]
    fn filename_rejects_urls_without_a_usable_segment() {
        for url in
            ["", "https://example.com", "https://example.com/", "https://x.io/a/..", "https://x.io/a/."]
        {
            let err = dep(url, "").filename().unwrap_err();
            assert!(matches!(err, Error::UnsafePath { .. }), "{url}: {err}");
            assert!(err.to_string().contains("file name"), "{err}");
        }
    }

    #[test]
    fn parse_digest_and_hex_accept_both_algorithms() {
        let d256 = dep("", &format!("sha256:{}", "A".repeat(64)));
        assert_eq!(d256.parse_digest().unwrap().algo(), DigestAlgo::Sha256);
        assert_eq!(d256.digest_hex().unwrap(), "a".repeat(64));
        let d512 = dep("", &format!("sha512:{}", "b".repeat(128)));
        assert_eq!(d512.parse_digest().unwrap().algo(), DigestAlgo::Sha512);
        assert_eq!(d512.digest_hex().unwrap(), "b".repeat(128));
    }

    #[test]
    fn digest_hex_errors_instead_of_panicking() {
        for bad in ["", "sha256", "sha256:abc", "md5:00"] {
            assert!(dep("", bad).digest_hex().is_err(), "{bad:?}");
        }
    }

    #[test]
    #[allow(deprecated)]
    fn sha256_accepts_only_sha256() {
        assert_eq!(dep("", &format!("sha256:{}", "c".repeat(64))).sha256().unwrap(), "c".repeat(64));
        let err = dep("", &format!("sha512:{}", "c".repeat(128))).sha256().unwrap_err();
        assert!(err.to_string().contains("only sha256"), "{err}");
        assert!(dep("", "").sha256().is_err());
    }

    #[test]
    fn omits_empty_providers_and_false_cached() {
        let mut d = dep("https://x/y", "sha256:00");
        d.kind = "binary".to_owned();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            r#"{"version":"","url":"https://x/y","type":"binary","digest":"sha256:00","size":0}"#
        );
        d.providers = vec!["aws".to_owned()];
        d.cached = true;
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.ends_with(r#""size":0,"providers":["aws"],"cached":true}"#), "{json}");
    }

    #[test]
    fn reads_missing_fields_and_null_providers_as_empty() {
        let d: Dependency = serde_json::from_str(r#"{"url":"u","providers":null}"#).unwrap();
        assert_eq!(d, Dependency { url: "u".to_owned(), ..Dependency::default() });
    }

    #[test]
    fn keeps_unknown_fields_and_writes_them_after_the_known_ones() {
        let json = r#"{"version":"1","url":"u","type":"binary","digest":"d","size":1,"cached":true,"arch":"arm64","sbom":{"url":"s"}}"#;
        let d: Dependency = serde_json::from_str(json).unwrap();
        assert_eq!(d.extra["arch"], "arm64");
        assert_eq!(d.extra["sbom"]["url"], "s");
        assert_eq!(serde_json::to_string(&d).unwrap(), json);
    }
}
