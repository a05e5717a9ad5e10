//! A tampered layout: links planted where blobs and `index.json` are written,
//! FIFOs where they are read. Nothing outside the layout is written, nothing blocks.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use deps_oci::{BlobIndex, Descriptor, ImageIndex, Placement, RepoLayout, sha256};

const SECRET: &[u8] = b"precious bytes outside the cache\n";

/// A store root and a file outside it that must never change.
fn scene() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("registry");
    let outside = tmp.path().join("outside.txt");
    std::fs::write(&outside, SECRET).unwrap();
    (tmp, root, outside)
}

fn plant_link(outside: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(outside, at).unwrap();
}

fn assert_regular(path: &Path) {
    let kind = std::fs::symlink_metadata(path).unwrap().file_type();
    assert!(kind.is_file(), "{} is {kind:?}", path.display());
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// Runs `op`, failing the test instead if it opens the FIFO at `fifo` to read (where it would block).
fn without_blocking_on<T: Send + 'static>(fifo: &Path, op: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let opened = tx.clone();
    let writer_end = fifo.to_owned();
    // Opening to write waits for a reader: it returns when `op` (or we, below) open to read.
    let watcher = std::thread::spawn(move || {
        let writer = std::fs::File::options().write(true).open(&writer_end);
        let _ = opened.send(Err(writer.is_ok()));
    });
    std::thread::spawn(move || {
        let _ = tx.send(Ok(op()));
    });
    match rx.recv().unwrap() {
        Ok(value) => {
            // Release the watcher by becoming the reader it waits for.
            drop(std::fs::File::open(fifo).unwrap());
            watcher.join().unwrap();
            value
        }
        Err(_) => panic!("{} was opened for reading: the operation blocks on it", fifo.display()),
    }
}

#[test]
fn links_at_index_json_oci_layout_and_blobs_are_replaced_not_written_through() {
    let (_tmp, root, outside) = scene();
    let layout = RepoLayout::open(&root, "docker.io/library/caddy").unwrap();
    let digest = sha256(b"layer");
    for at in [layout.index_path(), layout.layout_file_path(), layout.blob_path(&digest)] {
        plant_link(&outside, &at);
    }
    layout.put_blob(&digest, b"layer").unwrap();
    let index =
        ImageIndex::new(vec![Descriptor::new(deps_oci::media::OCI_IMAGE_MANIFEST, digest.clone(), 5)]);
    layout.write_index(&index).unwrap();
    assert_eq!(std::fs::read(&outside).unwrap(), SECRET);
    for path in [layout.index_path(), layout.layout_file_path(), layout.blob_path(&digest)] {
        assert_regular(&path);
    }
}

#[test]
fn a_blob_linked_from_another_repository_replaces_a_link_at_its_name() {
    let (_tmp, root, outside) = scene();
    let from = RepoLayout::open(&root, "a").unwrap();
    let to = RepoLayout::open(&root, "b").unwrap();
    let digest = sha256(b"layer");
    from.put_blob(&digest, b"layer").unwrap();
    plant_link(&outside, &to.blob_path(&digest));
    let mut blobs = BlobIndex::build(&root).unwrap();
    assert_eq!(blobs.link_into(&to, &digest, 5).unwrap(), Some(Placement::Linked));
    assert_eq!(std::fs::read(&outside).unwrap(), SECRET);
    assert_regular(&to.blob_path(&digest));
}

#[test]
fn a_fifo_as_index_json_is_an_error_naming_it() {
    let (_tmp, root, _outside) = scene();
    let layout = RepoLayout::open(&root, "r").unwrap();
    let index = layout.index_path();
    mkfifo(&index);
    let reader = layout.clone();
    let err = without_blocking_on(&index, move || reader.read_index()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&index.display().to_string()) && msg.contains("a FIFO"), "{msg}");
}

#[test]
fn a_fifo_as_oci_layout_is_an_error_naming_it() {
    let (_tmp, root, _outside) = scene();
    let layout = RepoLayout::open(&root, "r").unwrap();
    let file = layout.layout_file_path();
    mkfifo(&file);
    let writer = layout.clone();
    let err = without_blocking_on(&file, move || writer.write_index(&ImageIndex::default())).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&file.display().to_string()) && msg.contains("a FIFO"), "{msg}");
}
