//! Thin wrappers over `std::fs` that turn every I/O error into [`Error::Io`]
//! naming the action and the path, plus the directory fsync that makes a
//! rename durable. [`remove_if_exists`] and [`sync_dir`] are public: the OCI
//! layout writer places blobs with them too.
//!
//! Opening is guarded against a tampered cache. A file we write in place (a
//! partial, the lock) is opened without following a symbolic link at its
//! name (`O_NOFOLLOW`): a link planted there is removed and a fresh file
//! created, so we never write through it to a file outside the cache. Every
//! file we open must turn out to be a regular file: a FIFO, socket, device or
//! directory is an error naming the path. Opens also carry `O_NONBLOCK`, so
//! even a FIFO swapped in after the type check cannot make us hang; regular
//! files ignore that flag. Elsewhere than Unix, the link check before opening
//! is the whole guard.
//!
//! Modes: every file the cache creates is 0644 and every directory 0755,
//! minus the process umask ([`FILE_MODE`], [`DIR_MODE`]), so a zot or a web
//! server running as another user can read the store as it is.
//!
//! Nothing here decides policy (what to create, when to sync); the callers do.

use std::fs::{self, File, FileType, OpenOptions};
use std::io;
use std::path::Path;

use crate::{Error, Result};

/// Returns a closure building [`Error::Io`] for `action` on `path`.
pub(crate) fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io { action, path: path.to_owned(), source }
}

/// The mode every file of the cache is created with (the umask still applies): `rw-r--r--`.
pub const FILE_MODE: u32 = 0o644;
/// The mode every directory of the cache is created with (the umask still applies): `rwxr-xr-x`.
pub const DIR_MODE: u32 = 0o755;

/// Creates `dir` and its parents, each new one with [`DIR_MODE`] minus the umask.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(DIR_MODE);
    }
    builder.create(dir).map_err(io_err("create directory", dir))
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

/// Opens the regular file at `path` (a symbolic link to one is followed) for reading.
pub(crate) fn open(path: &Path) -> Result<File> {
    open_if_exists(path)?.ok_or_else(|| io_err("open", path)(io::ErrorKind::NotFound.into()))
}

/// Opens the regular file at `path` (a symbolic link to one is followed) for
/// reading; `None` when it does not exist, an error when it is not a regular file.
pub(crate) fn open_if_exists(path: &Path) -> Result<Option<File>> {
    // Checked before opening: opening a device can itself have effects.
    match fs::metadata(path) {
        Ok(meta) => ensure_regular(path, meta.file_type())?,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_err("open", path)(err)),
    }
    let mut options = OpenOptions::new();
    options.read(true);
    never_block(&mut options);
    match options.open(path) {
        Ok(file) => checked(file, path).map(Some),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_err("open", path)(err)),
    }
}

/// Opens (creating if needed) `path` for reading and writing, without
/// truncating, never through a symbolic link: a link at `path` is replaced by
/// a fresh empty file. Anything else that is not a regular file is an error.
pub(crate) fn open_rw(path: &Path) -> Result<File> {
    replace_link(path)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    no_follow(&mut options);
    file_mode(&mut options);
    let file = options.open(path).map_err(io_err("open", path))?;
    checked(file, path)
}

/// Opens the existing regular file at `path` for appending (to touch it),
/// never through a symbolic link.
pub(crate) fn open_append_no_follow(path: &Path) -> Result<File> {
    if fs::symlink_metadata(path).map_err(io_err("open", path))?.is_symlink() {
        return Err(io_err("open", path)(io::Error::new(
            io::ErrorKind::InvalidInput,
            "expected a regular file, found a symbolic link",
        )));
    }
    let mut options = OpenOptions::new();
    options.append(true);
    no_follow(&mut options);
    let file = options.open(path).map_err(io_err("open", path))?;
    checked(file, path)
}

/// What sits at `path` itself (a link is not followed); `None` when nothing does.
pub(crate) fn entry_type(path: &Path) -> Result<Option<FileType>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta.file_type())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_err("read metadata of", path)(err)),
    }
}

/// Removes a symbolic link at `path` (never what it points to); anything
/// else there must be a regular file. Returns whether a link was removed.
pub(crate) fn replace_link(path: &Path) -> Result<bool> {
    match entry_type(path)? {
        Some(kind) if kind.is_symlink() => {
            tracing::warn!(path = %path.display(), "replacing a symbolic link in the cache with a regular file");
            remove_if_exists(path)?;
            Ok(true)
        }
        Some(kind) => ensure_regular(path, kind).map(|()| false),
        None => Ok(false),
    }
}

/// An error naming `path` unless `kind` is a regular file.
pub(crate) fn ensure_regular(path: &Path, kind: FileType) -> Result<()> {
    if kind.is_file() {
        return Ok(());
    }
    let found = describe(kind);
    Err(io_err("open", path)(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("expected a regular file, found {found}"),
    )))
}

/// `file` (opened from `path`) when it is a regular file; an error naming `path` otherwise.
fn checked(file: File, path: &Path) -> Result<File> {
    let meta = file.metadata().map_err(io_err("read metadata of", path))?;
    ensure_regular(path, meta.file_type())?;
    Ok(file)
}

/// What a non-regular file is, in words.
fn describe(kind: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "something that is not a regular file"
    }
}

/// Adds `O_NONBLOCK`: opening or reading a FIFO fails instead of waiting for a writer.
#[cfg(unix)]
fn never_block(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt as _;
    options.custom_flags(flag_bits(rustix::fs::OFlags::NONBLOCK));
}

/// Only Unix has FIFOs that block an open.
#[cfg(not(unix))]
fn never_block(_options: &mut OpenOptions) {}

/// Adds `O_NOFOLLOW` and `O_NONBLOCK`: a symbolic link at the name is an error, a FIFO never blocks.
#[cfg(unix)]
fn no_follow(options: &mut OpenOptions) {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt as _;
    options.custom_flags(flag_bits(OFlags::NOFOLLOW | OFlags::NONBLOCK));
}

/// New files get [`FILE_MODE`] minus the umask.
#[cfg(unix)]
pub(crate) fn file_mode(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt as _;
    options.mode(FILE_MODE);
}

/// Modes are a Unix notion.
#[cfg(not(unix))]
pub(crate) fn file_mode(_options: &mut OpenOptions) {}

/// Elsewhere the check before opening ([`replace_link`]) is the guard.
#[cfg(not(unix))]
fn no_follow(_options: &mut OpenOptions) {}

/// Open flags as `custom_flags` takes them.
#[cfg(unix)]
fn flag_bits(flags: rustix::fs::OFlags) -> i32 {
    // Open flags are small positive constants on every Unix.
    i32::try_from(flags.bits()).unwrap_or(0)
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
