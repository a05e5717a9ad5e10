//! Cross-repository blob dedupe (BEHAVIOR §6, beyond): a blob already stored
//! in one repository is hard-linked into another instead of downloaded again.
//!
//! [`BlobIndex::build`] walks a store root once per run and maps each digest
//! to one file at `<root>/**/blobs/<algo>/<hex>`; the manager adds blobs as it
//! writes them. A path is never trusted alone: [`BlobIndex::find`] checks the
//! file is still there with the expected size, and [`link_or_copy`] checks the
//! size again before linking. Linking is safe because no blob is ever written
//! in place: every write renames a new file over the old name, so a link
//! keeps the bytes it was made with.
//!
//! [`link_or_copy`] links to a temporary name and renames it into place, so
//! the destination is absent or complete. When linking fails (another file
//! system, a file system without hard links) it copies instead, through
//! `deps_store::VerifiedWriter`, so a copy is re-hashed on the way.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use deps_manifest::{Digest, DigestAlgo};
use deps_store::{VerifiedWriter, remove_if_exists, sync_dir};

use crate::{Error, RepoLayout, Result};

/// Every blob file found under a store root, by digest.
#[derive(Debug, Clone, Default)]
pub struct BlobIndex {
    blobs: HashMap<Digest, PathBuf>,
}

/// How [`BlobIndex::link_into`] put a blob in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The destination is a hard link to the source.
    Linked,
    /// The destination is a verified copy of the source.
    Copied,
    /// The destination already held the blob; nothing was done.
    Present,
}

impl BlobIndex {
    /// Walks `root` (without following symbolic links) for `blobs/<algo>/<hex>` files; empty when `root` is absent.
    pub fn build(root: &Path) -> Result<Self> {
        let mut index = Self::default();
        index.scan(root)?;
        Ok(index)
    }

    /// Records a blob file (one the caller just wrote or linked).
    pub fn insert(&mut self, digest: Digest, path: PathBuf) {
        self.blobs.insert(digest, path);
    }

    /// The recorded file for `digest`, if any (not re-checked).
    pub fn get(&self, digest: &Digest) -> Option<&Path> {
        self.blobs.get(digest).map(PathBuf::as_path)
    }

    /// The recorded file for `digest` if it is still a regular file of exactly `size` bytes.
    pub fn find(&self, digest: &Digest, size: u64) -> Option<&Path> {
        self.get(digest).filter(|path| std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == size))
    }

    /// Puts the blob into `layout` from wherever the store already holds it; `None` when nowhere does.
    ///
    /// On success the blob is recorded at its new path too.
    pub fn link_into(
        &mut self,
        layout: &RepoLayout,
        digest: &Digest,
        size: u64,
    ) -> Result<Option<Placement>> {
        let dest = layout.blob_path(digest);
        if layout.has_blob(digest, Some(size)) {
            self.blobs.entry(digest.clone()).or_insert(dest);
            return Ok(Some(Placement::Present));
        }
        let Some(src) = self.find(digest, size).map(Path::to_path_buf) else { return Ok(None) };
        let placement = link_or_copy(&src, layout, digest, size)?;
        Ok(Some(placement))
    }

    /// Number of distinct blobs recorded.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether no blob is recorded.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Adds the blobs under `dir`, recursively; directories that vanish meanwhile are skipped.
    fn scan(&mut self, dir: &Path) -> Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(Error::IoAt { action: "list", path: dir.to_owned(), source }),
        };
        let mut entries: Vec<_> = entries.filter_map(io::Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                self.scan(&path)?;
            } else if kind.is_file()
                && let Some(digest) = blob_digest(&path)
            {
                self.blobs.entry(digest).or_insert(path);
            }
        }
        Ok(())
    }
}

/// The digest a path names when it is `.../blobs/<algo>/<hex>`.
fn blob_digest(path: &Path) -> Option<Digest> {
    let hex = path.file_name()?.to_str()?;
    let algo_dir = path.parent()?;
    let algo = DigestAlgo::from_name(algo_dir.file_name()?.to_str()?)?;
    if algo_dir.parent()?.file_name()? != "blobs" {
        return None;
    }
    // Only lower-case names: that is how blobs are written, and it keeps temp files out.
    if hex.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Digest::new(algo, hex).ok()
}

/// Puts the blob `src` (which must be `size` bytes) into `layout`: a hard link, or a verified copy.
fn link_or_copy(src: &Path, layout: &RepoLayout, digest: &Digest, size: u64) -> Result<Placement> {
    place(src, layout, digest, size, |from, to| std::fs::hard_link(from, to))
}

/// [`link_or_copy`] with the linking step given (tests make it fail).
///
/// The link's temporary name and a copy's partial are in the layout's staging
/// directory, never in `blobs/`.
fn place(
    src: &Path,
    layout: &RepoLayout,
    digest: &Digest,
    size: u64,
    link: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> Result<Placement> {
    let meta = fs_err::metadata(src)?;
    if !meta.is_file() || meta.len() != size {
        return Err(Error::SizeMismatch { path: src.to_owned(), expected: size, actual: meta.len() });
    }
    let dest = &layout.blob_path(digest);
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    deps_store::create_dir_all(dir)?;
    deps_store::create_dir_all(&layout.staging_dir())?;
    let tmp = temp_name(&layout.staging_path(digest));
    remove_if_exists(&tmp)?;
    match link(src, &tmp) {
        Ok(()) => {
            let renamed = std::fs::rename(&tmp, dest);
            // Renaming one link of a file onto another link of the same file does nothing: clean up.
            remove_if_exists(&tmp)?;
            renamed.map_err(|source| Error::IoAt {
                action: "rename into place",
                path: dest.to_owned(),
                source,
            })?;
            sync_dir(dir)?;
            Ok(Placement::Linked)
        }
        Err(err) => {
            tracing::debug!(src = %src.display(), dest = %dest.display(), %err, "hard link failed; copying");
            copy_verified(src, layout, digest, size)?;
            Ok(Placement::Copied)
        }
    }
}

/// Copies `src` into `layout` through a verified writer in staging: the copy lands only if it hashes to `digest`.
fn copy_verified(src: &Path, layout: &RepoLayout, digest: &Digest, size: u64) -> Result<()> {
    let mut writer = VerifiedWriter::create(&layout.staging_path(digest), digest.clone(), Some(size))?;
    writer.copy_from(src)?;
    writer.commit()?;
    layout.adopt_staged(digest)?;
    Ok(())
}

/// A hidden temporary name beside `dest`, unique within this process.
fn temp_name(dest: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.{}.{n}.link", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RepoLayout, sha256};
    use std::os::unix::fs::MetadataExt;

    fn inode(path: &Path) -> (u64, u64) {
        let m = std::fs::metadata(path).unwrap();
        (m.dev(), m.ino())
    }

    #[test]
    fn build_finds_blobs_in_nested_repos_and_skips_others() {
        let tmp = tempfile::tempdir().unwrap();
        let a = RepoLayout::open(tmp.path(), "docker.io/library/caddy").unwrap();
        let b = RepoLayout::open(tmp.path(), "docker.io/library/caddy/sub").unwrap();
        a.put_blob(&sha256(b"one"), b"one").unwrap();
        b.put_blob(&sha256(b"two"), b"two").unwrap();
        b.put_blob(&sha256(b"one"), b"one").unwrap();
        let stray = a.blob_path(&sha256(b"three"));
        std::fs::write(stray.with_file_name(format!("{}.partial", sha256(b"three").hex())), b"thr").unwrap();
        std::fs::write(tmp.path().join("docker.io/notablob"), b"x").unwrap();
        let index = BlobIndex::build(tmp.path()).unwrap();
        assert_eq!(index.len(), 2);
        assert!(index.get(&sha256(b"one")).unwrap().ends_with(sha256(b"one").hex()));
        assert_eq!(index.find(&sha256(b"two"), 3), Some(b.blob_path(&sha256(b"two")).as_path()));
        assert_eq!(index.find(&sha256(b"two"), 4), None, "size must match");
        assert!(index.get(&sha256(b"three")).is_none());
        assert!(BlobIndex::build(&tmp.path().join("absent")).unwrap().is_empty());
    }

    #[test]
    fn find_rechecks_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x");
        let mut index = BlobIndex::default();
        index.insert(sha256(b"abc"), path.clone());
        assert_eq!(index.find(&sha256(b"abc"), 3), None, "gone");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(index.find(&sha256(b"abc"), 3), Some(path.as_path()));
    }

    /// The names in the directory holding `path`.
    fn names_beside(path: &Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect()
    }

    #[test]
    fn links_share_the_inode_and_relinking_is_harmless() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("a/blobs/sha256/src");
        std::fs::create_dir_all(src.parent().unwrap()).unwrap();
        std::fs::write(&src, b"layer").unwrap();
        let layout = RepoLayout::open(tmp.path(), "b").unwrap();
        let d = sha256(b"layer");
        let dest = layout.blob_path(&d);
        assert_eq!(link_or_copy(&src, &layout, &d, 5).unwrap(), Placement::Linked);
        assert_eq!(inode(&src), inode(&dest));
        assert_eq!(link_or_copy(&src, &layout, &d, 5).unwrap(), Placement::Linked);
        assert_eq!(inode(&src), inode(&dest));
        assert_eq!(names_beside(&dest), [d.hex()], "no temporary link left behind");
        assert_eq!(std::fs::read_dir(layout.staging_dir()).unwrap().count(), 0);
    }

    #[test]
    fn link_into_reuses_a_blob_from_another_repository() {
        let tmp = tempfile::tempdir().unwrap();
        let a = RepoLayout::open(tmp.path(), "quay.io/a").unwrap();
        let b = RepoLayout::open(tmp.path(), "ghcr.io/b").unwrap();
        let d = sha256(b"shared layer");
        a.put_blob(&d, b"shared layer").unwrap();
        let mut index = BlobIndex::build(tmp.path()).unwrap();
        assert_eq!(index.link_into(&b, &sha256(b"other"), 5).unwrap(), None);
        assert_eq!(index.link_into(&b, &d, 12).unwrap(), Some(Placement::Linked));
        assert_eq!(inode(&a.blob_path(&d)), inode(&b.blob_path(&d)));
        assert_eq!(index.link_into(&b, &d, 12).unwrap(), Some(Placement::Present));
        assert_eq!(index.link_into(&RepoLayout::open(tmp.path(), "c").unwrap(), &d, 13).unwrap(), None);
    }

    #[test]
    fn wrong_size_is_refused_before_linking() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::write(&src, b"layer!").unwrap();
        let layout = RepoLayout::open(tmp.path(), "r").unwrap();
        let err = link_or_copy(&src, &layout, &sha256(b"layer"), 5).unwrap_err();
        assert!(matches!(err, Error::SizeMismatch { expected: 5, actual: 6, .. }), "{err}");
        assert!(!layout.blob_path(&sha256(b"layer")).exists());
    }

    #[test]
    fn falls_back_to_a_verified_copy_in_staging_when_linking_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::write(&src, b"layer").unwrap();
        let layout = RepoLayout::open(tmp.path(), "out").unwrap();
        let dest = layout.blob_path(&sha256(b"layer"));
        let cross_device = |_: &Path, _: &Path| Err(io::Error::from(io::ErrorKind::CrossesDevices));
        assert_eq!(place(&src, &layout, &sha256(b"layer"), 5, cross_device).unwrap(), Placement::Copied);
        assert_eq!(std::fs::read(&dest).unwrap(), b"layer");
        assert_ne!(inode(&src), inode(&dest));
        assert_eq!(names_beside(&dest), [sha256(b"layer").hex()], "no partial in blobs/");

        // A source whose bytes do not match its digest is not copied.
        let other = layout.blob_path(&sha256(b"LAYER"));
        let err = place(&src, &layout, &sha256(b"LAYER"), 5, cross_device).unwrap_err();
        assert!(matches!(err, Error::Store(deps_store::Error::DigestMismatch { .. })), "{err}");
        assert!(!other.exists());
        assert_eq!(names_beside(&dest), [sha256(b"layer").hex()]);
    }
}
