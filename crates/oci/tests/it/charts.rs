//! Charts: packaged reproducibly from a directory, stored as `helm push` would, found again.

use std::io::Read as _;
use std::path::Path;

use super::support::{chart_dir, write};
use deps_oci::media::{HELM_CHART_CONTENT, HELM_CONFIG, OCI_IMAGE_MANIFEST};
use deps_oci::{Error, RepoLayout, cached_chart, find_chart_layer, package_chart, store_chart};

/// The archive's entries: (path, mode, uid, gid, mtime, user name, bytes).
type Entry = (String, u32, u64, u64, u64, String, Vec<u8>);

fn entries(archive: &[u8]) -> Vec<Entry> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            let user = h.username().unwrap().unwrap_or_default().to_owned();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            (path, h.mode().unwrap(), h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap(), user, bytes)
        })
        .collect()
}

#[test]
fn packaging_is_reproducible_and_honours_helmignore() {
    let tmp = super::support::Store::new();
    let dir = tmp.path().join("web");
    chart_dir(&dir);
    let first = package_chart(&dir).unwrap();
    assert_eq!(
        first.entries,
        [
            "web/Chart.yaml",
            "web/.helmignore",
            "web/files/secret",
            "web/templates/_helpers.tpl",
            "web/templates/deployment.yaml",
            "web/values.yaml",
        ]
    );
    assert_eq!((first.name.as_str(), first.version.as_str()), ("web", "1.2.0+build.1"));
    assert_eq!(first.file_name(), "web-1.2.0+build.1.tgz");

    // Same input elsewhere, written later, with other permissions: same bytes.
    let copy = tmp.path().join("elsewhere/web");
    chart_dir(&copy);
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(&copy.join("values.yaml"), "\u{feff}replicas: 1\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(copy.join("values.yaml"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let second = package_chart(&copy).unwrap();
    assert_eq!(first.archive_digest, second.archive_digest);
    assert_eq!(first.archive, second.archive);
    assert_eq!(first.config_digest, second.config_digest);
    assert_eq!(deps_oci::sha256(&first.archive), first.archive_digest);

    // A content change changes the digest.
    write(&copy.join("values.yaml"), "replicas: 2\n");
    assert_ne!(package_chart(&copy).unwrap().archive_digest, first.archive_digest);
}

#[test]
fn archive_headers_are_fixed() {
    let tmp = super::support::Store::new();
    chart_dir(tmp.path());
    let chart = package_chart(tmp.path()).unwrap();
    // gzip: no FNAME/FEXTRA/FCOMMENT flags, mtime 0.
    assert_eq!(&chart.archive[..2], b"\x1f\x8b");
    assert_eq!(chart.archive[3], 0, "no optional gzip header fields");
    assert_eq!(&chart.archive[4..8], &[0, 0, 0, 0], "gzip mtime");
    let entries = entries(&chart.archive);
    for (path, mode, uid, gid, mtime, user, _) in &entries {
        assert_eq!((*mode, *uid, *gid, *mtime, user.as_str()), (0o644, 0, 0, 0, ""), "{path}");
    }
    let values = entries.iter().find(|e| e.0 == "web/values.yaml").unwrap();
    assert_eq!(values.6, b"replicas: 1\n", "byte-order mark stripped as Helm does");
}

#[test]
fn config_is_helm_metadata_json() {
    let tmp = super::support::Store::new();
    chart_dir(tmp.path());
    let chart = package_chart(tmp.path()).unwrap();
    insta::assert_snapshot!(String::from_utf8(chart.config.clone()).unwrap());
}

#[test]
fn stored_chart_manifest_index_and_lookup() {
    let tmp = super::support::Store::new();
    let dir = tmp.path().join("src");
    chart_dir(&dir);
    let chart = package_chart(&dir).unwrap();
    let layout = RepoLayout::open(&tmp.path().join("charts"), "podplane.local/templates/web").unwrap();
    let stored = store_chart(&layout, &chart).unwrap();
    assert_eq!(stored.tag, "1.2.0_build.1");
    assert_eq!(stored.chart_layer.digest, chart.archive_digest);
    assert_eq!(stored.chart_layer.media_type, HELM_CHART_CONTENT);
    assert_eq!(layout.read_blob(&stored.chart_layer.digest).unwrap(), chart.archive);

    let manifest = layout.read_blob(&stored.manifest_digest).unwrap();
    insta::assert_snapshot!("chart_manifest", String::from_utf8(manifest.clone()).unwrap());
    let index = layout.read_index().unwrap();
    assert_eq!(index.tags(), ["1.2.0_build.1"]);
    assert_eq!(index.tagged("1.2.0_build.1").unwrap().media_type, OCI_IMAGE_MANIFEST);
    let parsed: oci_spec::image::ImageManifest = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(parsed.config().media_type().to_string(), HELM_CONFIG);
    assert_eq!(find_chart_layer(&manifest).unwrap(), stored.chart_layer);

    assert_eq!(cached_chart(&layout, "1.2.0_build.1").unwrap(), Some(stored.clone()));
    assert_eq!(store_chart(&layout, &chart).unwrap(), stored, "storing again changes nothing");
    assert_eq!(cached_chart(&layout, "1.2.0").unwrap(), None);
    std::fs::remove_file(layout.blob_path(&chart.config_digest)).unwrap();
    assert_eq!(cached_chart(&layout, "1.2.0_build.1").unwrap(), None, "config blob missing");
}

#[test]
fn find_chart_layer_picks_the_helm_layer_or_the_only_one() {
    let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let manifest = |layers: &str| {
        format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{HELM_CONFIG}","digest":"{}","size":1}},"layers":[{layers}]}}"#,
            d('c')
        )
    };
    let layer = |media: &str, c: char| format!(r#"{{"mediaType":"{media}","digest":"{}","size":2}}"#, d(c));
    let two = manifest(&format!("{},{}", layer("application/x-prov", 'a'), layer(HELM_CHART_CONTENT, 'b')));
    assert_eq!(find_chart_layer(two.as_bytes()).unwrap().digest.to_string(), d('b'));
    let only = manifest(&layer("application/tar+gzip", 'e'));
    assert_eq!(find_chart_layer(only.as_bytes()).unwrap().digest.to_string(), d('e'));
    let none = manifest(&format!("{},{}", layer("x/a", 'a'), layer("x/b", 'b')));
    assert!(matches!(find_chart_layer(none.as_bytes()), Err(Error::NoChartLayer { .. })));
    assert!(matches!(find_chart_layer(manifest("").as_bytes()), Err(Error::NoChartLayer { .. })));
    let index = r#"{"schemaVersion":2,"manifests":[]}"#;
    assert!(matches!(find_chart_layer(index.as_bytes()), Err(Error::NoChartLayer { .. })));
}

#[test]
fn symlinks_inside_are_followed_and_escapes_refused() {
    use std::os::unix::fs::symlink;
    let tmp = super::support::Store::new();
    let dir = tmp.path().join("chart");
    chart_dir(&dir);
    write(&dir.join("shared/common.yaml"), "common: true\n");
    symlink("../shared/common.yaml", dir.join("templates/common.yaml")).unwrap();
    symlink("shared", dir.join("linked")).unwrap();
    let chart = package_chart(&dir).unwrap();
    let files = entries(&chart.archive);
    let get = |p: &str| files.iter().find(|e| e.0 == p).map(|e| e.6.clone());
    assert_eq!(get("web/templates/common.yaml").unwrap(), b"common: true\n");
    assert_eq!(get("web/linked/common.yaml").unwrap(), b"common: true\n");

    write(&tmp.path().join("outside.txt"), "secret\n");
    symlink("../outside.txt", dir.join("escape.txt")).unwrap();
    let err = package_chart(&dir).unwrap_err();
    assert!(err.to_string().contains("leaves the chart directory"), "{err}");
    std::fs::remove_file(dir.join("escape.txt")).unwrap();

    symlink("..", dir.join("shared/up")).unwrap();
    let err = package_chart(&dir).unwrap_err();
    assert!(err.to_string().contains("loops back"), "{err}");
}

#[test]
fn broken_charts_are_refused_with_their_path() {
    let tmp = super::support::Store::new();
    let dir = tmp.path();
    let err = package_chart(dir).unwrap_err();
    assert!(err.to_string().contains("Chart.yaml is missing"), "{err}");

    write(&dir.join("Chart.yaml"), "apiVersion: v2\nname: ../x\nversion: 1.0.0\n");
    let err = package_chart(dir).unwrap_err();
    assert!(matches!(&err, Error::InvalidChart { path, .. } if path.ends_with("Chart.yaml")), "{err}");
    assert!(err.to_string().contains("chart name"), "{err}");

    for (yaml, want) in [
        ("name: x\nversion: 1.0.0\n", "apiVersion is required"),
        ("apiVersion: v2\nname: x\n", "chart version"),
        ("apiVersion: v2\nname: x\nversion: 1.0.0\ntype: plugin\n", "type \"plugin\""),
        (
            "apiVersion: v2\nname: x\nversion: 1.0.0\ndependencies:\n  - repository: r\n",
            "dependency has no name",
        ),
        ("apiVersion: v2\nname: [x\n", "invalid chart metadata"),
    ] {
        write(&dir.join("Chart.yaml"), yaml);
        let err = package_chart(dir).unwrap_err().to_string();
        assert!(err.contains(want), "{yaml:?}: {err}");
    }

    write(&dir.join("Chart.yaml"), "apiVersion: v2\nname: x\nversion: 1.0.0\n");
    write(&dir.join(".helmignore"), "ok\n[bad\n");
    let err = package_chart(dir).unwrap_err();
    assert!(matches!(&err, Error::HelmIgnore { line: 2, .. }), "{err}");
    assert!(err.to_string().contains(".helmignore:2"), "{err}");

    write(&dir.join(".helmignore"), "Chart.yaml\n");
    let err = package_chart(dir).unwrap_err();
    assert!(err.to_string().contains("excluded by .helmignore"), "{err}");
    assert!(package_chart(Path::new("/nonexistent/chart")).is_err());
}
