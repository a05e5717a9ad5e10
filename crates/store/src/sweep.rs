//! Removing the temporary files a killed run left behind.
//!
//! Every whole-file write ([`crate::atomic_write`]) goes through a hidden
//! temporary file `.<name>.<random>.tmp` beside its destination; a `kill -9`
//! between creating and renaming it leaves it there for good. The sweep walks
//! a cache root (without following symbolic links) and removes files with
//! exactly that name shape, and nothing else: partials are kept for resuming,
//! and files of other shapes are not ours to judge.
//!
//! Call it while holding the cache lock and before this process starts
//! writing: a temporary file of a write in progress looks the same.

use std::io;
use std::path::{Path, PathBuf};

use crate::Result;
use crate::atomic::is_temp_name;
use crate::fsio::{io_err, remove_if_exists};

/// Removes the store's stray temporary files under `root`; returns the paths removed.
///
/// A missing `root` has none. Only call it while holding the cache lock, before writing.
pub fn sweep_stray_temp_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // Gone since its parent was listed, or never there.
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(io_err("list", &dir)(err)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err("list", &dir))?;
            // The entry's own type: a link to a directory is not descended into.
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                dirs.push(path);
            } else if (kind.is_file() || kind.is_symlink())
                && entry.file_name().to_str().is_some_and(is_temp_name)
            {
                remove_if_exists(&path)?;
                tracing::debug!(path = %path.display(), "removed a stray temporary file");
                removed.push(path);
            }
        }
    }
    removed.sort();
    Ok(removed)
}
