//! Fingerprints: what each cached file looked like when its digest was last
//! verified, so a later run can trust it without reading it again.
//!
//! A fingerprint is the file's size, modification time (nanoseconds), device
//! and inode, and the digest its bytes had. A file whose metadata still
//! matches is trusted to still have that digest, the way git's index and
//! cargo's fingerprints trust mtimes; anything else (a rewrite, a touch, a
//! copy over it, a missing entry) sends the caller back to hashing.
//!
//! They live in `<root>/.fingerprints.json`, keyed by path relative to the
//! cache root, or to a named area outside it (`<area>:<relative path>`, e.g.
//! the registry cache beside the deps root). The file is only a shortcut: when it is missing, corrupt or
//! from another version it is ignored (every file is re-hashed); when it is
//! not a regular file (a FIFO, a device) it is ignored with a warning naming
//! it, never read. It is written atomically, by the process holding the cache
//! lock; the rename replaces whatever was at its name, a link included.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::UNIX_EPOCH;

use deps_manifest::Digest;
use serde::{Deserialize, Serialize};

use crate::atomic::atomic_write;
use crate::fsio::io_err;
use crate::{Result, hash_file};

/// The fingerprint file's name under the cache root.
const FINGERPRINT_FILE: &str = ".fingerprints.json";
/// The on-disk format version; another version is ignored.
const VERSION: u32 = 1;

/// What a file looked like when its digest was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Fingerprint {
    size: u64,
    mtime_ns: u64,
    dev: u64,
    ino: u64,
    digest: String,
}

impl Fingerprint {
    /// The fingerprint of a file with `meta` whose bytes have `digest`.
    fn of(meta: &Metadata, digest: &Digest) -> Self {
        let (dev, ino) = dev_ino(meta);
        Fingerprint { size: meta.len(), mtime_ns: mtime_ns(meta), dev, ino, digest: digest.to_string() }
    }
}

/// The file on disk.
#[derive(Debug, Deserialize)]
struct Stored {
    version: u32,
    files: BTreeMap<String, Fingerprint>,
}

/// The file on disk, borrowed for writing.
#[derive(Debug, Serialize)]
struct StoredRef<'a> {
    version: u32,
    files: &'a BTreeMap<String, Fingerprint>,
}

/// The fingerprints of one cache, shared by the tasks of a run.
#[derive(Debug)]
pub struct Fingerprints {
    root: PathBuf,
    /// Directories outside the root whose files are fingerprinted too, by name.
    areas: Vec<(String, PathBuf)>,
    state: Mutex<State>,
}

/// The entries and whether they changed since loading.
#[derive(Debug, Default)]
struct State {
    files: BTreeMap<String, Fingerprint>,
    dirty: bool,
}

impl Fingerprints {
    /// The fingerprints recorded under `root`; empty when there are none or they are unreadable.
    pub fn load(root: &Path) -> Self {
        let path = root.join(FINGERPRINT_FILE);
        let files = match crate::read_cached_manifest(&path) {
            Ok(Some(bytes)) => match serde_json::from_slice::<Stored>(&bytes) {
                Ok(stored) if stored.version == VERSION => stored.files,
                Ok(stored) => {
                    tracing::debug!(version = stored.version, "ignoring fingerprints of another version");
                    BTreeMap::new()
                }
                Err(err) => {
                    tracing::debug!(path = %path.display(), %err, "ignoring corrupt fingerprints");
                    BTreeMap::new()
                }
            },
            Ok(None) => BTreeMap::new(),
            Err(err) => {
                // Never a hang: a FIFO or device there is reported and replaced by the next save.
                tracing::warn!(%err, "ignoring unreadable fingerprints");
                BTreeMap::new()
            }
        };
        Fingerprints {
            root: root.to_owned(),
            areas: Vec::new(),
            state: Mutex::new(State { files, dirty: false }),
        }
    }

    /// The same fingerprints, also covering the files under `dir` (outside the root), keyed as `<name>:<path>`.
    #[must_use]
    pub fn with_area(mut self, name: &str, dir: &Path) -> Self {
        self.areas.push((name.to_owned(), dir.to_owned()));
        self
    }

    /// No fingerprints: every check hashes.
    pub fn empty(root: &Path) -> Self {
        Fingerprints { root: root.to_owned(), areas: Vec::new(), state: Mutex::new(State::default()) }
    }

    /// How many files have a fingerprint.
    pub fn len(&self) -> usize {
        self.state().files.len()
    }

    /// Whether no file has a fingerprint.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `path` is a regular file whose fingerprint says it has `digest`, without reading it.
    pub fn trusted(&self, path: &Path, digest: &Digest) -> bool {
        let Some(key) = self.key(path) else { return false };
        let Ok(meta) = std::fs::metadata(path) else { return false };
        meta.is_file() && self.state().files.get(&key) == Some(&Fingerprint::of(&meta, digest))
    }

    /// Whether `path` exists with `digest`: trusted by fingerprint, else hashed
    /// (and fingerprinted when it matches); `false` when absent or different.
    pub fn check(&self, path: &Path, digest: &Digest) -> Result<bool> {
        if self.trusted(path, digest) {
            return Ok(true);
        }
        if !path.is_file() {
            return Ok(false);
        }
        match self.rehash(path, digest) {
            Ok(actual) => Ok(actual == *digest),
            // Removed since the line above looked.
            Err(crate::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    /// Hashes `path` with `digest`'s algorithm whatever its fingerprint says;
    /// fingerprints it when it has `digest`, forgets it otherwise; returns the actual digest.
    ///
    /// The metadata is read before the bytes, so a change while hashing leaves
    /// a fingerprint that no longer matches the file: never a wrong one.
    pub fn rehash(&self, path: &Path, digest: &Digest) -> Result<Digest> {
        let meta = std::fs::metadata(path).map_err(io_err("read metadata of", path))?;
        if !meta.is_file() {
            return Err(io_err("hash", path)(std::io::Error::other("not a regular file")));
        }
        let actual = hash_file(path, digest.algo())?;
        if actual == *digest {
            self.insert(path, Fingerprint::of(&meta, digest));
        } else {
            self.forget(path);
        }
        Ok(actual)
    }

    /// Records that `path`, as it is now, has `digest` (the caller has just verified it).
    pub fn record(&self, path: &Path, digest: &Digest) -> Result<()> {
        let meta = std::fs::metadata(path).map_err(io_err("read metadata of", path))?;
        self.insert(path, Fingerprint::of(&meta, digest));
        Ok(())
    }

    /// Drops the fingerprint of `path`, if any.
    pub fn forget(&self, path: &Path) {
        if let Some(key) = self.key(path) {
            let mut state = self.state();
            if state.files.remove(&key).is_some() {
                state.dirty = true;
            }
        }
    }

    /// Writes the fingerprints back when they changed; drops entries whose file is gone.
    pub fn save(&self) -> Result<()> {
        let mut state = self.state();
        let before = state.files.len();
        state.files.retain(|key, _| self.path_of(key).is_file());
        if !state.dirty && state.files.len() == before {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&StoredRef { version: VERSION, files: &state.files })
            .map_err(|err| io_err("encode", &self.path())(err.into()))?;
        atomic_write(&self.path(), &bytes)?;
        state.dirty = false;
        Ok(())
    }

    /// The fingerprint file.
    fn path(&self) -> PathBuf {
        self.root.join(FINGERPRINT_FILE)
    }

    /// `path` relative to the root (or `<area>:` and relative to an area), as a key; `None` outside them.
    fn key(&self, path: &Path) -> Option<String> {
        if let Ok(relative) = path.strip_prefix(&self.root) {
            return relative.to_str().map(str::to_owned);
        }
        self.areas.iter().find_map(|(name, dir)| {
            let relative = path.strip_prefix(dir).ok()?.to_str()?;
            Some(format!("{name}:{relative}"))
        })
    }

    /// The file a key names.
    fn path_of(&self, key: &str) -> PathBuf {
        let area = self.areas.iter().find_map(|(name, dir)| {
            key.strip_prefix(name.as_str()).and_then(|rest| rest.strip_prefix(':')).map(|rest| dir.join(rest))
        });
        area.unwrap_or_else(|| self.root.join(key))
    }

    /// Stores a fingerprint for `path` when it lies under the root.
    fn insert(&self, path: &Path, fingerprint: Fingerprint) {
        if let Some(key) = self.key(path) {
            let mut state = self.state();
            if state.files.get(&key) != Some(&fingerprint) {
                state.files.insert(key, fingerprint);
                state.dirty = true;
            }
        }
    }

    /// The state, even if a panicking thread poisoned the lock (entries are always whole).
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Modification time in nanoseconds since the epoch; 0 when unknown.
fn mtime_ns(meta: &Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Device and inode numbers (zero where the platform has none).
#[cfg(unix)]
fn dev_ino(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

/// Device and inode numbers (zero where the platform has none).
#[cfg(not(unix))]
fn dev_ino(_meta: &Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deps_manifest::DigestAlgo;

    fn setup() -> (tempfile::TempDir, PathBuf, Digest) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/file");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"abc").unwrap();
        let digest = hash_file(&path, DigestAlgo::Sha256).unwrap();
        (tmp, path, digest)
    }

    #[test]
    fn files_in_an_area_outside_the_root_are_fingerprinted_and_saved() {
        let dir = tempfile::tempdir().unwrap();
        let (root, registry) = (dir.path().join("deps"), dir.path().join("registry"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(registry.join("mirror")).unwrap();
        let blob = registry.join("mirror/blob");
        std::fs::write(&blob, b"layer").unwrap();
        let digest = crate::digest_bytes(deps_manifest::DigestAlgo::Sha256, b"layer");
        let prints = Fingerprints::load(&root).with_area("registry", &registry);
        assert!(prints.check(&blob, &digest).unwrap());
        prints.save().unwrap();
        let again = Fingerprints::load(&root).with_area("registry", &registry);
        assert!(again.trusted(&blob, &digest), "trusted after a reload");
        assert!(!Fingerprints::load(&root).trusted(&blob, &digest), "unknown without the area");
        std::fs::remove_file(&blob).unwrap();
        again.save().unwrap();
        assert_eq!(
            Fingerprints::load(&root).with_area("registry", &registry).len(),
            0,
            "a gone file is dropped"
        );
    }

    #[test]
    fn check_hashes_once_then_trusts_across_loads() {
        let (tmp, path, digest) = setup();
        let fps = Fingerprints::load(tmp.path());
        assert!(!fps.trusted(&path, &digest), "nothing recorded yet");
        assert!(fps.check(&path, &digest).unwrap());
        assert!(fps.trusted(&path, &digest));
        fps.save().unwrap();
        let reloaded = Fingerprints::load(tmp.path());
        assert_eq!(reloaded.len(), 1);
        assert!(reloaded.trusted(&path, &digest));
    }

    #[test]
    fn a_rewrite_with_the_same_size_is_not_trusted() {
        let (tmp, path, digest) = setup();
        let fps = Fingerprints::empty(tmp.path());
        fps.record(&path, &digest).unwrap();
        // Same length, other bytes, and a different mtime (set explicitly: coarse clocks may not tick).
        std::fs::write(&path, b"abd").unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(7)).unwrap();
        assert!(!fps.trusted(&path, &digest));
        assert!(!fps.check(&path, &digest).unwrap(), "the re-hash finds the change");
        assert!(fps.is_empty(), "the stale fingerprint is dropped");
    }

    #[test]
    fn a_replaced_file_is_not_trusted_even_with_the_same_mtime() {
        let (tmp, path, digest) = setup();
        let fps = Fingerprints::empty(tmp.path());
        fps.record(&path, &digest).unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let other = tmp.path().join("other");
        std::fs::write(&other, b"xyz").unwrap();
        std::fs::File::options().write(true).open(&other).unwrap().set_modified(mtime).unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert!(!fps.trusted(&path, &digest), "another inode");
    }

    #[test]
    fn rehash_reads_even_a_trusted_file_and_keeps_the_fingerprint_in_step() {
        let (tmp, path, digest) = setup();
        let fps = Fingerprints::empty(tmp.path());
        assert_eq!(fps.rehash(&path, &digest).unwrap(), digest);
        assert!(fps.trusted(&path, &digest), "fingerprinted");
        // Same size and mtime, other bytes: only a re-hash can tell, and it drops the fingerprint.
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, b"abd").unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
        assert!(fps.trusted(&path, &digest), "metadata cannot show it");
        assert_ne!(fps.rehash(&path, &digest).unwrap(), digest);
        assert!(!fps.trusted(&path, &digest));
        assert!(fps.rehash(tmp.path(), &digest).is_err(), "a directory");
    }

    #[test]
    fn another_digest_is_not_trusted() {
        let (tmp, path, digest) = setup();
        let fps = Fingerprints::empty(tmp.path());
        fps.record(&path, &digest).unwrap();
        let sha512 = hash_file(&path, DigestAlgo::Sha512).unwrap();
        assert!(!fps.trusted(&path, &sha512));
        assert!(fps.check(&path, &sha512).unwrap(), "hashing still answers");
    }

    #[test]
    fn missing_files_and_paths_outside_the_root() {
        let (tmp, path, digest) = setup();
        let fps = Fingerprints::empty(&tmp.path().join("a"));
        assert!(!fps.check(&tmp.path().join("a/none"), &digest).unwrap());
        let outside = Fingerprints::empty(&tmp.path().join("elsewhere"));
        assert!(outside.check(&path, &digest).unwrap(), "hashed, not recorded");
        assert!(outside.is_empty());
        assert!(!outside.check(tmp.path(), &digest).unwrap(), "a directory is not a file");
    }

    #[test]
    fn save_drops_entries_of_deleted_files_and_skips_unchanged() {
        let (tmp, path, digest) = setup();
        let fps = Fingerprints::load(tmp.path());
        fps.record(&path, &digest).unwrap();
        fps.save().unwrap();
        let file = tmp.path().join(FINGERPRINT_FILE);
        let written = std::fs::metadata(&file).unwrap().modified().unwrap();
        Fingerprints::load(tmp.path()).save().unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), written, "not rewritten");
        std::fs::remove_file(&path).unwrap();
        let fps = Fingerprints::load(tmp.path());
        fps.save().unwrap();
        assert!(Fingerprints::load(tmp.path()).is_empty());
    }

    #[test]
    fn corrupt_or_foreign_files_are_ignored() {
        let (tmp, path, digest) = setup();
        let file = tmp.path().join(FINGERPRINT_FILE);
        std::fs::write(&file, b"{not json").unwrap();
        assert!(Fingerprints::load(tmp.path()).is_empty());
        let fps = Fingerprints::empty(tmp.path());
        fps.record(&path, &digest).unwrap();
        fps.save().unwrap();
        let text = std::fs::read_to_string(&file).unwrap().replace("\"version\":1", "\"version\":99");
        std::fs::write(&file, text).unwrap();
        assert!(Fingerprints::load(tmp.path()).is_empty());
    }
}
