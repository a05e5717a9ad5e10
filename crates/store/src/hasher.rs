//! Streaming content digests over the two algorithms manifests use.
//!
//! [`Hasher`] is the running state a download feeds as bytes arrive; the
//! file helpers read in 1 MiB chunks, so memory stays flat whatever the file
//! size. [`digest_bytes`] covers the small things callers hold in memory
//! (manifests, configs, indexes, chart archives). sha2 picks SHA-NI / ARMv8
//! SHA instructions at run time.

use std::io::{self, Read};
use std::path::Path;

use deps_manifest::{Digest, DigestAlgo};
use sha2::Digest as _;

use crate::Result;
use crate::fsio::{self, io_err};

/// Read and write buffer size for streaming files.
pub(crate) const CHUNK: usize = 1 << 20;

/// A running SHA-256 or SHA-512 hash.
#[derive(Debug, Clone)]
pub(crate) enum Hasher {
    /// SHA-256 state.
    Sha256(sha2::Sha256),
    /// SHA-512 state.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hash for `algo`.
    pub(crate) fn new(algo: DigestAlgo) -> Self {
        match algo {
            DigestAlgo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            DigestAlgo::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// Feeds more bytes.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// Feeds everything `reader` yields, in [`CHUNK`]-sized reads; returns the byte count.
    pub(crate) fn update_from(&mut self, reader: &mut impl Read) -> io::Result<u64> {
        read_chunks(
            reader,
            |err| err,
            |chunk| {
                self.update(chunk);
                Ok(())
            },
        )
    }

    /// The digest of everything fed so far.
    pub(crate) fn finalize(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest::from_sha256(h.finalize().into()),
            Hasher::Sha512(h) => Digest::from_sha512(h.finalize().into()),
        }
    }
}

/// Reads `reader` to its end in [`CHUNK`]-sized reads, handing each chunk to
/// `each`; a read error goes through `read_err`. Returns the byte count.
pub(crate) fn read_chunks<E>(
    reader: &mut impl Read,
    read_err: impl Fn(io::Error) -> E,
    mut each: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<u64, E> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(read_err(err)),
        };
        each(&buf[..n])?;
        total += n as u64;
    }
}

/// The `algo` digest of `bytes` held in memory.
pub fn digest_bytes(algo: DigestAlgo, bytes: &[u8]) -> Digest {
    let mut hasher = Hasher::new(algo);
    hasher.update(bytes);
    hasher.finalize()
}

/// The digest of a file's contents, read in 1 MiB chunks.
pub fn hash_file(path: &Path, algo: DigestAlgo) -> Result<Digest> {
    let mut file = fsio::open(path)?;
    let mut hasher = Hasher::new(algo);
    hasher.update_from(&mut file).map_err(io_err("read", path))?;
    Ok(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// sha256("abc") and sha512("abc"), from FIPS 180-2.
    const ABC_SHA256: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const ABC_SHA512: &str = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

    #[test]
    fn hash_file_matches_known_digests() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(hash_file(&path, DigestAlgo::Sha256).unwrap().to_string(), ABC_SHA256);
        assert_eq!(hash_file(&path, DigestAlgo::Sha512).unwrap().to_string(), ABC_SHA512);
    }

    #[test]
    fn hash_file_streams_across_chunks() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("big");
        let bytes: Vec<u8> = (0..CHUNK * 2 + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let mut whole = Hasher::new(DigestAlgo::Sha256);
        whole.update(&bytes);
        assert_eq!(hash_file(&path, DigestAlgo::Sha256).unwrap(), whole.finalize());
    }

    #[test]
    fn digest_bytes_matches_known_digests() {
        assert_eq!(digest_bytes(DigestAlgo::Sha256, b"abc").to_string(), ABC_SHA256);
        assert_eq!(digest_bytes(DigestAlgo::Sha512, b"abc").to_string(), ABC_SHA512);
    }

    #[test]
    fn hash_file_of_missing_file_names_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("missing");
        let err = hash_file(&path, DigestAlgo::Sha256).unwrap_err();
        assert!(matches!(&err, Error::Io { path: p, .. } if *p == path), "{err:?}");
    }
}
