//! Builders for the scenario tests: real (tiny) images and chart directories.

use std::io::Write as _;
use std::path::Path;

use flate2::{Compression, GzBuilder};

use deps_oci::media::{
    DOCKER_IMAGE_CONFIG, DOCKER_MANIFEST_V2, OCI_IMAGE_CONFIG, OCI_IMAGE_MANIFEST, OCI_LAYER_TAR_GZIP,
};

/// Docker's gzip'd layer media type.
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
use deps_oci::{Descriptor, Platform, RepoLayout, sha256};

/// A tiny but valid single-layer image whose blobs are in a layout.
#[derive(Debug, Clone)]
pub struct TestImage {
    /// The platform manifest's descriptor, with its platform.
    pub manifest: Descriptor,
    /// The config blob.
    pub config: Descriptor,
    /// The one layer.
    pub layer: Descriptor,
}

/// A gzip'd tar holding `hello.txt` with `text`; returns (compressed, uncompressed).
fn layer_bytes(text: &str) -> (Vec<u8>, Vec<u8>) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_mode(0o644);
    header.set_size(text.len() as u64);
    header.set_mtime(0);
    tar.append_data(&mut header, "hello.txt", text.as_bytes()).unwrap();
    let raw = tar.into_inner().unwrap();
    let mut gz = GzBuilder::new().mtime(0).write(Vec::new(), Compression::fast());
    gz.write_all(&raw).unwrap();
    (gz.finish().unwrap(), raw)
}

/// Writes a valid OCI image for `platform` (content varies with `seed`) into `layout`'s blobs.
pub fn put_image(layout: &RepoLayout, seed: &str, platform: &str) -> TestImage {
    put_typed_image(layout, seed, platform, [OCI_IMAGE_MANIFEST, OCI_IMAGE_CONFIG, OCI_LAYER_TAR_GZIP])
}

/// [`put_image`] with Docker schema 2 media types, as Docker Hub serves most images.
pub fn put_docker_image(layout: &RepoLayout, seed: &str, platform: &str) -> TestImage {
    put_typed_image(layout, seed, platform, [DOCKER_MANIFEST_V2, DOCKER_IMAGE_CONFIG, DOCKER_LAYER])
}

/// Writes a valid image with the given (manifest, config, layer) media types.
fn put_typed_image(layout: &RepoLayout, seed: &str, platform: &str, types: [&str; 3]) -> TestImage {
    let [manifest_type, config_type, layer_type] = types;
    let platform = Platform::parse(platform).unwrap();
    let (layer, raw) = layer_bytes(&format!("hello from {seed} on {platform}\n"));
    let layer = (Descriptor::new(layer_type, sha256(&layer), layer.len() as u64), layer);
    let variant = platform.variant.as_deref().map(|v| format!(r#","variant":"{v}""#)).unwrap_or_default();
    let config = format!(
        r#"{{"architecture":"{}","os":"{}"{variant},"config":{{"Cmd":["/hello"]}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        platform.architecture,
        platform.os,
        sha256(&raw)
    );
    let config = (Descriptor::new(config_type, sha256(config.as_bytes()), config.len() as u64), config);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{manifest_type}","config":{},"layers":[{}]}}"#,
        serde_json::to_string(&config.0).unwrap(),
        serde_json::to_string(&layer.0).unwrap()
    );
    let descriptor = Descriptor::new(manifest_type, sha256(manifest.as_bytes()), manifest.len() as u64)
        .with_platform(platform);
    layout.put_blob(&layer.0.digest, &layer.1).unwrap();
    layout.put_blob(&config.0.digest, config.1.as_bytes()).unwrap();
    layout.put_blob(&descriptor.digest, manifest.as_bytes()).unwrap();
    TestImage { manifest: descriptor, config: config.0, layer: layer.0 }
}

/// Pulls `image` the way the manager does for an unpinned tag: untagged descriptor, then tag index.
pub fn record_unpinned(layout: &RepoLayout, tag: &str, image: &TestImage) {
    layout.record_platform_manifest(&image.manifest).unwrap();
    layout.tag_platform(tag, &image.manifest).unwrap();
}

/// Writes a file, creating its parent directories.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small chart directory with files `.helmignore` leaves out.
pub fn chart_dir(dir: &Path) {
    write(
        &dir.join("Chart.yaml"),
        "apiVersion: v2\nname: web\ndescription: The <web> tier & more\nversion: 1.2.0+build.1\nappVersion: \"2.7\"\n\
         type: application\nkeywords: [web, caddy]\nhome: https://example.test/web\n\
         sources:\n  - https://example.test/src\nmaintainers:\n  - name: Ops\n    email: ops@example.test\n\
         annotations:\n  podplane.dev/tier: edge\n  org.opencontainers.image.title: ignored\n\
         dependencies:\n  - name: common\n    version: 1.x.x\n    repository: oci://example.test/charts\n    \
         import-values: [defaults]\n",
    );
    write(&dir.join("values.yaml"), "\u{feff}replicas: 1\n");
    write(
        &dir.join("templates/deployment.yaml"),
        "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
    );
    write(&dir.join("templates/_helpers.tpl"), "{{/* helpers */}}\n");
    write(&dir.join("templates/.editor-swap"), "junk\n");
    write(&dir.join("templates/notes.tmp"), "scratch\n");
    write(&dir.join("secret/key.pem"), "PRIVATE\n");
    write(&dir.join("files/secret"), "a file named secret is kept: secret/ matches directories only\n");
    write(&dir.join(".helmignore"), "# editor files\n*.tmp\nsecret/\n");
}

/// A temporary store root that, when the test ends without a panic, must pass zot's conformance check.
///
/// Tests that damage a layout on purpose say so with [`Store::damaged`].
pub struct Store {
    dir: tempfile::TempDir,
    damaged: bool,
}

impl Store {
    /// A new, empty store root.
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap(), damaged: false }
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// This test breaks the layout on purpose: skip the check at the end.
    pub fn damaged(&mut self) {
        self.damaged = true;
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if !self.damaged && !std::thread::panicking() {
            let violations = deps_oci::conformance::check_zot_store(self.dir.path());
            assert!(violations.is_empty(), "zot could not serve this store as it is: {violations:#?}");
            validate_with_oci_image_tool(self.dir.path());
        }
    }
}

/// Runs Debian's `oci-image-tool validate` on every image layout under `root`.
///
/// Its 1.0.0-rc1 (Debian's) predates tags that point at an image index, so it
/// cannot walk a layout by tag; instead every document is validated by its
/// type: `index.json` and every OCI index blob as `imageIndex`, every OCI
/// manifest as `manifest`, every OCI image config as `config` (Docker and Helm
/// media types are not its business). Skipped when the tool is not on PATH,
/// unless `DEPS_REQUIRE_TOOLS` is set (as in CI).
fn validate_with_oci_image_tool(root: &Path) {
    use deps_oci::media::{OCI_IMAGE_CONFIG, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST};
    use std::process::Command;
    let found = Command::new("oci-image-tool").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("DEPS_REQUIRE_TOOLS").is_none(),
            "oci-image-tool is required (DEPS_REQUIRE_TOOLS is set)"
        );
        return;
    }
    for layout in image_layouts(root) {
        let blob = |d: &serde_json::Value| {
            let (algo, hex) = d["digest"].as_str()?.split_once(':')?;
            Some(layout.join("blobs").join(algo).join(hex)).filter(|p| p.is_file())
        };
        let mut by_type: [(&str, Vec<std::path::PathBuf>); 3] = [
            ("imageIndex", vec![layout.join("index.json")]),
            ("manifest", Vec::new()),
            ("config", Vec::new()),
        ];
        let mut todo = vec![layout.join("index.json")];
        while let Some(path) = todo.pop() {
            let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            for d in doc["manifests"].as_array().into_iter().flatten() {
                let Some(file) = blob(d) else { continue };
                match d["mediaType"].as_str() {
                    Some(OCI_IMAGE_INDEX) => by_type[0].1.push(file.clone()),
                    Some(OCI_IMAGE_MANIFEST) => by_type[1].1.push(file.clone()),
                    _ => continue,
                }
                todo.push(file);
            }
            if doc["config"]["mediaType"] == OCI_IMAGE_CONFIG
                && let Some(file) = blob(&doc["config"])
            {
                by_type[2].1.push(file);
            }
        }
        for (kind, mut files) in by_type {
            files.sort();
            files.dedup();
            if files.is_empty() {
                continue;
            }
            let out = Command::new("oci-image-tool")
                .args(["validate", "--type", kind])
                .args(&files)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "oci-image-tool validate --type {kind} in {} failed: {}{}",
                layout.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Every directory under `root` holding an `index.json`.
fn image_layouts(root: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_owned()];
    while let Some(dir) = todo.pop() {
        if dir.join("index.json").is_file() {
            found.push(dir.clone());
        }
        for entry in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(entry.path());
            }
        }
    }
    found
}
