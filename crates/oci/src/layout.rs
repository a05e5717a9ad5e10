//! One repository's OCI image layout directory, as zot serves it from its storage root.
//!
//! `<root>/<repo>/` holds `oci-layout`, `index.json` and
//! `blobs/<algo>/<hex>`. The repository name passes
//! `pathsafe::relative_path`, so the directory is always inside the root.
//!
//! Staging: nothing but whole, verified blobs ever sits in `blobs/<algo>/`.
//! Downloads, their `.partial` and `.partial.meta` files, temporary files and
//! hard-link temporaries live in `<repo>/.deps-staging/` ([`STAGING_DIR`]) and
//! are renamed into `blobs/` only once verified ([`RepoLayout::adopt_staged`]).
//! zot v2.1.17 turns every name under `blobs/<algo>/` into a digest during
//! garbage collection and gives up on the whole repository at the first that
//! is not one; its repository walk never mistakes `.deps-staging` for a
//! repository (a leading `.` fails the name grammar) and its dedupe walk skips
//! it (not a digest algorithm). We do not use zot's own `.uploads`: zot's GC
//! deletes stale uploads there, and we keep partials to resume them.
//!
//! Invariants kept here:
//! - a blob file only ever holds bytes whose digest is its name: bytes are
//!   hashed before they are written, and every write is a rename into place,
//!   so a blob is never changed in place (hard-linked copies stay intact);
//! - `index.json` only names blobs already in the layout (see [`crate::RepoLayout::tag_manifest`]), and
//!   is replaced atomically, so an interrupted run leaves the old one or the new one;
//! - `oci-layout` exists whenever `index.json` does;
//! - no file is written through a symbolic link (every write renames a new
//!   file over the name) and none is read unless it is a regular file, so a
//!   FIFO planted at `index.json` is an error naming it, never a hang.
//!
//! Concurrency: the manager runs at most one writer per repository at a time
//! (images of one repository are pulled one after another, BEHAVIOR §5), so
//! the read-modify-write of `index.json` needs no lock of its own. Readers
//! (`is_cached`, zot, skopeo) may run at any time: they see whole files only.

use std::path::{Path, PathBuf};

use deps_manifest::{Digest, pathsafe};
use deps_store::digest_bytes;

use crate::index::ImageIndex;
use crate::media::OCI_LAYOUT_VERSION;
use crate::{Error, Result};

/// The `oci-layout` file's name.
const LAYOUT_FILE: &str = "oci-layout";
/// The `index.json` file's name.
const INDEX_FILE: &str = "index.json";
/// The per-repository directory for downloads in progress and temporary files, outside `blobs/`.
pub const STAGING_DIR: &str = ".deps-staging";

/// One repository's OCI image layout: `<root>/<repo>/{oci-layout,index.json,blobs/...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoLayout {
    dir: PathBuf,
    repo: String,
}

impl RepoLayout {
    /// The layout of `repo` (e.g. `docker.io/library/caddy`) under `root`; nothing is created yet.
    pub fn open(root: &Path, repo: &str) -> Result<Self> {
        let repo = pathsafe::relative_path("repository", repo)?;
        Ok(Self { dir: root.join(repo), repo: repo.to_owned() })
    }

    /// The layout directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The repository name.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// Where the blob with this digest lives: `blobs/<algo>/<hex>`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs").join(digest.algo().name()).join(digest.hex())
    }

    /// The repository's staging directory, `<repo>/.deps-staging`: partial and temporary files, never read by zot.
    pub fn staging_dir(&self) -> PathBuf {
        self.dir.join(STAGING_DIR)
    }

    /// Where a blob is downloaded before it is verified: `<repo>/.deps-staging/<algo>-<hex>`.
    ///
    /// Pass it as the download destination (its `.partial` and `.partial.meta`
    /// land beside it, in staging too), then call [`Self::adopt_staged`].
    pub fn staging_path(&self, digest: &Digest) -> PathBuf {
        self.staging_dir().join(format!("{}-{}", digest.algo().name(), digest.hex()))
    }

    /// Moves the verified file at [`Self::staging_path`] into `blobs/<algo>/<hex>`; returns the blob's path.
    ///
    /// The file must be the committed result of a digest-verified write (a
    /// `VerifiedWriter` only renames onto its destination once the digest
    /// matched), so it is not hashed again. A missing staged file is
    /// [`Error::MissingBlob`] naming the staging path.
    pub fn adopt_staged(&self, digest: &Digest) -> Result<PathBuf> {
        let dest = self.adopt_staged_unsynced(digest)?;
        deps_store::sync_dir(dest.parent().unwrap_or(&self.dir))?;
        Ok(dest)
    }

    /// [`Self::adopt_staged`] without making the rename durable yet: for many
    /// blobs in a row, followed by one [`Self::sync_blobs`] before `index.json` names them.
    pub fn adopt_staged_unsynced(&self, digest: &Digest) -> Result<PathBuf> {
        let staged = self.staging_path(digest);
        match std::fs::symlink_metadata(&staged) {
            Ok(meta) if meta.is_file() => {}
            _ => return Err(Error::MissingBlob { digest: digest.clone(), path: staged }),
        }
        let dest = self.blob_path(digest);
        let dir = dest.parent().unwrap_or(&self.dir).to_owned();
        deps_store::create_dir_all(&dir)?;
        std::fs::rename(&staged, &dest).map_err(|source| Error::IoAt {
            action: "rename into place",
            path: dest.clone(),
            source,
        })?;
        Ok(dest)
    }

    /// Makes every rename into `blobs/<algo>/` durable (one directory sync per algorithm present).
    pub fn sync_blobs(&self) -> Result<()> {
        for algo in ["sha256", "sha512"] {
            let dir = self.dir.join("blobs").join(algo);
            if dir.is_dir() {
                deps_store::sync_dir(&dir)?;
            }
        }
        Ok(())
    }

    /// The layout's `index.json`.
    pub fn index_path(&self) -> PathBuf {
        self.dir.join(INDEX_FILE)
    }

    /// The layout's `oci-layout` file.
    pub fn layout_file_path(&self) -> PathBuf {
        self.dir.join(LAYOUT_FILE)
    }

    /// Whether the blob is there as a regular file (of exactly `size` bytes when given); never hashes.
    pub fn has_blob(&self, digest: &Digest, size: Option<u64>) -> bool {
        match std::fs::metadata(self.blob_path(digest)) {
            Ok(meta) => meta.is_file() && size.is_none_or(|size| meta.len() == size),
            Err(_) => false,
        }
    }

    /// Stores `bytes` as the blob `digest`, after checking they hash to it; a no-op when already there.
    pub fn put_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        let path = self.blob_path(digest);
        let actual = digest_bytes(digest.algo(), bytes);
        if actual != *digest {
            return Err(Error::DigestMismatch { path, expected: digest.clone(), actual });
        }
        if self.has_blob(digest, Some(bytes.len() as u64)) && fs_err::read(&path)? == bytes {
            return Ok(());
        }
        // Written whole in staging, then renamed in: `blobs/` never holds a temporary file.
        deps_store::atomic_write(&self.staging_path(digest), bytes)?;
        self.adopt_staged(digest)?;
        Ok(())
    }

    /// Reads a blob whole (for manifests and configs, which are small).
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        Ok(fs_err::read(self.blob_path(digest))?)
    }

    /// Writes `oci-layout` (`{"imageLayoutVersion":"1.0.0"}`) unless it already says so.
    pub fn ensure_layout_file(&self) -> Result<()> {
        let path = self.layout_file_path();
        let want = format!(r#"{{"imageLayoutVersion":"{OCI_LAYOUT_VERSION}"}}"#);
        // Read as the store reads its own files: never from a FIFO or device.
        if deps_store::read_cached_manifest(&path)?.is_some_and(|bytes| is_layout_file(&bytes)) {
            return Ok(());
        }
        deps_store::atomic_write(&path, want.as_bytes())?;
        Ok(())
    }

    /// Reads `index.json`; an empty index when there is none, an error naming the file when it is corrupt.
    pub fn read_index(&self) -> Result<ImageIndex> {
        let path = self.index_path();
        let Some(bytes) = deps_store::read_cached_manifest(&path)? else {
            return Ok(ImageIndex::default());
        };
        serde_json::from_slice(&bytes).map_err(|source| Error::CorruptLayoutFile { path, source })
    }

    /// Replaces `index.json` atomically (and writes `oci-layout` first when missing).
    pub fn write_index(&self, index: &ImageIndex) -> Result<()> {
        self.ensure_layout_file()?;
        deps_store::atomic_write(&self.index_path(), &index.to_json())?;
        Ok(())
    }
}

/// Whether `bytes` are an `oci-layout` file naming our layout version.
fn is_layout_file(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct LayoutFile {
        #[serde(rename = "imageLayoutVersion")]
        version: String,
    }
    serde_json::from_slice::<LayoutFile>(bytes).is_ok_and(|f| f.version == OCI_LAYOUT_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Descriptor, media, sha256};
    use proptest::prelude::*;

    #[test]
    fn paths() {
        let layout = RepoLayout::open(Path::new("/cache/images"), "docker.io/library/caddy").unwrap();
        assert_eq!(layout.dir(), Path::new("/cache/images/docker.io/library/caddy"));
        assert_eq!(layout.repo(), "docker.io/library/caddy");
        let d = sha256(b"x");
        assert_eq!(
            layout.blob_path(&d),
            Path::new("/cache/images/docker.io/library/caddy/blobs/sha256").join(d.hex())
        );
        assert!(layout.index_path().ends_with("caddy/index.json"));
        assert!(layout.layout_file_path().ends_with("caddy/oci-layout"));
    }

    #[test]
    fn open_rejects_escapes() {
        for bad in ["", "/etc", "../x", "a/../../b", "a//b", "a\\b", "."] {
            let err = RepoLayout::open(Path::new("/root"), bad).unwrap_err();
            assert!(matches!(err, Error::Manifest(_)), "{bad:?}: {err}");
        }
    }

    #[test]
    fn put_blob_verifies_and_has_blob_checks_size() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = RepoLayout::open(tmp.path(), "r").unwrap();
        let d = sha256(b"hello");
        assert!(!layout.has_blob(&d, None));
        let err = layout.put_blob(&d, b"hellO").unwrap_err();
        assert!(matches!(&err, Error::DigestMismatch { path, .. } if *path == layout.blob_path(&d)), "{err}");
        assert!(!layout.blob_path(&d).exists());
        layout.put_blob(&d, b"hello").unwrap();
        layout.put_blob(&d, b"hello").unwrap();
        assert!(layout.has_blob(&d, None) && layout.has_blob(&d, Some(5)));
        assert!(!layout.has_blob(&d, Some(6)));
        assert_eq!(layout.read_blob(&d).unwrap(), b"hello");
        // A blob of the right size but wrong bytes is rewritten.
        std::fs::write(layout.blob_path(&d), b"HELLO").unwrap();
        layout.put_blob(&d, b"hello").unwrap();
        assert_eq!(layout.read_blob(&d).unwrap(), b"hello");
    }

    #[test]
    fn staged_blobs_are_adopted_into_blobs_and_nothing_else_is_left_there() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = RepoLayout::open(tmp.path(), "r").unwrap();
        let d = sha256(b"layer");
        assert_eq!(
            layout.staging_path(&d),
            tmp.path().join("r/.deps-staging").join(format!("sha256-{}", d.hex()))
        );
        let err = layout.adopt_staged(&d).unwrap_err();
        assert!(matches!(&err, Error::MissingBlob { path, .. } if *path == layout.staging_path(&d)), "{err}");
        // A download into staging, verified by the store's writer, then adopted.
        let mut writer =
            deps_store::VerifiedWriter::create(&layout.staging_path(&d), d.clone(), Some(5)).unwrap();
        writer.write_all(b"layer").unwrap();
        writer.commit().unwrap();
        assert_eq!(layout.adopt_staged(&d).unwrap(), layout.blob_path(&d));
        assert_eq!(layout.read_blob(&d).unwrap(), b"layer");
        layout.put_blob(&sha256(b"config"), b"config").unwrap();
        let mut names: Vec<_> = std::fs::read_dir(layout.blob_path(&d).parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut want = vec![d.hex().to_owned(), sha256(b"config").hex().to_owned()];
        want.sort();
        assert_eq!(names, want, "only digests in blobs/sha256");
        assert_eq!(std::fs::read_dir(layout.staging_dir()).unwrap().count(), 0, "staging emptied");
    }

    #[test]
    fn index_absent_written_and_corrupt() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = RepoLayout::open(tmp.path(), "a/b").unwrap();
        assert_eq!(layout.read_index().unwrap(), ImageIndex::default());
        assert!(!layout.dir().exists(), "reading creates nothing");
        let d = Descriptor::new(media::OCI_IMAGE_MANIFEST, sha256(b"m"), 1).with_ref_name("v1");
        let index = ImageIndex::new(vec![d]);
        layout.write_index(&index).unwrap();
        assert_eq!(layout.read_index().unwrap(), index);
        assert_eq!(
            std::fs::read_to_string(layout.layout_file_path()).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
        std::fs::write(layout.index_path(), b"{not json").unwrap();
        let err = layout.read_index().unwrap_err();
        assert!(
            matches!(&err, Error::CorruptLayoutFile { path, .. } if *path == layout.index_path()),
            "{err}"
        );
        assert!(err.to_string().contains("index.json"), "{err}");
    }

    #[test]
    fn ensure_layout_file_rewrites_a_wrong_one_only() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = RepoLayout::open(tmp.path(), "r").unwrap();
        layout.ensure_layout_file().unwrap();
        std::fs::write(layout.layout_file_path(), br#"{ "imageLayoutVersion": "1.0.0" }"#).unwrap();
        layout.ensure_layout_file().unwrap();
        assert_eq!(
            std::fs::read(layout.layout_file_path()).unwrap(),
            br#"{ "imageLayoutVersion": "1.0.0" }"#
        );
        std::fs::write(layout.layout_file_path(), b"junk").unwrap();
        layout.ensure_layout_file().unwrap();
        assert_eq!(std::fs::read(layout.layout_file_path()).unwrap(), br#"{"imageLayoutVersion":"1.0.0"}"#);
    }

    proptest! {
        #[test]
        fn open_never_yields_a_dir_outside_root(repo in "[a./\\\\\\x00-]{0,12}|\\PC{0,20}|([a-z.]{0,3}/){0,4}[a-z.]{0,3}") {
            let root = Path::new("/cache/root");
            if let Ok(layout) = RepoLayout::open(root, &repo) {
                prop_assert!(layout.dir().starts_with(root));
                prop_assert!(layout.dir() != root);
                prop_assert!(layout.dir().components().all(|c| !matches!(c, std::path::Component::ParentDir | std::path::Component::CurDir)));
                let blob = layout.blob_path(&sha256(repo.as_bytes()));
                prop_assert!(blob.starts_with(layout.dir()));
            }
        }
    }
}
