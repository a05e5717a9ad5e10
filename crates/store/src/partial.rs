//! Where an unfinished download lives and what we remember about it.
//!
//! The bytes of a download for `<dest>` accumulate in `<dest>.partial`; a
//! JSON sidecar `<dest>.partial.meta` records the URL and the server's
//! validator (ETag or Last-Modified) so a resume can send `If-Range` and
//! trust only a matching `206`. The sidecar describes the bytes in the
//! partial: whenever those bytes are discarded or committed, it goes too.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsio;
use crate::{Result, atomic_write, read_cached_json};

/// What a resume needs to know about the bytes already in a partial file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialMeta {
    /// The URL the bytes came from.
    pub url: String,
    /// The server's validator for those bytes: an ETag or a Last-Modified value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
}

/// The partial file for `dest`: `<dest>.partial`.
pub fn partial_path(dest: &Path) -> PathBuf {
    with_suffix(dest, ".partial")
}

/// The validator sidecar for `dest`: `<dest>.partial.meta`.
pub fn partial_meta_path(dest: &Path) -> PathBuf {
    with_suffix(dest, ".partial.meta")
}

/// Records (atomically) where the bytes in `dest`'s partial came from.
pub fn write_partial_meta(dest: &Path, meta: &PartialMeta) -> Result<()> {
    // Built as a Value so that writing cannot fail on serialisation.
    let mut json = serde_json::json!({ "url": meta.url });
    if let Some(validator) = &meta.validator {
        json["validator"] = validator.as_str().into();
    }
    atomic_write(&partial_meta_path(dest), format!("{json}\n").as_bytes())
}

/// Reads `dest`'s validator sidecar; `None` when there is none, `Corrupt` when it does not parse.
pub fn read_partial_meta(dest: &Path) -> Result<Option<PartialMeta>> {
    Ok(read_cached_json(&partial_meta_path(dest))?.map(|(meta, _raw)| meta))
}

/// Removes `dest`'s partial file and its sidecar; absent is fine.
pub fn discard_partial(dest: &Path) -> Result<()> {
    fsio::remove_if_exists(&partial_path(dest))?;
    fsio::remove_if_exists(&partial_meta_path(dest))
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn paths_append_to_the_file_name() {
        let dest = Path::new("/c/vmconfig/artifacts/runc/1.0/runc.tar.gz");
        assert_eq!(partial_path(dest), Path::new("/c/vmconfig/artifacts/runc/1.0/runc.tar.gz.partial"));
        assert_eq!(
            partial_meta_path(dest),
            Path::new("/c/vmconfig/artifacts/runc/1.0/runc.tar.gz.partial.meta")
        );
    }

    #[test]
    fn meta_round_trips_and_is_absent_before() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("a/b/file");
        assert_eq!(read_partial_meta(&dest).unwrap(), None);
        let meta = PartialMeta { url: "https://h/file".to_owned(), validator: Some("\"etag-1\"".to_owned()) };
        write_partial_meta(&dest, &meta).unwrap();
        assert_eq!(read_partial_meta(&dest).unwrap(), Some(meta));
        let plain = PartialMeta { url: "https://h/file".to_owned(), validator: None };
        write_partial_meta(&dest, &plain).unwrap();
        assert_eq!(
            std::fs::read_to_string(partial_meta_path(&dest)).unwrap(),
            "{\"url\":\"https://h/file\"}\n"
        );
        assert_eq!(read_partial_meta(&dest).unwrap(), Some(plain));
    }

    #[test]
    fn corrupt_meta_names_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("file");
        std::fs::write(partial_meta_path(&dest), b"not json").unwrap();
        let err = read_partial_meta(&dest).unwrap_err();
        assert!(matches!(&err, Error::Corrupt { path, .. } if *path == partial_meta_path(&dest)), "{err:?}");
    }

    #[test]
    fn discard_removes_both_and_tolerates_absence() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("file");
        discard_partial(&dest).unwrap();
        std::fs::write(partial_path(&dest), b"123").unwrap();
        write_partial_meta(&dest, &PartialMeta { url: "u".to_owned(), validator: None }).unwrap();
        discard_partial(&dest).unwrap();
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
