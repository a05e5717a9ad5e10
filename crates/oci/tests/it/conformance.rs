//! zot's conformance check on a store after a killed pull, and the three ways it must fail.

use super::support::{Store, put_image, record_unpinned};
use deps_oci::RepoLayout;
use deps_oci::conformance::{Rule, check_zot_store};

/// A store with one pulled image, and a second pull killed half-way through its layer download.
fn killed_pull(root: &std::path::Path, repo: &str) -> RepoLayout {
    let layout = RepoLayout::open(root, repo).unwrap();
    let done = put_image(&layout, "done", "linux/amd64");
    record_unpinned(&layout, "1", &done);
    let layer = deps_oci::sha256(b"a layer whose download was killed");
    let mut writer =
        deps_store::VerifiedWriter::create(&layout.staging_path(&layer), layer, Some(33)).unwrap();
    writer.write_all(b"a layer whose").unwrap();
    drop(writer);
    layout
}

#[test]
fn a_pull_killed_half_way_leaves_its_partial_in_staging_and_zot_still_serves_the_store() {
    let store = Store::new();
    let layout = killed_pull(store.path(), "docker.io/library/caddy");
    let staged: Vec<_> = std::fs::read_dir(layout.staging_dir()).unwrap().collect();
    assert_eq!(staged.len(), 1, "the partial is kept for resuming");
    assert_eq!(check_zot_store(store.path()), []);
}

fn rules(root: &std::path::Path) -> Vec<Rule> {
    check_zot_store(root).into_iter().map(|v| v.rule).collect()
}

#[cfg(unix)]
#[test]
fn a_file_others_cannot_read_fails_the_check() {
    use std::os::unix::fs::PermissionsExt as _;
    let mut store = Store::new();
    store.damaged();
    let layout = killed_pull(store.path(), "r");
    std::fs::set_permissions(layout.index_path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(rules(store.path()), [Rule::Readable]);
}

#[test]
fn a_partial_in_blobs_fails_the_check() {
    let mut store = Store::new();
    store.damaged();
    let layout = killed_pull(store.path(), "r");
    // Where a download into blob_path leaves its partial.
    let layer = deps_oci::sha256(b"x");
    let writer = deps_store::VerifiedWriter::create(&layout.blob_path(&layer), layer, None).unwrap();
    drop(writer);
    assert_eq!(rules(store.path()), [Rule::BlobName]);
}

#[test]
fn a_host_port_directory_fails_the_check() {
    let mut store = Store::new();
    store.damaged();
    killed_pull(store.path(), "localhost:5000/team/app");
    assert_eq!(rules(store.path()), [Rule::RepositoryName]);
}
