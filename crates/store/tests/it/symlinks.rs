//! A symbolic link planted where the store writes is replaced, never written through.

use deps_store::{
    CacheLock, Fingerprints, Layout, LockWait, ManifestKind, PartialMeta, VerifiedWriter, atomic_write,
    partial_meta_path, partial_path, write_cached_manifest_at, write_partial_meta,
};
use time::macros::datetime;

use crate::support::{BODY, SECRET, Scene, assert_regular, sha256};

#[test]
fn create_replaces_a_link_at_the_partial_and_leaves_its_target_alone() {
    let scene = Scene::new();
    let dest = scene.root.join("artifacts/runc/1.0/runc");
    scene.plant_link(&partial_path(&dest));
    let mut writer = VerifiedWriter::create(&dest, sha256(BODY), Some(BODY.len() as u64)).unwrap();
    assert_regular(&partial_path(&dest));
    writer.write_all(BODY).unwrap();
    writer.commit().unwrap();
    scene.assert_outside_untouched();
    assert_regular(&dest);
    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
}

#[test]
fn resume_replaces_a_link_at_the_partial_and_starts_from_zero() {
    let scene = Scene::new();
    let dest = scene.root.join("artifacts/runc/1.0/runc");
    scene.plant_link(&partial_path(&dest));
    // A sidecar describing bytes that were never ours goes with the link.
    write_partial_meta(&dest, &PartialMeta { url: "http://127.0.0.1/x".to_owned(), validator: None })
        .unwrap();
    let mut writer = VerifiedWriter::resume(&dest, sha256(BODY), Some(BODY.len() as u64)).unwrap();
    assert_eq!(writer.offset(), 0, "the link's target was hashed as if it were our partial");
    assert!(!partial_meta_path(&dest).exists());
    assert_regular(&partial_path(&dest));
    writer.write_all(BODY).unwrap();
    writer.commit().unwrap();
    scene.assert_outside_untouched();
    assert_regular(&dest);
    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
}

#[test]
fn resume_with_a_link_to_a_longer_file_does_not_truncate_it() {
    let scene = Scene::new();
    let dest = scene.root.join("runc");
    scene.plant_link(&partial_path(&dest));
    // Shorter than the outside file: the old code "started over" by emptying the target.
    let body = &BODY[..SECRET.len() - 5];
    let mut writer = VerifiedWriter::resume(&dest, sha256(body), Some(body.len() as u64)).unwrap();
    writer.write_all(body).unwrap();
    writer.commit().unwrap();
    scene.assert_outside_untouched();
    assert_regular(&dest);
}

#[test]
fn the_lock_replaces_a_link_at_dot_lock_and_never_empties_its_target() {
    let scene = Scene::new();
    let lock_path = scene.root.join(".lock");
    scene.plant_link(&lock_path);
    let lock = CacheLock::acquire(&scene.root, LockWait::NoWait, |_| panic!("nothing holds it")).unwrap();
    scene.assert_outside_untouched();
    assert_regular(&lock_path);
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap().trim(), std::process::id().to_string());
    drop(lock);
    scene.assert_outside_untouched();
}

#[test]
fn an_unchanged_manifest_behind_a_link_is_rewritten_not_touched_through_it() {
    let scene = Scene::new();
    let layout = Layout::new(&scene.root);
    let kind = ManifestKind::Components;
    let first = write_cached_manifest_at(&layout, &kind, SECRET, datetime!(2026-03-01 12:00 UTC)).unwrap();
    // The latest copy becomes a link to an outside file with the same bytes and an old mtime.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(7);
    std::fs::File::options().write(true).open(&scene.outside).unwrap().set_modified(old).unwrap();
    std::fs::remove_file(&first.latest).unwrap();
    scene.plant_link(&first.latest);
    write_cached_manifest_at(&layout, &kind, SECRET, datetime!(2026-03-03 12:00 UTC)).unwrap();
    scene.assert_outside_untouched();
    assert_eq!(
        std::fs::metadata(&scene.outside).unwrap().modified().unwrap(),
        old,
        "touched through the link"
    );
    assert_regular(&first.latest);
    assert_eq!(std::fs::read(&first.latest).unwrap(), SECRET);
}

#[test]
fn whole_file_writes_replace_links_at_sidecars_fingerprints_and_destinations() {
    let scene = Scene::new();
    let dest = scene.root.join("runc");
    std::fs::write(&dest, BODY).unwrap();
    let meta = partial_meta_path(&dest);
    let prints_path = scene.root.join(".fingerprints.json");
    let plain = scene.root.join("plain.json");
    for link in [&meta, &prints_path, &plain] {
        scene.plant_link(link);
    }
    write_partial_meta(&dest, &PartialMeta { url: "http://127.0.0.1/x".to_owned(), validator: None })
        .unwrap();
    let prints = Fingerprints::load(&scene.root);
    prints.record(&dest, &sha256(BODY)).unwrap();
    prints.save().unwrap();
    atomic_write(&plain, b"{}").unwrap();
    scene.assert_outside_untouched();
    for path in [&meta, &prints_path, &plain] {
        assert_regular(path);
    }
}
