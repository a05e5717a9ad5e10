//! Whole-file writes that are either complete or absent.
//!
//! Bytes go to a temporary file in the destination's own directory (so the
//! rename never crosses a file system), are fsynced, renamed over the
//! destination, and then the directory is fsynced so the rename itself
//! survives a crash. A failure at any step leaves the old destination (if
//! any) untouched and removes the temporary file.

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::path::Path;

use tempfile::NamedTempFile;

use crate::Result;
use crate::fsio::{self, io_err};

/// Writes `bytes` to `path` atomically, creating parent directories.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = fsio::create_parent(path)?;
    let mut tmp = temp_beside(path, dir)?;
    tmp.write_all(bytes).map_err(io_err("write", tmp.path()))?;
    finish(tmp, path, dir)
}

/// Copies `src` to `dest` atomically, creating parent directories; returns the bytes copied.
pub fn atomic_copy(src: &Path, dest: &Path) -> Result<u64> {
    let mut from = fsio::open(src)?;
    let dir = fsio::create_parent(dest)?;
    let mut tmp = temp_beside(dest, dir)?;
    let copied = io::copy(&mut from, tmp.as_file_mut()).map_err(io_err("copy from", src))?;
    finish(tmp, dest, dir)?;
    Ok(copied)
}

/// The temporary files' suffix.
const TEMP_SUFFIX: &str = ".tmp";
/// Random characters in a temporary file's name.
const TEMP_RANDOM: usize = 6;

/// A hidden temporary file in `dir` whose name says which file it will become:
/// `.<name>.<6 random letters or digits>.tmp`.
///
/// Created with `O_EXCL`, so a link planted at the name makes it fail rather
/// than be followed, and with [`FILE_MODE`](crate::FILE_MODE) minus the umask
/// (not tempfile's 0600), so the mode is right before the rename.
fn temp_beside(path: &Path, dir: &Path) -> Result<NamedTempFile> {
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(crate::FILE_MODE));
    }
    builder
        .prefix(&prefix)
        .rand_bytes(TEMP_RANDOM)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(io_err("create a temporary file in", dir))
}

/// Whether `name` is one [`temp_beside`] makes: `.<name>.<random>.tmp`.
pub(crate) fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_suffix(TEMP_SUFFIX)) else {
        return false;
    };
    let Some((target, random)) = rest.rsplit_once('.') else { return false };
    !target.is_empty() && random.len() == TEMP_RANDOM && random.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Fsyncs `tmp`, renames it onto `path` and fsyncs `dir`.
fn finish(tmp: NamedTempFile, path: &Path, dir: &Path) -> Result<()> {
    tmp.as_file().sync_all().map_err(io_err("sync", tmp.path()))?;
    tmp.persist(path).map_err(|err| io_err("rename into place", path)(err.error))?;
    fsio::sync_dir(dir)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Error;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    #[test]
    fn write_creates_parents_replaces_and_leaves_no_temp() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/file.json");
        atomic_write(&path, b"one").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(names(&tmp.path().join("a/b")), ["file.json"]);
    }

    #[test]
    fn write_into_a_directory_fails_naming_the_path_and_leaves_no_temp() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("taken");
        std::fs::create_dir_all(path.join("child")).unwrap();
        let err = atomic_write(&path, b"x").unwrap_err();
        assert!(matches!(&err, Error::Io { path: p, .. } if *p == path), "{err:?}");
        assert!(err.to_string().contains("taken"), "{err}");
        assert_eq!(names(tmp.path()), ["taken"]);
    }

    #[test]
    fn the_temporary_files_we_make_match_the_sweep_pattern() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["runc", ".fingerprints.json", "runc.tar.gz.partial.meta"] {
            let kept =
                temp_beside(&tmp.path().join(name), tmp.path()).unwrap().into_temp_path().keep().unwrap();
            let kept_name = kept.file_name().unwrap().to_str().unwrap();
            assert!(is_temp_name(kept_name), "{kept_name}");
        }
        for name in ["runc".to_owned(), "..abcdef.tmp".into(), ".runc.tmp".into(), ".runc.abcdef.tmp~".into()]
        {
            assert!(!is_temp_name(&name), "{name}");
        }
    }

    /// The process umask, read without changing it: the bits a 0777 directory loses.
    #[cfg(unix)]
    pub(crate) fn umask() -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let probe = tmp.path().join("probe");
        std::fs::create_dir(&probe).unwrap();
        !std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_0644_and_new_directories_0755_minus_the_umask() {
        let tmp = tempfile::tempdir().unwrap();
        let mask = umask();
        let path = tmp.path().join("a/b/index.json");
        atomic_write(&path, b"{}").unwrap();
        assert_eq!(mode(&path), 0o644 & !mask);
        assert_eq!(mode(&tmp.path().join("a")), 0o755 & !mask);
        assert_eq!(mode(&tmp.path().join("a/b")), 0o755 & !mask);
        let copy = tmp.path().join("c/copy");
        atomic_copy(&path, &copy).unwrap();
        assert_eq!(mode(&copy), 0o644 & !mask);
        assert_eq!(mode(&tmp.path().join("c")), 0o755 & !mask);
    }

    #[test]
    fn copy_copies_and_leaves_no_temp() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src.netsy");
        std::fs::write(&src, b"snapshot bytes").unwrap();
        let dest = tmp.path().join("out/etcd/1/etcd.netsy");
        assert_eq!(atomic_copy(&src, &dest).unwrap(), 14);
        assert_eq!(std::fs::read(&dest).unwrap(), b"snapshot bytes");
        assert_eq!(names(&tmp.path().join("out/etcd/1")), ["etcd.netsy"]);
    }

    #[test]
    fn copy_of_a_missing_source_names_it_and_creates_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("missing.netsy");
        let dest = tmp.path().join("out/x.netsy");
        let err = atomic_copy(&src, &dest).unwrap_err();
        assert!(err.to_string().contains("missing.netsy"), "{err}");
        assert!(!dest.exists());
    }
}
