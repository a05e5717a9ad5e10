//! The test environment: a fixture mirror generated into a temp dir and served
//! on loopback, a fresh cache, and a manager with retry delays shrunk to
//! milliseconds.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deps_manager::{
    ClientConfig, DownloadEvent, DownloadOptions, HttpClient, Manager, RegistryClient, RegistryConfig,
    RetryPolicy,
};
use serde_json::Value;
use xtask::fixtures::{PLACEHOLDER_BASE_URL, Shape};
use xtask::mirror::Mirror;

/// Size divisor that keeps a whole fixture set around a megabyte.
pub const SCALE: u64 = 1000;

/// One test's mirror and cache.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub mirror: Mirror,
}

impl Env {
    /// Generates fixtures and starts the mirror.
    pub async fn new() -> Env {
        Self::with_scale(SCALE).await
    }

    /// Same, with a chosen size divisor.
    pub async fn with_scale(scale: u64) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mirror = Mirror::start_with_fixtures(dir.path().join("mirror"), scale).await.unwrap();
        Env { dir, mirror }
    }

    /// Fixtures in today's podplane shape (components lists, runtime images,
    /// per-arch kube binaries, unknown fields).
    pub async fn current() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mirror = Mirror::start_with_fixtures_shape(dir.path().join("mirror"), SCALE, Shape::Current)
            .await
            .unwrap();
        Env { dir, mirror }
    }

    /// A mirror manifest as the mirror serves it: the placeholder base URL rewritten to the mirror's.
    pub fn served_manifest(&self, file: &str) -> Value {
        let text = serde_json::to_string(&self.mirror_manifest(file)).unwrap();
        serde_json::from_str(&text.replace(PLACEHOLDER_BASE_URL, &self.mirror.base_url())).unwrap()
    }

    pub fn mirror_dir(&self) -> PathBuf {
        self.dir.path().join("mirror")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// A manager on this mirror and cache with fast retries; images and charts
    /// come through the mirror's registry.
    pub fn manager(&self) -> Manager {
        // The tests download arm64 and look for its files at the original paths.
        Manager::new(self.mirror.base_url(), self.cache_dir())
            .unwrap()
            .with_primary_arch("arm64")
            .with_retry_policies(fast(3), fast(5))
            .with_registry_config(self.registry_config())
    }

    /// Registry settings that pull through the mirror's registry with fast retries.
    pub fn registry_config(&self) -> RegistryConfig {
        RegistryConfig {
            mirror: Some(self.mirror.base_url()),
            manifest_policy: fast(3),
            blob_policy: fast(5),
            ..RegistryConfig::default()
        }
    }

    /// A registry client with [`Env::registry_config`].
    pub fn registry_client(&self) -> RegistryClient {
        let http = HttpClient::new(&ClientConfig::default()).unwrap();
        RegistryClient::new(http, self.registry_config())
    }

    /// The mirror's manifest file, parsed.
    pub fn mirror_manifest(&self, file: &str) -> Value {
        read_json(&self.mirror_dir().join("manifests").join(file))
    }

    /// Rewrites one of the mirror's manifests.
    pub fn edit_mirror_manifest(&self, file: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.mirror_dir().join("manifests").join(file);
        let mut value = read_json(&path);
        edit(&mut value);
        std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    }

    /// Requests the mirror logged for paths under `prefix`.
    pub fn gets_under(&self, prefix: &str) -> Vec<xtask::mirror::RequestRecord> {
        self.mirror
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.starts_with(prefix))
            .collect()
    }
}

/// A retry policy with millisecond delays.
pub fn fast(retries: u32) -> RetryPolicy {
    RetryPolicy::download().with_max_retries(retries).with_base(Duration::from_millis(5))
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Download options that record every event.
pub fn recording() -> (DownloadOptions, Arc<Mutex<Vec<DownloadEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let opts = DownloadOptions::default()
        .progress(Some(Arc::new(move |e: &DownloadEvent| sink.lock().unwrap().push(e.clone()))));
    (opts, events)
}

/// Every regular file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// True when an external tool is on PATH; when it is not, tests that need it
/// skip with a note, or fail if `DEPS_REQUIRE_TOOLS` is set (as in CI).
pub fn have_tool(name: &str) -> bool {
    let found = std::process::Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("DEPS_REQUIRE_TOOLS").is_none(),
            "{name} is required (DEPS_REQUIRE_TOOLS is set)"
        );
        eprintln!("note: {name} not found; skipping the part of this test that needs it");
    }
    found
}

/// Asserts zot v2.1.17 can serve the image store as it is (deps-oci's conformance check).
pub fn assert_zot_serves(env: &Env) {
    let store = env.cache_dir().join("registry/mirror");
    let violations = deps_oci::conformance::check_zot_store(&store);
    assert!(violations.is_empty(), "zot could not serve {}: {violations:#?}", store.display());
}
