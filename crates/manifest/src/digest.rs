//! Content digests as manifests write them: `algo:hex`.
//!
//! Only `sha256` (64 hex characters) and `sha512` (128) exist here. Parsing is
//! strict: lower- or upper-case hex is accepted and normalised to lower case,
//! anything else is an error that callers wrap with the item's name.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A digest algorithm that manifests may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgo {
    /// SHA-256: 32 bytes, 64 hex characters.
    Sha256,
    /// SHA-512: 64 bytes, 128 hex characters.
    Sha512,
}

impl DigestAlgo {
    /// The algorithm's name as written before the colon.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgo::Sha256 => "sha256",
            DigestAlgo::Sha512 => "sha512",
        }
    }

    /// Number of hex characters in a digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            DigestAlgo::Sha256 => 64,
            DigestAlgo::Sha512 => 128,
        }
    }

    /// Parses an algorithm name (`sha256`, `sha512`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(DigestAlgo::Sha256),
            "sha512" => Some(DigestAlgo::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for DigestAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed, validated digest: an algorithm and its lower-case hex value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algo: DigestAlgo,
    hex: String,
}

impl Digest {
    /// Builds a digest from an algorithm and hex value, checking length and charset.
    pub fn new(algo: DigestAlgo, hex: &str) -> Result<Self, Error> {
        if hex.len() != algo.hex_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidDigest {
                digest: format!("{algo}:{hex}"),
                reason: format!("{algo} needs {} hex characters", algo.hex_len()),
            });
        }
        Ok(Self { algo, hex: hex.to_ascii_lowercase() })
    }

    /// The digest of a finished SHA-256 hash (its 32 bytes); the length makes it always valid.
    pub fn from_sha256(hash: [u8; 32]) -> Self {
        Self { algo: DigestAlgo::Sha256, hex: lower_hex(&hash) }
    }

    /// The digest of a finished SHA-512 hash (its 64 bytes); the length makes it always valid.
    pub fn from_sha512(hash: [u8; 64]) -> Self {
        Self { algo: DigestAlgo::Sha512, hex: lower_hex(&hash) }
    }

    /// The algorithm.
    pub fn algo(&self) -> DigestAlgo {
        self.algo
    }

    /// The lower-case hex value, without the `algo:` prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

/// `bytes` as lower-case hex.
fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    hex
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidDigest { digest: s.to_owned(), reason: reason.to_owned() };
        if s.is_empty() {
            return Err(invalid("digest is missing"));
        }
        let (algo, hex) = s.split_once(':').ok_or_else(|| invalid("expected algo:hex"))?;
        let algo = DigestAlgo::from_name(algo)
            .ok_or_else(|| invalid("unsupported algorithm (sha256 and sha512 are supported)"))?;
        Digest::new(algo, hex)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algo, self.hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_algorithms_and_normalises_case() {
        let d: Digest = format!("sha256:{}", "AB".repeat(32)).parse().unwrap();
        assert_eq!(d.algo(), DigestAlgo::Sha256);
        assert_eq!(d.hex(), "ab".repeat(32));
        let d: Digest = format!("sha512:{}", "0".repeat(128)).parse().unwrap();
        assert_eq!(d.algo(), DigestAlgo::Sha512);
        assert_eq!(d.to_string(), format!("sha512:{}", "0".repeat(128)));
    }

    #[test]
    fn from_hash_bytes_writes_lower_hex() {
        let mut hash = [0u8; 32];
        hash[0] = 0xab;
        hash[31] = 0x0f;
        let d = Digest::from_sha256(hash);
        assert_eq!(d, format!("sha256:ab{}0f", "0".repeat(60)).parse().unwrap());
        assert_eq!(Digest::from_sha512([0xff; 64]).to_string(), format!("sha512:{}", "f".repeat(128)));
    }

    #[test]
    fn rejects_wrong_length_algo_and_charset() {
        let bad_values = [
            String::new(),
            "sha256".to_owned(),
            "sha256:".to_owned(),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}", "a".repeat(128)),
            format!("sha512:{}", "a".repeat(64)),
            format!("md5:{}", "a".repeat(32)),
            format!("sha256:{}", "g".repeat(64)),
        ];
        for bad in &bad_values {
            assert!(bad.parse::<Digest>().is_err(), "{bad:?} accepted");
        }
    }
}
