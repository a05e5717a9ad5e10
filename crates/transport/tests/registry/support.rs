//! A tiny registry written as OCI layouts under a temp mirror root, the
//! mirror serving it, and clients with millisecond retries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use deps_manifest::Digest;
use deps_transport::{ClientConfig, HttpClient, RegistryClient, RegistryConfig, RetryPolicy};
use serde_json::{Value, json};
use xtask::mirror::{Mirror, RequestRecord};

pub use deps_manifest::media::{DOCKER_MANIFEST_V2 as DOCKER_MANIFEST, OCI_IMAGE_MANIFEST as OCI_MANIFEST};

/// One image written into the registry.
pub struct Image {
    /// The registry host (`docker.io`).
    pub registry: String,
    /// The repository (`library/caddy`).
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The manifest bytes.
    pub manifest: Vec<u8>,
    /// Their digest.
    pub digest: Digest,
    /// The manifest media type.
    pub media_type: String,
    /// The one layer's bytes.
    pub layer: Vec<u8>,
    /// The layer's digest.
    pub layer_digest: Digest,
}

impl Image {
    /// The mirror's URL path of this image's manifest `reference`.
    pub fn manifest_path(&self, reference: &str) -> String {
        format!("/v2/{}/{}/manifests/{reference}", self.registry, self.repository)
    }

    /// The mirror's URL path of the layer.
    pub fn layer_path(&self) -> String {
        format!("/v2/{}/{}/blobs/{}", self.registry, self.repository, self.layer_digest)
    }
}

/// A mirror over a temp directory.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub mirror: Mirror,
}

impl Env {
    /// Writes `images` (registry, repository, tag, Docker types?) and starts the mirror.
    pub async fn new(images: &[(&str, &str, &str, bool)]) -> (Env, Vec<Image>) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mirror");
        std::fs::create_dir_all(&root).unwrap();
        let written = images
            .iter()
            .enumerate()
            .map(|(i, (registry, repository, tag, docker))| {
                write_image(&root, registry, repository, tag, *docker, 96 * 1024 + i * 1000)
            })
            .collect();
        let mirror = Mirror::start(root).await.unwrap();
        (Env { dir, mirror }, written)
    }

    /// The default test setup: caddy (Docker types) and cilium (OCI types).
    pub async fn standard() -> (Env, Vec<Image>) {
        Env::new(&[("docker.io", "library/caddy", "2", true), ("quay.io", "cilium/cilium", "v1.16.3", false)])
            .await
    }

    /// A registry config through this mirror with fast retries and no Docker config.
    pub fn config(&self) -> RegistryConfig {
        RegistryConfig {
            mirror: Some(self.mirror.base_url()),
            insecure_hosts: Vec::new(),
            docker_config: None,
            manifest_policy: fast(3),
            blob_policy: fast(5),
        }
    }

    /// A client of this mirror.
    pub fn client(&self) -> RegistryClient {
        self.client_with(self.config())
    }

    /// A client with `config`.
    pub fn client_with(&self, config: RegistryConfig) -> RegistryClient {
        RegistryClient::new(HttpClient::new(&ClientConfig::default()).unwrap(), config)
    }

    /// Tags `manifest` (an OCI manifest) as `tag` in `image`'s repository.
    pub fn tag_manifest(&self, image: &Image, manifest: &[u8], tag: &str) {
        let repo = self.dir.path().join("mirror").join(xtask::fixtures::REGISTRY_DIR);
        let repo = repo.join(&image.registry).join(&image.repository);
        tag_manifest(&repo, OCI_MANIFEST, manifest, tag);
    }

    /// A destination path in the temp dir.
    pub fn dest(&self, name: &str) -> PathBuf {
        self.dir.path().join("out").join(name)
    }

    /// Writes a Docker config with `auths` and returns its path.
    pub fn docker_config(&self, auths: Value) -> PathBuf {
        let path = self.dir.path().join("docker").join("config.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_vec(&json!({ "auths": auths })).unwrap()).unwrap();
        path
    }

    /// Logged requests whose path starts with `prefix`.
    pub fn requests_under(&self, prefix: &str) -> Vec<RequestRecord> {
        self.mirror.requests().into_iter().filter(|r| r.path.starts_with(prefix)).collect()
    }
}

/// Retries after a millisecond.
pub fn fast(retries: u32) -> RetryPolicy {
    RetryPolicy::manifest().with_max_retries(retries).with_base(Duration::from_millis(1))
}

/// The sha256 digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest {
    deps_store::digest_bytes(deps_manifest::DigestAlgo::Sha256, bytes)
}

/// Writes a one-layer image into `<root>/registry/<registry>/<repository>` tagged `tag`.
fn write_image(
    root: &Path,
    registry: &str,
    repository: &str,
    tag: &str,
    docker: bool,
    layer_len: usize,
) -> Image {
    let repo = root.join(xtask::fixtures::REGISTRY_DIR).join(registry).join(repository);
    let layer: Vec<u8> =
        (0..layer_len).map(|i| ((i as u64).wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let (media_type, config_type, layer_type) = if docker {
        (
            DOCKER_MANIFEST,
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    } else {
        (
            OCI_MANIFEST,
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    };
    let manifest = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": sha256(&config).to_string(), "size": config.len()},
        "layers": [{"mediaType": layer_type, "digest": sha256(&layer).to_string(), "size": layer.len()}],
    }))
    .unwrap();
    for blob in [&layer, &config] {
        put_blob(&repo, blob);
    }
    tag_manifest(&repo, media_type, &manifest, tag);
    Image {
        registry: registry.to_owned(),
        repository: repository.to_owned(),
        tag: tag.to_owned(),
        digest: sha256(&manifest),
        media_type: media_type.to_owned(),
        layer_digest: sha256(&layer),
        manifest,
        layer,
    }
}

/// Stores `bytes` as a blob of the layout `repo`.
fn put_blob(repo: &Path, bytes: &[u8]) {
    let path = repo.join("blobs/sha256").join(sha256(bytes).hex());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Stores `manifest` in the layout `repo` and tags it `tag` in `index.json`.
fn tag_manifest(repo: &Path, media_type: &str, manifest: &[u8], tag: &str) {
    put_blob(repo, manifest);
    let index_path = repo.join("index.json");
    let mut index: Value = std::fs::read(&index_path)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_else(|_| json!({"schemaVersion": 2, "manifests": []}));
    index["manifests"].as_array_mut().unwrap().push(json!({
        "mediaType": media_type,
        "digest": sha256(manifest).to_string(),
        "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }));
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(repo.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}
