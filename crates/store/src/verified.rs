//! The digest-verified writer: how downloaded bytes become a cache file.
//!
//! Bytes are hashed as they are written to `<dest>.partial`; nothing is read
//! back to be verified. Only [`VerifiedWriter::commit`] with a matching size
//! and digest renames the partial onto `<dest>`, so `<dest>` is always either
//! absent or complete and correct. A mismatch removes the partial (those bytes
//! are known bad); dropping the writer without committing keeps it, so a
//! later [`VerifiedWriter::resume`] can re-hash it and carry on from its end.
//! With an expected size, the partial never grows beyond it. The partial is
//! never written through a symbolic link (one planted at its name is
//! replaced by a fresh file), and one that is not a regular file is an error.
//! After an I/O error the writer's state is unknown: drop it and resume.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use deps_manifest::Digest;

use crate::fsio::{self, io_err};
use crate::hasher::{Hasher, read_chunks};
use crate::{Error, Result, partial_meta_path, partial_path};

/// Write batching: smaller pieces are gathered up to this size; larger ones go straight to the file.
const WRITE_BUFFER: usize = 256 << 10;

/// A download in progress into `<dest>.partial`, hashed as it is written.
#[derive(Debug)]
pub struct VerifiedWriter {
    dest: PathBuf,
    partial: PathBuf,
    file: BufWriter<File>,
    hasher: Hasher,
    expected: Digest,
    expected_size: Option<u64>,
    written: u64,
}

/// A download that matched its digest and now sits at its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The destination file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its digest (equal to the expected one).
    pub digest: Digest,
}

impl VerifiedWriter {
    /// Starts an empty `<dest>.partial`, replacing any earlier one and its sidecar.
    pub fn create(dest: &Path, expected: Digest, expected_size: Option<u64>) -> Result<Self> {
        let partial = partial_path(dest);
        fsio::create_parent(dest)?;
        let file = fsio::open_rw(&partial)?;
        let mut writer = Self::with_file(dest, partial, file, expected, expected_size);
        writer.restart()?;
        Ok(writer)
    }

    /// Continues `<dest>.partial` after re-hashing its bytes; starts afresh when there is none.
    ///
    /// A partial longer than `expected_size` cannot be a prefix of the right
    /// bytes, so it is emptied (and its sidecar removed) instead.
    pub fn resume(dest: &Path, expected: Digest, expected_size: Option<u64>) -> Result<Self> {
        let partial = partial_path(dest);
        // A link planted at the partial's name holds none of our bytes: it is replaced, never followed.
        match fsio::entry_type(&partial)? {
            None => return Self::create(dest, expected, expected_size),
            Some(kind) if kind.is_symlink() => return Self::create(dest, expected, expected_size),
            Some(kind) => fsio::ensure_regular(&partial, kind)?,
        }
        let mut file = fsio::open_rw(&partial)?;
        let len = file.metadata().map_err(io_err("read metadata of", &partial))?.len();
        if expected_size.is_some_and(|max| len > max) {
            tracing::debug!(partial = %partial.display(), len, "partial longer than expected; starting over");
            let mut writer = Self::with_file(dest, partial, file, expected, expected_size);
            writer.restart()?;
            return Ok(writer);
        }
        let mut hasher = Hasher::new(expected.algo());
        let read = hasher.update_from(&mut file).map_err(io_err("read", &partial))?;
        // The file position is now at its end, where appending continues.
        let mut writer = Self::with_file(dest, partial, file, expected, expected_size);
        writer.hasher = hasher;
        writer.written = read;
        Ok(writer)
    }

    fn with_file(
        dest: &Path,
        partial: PathBuf,
        file: File,
        expected: Digest,
        expected_size: Option<u64>,
    ) -> Self {
        Self {
            dest: dest.to_owned(),
            partial,
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            hasher: Hasher::new(expected.algo()),
            expected,
            expected_size,
            written: 0,
        }
    }

    /// Bytes already in the partial: where a `Range` request should start.
    pub fn offset(&self) -> u64 {
        self.written
    }

    /// The destination the bytes are for.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The partial file the bytes go to until commit.
    pub fn partial_path(&self) -> &Path {
        &self.partial
    }

    /// Hashes and appends `buf`; refuses (writing nothing) to grow beyond the expected size.
    pub fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        let got = self.written + buf.len() as u64;
        if let Some(expected) = self.expected_size
            && got > expected
        {
            return Err(Error::TooLong { path: self.dest.clone(), expected, got });
        }
        self.file.write_all(buf).map_err(io_err("write", &self.partial))?;
        self.hasher.update(buf);
        self.written = got;
        Ok(())
    }

    /// Hashes and appends the whole file at `src`, in 1 MiB reads; returns the bytes copied.
    pub fn copy_from(&mut self, src: &Path) -> Result<u64> {
        let mut from = fsio::open(src)?;
        let read_err = |source| Error::Io { action: "read", path: src.to_owned(), source };
        read_chunks(&mut from, read_err, |chunk| self.write_all(chunk))
    }

    /// Empties the partial and the hash (the server ignored `Range` and sent everything).
    pub fn restart(&mut self) -> Result<()> {
        self.file.flush().map_err(io_err("write", &self.partial))?;
        let file = self.file.get_mut();
        file.set_len(0).map_err(io_err("truncate", &self.partial))?;
        file.seek(SeekFrom::Start(0)).map_err(io_err("seek in", &self.partial))?;
        fsio::remove_if_exists(&partial_meta_path(&self.dest))?;
        self.hasher = Hasher::new(self.expected.algo());
        self.written = 0;
        Ok(())
    }

    /// Verifies size and digest; renames the partial onto the destination, or removes it.
    pub fn commit(self) -> Result<Committed> {
        let Self { dest, partial, file, hasher, expected, expected_size, written } = self;
        let file = file.into_inner().map_err(|err| io_err("write", &partial)(err.into_error()))?;
        file.sync_all().map_err(io_err("sync", &partial))?;
        drop(file);
        let meta = partial_meta_path(&dest);
        if let Some(expected) = expected_size
            && written != expected
        {
            discard(&partial, &meta)?;
            return Err(Error::SizeMismatch { path: dest, expected, actual: written });
        }
        let actual = hasher.finalize();
        if actual != expected {
            discard(&partial, &meta)?;
            tracing::debug!(dest = %dest.display(), %expected, %actual, "digest mismatch; partial removed");
            return Err(Error::DigestMismatch { path: dest, expected, actual });
        }
        std::fs::rename(&partial, &dest).map_err(io_err("rename into place", &dest))?;
        fsio::remove_if_exists(&meta)?;
        fsio::sync_dir(fsio::parent_dir(&dest))?;
        Ok(Committed { path: dest, size: written, digest: actual })
    }
}

/// Removes a partial known to hold wrong bytes, and its sidecar.
fn discard(partial: &Path, meta: &Path) -> Result<()> {
    fsio::remove_if_exists(partial)?;
    fsio::remove_if_exists(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hasher::CHUNK;
    use crate::{PartialMeta, read_partial_meta, write_partial_meta};
    use deps_manifest::DigestAlgo;

    fn digest(algo: DigestAlgo, bytes: &[u8]) -> Digest {
        crate::digest_bytes(algo, bytes)
    }

    fn sha256(bytes: &[u8]) -> Digest {
        digest(DigestAlgo::Sha256, bytes)
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    fn meta() -> PartialMeta {
        PartialMeta { url: "http://127.0.0.1/x".to_owned(), validator: Some("\"v1\"".to_owned()) }
    }

    const BODY: &[u8] = b"the quick brown fox jumps over the lazy dog";

    #[test]
    fn right_digest_commits_into_place() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("a/b/runc");
        let mut w = VerifiedWriter::create(&dest, sha256(BODY), Some(BODY.len() as u64)).unwrap();
        assert_eq!(w.dest(), dest);
        assert_eq!(w.partial_path(), partial_path(&dest));
        w.write_all(&BODY[..10]).unwrap();
        w.write_all(&BODY[10..]).unwrap();
        assert_eq!(w.offset(), BODY.len() as u64);
        write_partial_meta(&dest, &meta()).unwrap();
        let done = w.commit().unwrap();
        assert_eq!(done, Committed { path: dest.clone(), size: BODY.len() as u64, digest: sha256(BODY) });
        assert_eq!(std::fs::read(&dest).unwrap(), BODY);
        assert_eq!(files(&tmp.path().join("a/b")), ["runc"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mask = crate::atomic::tests::umask();
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dest), 0o644 & !mask, "artifacts are readable by others");
            assert_eq!(mode(&tmp.path().join("a/b")), 0o755 & !mask);
        }
    }

    #[test]
    fn wrong_digest_removes_partial_and_leaves_no_dest() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("runc");
        let mut w = VerifiedWriter::create(&dest, sha256(b"other"), None).unwrap();
        w.write_all(BODY).unwrap();
        write_partial_meta(&dest, &meta()).unwrap();
        let err = w.commit().unwrap_err();
        match &err {
            Error::DigestMismatch { path, expected, actual } => {
                assert_eq!(path, &dest);
                assert_eq!(expected, &sha256(b"other"));
                assert_eq!(actual, &sha256(BODY));
            }
            other => panic!("expected a digest mismatch, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(&sha256(b"other").to_string()) && msg.contains(&sha256(BODY).to_string()),
            "{msg}"
        );
        assert!(files(tmp.path()).is_empty());
    }

    #[test]
    fn short_body_is_a_size_mismatch_and_removes_partial() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("runc");
        let mut w = VerifiedWriter::create(&dest, sha256(BODY), Some(BODY.len() as u64)).unwrap();
        w.write_all(&BODY[..5]).unwrap();
        let err = w.commit().unwrap_err();
        assert!(matches!(err, Error::SizeMismatch { expected: 43, actual: 5, .. }), "{err:?}");
        assert!(err.to_string().contains("expected 43 bytes, got 5"), "{err}");
        assert!(files(tmp.path()).is_empty());
    }

    #[test]
    fn too_long_is_rejected_and_nothing_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("runc");
        let mut w = VerifiedWriter::create(&dest, sha256(BODY), Some(BODY.len() as u64)).unwrap();
        w.write_all(&BODY[..40]).unwrap();
        let err = w.write_all(b"12345").unwrap_err();
        assert!(matches!(err, Error::TooLong { expected: 43, got: 45, .. }), "{err:?}");
        assert_eq!(w.offset(), 40);
        // The writer is still usable: the right tail commits.
        w.write_all(&BODY[40..]).unwrap();
        w.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), BODY);
    }

    #[test]
    fn drop_keeps_partial_and_resume_rebuilds_hash_and_commits() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("runc");
        let size = Some(BODY.len() as u64);
        let mut w = VerifiedWriter::create(&dest, sha256(BODY), size).unwrap();
        w.write_all(&BODY[..17]).unwrap();
        write_partial_meta(&dest, &meta()).unwrap();
        drop(w);
        assert_eq!(std::fs::read(partial_path(&dest)).unwrap(), &BODY[..17]);
        assert!(!dest.exists());

        let mut w = VerifiedWriter::resume(&dest, sha256(BODY), size).unwrap();
        assert_eq!(w.offset(), 17);
        assert_eq!(read_partial_meta(&dest).unwrap(), Some(meta()), "resume keeps the sidecar");
        w.write_all(&BODY[17..]).unwrap();
        w.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), BODY);
        assert_eq!(files(tmp.path()), ["runc"]);
    }

    #[test]
    fn resume_without_partial_starts_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("sub/runc");
        let mut w = VerifiedWriter::resume(&dest, sha256(BODY), None).unwrap();
        assert_eq!(w.offset(), 0);
        w.write_all(BODY).unwrap();
        w.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), BODY);
    }

    #[test]
    fn resume_of_an_overlong_partial_starts_over() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("runc");
        std::fs::write(partial_path(&dest), [b'x'; 100]).unwrap();
        write_partial_meta(&dest, &meta()).unwrap();
        let mut w = VerifiedWriter::resume(&dest, sha256(BODY), Some(BODY.len() as u64)).unwrap();
        assert_eq!(w.offset(), 0);
        assert_eq!(std::fs::metadata(partial_path(&dest)).unwrap().len(), 0);
        assert_eq!(read_partial_meta(&dest).unwrap(), None);
        w.write_all(BODY).unwrap();
        w.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), BODY);
    }

    #[test]
    fn create_replaces_an_old_partial() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("runc");
        std::fs::write(partial_path(&dest), b"stale bytes").unwrap();
        write_partial_meta(&dest, &meta()).unwrap();
        let mut w = VerifiedWriter::create(&dest, sha256(BODY), None).unwrap();
        assert_eq!(w.offset(), 0);
        assert_eq!(read_partial_meta(&dest).unwrap(), None);
        w.write_all(BODY).unwrap();
        w.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), BODY);
    }

    #[test]
    fn restart_discards_bytes_and_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("runc");
        std::fs::write(partial_path(&dest), &BODY[..8]).unwrap();
        let mut w = VerifiedWriter::resume(&dest, sha256(BODY), None).unwrap();
        assert_eq!(w.offset(), 8);
        w.write_all(b"junk that is buffered").unwrap();
        w.restart().unwrap();
        assert_eq!(w.offset(), 0);
        w.write_all(BODY).unwrap();
        w.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), BODY);
    }

    #[test]
    fn sha512_digests_verify_too() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("etcd.netsy");
        let expected = digest(DigestAlgo::Sha512, BODY);
        let mut w = VerifiedWriter::create(&dest, expected.clone(), Some(BODY.len() as u64)).unwrap();
        w.write_all(BODY).unwrap();
        assert_eq!(w.commit().unwrap().digest, expected);

        let wrong = digest(DigestAlgo::Sha512, b"nope");
        let mut w = VerifiedWriter::create(&tmp.path().join("bad"), wrong, None).unwrap();
        w.write_all(BODY).unwrap();
        assert!(matches!(w.commit(), Err(Error::DigestMismatch { .. })));
    }

    #[test]
    fn copy_from_hashes_a_whole_file_and_names_a_missing_one() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let body: Vec<u8> = (0..CHUNK + 3).map(|i| (i % 13) as u8).collect();
        std::fs::write(&src, &body).unwrap();
        let dest = tmp.path().join("dest");
        let mut w = VerifiedWriter::create(&dest, sha256(&body), Some(body.len() as u64)).unwrap();
        assert_eq!(w.copy_from(&src).unwrap(), body.len() as u64);
        w.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);

        let missing = tmp.path().join("missing");
        let mut w = VerifiedWriter::create(&dest, sha256(&body), None).unwrap();
        let err = w.copy_from(&missing).unwrap_err();
        assert!(matches!(&err, Error::Io { path, .. } if *path == missing), "{err:?}");
    }

    #[test]
    fn large_writes_across_the_buffer_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("big");
        let body: Vec<u8> = (0..CHUNK * 3 + 5).map(|i| (i * 7 % 256) as u8).collect();
        let mut w = VerifiedWriter::create(&dest, sha256(&body), Some(body.len() as u64)).unwrap();
        for piece in body.chunks(CHUNK / 3 + 1) {
            w.write_all(piece).unwrap();
        }
        w.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);
    }
}
