//! Thin wrappers over `std::fs` that turn every I/O error into [`Error::Io`]
//! naming the action and the path, plus the directory fsync that makes a
//! rename durable. [`remove_if_exists`] and [`sync_dir`] are public: the OCI
//! layout writer places blobs with them too.
//!
//! Nothing here decides policy (what to create, when to sync); the callers do.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use crate::{Error, Result};

/// Returns a closure building [`Error::Io`] for `action` on `path`.
pub(crate) fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io { action, path: path.to_owned(), source }
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))
}

/// Creates the parent directory of `path` (if it has one) and returns it.
pub(crate) fn create_parent(path: &Path) -> Result<&Path> {
    let parent = parent_dir(path);
    create_dir_all(parent)?;
    Ok(parent)
}

/// The directory holding `path`; `.` for a bare file name.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Opens `path` for reading.
pub(crate) fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(io_err("open", path))
}

/// Opens `path` for reading; `None` when it does not exist.
pub(crate) fn open_if_exists(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_err("open", path)(err)),
    }
}

/// Opens (creating if needed) `path` for reading and writing, without truncating.
pub(crate) fn open_rw(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err("open", path))
}

/// Removes the file at `path`; absent is fine.
pub fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(io_err("remove", path)(err)),
    }
}

/// Flushes a directory's entries to disk so a rename or create in it survives a crash.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("sync directory", dir))
}

/// Directory fsync is a Unix notion; elsewhere the rename is what we have.
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}
