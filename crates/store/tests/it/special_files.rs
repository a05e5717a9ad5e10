//! A FIFO or device where the store expects a regular file is an error naming it, never a hang.

use deps_store::{
    CacheLock, Fingerprints, Layout, LockWait, ManifestKind, VerifiedWriter, partial_meta_path, partial_path,
    read_cached_manifest, read_partial_meta, write_cached_manifest_at,
};
use time::macros::datetime;

use crate::support::{BODY, assert_names, assert_regular, mkfifo, sha256, without_blocking_on};

#[test]
fn a_fifo_as_the_cached_manifest_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("components.json");
    mkfifo(&path);
    let read = path.clone();
    let err = without_blocking_on(&path, move || read_cached_manifest(&read)).unwrap_err();
    assert_names(&err, &path, "a FIFO");
}

#[test]
fn a_fifo_as_the_latest_manifest_is_replaced_by_the_next_write() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::new(tmp.path());
    let latest = layout.latest_manifest_path(&ManifestKind::Seeds).unwrap();
    mkfifo(&latest);
    let written = without_blocking_on(&latest, move || {
        write_cached_manifest_at(&layout, &ManifestKind::Seeds, b"{}", datetime!(2026-03-01 12:00 UTC))
    })
    .unwrap();
    assert_regular(&written.latest);
    assert_eq!(std::fs::read(&written.latest).unwrap(), b"{}");
}

#[test]
fn a_device_as_the_cached_manifest_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("templates.json");
    std::os::unix::fs::symlink("/dev/null", &path).unwrap();
    let err = read_cached_manifest(&path).unwrap_err();
    assert_names(&err, &path, "a device");
}

#[test]
fn a_fifo_as_the_fingerprints_is_ignored_then_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join(".fingerprints.json");
    mkfifo(&fifo);
    let root = tmp.path().to_owned();
    let prints = without_blocking_on(&fifo, move || Fingerprints::load(&root));
    assert!(prints.is_empty());
    let file = tmp.path().join("file");
    std::fs::write(&file, BODY).unwrap();
    prints.record(&file, &sha256(BODY)).unwrap();
    prints.save().unwrap();
    assert_regular(&fifo);
    assert!(Fingerprints::load(tmp.path()).trusted(&file, &sha256(BODY)));
}

#[test]
fn a_fifo_as_the_partial_is_an_error_naming_it_on_resume_and_create() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("runc");
    let partial = partial_path(&dest);
    mkfifo(&partial);
    let resumed = dest.clone();
    let err = without_blocking_on(&partial, move || {
        VerifiedWriter::resume(&resumed, sha256(BODY), Some(BODY.len() as u64)).map(drop)
    })
    .unwrap_err();
    assert_names(&err, &partial, "a FIFO");
    let created = dest.clone();
    let err = without_blocking_on(&partial, move || {
        VerifiedWriter::create(&created, sha256(BODY), Some(BODY.len() as u64)).map(drop)
    })
    .unwrap_err();
    assert_names(&err, &partial, "a FIFO");
}

#[test]
fn a_fifo_as_the_partial_sidecar_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("runc");
    let meta = partial_meta_path(&dest);
    mkfifo(&meta);
    let read = dest.clone();
    let err = without_blocking_on(&meta, move || read_partial_meta(&read)).unwrap_err();
    assert_names(&err, &meta, "a FIFO");
}

#[test]
fn a_fifo_as_the_lock_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let lock = tmp.path().join(".lock");
    mkfifo(&lock);
    let root = tmp.path().to_owned();
    let err =
        without_blocking_on(&lock, move || CacheLock::acquire(&root, LockWait::NoWait, |_| {}).map(drop))
            .unwrap_err();
    assert_names(&err, &lock, "a FIFO");
}
