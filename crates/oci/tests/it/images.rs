//! Images pulled into a layout: index.json upserts, tag indexes, pinned tags, and what "cached" means.

use super::support::{Store, TestImage, put_image, record_unpinned};
use deps_oci::conformance::check_zot_store;
use deps_oci::media::{DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2, OCI_IMAGE_INDEX};
use deps_oci::{Error, ImageBlobs, ImageIndex, Parsed, RepoLayout, parse_manifest, sha256};

fn layout() -> (Store, RepoLayout) {
    let tmp = Store::new();
    let layout = RepoLayout::open(tmp.path(), "docker.io/library/caddy").unwrap();
    (tmp, layout)
}

/// The tag's index, parsed.
fn tag_index(layout: &RepoLayout, tag: &str) -> Vec<(String, String)> {
    let index = layout.read_index().unwrap();
    let tagged = index.tagged(tag).unwrap();
    assert_eq!(tagged.media_type, OCI_IMAGE_INDEX);
    let Parsed::Index { manifests, .. } = parse_manifest(&layout.read_blob(&tagged.digest).unwrap()).unwrap()
    else {
        panic!("tag {tag} does not point at an index")
    };
    manifests.iter().map(|m| (m.platform.as_ref().unwrap().to_string(), m.digest.to_string())).collect()
}

fn cached(layout: &RepoLayout, tag: Option<&str>, image: &TestImage) -> bool {
    layout.is_cached(tag, &image.manifest.digest, None).unwrap()
}

#[test]
fn untagged_platform_descriptor_is_added_once() {
    let (_tmp, layout) = layout();
    let amd = put_image(&layout, "a", "linux/amd64");
    layout.record_platform_manifest(&amd.manifest).unwrap();
    layout.record_platform_manifest(&amd.manifest).unwrap();
    let index = layout.read_index().unwrap();
    assert_eq!(index.manifests.len(), 1);
    assert_eq!(index.manifests[0].ref_name(), None);
    assert_eq!(index.manifests[0].platform.as_ref().unwrap().to_string(), "linux/amd64");
    assert!(layout.layout_file_path().is_file());
    assert!(cached(&layout, None, &amd), "a digest-only reference needs no tag");
    assert!(!cached(&layout, Some("2"), &amd), "no tag yet");
}

#[test]
fn two_archs_of_one_tag_share_one_tag_index() {
    let (_tmp, layout) = layout();
    let arm = put_image(&layout, "a", "linux/arm64/v8");
    let amd = put_image(&layout, "a", "linux/amd64");
    record_unpinned(&layout, "2", &arm);
    assert!(cached(&layout, Some("2"), &arm));
    assert!(!cached(&layout, Some("2"), &amd));
    record_unpinned(&layout, "2", &amd);
    assert_eq!(
        tag_index(&layout, "2"),
        [
            ("linux/amd64".to_owned(), amd.manifest.digest.to_string()),
            ("linux/arm64/v8".to_owned(), arm.manifest.digest.to_string())
        ],
        "sorted by platform whatever the pull order"
    );
    let index = layout.read_index().unwrap();
    assert_eq!(index.tags(), ["2"]);
    assert_eq!(index.manifests.len(), 3, "two untagged platform manifests and one tag");
    assert!(cached(&layout, Some("2"), &arm) && cached(&layout, Some("2"), &amd));

    // Same pulls in the other order give the same tag index digest.
    let (_tmp2, other) = self::layout();
    let amd2 = put_image(&other, "a", "linux/amd64");
    let arm2 = put_image(&other, "a", "linux/arm64/v8");
    record_unpinned(&other, "2", &amd2);
    record_unpinned(&other, "2", &arm2);
    assert_eq!(other.read_index().unwrap().tagged("2"), index.tagged("2"));
}

#[test]
fn repulled_platform_with_a_new_digest_replaces_its_entry() {
    let (tmp, layout) = layout();
    let old = put_image(&layout, "old", "linux/amd64");
    let arm = put_image(&layout, "old", "linux/arm64");
    record_unpinned(&layout, "latest", &old);
    record_unpinned(&layout, "latest", &arm);
    let old_tag = layout.read_index().unwrap().tagged("latest").unwrap().digest.clone();
    let new = put_image(&layout, "new", "linux/amd64");
    record_unpinned(&layout, "latest", &new);
    assert_eq!(
        tag_index(&layout, "latest"),
        [
            ("linux/amd64".to_owned(), new.manifest.digest.to_string()),
            ("linux/arm64".to_owned(), arm.manifest.digest.to_string())
        ]
    );
    let index = layout.read_index().unwrap();
    assert_ne!(index.tagged("latest").unwrap().digest, old_tag, "the tag moved");
    assert_eq!(index.tags(), ["latest"], "one descriptor per tag");
    assert!(cached(&layout, Some("latest"), &new));
    assert!(!cached(&layout, Some("latest"), &old), "a different digest for the platform is not cached");
    assert!(index.find(&old.manifest.digest).is_none(), "the replaced platform's descriptor is gone");
    assert_eq!(index.manifests.len(), 3, "new and arm untagged, one tag");
    assert!(!layout.blob_path(&old_tag).exists(), "the old tag index nothing names is removed");
    assert!(layout.has_blob(&arm.manifest.digest, None));
    assert_eq!(check_zot_store(tmp.path()), []);
}

#[test]
fn a_replaced_platform_another_tag_still_lists_keeps_its_descriptor() {
    let (tmp, layout) = layout();
    let old = put_image(&layout, "old", "linux/amd64");
    record_unpinned(&layout, "stable", &old);
    record_unpinned(&layout, "latest", &old);
    let stable = layout.read_index().unwrap().tagged("stable").unwrap().digest.clone();
    let new = put_image(&layout, "new", "linux/amd64");
    record_unpinned(&layout, "latest", &new);
    let index = layout.read_index().unwrap();
    assert!(
        index.find(&old.manifest.digest).is_some_and(|d| d.ref_name().is_none()),
        "stable still lists it"
    );
    assert_eq!(index.tagged("stable").unwrap().digest, stable);
    assert!(layout.has_blob(&stable, None), "the index both tags shared is still named by stable");
    assert!(cached(&layout, Some("stable"), &old) && cached(&layout, Some("latest"), &new));
    assert_eq!(check_zot_store(tmp.path()), []);
}

/// The upstream index bytes for `images`, as a registry serves a Docker manifest list.
fn upstream_list(images: &[&TestImage]) -> Vec<u8> {
    let entries: Vec<String> = images
        .iter()
        .map(|i| {
            let p = i.manifest.platform.as_ref().unwrap();
            format!(
                r#"{{"mediaType":"{DOCKER_MANIFEST_V2}","size":{},"digest":"{}","platform":{{"architecture":"{}","os":"{}"}}}}"#,
                i.manifest.size, i.manifest.digest, p.architecture, p.os
            )
        })
        .collect();
    format!(
        "{{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"{DOCKER_MANIFEST_LIST}\",\n   \"manifests\": [{}]\n}}",
        entries.join(",")
    )
    .into_bytes()
}

#[test]
fn pinned_tag_points_at_the_stored_upstream_index() {
    let (mut tmp, layout) = layout();
    tmp.damaged(); // arm64 blobs are stored but never recorded, a state no pull leaves.
    let amd = put_image(&layout, "p", "linux/amd64");
    let arm = put_image(&layout, "p", "linux/arm64");
    let upstream = upstream_list(&[&amd, &arm]);
    let pin = sha256(&upstream);
    layout.put_blob(&pin, &upstream).unwrap();
    layout.record_platform_manifest(&amd.manifest).unwrap();
    layout.tag_upstream_index("2", &pin, DOCKER_MANIFEST_LIST, upstream.len() as u64).unwrap();

    let index = layout.read_index().unwrap();
    let tagged = index.tagged("2").unwrap();
    assert_eq!((&tagged.digest, tagged.media_type.as_str()), (&pin, DOCKER_MANIFEST_LIST));
    assert_eq!(layout.read_blob(&pin).unwrap(), upstream, "stored byte for byte");
    assert!(layout.is_cached(Some("2"), &amd.manifest.digest, Some(&pin)).unwrap());
    assert!(!layout.is_cached(Some("2"), &arm.manifest.digest, Some(&pin)).unwrap(), "arm64 not recorded");
    let other_pin = sha256(b"another index");
    assert!(!layout.is_cached(Some("2"), &amd.manifest.digest, Some(&other_pin)).unwrap());

    // Re-tagging moves the tag; the pin no longer holds.
    layout.tag_platform("2", &amd.manifest).unwrap();
    assert!(!layout.is_cached(Some("2"), &amd.manifest.digest, Some(&pin)).unwrap());
    assert!(layout.is_cached(Some("2"), &amd.manifest.digest, None).unwrap());
}

#[test]
fn unpinned_after_pinned_keeps_only_platforms_present_locally() {
    let (mut tmp, layout) = layout();
    tmp.damaged(); // blobs stored but never recorded, a state no pull leaves.
    let amd = put_image(&layout, "p", "linux/amd64");
    let arm = put_image(&layout, "p", "linux/arm64");
    let upstream = upstream_list(&[&amd, &arm]);
    let pin = sha256(&upstream);
    layout.put_blob(&pin, &upstream).unwrap();
    layout.tag_upstream_index("2", &pin, DOCKER_MANIFEST_LIST, upstream.len() as u64).unwrap();
    std::fs::remove_file(layout.blob_path(&arm.manifest.digest)).unwrap();
    let new_amd = put_image(&layout, "q", "linux/amd64");
    layout.tag_platform("2", &new_amd.manifest).unwrap();
    assert_eq!(tag_index(&layout, "2"), [("linux/amd64".to_owned(), new_amd.manifest.digest.to_string())]);
}

#[test]
fn pin_equal_to_the_platform_digest_means_unpinned() {
    let (_tmp, layout) = layout();
    let amd = put_image(&layout, "single", "linux/amd64");
    record_unpinned(&layout, "1", &amd);
    assert!(layout.is_cached(Some("1"), &amd.manifest.digest, Some(&amd.manifest.digest)).unwrap());
}

#[test]
fn not_cached_when_a_piece_is_missing_or_wrong() {
    let (mut tmp, layout) = layout();
    tmp.damaged(); // blobs removed and truncated on purpose.
    assert!(!cached(&layout, Some("2"), &put_image(&layout, "x", "linux/amd64")), "no index.json");

    let amd = put_image(&layout, "a", "linux/amd64");
    let other = put_image(&layout, "b", "linux/arm64");
    record_unpinned(&layout, "2", &amd);
    record_unpinned(&layout, "other", &other);
    assert!(cached(&layout, Some("2"), &amd));
    assert!(!cached(&layout, Some("3"), &amd), "unknown tag");
    assert!(!cached(&layout, Some("other"), &amd), "tag pointing elsewhere");

    let layer = layout.blob_path(&amd.layer.digest);
    let bytes = std::fs::read(&layer).unwrap();
    std::fs::write(&layer, &bytes[..bytes.len() - 1]).unwrap();
    assert!(!cached(&layout, Some("2"), &amd), "wrong layer size");
    std::fs::remove_file(&layer).unwrap();
    assert!(!cached(&layout, Some("2"), &amd), "missing layer");
    std::fs::write(&layer, &bytes).unwrap();
    assert!(cached(&layout, Some("2"), &amd));

    std::fs::remove_file(layout.blob_path(&amd.config.digest)).unwrap();
    assert!(!cached(&layout, None, &amd), "missing config");
    let tag_digest = layout.read_index().unwrap().tagged("2").unwrap().digest.clone();
    std::fs::remove_file(layout.blob_path(&tag_digest)).unwrap();
    assert!(!cached(&layout, Some("2"), &amd), "missing tag index blob");

    // A platform manifest whose blobs are all there but which index.json does not list.
    let unlisted = put_image(&layout, "c", "linux/amd64");
    assert!(!cached(&layout, None, &unlisted));
}

#[test]
fn corrupt_index_json_is_an_error_naming_it() {
    let (mut tmp, layout) = layout();
    tmp.damaged(); // index.json corrupted on purpose.
    let amd = put_image(&layout, "a", "linux/amd64");
    record_unpinned(&layout, "2", &amd);
    std::fs::write(layout.index_path(), b"{").unwrap();
    let err = layout.is_cached(Some("2"), &amd.manifest.digest, None).unwrap_err();
    assert!(err.to_string().contains(&layout.index_path().display().to_string()), "{err}");
    assert!(matches!(layout.record_platform_manifest(&amd.manifest), Err(Error::CorruptLayoutFile { .. })));
}

#[test]
fn verify_rehashes_and_reports_every_problem() {
    let (_tmp, layout) = layout();
    let amd = put_image(&layout, "a", "linux/amd64");
    record_unpinned(&layout, "2", &amd);
    assert_eq!(layout.verify_image(Some("2"), &amd.manifest.digest, None).unwrap(), []);

    // Same size, different bytes: cheap check passes, verify does not.
    let layer = layout.blob_path(&amd.layer.digest);
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&layer, &bytes).unwrap();
    std::fs::remove_file(layout.blob_path(&amd.config.digest)).unwrap();
    assert!(!cached(&layout, Some("2"), &amd));
    let problems = layout.verify_image(Some("3"), &amd.manifest.digest, None).unwrap();
    let paths: Vec<_> = problems.iter().map(|p| p.path.clone()).collect();
    assert_eq!(
        paths,
        [layout.blob_path(&amd.config.digest), layer.clone(), layout.index_path()],
        "{problems:?}"
    );
    assert!(problems[1].reason.contains("content has digest"), "{}", problems[1]);
    assert!(problems[2].to_string().contains("has no tag \"3\""), "{}", problems[2]);
}

#[test]
fn image_blobs_lists_what_is_left_to_hash_and_every_structural_problem() {
    let (_tmp, layout) = layout();
    let amd = put_image(&layout, "a", "linux/amd64");
    record_unpinned(&layout, "2", &amd);
    let ImageBlobs { problems, blobs } = layout.image_blobs(Some("2"), &amd.manifest.digest, None).unwrap();
    assert_eq!(problems, []);
    let digests: Vec<_> = blobs.iter().map(|(_, d)| d.clone()).collect();
    assert!(digests.contains(&amd.manifest.digest), "{digests:?}");
    assert!(digests.contains(&amd.config.digest) && digests.contains(&amd.layer.digest), "{digests:?}");
    assert!(blobs.iter().all(|(path, digest)| *path == layout.blob_path(digest)));

    // Corrupt bytes of the same size are left to the caller's hashing; a missing blob is a problem.
    let layer = layout.blob_path(&amd.layer.digest);
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&layer, &bytes).unwrap();
    std::fs::remove_file(layout.blob_path(&amd.config.digest)).unwrap();
    let ImageBlobs { problems, blobs } = layout.image_blobs(Some("2"), &amd.manifest.digest, None).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].path, layout.blob_path(&amd.config.digest));
    assert!(blobs.iter().any(|(path, _)| *path == layer), "the layer still needs hashing");
}

#[test]
fn recording_refuses_missing_blobs_and_platformless_tags() {
    let (_tmp, layout) = layout();
    let amd = put_image(&layout, "a", "linux/amd64");
    let mut missing = amd.manifest.clone();
    missing.digest = sha256(b"not stored");
    let err = layout.record_platform_manifest(&missing).unwrap_err();
    assert!(
        matches!(&err, Error::MissingBlob { path, .. } if *path == layout.blob_path(&missing.digest)),
        "{err}"
    );
    assert!(matches!(layout.tag_platform("2", &missing), Err(Error::MissingBlob { .. })));
    let mut no_platform = amd.manifest.clone();
    no_platform.platform = None;
    assert!(matches!(layout.tag_platform("2", &no_platform), Err(Error::NoPlatform { .. })));
    assert!(matches!(
        layout.tag_upstream_index("2", &sha256(b"i"), DOCKER_MANIFEST_LIST, 1),
        Err(Error::MissingBlob { .. })
    ));
    assert_eq!(layout.read_index().unwrap(), ImageIndex::default(), "nothing recorded");
    assert!(!layout.index_path().exists());
}

#[test]
fn written_documents_are_valid_oci() {
    let (_tmp, layout) = layout();
    let amd = put_image(&layout, "a", "linux/amd64");
    let arm = put_image(&layout, "a", "linux/arm64/v8");
    record_unpinned(&layout, "2", &amd);
    record_unpinned(&layout, "2", &arm);
    let bytes = std::fs::read(layout.index_path()).unwrap();
    let index: oci_spec::image::ImageIndex = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(index.manifests().len(), 3);
    let tagged = layout.read_index().unwrap().tagged("2").unwrap().clone();
    let tag_index: oci_spec::image::ImageIndex =
        serde_json::from_slice(&layout.read_blob(&tagged.digest).unwrap()).unwrap();
    let platforms: Vec<String> = tag_index
        .manifests()
        .iter()
        .map(|m| {
            let p = m.platform().as_ref().unwrap();
            format!("{}/{}/{}", p.os(), p.architecture(), p.variant().clone().unwrap_or_default())
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64/", "linux/arm64/v8"]);
}
