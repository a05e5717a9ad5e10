//! Real consumers read what we write: `skopeo` and `umoci` the layouts, `tar` the chart archives
//! (and `oci-image-tool validate` every layout a test leaves, from `support::Store`).
//!
//! Each test is skipped, with a note on stderr, when its tool is not on PATH,
//! and fails instead when `DEPS_REQUIRE_TOOLS` is set (as CI, which installs them, does).

use std::process::Command;

use super::support::{chart_dir, put_docker_image, put_image, record_unpinned};
use deps_oci::{RepoLayout, package_chart, store_chart};

/// Whether `tool` runs; prints a skip note when it does not (or fails, when tools are required).
fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("DEPS_REQUIRE_TOOLS").is_none(),
            "{tool} is required (DEPS_REQUIRE_TOOLS is set)"
        );
        eprintln!("note: {tool} not found on PATH; skipping the test that needs it");
    }
    found
}

/// Runs a command and returns its stdout, failing the test with its stderr otherwise.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn oci_ref(layout: &RepoLayout, tag: &str) -> String {
    format!("oci:{}:{tag}", layout.dir().display())
}

#[test]
fn skopeo_reads_a_two_platform_tag() {
    if !have("skopeo") {
        return;
    }
    let tmp = super::support::Store::new();
    let layout = RepoLayout::open(tmp.path(), "docker.io/library/hello").unwrap();
    let amd = put_image(&layout, "s", "linux/amd64");
    let arm = put_image(&layout, "s", "linux/arm64/v8");
    record_unpinned(&layout, "2", &amd);
    record_unpinned(&layout, "2", &arm);
    let skopeo = || {
        let mut cmd = Command::new("skopeo");
        cmd.args(["--insecure-policy", "--override-os", "linux"]);
        cmd
    };

    let tagged = layout.read_index().unwrap().tagged("2").unwrap().clone();
    for (arch, image) in [("amd64", &amd), ("arm64", &arm)] {
        let json = run(skopeo().args(["--override-arch", arch, "inspect", &oci_ref(&layout, "2")]));
        let inspect: serde_json::Value = serde_json::from_str(&json).unwrap();
        // skopeo reports the digest of what the tag names (our tag index), and the chosen platform's image.
        assert_eq!(inspect["Digest"], tagged.digest.to_string(), "{json}");
        assert_eq!(inspect["Architecture"], arch, "{json}");
        assert_eq!(inspect["Layers"][0], image.layer.digest.to_string(), "{json}");
    }
    let raw = run(skopeo().args(["inspect", "--raw", &oci_ref(&layout, "2")]));
    assert_eq!(raw.as_bytes(), layout.read_blob(&tagged.digest).unwrap(), "the tag index, byte for byte");

    // A full copy out of the layout reads and verifies every blob.
    let out = tmp.path().join("copy");
    run(skopeo()
        .args(["--override-arch", "arm64", "copy", "--quiet", &oci_ref(&layout, "2")])
        .arg(format!("dir:{}", out.display())));
    assert!(out.join(arm.layer.digest.hex()).is_file());
}

#[test]
fn skopeo_reads_docker_schema2_manifests_under_our_oci_tag_index() {
    if !have("skopeo") {
        return;
    }
    let tmp = super::support::Store::new();
    let layout = RepoLayout::open(tmp.path(), "docker.io/library/caddy").unwrap();
    let arm = put_docker_image(&layout, "d", "linux/arm64/v8");
    record_unpinned(&layout, "2", &arm);
    let out = tmp.path().join("copy");
    run(Command::new("skopeo")
        .args([
            "--insecure-policy",
            "--override-arch",
            "arm64",
            "--override-variant",
            "v8",
            "copy",
            "--quiet",
        ])
        .arg(oci_ref(&layout, "2"))
        .arg(format!("dir:{}", out.display())));
    assert!(out.join(arm.layer.digest.hex()).is_file());
    assert!(layout.verify_image(Some("2"), &arm.manifest.digest, None).unwrap().is_empty());
}

#[test]
fn umoci_lists_tags_and_unpacks_a_platform_image() {
    if !have("umoci") {
        return;
    }
    let tmp = super::support::Store::new();
    let layout = RepoLayout::open(tmp.path(), "ghcr.io/podplane/hello").unwrap();
    let amd = put_image(&layout, "u", "linux/amd64");
    record_unpinned(&layout, "latest", &amd);
    layout.tag_manifest("amd64", &amd.manifest).unwrap();
    let tags = run(Command::new("umoci").args(["ls", "--layout"]).arg(layout.dir()));
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort_unstable();
    assert_eq!(tags, ["amd64", "latest"]);
    let bundle = tmp.path().join("bundle");
    run(Command::new("umoci")
        .args(["raw", "unpack", "--rootless", "--image"])
        .arg(format!("{}:amd64", layout.dir().display()))
        .arg(&bundle));
    let hello = std::fs::read_to_string(bundle.join("hello.txt")).unwrap();
    assert!(hello.starts_with("hello from u"), "{hello}");
}

#[test]
fn tar_lists_the_chart_archive_and_skopeo_reads_the_chart() {
    let tmp = super::support::Store::new();
    let dir = tmp.path().join("web");
    chart_dir(&dir);
    let chart = package_chart(&dir).unwrap();
    if have("tar") {
        let tgz = tmp.path().join(chart.file_name());
        std::fs::write(&tgz, &chart.archive).unwrap();
        let listing = run(Command::new("tar").arg("-tzf").arg(&tgz));
        assert_eq!(listing.lines().collect::<Vec<_>>(), chart.entries);
        let out = tmp.path().join("unpacked");
        std::fs::create_dir(&out).unwrap();
        run(Command::new("tar").arg("-xzf").arg(&tgz).arg("-C").arg(&out));
        assert_eq!(
            std::fs::read(out.join("web/Chart.yaml")).unwrap(),
            std::fs::read(dir.join("Chart.yaml")).unwrap()
        );
        assert!(!out.join("web/secret").exists() && !out.join("web/templates/notes.tmp").exists());
    }
    if have("skopeo") {
        let layout = RepoLayout::open(&tmp.path().join("charts"), "podplane.local/templates/web").unwrap();
        let stored = store_chart(&layout, &chart).unwrap();
        let raw = run(Command::new("skopeo").args([
            "--insecure-policy",
            "inspect",
            "--raw",
            &oci_ref(&layout, &stored.tag),
        ]));
        assert_eq!(raw.as_bytes(), layout.read_blob(&stored.manifest_digest).unwrap());
        let out = tmp.path().join("chart-copy");
        run(Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--quiet", &oci_ref(&layout, &stored.tag)])
            .arg(format!("dir:{}", out.display())));
        assert_eq!(std::fs::read(out.join(chart.archive_digest.hex())).unwrap(), chart.archive);
    }
}
