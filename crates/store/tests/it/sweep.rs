//! Stray temporary files left by a killed run are removed; nothing else is.

use std::path::PathBuf;

use deps_store::sweep_stray_temp_files;

#[test]
fn removes_only_the_stores_temporary_files_anywhere_under_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cache");
    let strays = [
        root.join(".fingerprints.json.a1B2c3.tmp"),
        root.join("manifests/.components.json.ZZZZZZ.tmp"),
        root.join("vmconfig/artifacts/runc/1.0/.runc.partial.meta.x9y8z7.tmp"),
    ];
    let kept = [
        root.join(".lock"),
        root.join(".fingerprints.json"),
        root.join("manifests/components.json"),
        root.join("vmconfig/artifacts/runc/1.0/runc.partial"),
        root.join("vmconfig/artifacts/runc/1.0/runc.partial.meta"),
        // Names close to the pattern that are not ours.
        root.join("notes.tmp"),
        root.join(".notes.tmp"),
        root.join("..abcdef.tmp"),
        root.join(".notes.abcdefg.tmp"),
        root.join(".notes.abc-ef.tmp"),
        root.join("visible.json.abcdef.tmp"),
        root.join(".notes.abcdef.tmp.bak"),
    ];
    for path in strays.iter().chain(&kept) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
    }
    // A directory of the pattern's shape is not a temporary file.
    let dir = root.join(".dir.abcdef.tmp");
    std::fs::create_dir_all(&dir).unwrap();
    // A linked directory is not descended into: what it points to is not the cache.
    let elsewhere = tmp.path().join("elsewhere");
    let foreign = elsewhere.join(".theirs.abcdef.tmp");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(&foreign, b"x").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&elsewhere, root.join("linked")).unwrap();

    let mut expected: Vec<PathBuf> = strays.to_vec();
    expected.sort();
    assert_eq!(sweep_stray_temp_files(&root).unwrap(), expected);
    for path in &strays {
        assert!(!path.exists(), "{} was kept", path.display());
    }
    for path in kept.iter().chain([&dir, &foreign]) {
        assert!(path.exists(), "{} was removed", path.display());
    }
    assert_eq!(sweep_stray_temp_files(&root).unwrap(), Vec::<PathBuf>::new(), "nothing left to sweep");
}

#[test]
fn a_missing_root_has_nothing_to_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(sweep_stray_temp_files(&tmp.path().join("absent")).unwrap().is_empty());
}
