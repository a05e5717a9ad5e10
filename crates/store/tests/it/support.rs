//! Helpers: files outside the cache, FIFOs, and running an operation that might block on one.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use deps_manifest::{Digest, DigestAlgo};

/// The bytes a test downloads.
pub const BODY: &[u8] = b"the quick brown fox jumps over the lazy dog";
/// What the file outside the cache holds.
pub const SECRET: &[u8] = b"precious bytes outside the cache\n";

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest {
    deps_store::digest_bytes(DigestAlgo::Sha256, bytes)
}

/// A cache root and, beside it (outside it), a file the test must never see changed.
pub struct Scene {
    _tmp: tempfile::TempDir,
    /// The cache root.
    pub root: PathBuf,
    /// The file outside the cache.
    pub outside: PathBuf,
}

impl Scene {
    /// An empty cache root and the outside file holding [`SECRET`].
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("cache");
        std::fs::create_dir_all(&root).unwrap();
        let outside = tmp.path().join("outside.txt");
        std::fs::write(&outside, SECRET).unwrap();
        Scene { _tmp: tmp, root, outside }
    }

    /// Plants a symbolic link at `at` pointing to the outside file.
    pub fn plant_link(&self, at: &Path) {
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&self.outside, at).unwrap();
    }

    /// Asserts the outside file still holds exactly [`SECRET`].
    pub fn assert_outside_untouched(&self) {
        assert_eq!(std::fs::read(&self.outside).unwrap(), SECRET, "the file outside the cache was written");
    }
}

/// Asserts `path` is a regular file itself, not a link.
pub fn assert_regular(path: &Path) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(meta.file_type().is_file(), "{} is not a regular file: {:?}", path.display(), meta.file_type());
}

/// Makes a FIFO at `path` with the `mkfifo` command.
pub fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Runs `op` on a thread and returns its result, failing the test instead if
/// `op` opens the FIFO at `fifo` for reading (where it would block forever).
pub fn without_blocking_on<T: Send + 'static>(fifo: &Path, op: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(op());
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(value) => return value,
            Err(RecvTimeoutError::Disconnected) => panic!("the operation panicked"),
            Err(RecvTimeoutError::Timeout) => {
                // Opening a FIFO to write without blocking succeeds only when someone holds it to read.
                let nonblock = i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap();
                if let Ok(writer) = OpenOptions::new().write(true).custom_flags(nonblock).open(fifo) {
                    drop(writer);
                    panic!("{} was opened for reading: the operation blocks on it", fifo.display());
                }
            }
        }
    }
}

/// Asserts `err` names `path` and says it found a `what` (e.g. "a FIFO").
pub fn assert_names(err: &deps_store::Error, path: &Path, what: &str) {
    match err {
        deps_store::Error::Io { path: p, .. } => assert_eq!(p, path, "{err}"),
        other => panic!("expected an I/O error naming {}, got {other:?}", path.display()),
    }
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()) && msg.contains(what), "{msg}");
}
