//! Fixture images and charts: reproducible, self-consistent OCI layouts
//! (digests, sizes, diff_ids, media types), the rewritten components and
//! templates manifests, the shared base layer, the Helm chart as `helm push`
//! publishes it and the local chart source.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use xtask::fixtures::{self, FixtureBlob, FixtureImage, FixtureOptions, FixtureSummary, Shape};
use xtask::mirror::Mirror;

use crate::client::{get, request};

const SCALE: u64 = 1000;

const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

pub fn generate(dir: &Path) -> FixtureSummary {
    let mut opts = FixtureOptions::new(dir);
    opts.scale = Some(SCALE);
    fixtures::generate(&opts).unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The layout directory of `repository`.
pub fn layout(root: &Path, repository: &str) -> PathBuf {
    root.join("registry").join(repository)
}

/// The bytes of `blob` in `repository`, checked against its digest and size.
pub fn blob(root: &Path, repository: &str, blob: &FixtureBlob) -> Vec<u8> {
    let hex = blob.digest.strip_prefix("sha256:").unwrap();
    let bytes = std::fs::read(layout(root, repository).join("blobs/sha256").join(hex)).unwrap();
    assert_eq!(sha256(&bytes), blob.digest, "{repository} {}", blob.digest);
    assert_eq!(bytes.len() as u64, blob.size);
    bytes
}

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// The real components manifest the fixtures derive from.
fn real_components() -> Value {
    let text = fixtures::EMBEDDED_FILES.iter().find(|(n, _)| *n == "components.json").unwrap().1;
    serde_json::from_str(text).unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

/// `(path, content)` of every regular file in a tar archive, in order.
fn untar(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(bytes);
    let mut files = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            files.push((entry.path().unwrap().display().to_string(), data));
        }
    }
    files
}

#[test]
fn images_and_charts_are_reproducible_to_the_byte() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (sa, sb) = (generate(a.path()), generate(b.path()));
    assert_eq!(sa.images, sb.images);
    assert_eq!(sa.charts, sb.charts);
    assert_eq!(tree(&a.path().join("registry")), tree(&b.path().join("registry")));
    assert_eq!(tree(&a.path().join("local/charts")), tree(&b.path().join("local/charts")));
    // Regenerating in place removes nothing it needs and keeps nothing stale.
    std::fs::write(layout(a.path(), "quay.io/cilium/cilium").join("blobs/sha256/stale"), b"x").unwrap();
    assert_eq!(generate(a.path()).images, sa.images);
    assert_eq!(tree(&a.path().join("registry")), tree(&b.path().join("registry")));
}

#[test]
fn components_json_describes_the_synthetic_images() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    let real = real_components();
    let real_images = real["components"]["images"].as_array().unwrap();
    let published = json(&dir.path().join("manifests/components.json"));
    let images = published["components"]["images"].as_array().unwrap();
    assert_eq!(published["components"]["version"], "fixture-1");
    assert_eq!(images.len(), real_images.len());
    assert_eq!(summary.images.len(), images.len());

    for ((entry, real), image) in images.iter().zip(real_images).zip(&summary.images) {
        let what = format!("{} {}", real["image"], real["platform"]);
        assert_eq!(entry["image"], image.reference.as_str(), "{what}");
        assert_eq!(entry["digest"], image.manifest.digest.as_str(), "{what}");
        assert_eq!(entry["index"], image.index.digest.as_str(), "{what}");
        assert_eq!(entry["platform"], real["platform"], "{what}");
        // size = manifest + config + layers, as stored.
        let root = dir.path();
        let stored: u64 = [&image.manifest, &image.config]
            .into_iter()
            .chain(&image.layers)
            .map(|b| blob(root, &image.repository, b).len() as u64)
            .sum();
        assert_eq!(entry["size"].as_u64().unwrap(), stored, "{what}");
        assert_eq!(image.size, stored);
        // Everything else is kept as it was.
        for key in ["component", "providers", "addon"] {
            assert_eq!(entry.get(key), real.get(key), "{what} {key}");
        }
        // References keep their names; only a pinned digest changes, to the synthetic index.
        let real_ref = real["image"].as_str().unwrap();
        match real_ref.split_once('@') {
            Some((name, _)) => assert_eq!(image.reference, format!("{name}@{}", image.index.digest)),
            None => assert_eq!(image.reference, real_ref),
        }
        assert_eq!(image.platform, real["platform"].as_str().unwrap());
    }
    let pinned = summary.images.iter().filter(|i| i.reference.contains('@')).count();
    assert_eq!(pinned, 4, "cilium and operator-generic, two platforms each");
    let traefik = summary.images.iter().find(|i| i.component.as_deref() == Some("traefik")).unwrap();
    assert_eq!(
        (traefik.reference.as_str(), traefik.repository.as_str()),
        ("docker.io/traefik:v3.4.3", "docker.io/library/traefik")
    );
}

#[test]
fn docker_hub_images_use_docker_media_types_and_the_others_oci() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    let (mut docker, mut oci) = (0, 0);
    for image in &summary.images {
        let (index_type, manifest_type) = if image.repository.starts_with("docker.io/") {
            docker += 1;
            (DOCKER_LIST, DOCKER_MANIFEST)
        } else {
            oci += 1;
            (OCI_INDEX, OCI_MANIFEST)
        };
        assert_eq!(image.index.media_type, index_type, "{}", image.reference);
        assert_eq!(image.manifest.media_type, manifest_type, "{}", image.reference);
        let index: Value =
            serde_json::from_slice(&blob(dir.path(), &image.repository, &image.index)).unwrap();
        let manifest: Value =
            serde_json::from_slice(&blob(dir.path(), &image.repository, &image.manifest)).unwrap();
        assert_eq!(index["mediaType"], index_type);
        assert_eq!(manifest["mediaType"], manifest_type);
        assert_eq!(manifest["config"]["mediaType"], image.config.media_type.as_str());
        for (layer, described) in image.layers.iter().zip(manifest["layers"].as_array().unwrap()) {
            assert_eq!(described["mediaType"], layer.media_type.as_str());
            assert_eq!(described["digest"], layer.digest.as_str());
            assert!(layer.media_type.ends_with("tar.gzip") || layer.media_type.ends_with("tar+gzip"));
        }
    }
    assert!(docker >= 6 && oci >= 6, "both kinds present: {docker} docker, {oci} oci");
}

#[test]
fn layers_are_tar_gzip_whose_digests_are_the_config_diff_ids() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    for image in &summary.images {
        let config: Value =
            serde_json::from_slice(&blob(dir.path(), &image.repository, &image.config)).unwrap();
        let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
        assert_eq!(config["rootfs"]["type"], "layers");
        assert_eq!(diff_ids.len(), image.layers.len());
        let mut platform = vec![config["os"].as_str().unwrap(), config["architecture"].as_str().unwrap()];
        platform.extend(config["variant"].as_str());
        assert_eq!(platform.join("/"), image.platform, "{}", image.reference);
        assert!(config["config"]["Env"][0].as_str().unwrap().starts_with("PATH="));
        for (layer, diff_id) in image.layers.iter().zip(diff_ids) {
            let tar = gunzip(&blob(dir.path(), &image.repository, layer));
            assert_eq!(sha256(&tar), diff_id.as_str().unwrap(), "{}", image.reference);
            assert_ne!(sha256(&tar), layer.digest, "compressed and uncompressed digests differ");
            let files = untar(&tar);
            assert!(!files.is_empty());
            assert!(layer.size >= 512, "at least a few hundred bytes: {}", layer.size);
        }
    }
}

#[test]
fn image_sizes_are_the_real_ones_scaled() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    for (image, real) in
        summary.images.iter().zip(real_components()["components"]["images"].as_array().unwrap())
    {
        let want = real["size"].as_u64().unwrap() / SCALE;
        let got = image.size;
        // Tiny images cannot shrink below three layers' tar headers and padding.
        let floor = 24 << 10;
        assert!(
            got >= want * 9 / 10 && got <= (want * 11 / 10).max(floor),
            "{}: {got} for {want}",
            image.reference
        );
    }
}

#[test]
fn repositories_of_one_namespace_share_their_base_layer_per_platform() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    let by_platform = |repo: &str| -> BTreeMap<String, FixtureImage> {
        summary.images_of(repo).map(|i| (i.platform.clone(), i.clone())).collect()
    };
    let (cilium, operator) =
        (by_platform("quay.io/cilium/cilium"), by_platform("quay.io/cilium/operator-generic"));
    assert_eq!(cilium.keys().collect::<Vec<_>>(), ["linux/amd64", "linux/arm64"]);
    for (platform, image) in &cilium {
        let other = &operator[platform];
        assert_eq!(image.layers[0], other.layers[0], "{platform}: shared base layer");
        assert_ne!(image.layers[1], other.layers[1]);
        // The shared blob is stored in both layouts.
        blob(dir.path(), "quay.io/cilium/cilium", &image.layers[0]);
        blob(dir.path(), "quay.io/cilium/operator-generic", &other.layers[0]);
    }
    assert_ne!(cilium["linux/amd64"].layers[0], cilium["linux/arm64"].layers[0]);
    let jetstack = summary.images_of("quay.io/jetstack/cert-manager-controller").next().unwrap();
    assert!(cilium.values().all(|c| c.layers[0] != jetstack.layers[0]), "other namespaces do not share");
}

#[test]
fn each_tag_points_at_an_index_of_its_platforms() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    for (repository, tag) in summary.repository_tags() {
        let root = layout(dir.path(), &repository);
        assert_eq!(
            std::fs::read_to_string(root.join("oci-layout")).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
        let index = json(&root.join("index.json"));
        let tagged: Vec<&Value> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag.as_str())
            .collect();
        assert_eq!(tagged.len(), 1, "{repository}:{tag}");
        let images: Vec<&FixtureImage> = summary.images_of(&repository).filter(|i| i.tag == tag).collect();
        if images.is_empty() {
            continue; // a chart: checked below
        }
        assert_eq!(tagged[0]["digest"], images[0].index.digest.as_str());
        assert_eq!(tagged[0]["mediaType"], images[0].index.media_type.as_str());
        let list: Value = serde_json::from_slice(&blob(dir.path(), &repository, &images[0].index)).unwrap();
        let listed: Vec<(String, String)> = list["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let p = &d["platform"];
                let mut platform =
                    format!("{}/{}", p["os"].as_str().unwrap(), p["architecture"].as_str().unwrap());
                if let Some(v) = p["variant"].as_str() {
                    platform = format!("{platform}/{v}");
                }
                (platform, d["digest"].as_str().unwrap().to_owned())
            })
            .collect();
        let want: Vec<(String, String)> =
            images.iter().map(|i| (i.platform.clone(), i.manifest.digest.clone())).collect();
        assert_eq!(listed, want, "{repository}:{tag}");
    }
    assert!(summary.images.iter().any(|i| i.platform == "linux/arm64/v8"), "variants are kept");
}

#[test]
fn the_chart_is_published_like_helm_push() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    let [chart] = summary.charts.as_slice() else { panic!("one chart") };
    assert_eq!(
        (chart.repository.as_str(), chart.tag.as_str()),
        ("ghcr.io/podplane/charts/web", "1.2.0_fixture")
    );
    let manifest: Value =
        serde_json::from_slice(&blob(dir.path(), &chart.repository, &chart.manifest)).unwrap();
    assert_eq!(manifest["mediaType"], OCI_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    assert_eq!(manifest["config"]["digest"], chart.config.digest.as_str());
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    assert_eq!(manifest["layers"][0]["digest"], chart.layer.digest.as_str());
    assert_eq!(manifest["annotations"]["org.opencontainers.image.version"], "1.2.0+fixture");

    let metadata: Value =
        serde_json::from_slice(&blob(dir.path(), &chart.repository, &chart.config)).unwrap();
    assert_eq!(
        (metadata["name"].as_str(), metadata["version"].as_str()),
        (Some("web"), Some("1.2.0+fixture"))
    );
    assert_eq!(metadata["apiVersion"], "v2");

    let files = untar(&gunzip(&blob(dir.path(), &chart.repository, &chart.layer)));
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["web/Chart.yaml", "web/values.yaml", "web/templates/deployment.yaml"]);
    let chart_yaml = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(
        chart_yaml.contains("name: web\n") && chart_yaml.contains("version: 1.2.0+fixture\n"),
        "{chart_yaml}"
    );

    let index = json(&layout(dir.path(), &chart.repository).join("index.json"));
    assert_eq!(index["manifests"][0]["digest"], chart.manifest.digest.as_str());
    assert_eq!(index["manifests"][0]["mediaType"], OCI_MANIFEST);
}

#[test]
fn the_local_chart_source_and_its_templates_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    let local = dir.path().join(&summary.charts[0].local_path);
    assert_eq!(local, dir.path().join("local/charts/web"));
    for file in ["Chart.yaml", "values.yaml", "templates/deployment.yaml", ".helmignore", "notes.tmp"] {
        assert!(local.join(file).is_file(), "{file}");
    }
    assert!(std::fs::read_to_string(local.join(".helmignore")).unwrap().lines().any(|l| l == "*.tmp"));
    let packaged = untar(&gunzip(&blob(dir.path(), &summary.charts[0].repository, &summary.charts[0].layer)));
    for (path, data) in packaged {
        let rel = path.strip_prefix("web/").unwrap();
        assert_eq!(std::fs::read(local.join(rel)).unwrap(), data, "{rel} is the same chart");
    }
    let templates = json(&dir.path().join("local/templates.json"));
    assert_eq!(
        templates,
        serde_json::json!({"templates": {"version": "fixture-1", "charts": [{
            "name": "web",
            "version": "1.2.0+fixture",
            "type": "chart",
            "path": "charts/web",
            "dependencies": {"components": ["traefik"]},
        }]}})
    );
}

#[test]
fn components_and_templates_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    for (name, file) in
        [("components", "manifests/components.json"), ("templates", "manifests/templates.json")]
    {
        insta::assert_snapshot!(name, std::fs::read_to_string(dir.path().join(file)).unwrap());
    }
}

#[test]
fn current_vmconfig_and_template_images_are_stored_like_component_images() {
    let dir = tempfile::tempdir().unwrap();
    let summary = crate::fixtures::generate_current(dir.path());
    let root = dir.path();
    let mut entries: Vec<(Value, &FixtureImage)> = Vec::new();
    for (arch, n) in [("arm64", 1), ("amd64", 1)] {
        let doc = json(&root.join("manifests").join(fixtures::vmconfig_manifest_file(arch)));
        let listed = doc["vmconfig"]["images"].as_array().unwrap().clone();
        let served: Vec<&FixtureImage> = summary.vmconfig_images_of(arch).collect();
        assert_eq!((listed.len(), served.len()), (n, n), "{arch}: the pause image");
        assert_eq!(served[0].reference, "registry.k8s.io/pause:3.10.2");
        assert_eq!(served[0].platform, format!("linux/{arch}"));
        entries.extend(listed.into_iter().zip(served));
    }
    let templates = json(&root.join("manifests/templates.json"));
    let listed = templates["templates"]["images"].as_array().unwrap();
    assert_eq!(listed.len(), 4, "two images, two platforms each");
    assert_eq!(summary.template_images.len(), 4);
    let keys: Vec<&str> = listed.iter().map(|e| e["templates"]["web"].as_str().unwrap()).collect();
    assert_eq!(keys, ["caddy", "caddy", "app", "app"]);
    entries.extend(listed.iter().cloned().zip(&summary.template_images));
    for (entry, image) in &entries {
        assert_eq!(entry["image"], image.reference.as_str());
        assert_eq!(entry["digest"], image.manifest.digest.as_str());
        assert_eq!(entry["index"], image.index.digest.as_str());
        assert_eq!(entry["platform"], image.platform.as_str());
        let stored: u64 = [&image.manifest, &image.config]
            .into_iter()
            .chain(&image.layers)
            .map(|b| blob(root, &image.repository, b).len() as u64)
            .sum();
        assert_eq!(entry["size"].as_u64().unwrap(), stored, "{}", image.reference);
    }
    // One index per tag serves every manifest listing the image.
    let pause: Vec<&FixtureImage> = summary.vmconfig_images.iter().collect();
    assert_eq!(pause[0].index, pause[1].index);
    let list: Value = serde_json::from_slice(&blob(root, &pause[0].repository, &pause[0].index)).unwrap();
    assert_eq!(list["manifests"].as_array().unwrap().len(), 2);
    for image in &summary.template_images {
        let same = |c: &&FixtureImage| c.reference == image.reference && c.platform == image.platform;
        let component = summary.images.iter().find(same).unwrap();
        assert_eq!(
            (&component.index, &component.manifest, &component.config, &component.layers),
            (&image.index, &image.manifest, &image.config, &image.layers),
            "the template image {} is the component image of that reference",
            image.reference
        );
    }
    assert!(summary.repository_tags().contains(&("registry.k8s.io/pause".to_owned(), "3.10.2".to_owned())));
}

#[tokio::test]
async fn the_mirror_serves_current_fixtures_images_through_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mirror");
    let mirror = Mirror::start_with_fixtures_shape(root.clone(), SCALE, Shape::Current).await.unwrap();
    let summary = FixtureSummary::read(&root).unwrap();
    let base = mirror.base_url();
    for image in summary.vmconfig_images.iter().chain(&summary.template_images) {
        let repo = &image.repository;
        let reply =
            get(&base, &format!("/token?service=deps-fake-mirror&scope=repository:{repo}:pull")).await;
        let token: Value = serde_json::from_slice(&reply.body).unwrap();
        let auth = format!("Bearer {}", token["token"].as_str().unwrap());
        let path = format!("/v2/{repo}/manifests/{}", image.manifest.digest);
        let reply = request(&base, "GET", &path, &[("Authorization", &auth), ("Accept", ACCEPT)]).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(sha256(&reply.body), image.manifest.digest);
        let layer = &image.layers[0];
        let reply =
            request(&base, "GET", &format!("/v2/{repo}/blobs/{}", layer.digest), &[("Authorization", &auth)])
                .await;
        assert_eq!((reply.status, sha256(&reply.body)), (200, layer.digest.clone()), "{repo}");
    }
}
