//! The SHA-256 of what this crate writes, and the serde form of [`Digest`] in OCI JSON.
//!
//! Hashing itself lives in the store (`deps_store::digest_bytes` for bytes in
//! memory, `deps_store::hash_file` for files); this module only names the
//! algorithm the layouts we write use.

use deps_manifest::{Digest, DigestAlgo};
use deps_store::digest_bytes;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// The SHA-256 digest of `bytes`: the digest of everything this crate writes.
pub fn sha256(bytes: &[u8]) -> Digest {
    digest_bytes(DigestAlgo::Sha256, bytes)
}

/// Serialises a digest as its `algo:hex` string.
pub(crate) fn serialize_digest<S: Serializer>(digest: &Digest, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(digest)
}

/// Parses an `algo:hex` string strictly (sha256 or sha512).
pub(crate) fn deserialize_digest<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            sha256(b"abc").to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
