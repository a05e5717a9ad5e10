//! The one-time move of an image store written by an older `deps`
//! (`<cache root>/components/images`) to where podplane's zot serves it
//! (`<registry cache>/mirror`, BEHAVIOR.md §10). Runs under the cache lock;
//! nothing is downloaded again: a whole store is renamed, or each repository
//! the new store lacks is moved (renamed, or hard-linked file by file across
//! directories that a rename cannot cross, else copied).

use std::path::{Path, PathBuf};

use crate::events::{DownloadEvent, Events};
use crate::{Error, Manager};

impl Manager {
    /// Moves an older image store into the registry cache, if there is one; blocking.
    pub(crate) fn migrate_image_store(&self, events: &Events) -> Result<(), Error> {
        let (legacy, store) = (self.layout().legacy_images_cache_dir(), self.layout().image_store_dir());
        if !legacy.is_dir() || legacy == store {
            return Ok(());
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        if let Some(parent) = store.parent() {
            fs_err::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut moved = 0;
        if !store.exists() && std::fs::rename(&legacy, &store).is_ok() {
            moved += 1;
        } else {
            for repo in repositories(&legacy)? {
                let rel = repo.strip_prefix(&legacy).unwrap_or(&repo);
                let target = store.join(rel);
                if target.exists() {
                    continue;
                }
                move_tree(&repo, &target)?;
                moved += 1;
            }
        }
        remove_empty_dirs(&legacy);
        if moved > 0 {
            events.emit(DownloadEvent::status(format!(
                "Moved the image store from {} to {}.",
                legacy.display(),
                store.display()
            )));
        }
        Ok(())
    }
}

/// Every repository (a directory holding `index.json`) under `root`.
fn repositories(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        if dir.join("index.json").is_file() {
            found.push(dir);
            continue;
        }
        let entries = fs_err::read_dir(&dir).map_err(|source| Error::Io { path: dir.clone(), source })?;
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Moves the tree at `src` to `dest` (absent): a rename, else a hard link or copy of each file.
fn move_tree(src: &Path, dest: &Path) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    if let Some(parent) = dest.parent() {
        fs_err::create_dir_all(parent).map_err(io(parent))?;
    }
    if std::fs::rename(src, dest).is_ok() {
        return Ok(());
    }
    fs_err::create_dir_all(dest).map_err(io(dest))?;
    for entry in fs_err::read_dir(src).map_err(io(src))?.flatten() {
        let (from, to) = (entry.path(), dest.join(entry.file_name()));
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            move_tree(&from, &to)?;
        } else if std::fs::hard_link(&from, &to).is_err() {
            fs_err::copy(&from, &to).map_err(io(&to))?;
        }
    }
    fs_err::remove_dir_all(src).map_err(io(src))
}

/// Removes `dir` and its parents' empty directories below it, bottom up; what is not empty stays.
fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}
