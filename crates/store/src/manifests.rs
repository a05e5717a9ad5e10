//! Cached manifest copies: write the historical copy then the latest, read
//! them back as bytes or typed JSON.
//!
//! The historical copy is written first so that a crash between the two
//! writes never leaves a latest copy without its history. Both writes are
//! atomic ([`atomic_write`]). When the latest copy already holds exactly
//! these bytes and a historical copy of them exists, nothing is rewritten:
//! the latest copy's mtime is refreshed (staleness is judged by it), so a
//! run that changed nothing adds no history and costs no fsync. Reading treats "absent" as a normal answer
//! (`Ok(None)`) and anything else that stops us as an error naming the file.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::fsio::{self, io_err};
use crate::{Error, Layout, ManifestKind, Result, atomic_write};

/// Where [`write_cached_manifest`] put the two copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenManifest {
    /// The latest copy, replaced on every write.
    pub latest: PathBuf,
    /// The immutable, time-stamped copy.
    pub historical: PathBuf,
}

/// Writes manifest bytes as a historical copy stamped now (UTC), then as the latest copy.
pub fn write_cached_manifest(
    layout: &Layout,
    kind: &ManifestKind<'_>,
    raw: &[u8],
) -> Result<WrittenManifest> {
    write_cached_manifest_at(layout, kind, raw, OffsetDateTime::now_utc())
}

/// Writes manifest bytes as a historical copy stamped `now`, then as the latest copy.
pub fn write_cached_manifest_at(
    layout: &Layout,
    kind: &ManifestKind<'_>,
    raw: &[u8],
    now: OffsetDateTime,
) -> Result<WrittenManifest> {
    let historical = layout.historical_manifest_path(kind, raw, now)?;
    let latest = layout.latest_manifest_path(kind)?;
    // An unreadable latest copy just means "write it again"; so does a link
    // planted there (the atomic write replaces it, touching it would not).
    let latest_is_file = matches!(fsio::entry_type(&latest), Ok(Some(kind)) if kind.is_file());
    if latest_is_file
        && matches!(read_cached_manifest(&latest), Ok(Some(old)) if old == raw)
        && let Some(existing) = latest_history_of(layout, kind, raw)?
    {
        let file = fsio::open_append_no_follow(&latest)?;
        file.set_modified(now.into()).map_err(io_err("set the modification time of", &latest))?;
        tracing::debug!(manifest = kind.name(), latest = %latest.display(), "cached manifest unchanged");
        return Ok(WrittenManifest { latest, historical: existing });
    }
    atomic_write(&historical, raw)?;
    atomic_write(&latest, raw)?;
    tracing::debug!(manifest = kind.name(), latest = %latest.display(), "cached manifest written");
    Ok(WrittenManifest { latest, historical })
}

/// The newest historical copy of exactly these bytes, if any.
fn latest_history_of(layout: &Layout, kind: &ManifestKind<'_>, raw: &[u8]) -> Result<Option<PathBuf>> {
    // Names differ only in their fixed-width stamp: match the parts around it.
    let template = layout.historical_manifest_path(kind, raw, OffsetDateTime::UNIX_EPOCH)?;
    let (Some(dir), Some(name)) = (template.parent(), template.file_name().and_then(|n| n.to_str())) else {
        return Ok(None);
    };
    let Some(at) = name.find(EPOCH_STAMP) else { return Ok(None) };
    let (prefix, suffix) = (&name[..at], &name[at + EPOCH_STAMP.len()..]);
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_err("list", dir)(err)),
    };
    let newest = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|n| n.len() == name.len() && n.starts_with(prefix) && n.ends_with(suffix))
        .max();
    Ok(newest.map(|n| dir.join(n)))
}

/// The stamp of the epoch, as it appears in historical file names.
const EPOCH_STAMP: &str = "19700101T000000Z";

/// Reads a cached file's bytes; `None` when it does not exist, an error naming it when it is not a regular file.
pub fn read_cached_manifest(path: &Path) -> Result<Option<Vec<u8>>> {
    let Some(mut file) = fsio::open_if_exists(path)? else {
        return Ok(None);
    };
    let mut raw = Vec::new();
    file.read_to_end(&mut raw).map_err(io_err("read", path))?;
    Ok(Some(raw))
}

/// Reads and parses a cached JSON file, keeping its bytes; `None` when it does not exist.
pub fn read_cached_json<T: DeserializeOwned>(path: &Path) -> Result<Option<(T, Vec<u8>)>> {
    let Some(raw) = read_cached_manifest(path)? else {
        return Ok(None);
    };
    let value =
        serde_json::from_slice(&raw).map_err(|source| Error::Corrupt { path: path.to_owned(), source })?;
    Ok(Some((value, raw)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:34:56 UTC);

    fn all_kinds() -> [ManifestKind<'static>; 4] {
        [
            ManifestKind::VmConfig { kind: "knc", arch: "amd64" },
            ManifestKind::Components,
            ManifestKind::Templates,
            ManifestKind::Seeds,
        ]
    }

    #[test]
    fn writes_historical_and_latest_with_the_same_bytes_and_no_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path());
        for kind in all_kinds() {
            let raw = format!("{{\"{}\": {{}}}}\n", kind.name());
            let written = write_cached_manifest_at(&layout, &kind, raw.as_bytes(), NOW).unwrap();
            assert_eq!(written.latest, layout.latest_manifest_path(&kind).unwrap());
            assert_eq!(
                written.historical,
                layout.historical_manifest_path(&kind, raw.as_bytes(), NOW).unwrap()
            );
            assert_eq!(std::fs::read(&written.latest).unwrap(), raw.as_bytes());
            assert_eq!(std::fs::read(&written.historical).unwrap(), raw.as_bytes());
            let dir = written.latest.parent().unwrap();
            assert_eq!(std::fs::read_dir(dir).unwrap().count(), 2, "stray files in {}", dir.display());
        }
    }

    #[test]
    fn historical_is_written_before_latest() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path());
        let kind = ManifestKind::Seeds;
        // Block the latest path with a non-empty directory: the historical copy must already exist.
        let latest = layout.latest_manifest_path(&kind).unwrap();
        std::fs::create_dir_all(latest.join("blocker")).unwrap();
        let err = write_cached_manifest_at(&layout, &kind, b"{}", NOW).unwrap_err();
        assert!(err.to_string().contains("seeds.json"), "{err}");
        assert!(layout.historical_manifest_path(&kind, b"{}", NOW).unwrap().is_file());
    }

    #[test]
    fn new_bytes_replace_latest_and_add_history() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path());
        let kind = ManifestKind::Templates;
        let first = write_cached_manifest_at(&layout, &kind, b"1", NOW).unwrap();
        let second = write_cached_manifest(&layout, &kind, b"2").unwrap();
        assert_eq!(first.latest, second.latest);
        assert_ne!(first.historical, second.historical);
        assert_eq!(read_cached_manifest(&second.latest).unwrap().unwrap(), b"2");
        assert_eq!(read_cached_manifest(&first.historical).unwrap().unwrap(), b"1");
    }

    #[test]
    fn unchanged_bytes_refresh_the_latest_mtime_and_add_no_history() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path());
        for kind in all_kinds() {
            let first = write_cached_manifest_at(&layout, &kind, b"same", NOW).unwrap();
            let later = NOW + time::Duration::days(2);
            let again = write_cached_manifest_at(&layout, &kind, b"same", later).unwrap();
            assert_eq!(again, first, "the existing history is reported");
            let dir = first.latest.parent().unwrap();
            assert_eq!(std::fs::read_dir(dir).unwrap().count(), 2, "no new historical copy");
            let mtime = std::fs::metadata(&first.latest).unwrap().modified().unwrap();
            assert_eq!(OffsetDateTime::from(mtime), later, "staleness restarts");

            // Without its history (deleted by hand), the copy is written again in full.
            std::fs::remove_file(&first.historical).unwrap();
            let rewritten = write_cached_manifest_at(&layout, &kind, b"same", later).unwrap();
            assert_eq!(rewritten.historical, layout.historical_manifest_path(&kind, b"same", later).unwrap());
            assert!(rewritten.historical.is_file());

            // Other bytes with the same prefix never count as history of these.
            let other = write_cached_manifest_at(&layout, &kind, b"different", later).unwrap();
            assert_ne!(other.historical, rewritten.historical);
        }
    }

    #[test]
    fn unsafe_vmconfig_kind_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path().join("root"));
        let kind = ManifestKind::VmConfig { kind: "../../evil", arch: "amd64" };
        assert!(matches!(write_cached_manifest(&layout, &kind, b"{}"), Err(Error::Manifest(_))));
        assert!(!tmp.path().join("root").exists());
    }

    #[test]
    fn read_absent_is_none() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nope.json");
        assert!(read_cached_manifest(&path).unwrap().is_none());
        assert!(read_cached_json::<serde_json::Value>(&path).unwrap().is_none());
    }

    #[test]
    fn read_unreadable_names_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        // A directory opens but cannot be read as a file.
        let err = read_cached_manifest(tmp.path()).unwrap_err();
        assert!(matches!(&err, Error::Io { path, .. } if path == tmp.path()), "{err:?}");
    }

    #[test]
    fn read_json_returns_value_and_exact_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.json");
        std::fs::write(&path, b"{ \"version\": \"1\" }\n").unwrap();
        let (value, raw): (serde_json::Value, _) = read_cached_json(&path).unwrap().unwrap();
        assert_eq!(value["version"], "1");
        assert_eq!(raw, b"{ \"version\": \"1\" }\n");
    }

    #[test]
    fn read_corrupt_json_is_an_error_naming_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("broken.json");
        std::fs::write(&path, b"{\"version\": ").unwrap();
        let err = read_cached_json::<serde_json::Value>(&path).unwrap_err();
        assert!(matches!(&err, Error::Corrupt { path: p, .. } if *p == path), "{err:?}");
        assert!(err.to_string().contains("broken.json"), "{err}");
    }
}
