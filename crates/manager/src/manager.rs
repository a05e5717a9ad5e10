//! The [`Manager`] value: where the mirror is, where the cache is, which HTTP
//! client and retry schedules to use, plus every cache path accessor and the
//! reads and writes of cached manifests.

use std::path::{Path, PathBuf};

use deps_manifest::{ComponentsManifest, Manifest, SeedsManifest, TemplatesManifest, vmconfig_manifest_name};
use deps_store::{Layout, LockWait, ManifestKind};
use deps_transport::{ClientConfig, HttpClient, RegistryClient, RegistryConfig, RetryPolicy};
use serde::de::DeserializeOwned;

use deps_store::{CacheLock, LockHolder};

use crate::Error;
use crate::events::{DownloadEvent, Events};
use crate::job::blocking;

/// Fetches and caches manifests and the artifacts, images and snapshots they name.
#[derive(Debug, Clone)]
pub struct Manager {
    base_url: String,
    layout: Layout,
    pub(crate) http: HttpClient,
    pub(crate) manifest_retry: RetryPolicy,
    pub(crate) download_retry: RetryPolicy,
    pub(crate) lock_wait: LockWait,
    /// The arch whose artifacts keep the original path (podplane's own arch).
    primary_arch: String,
    insecure_hosts: Vec<String>,
    registry_config: RegistryConfig,
}

impl Manager {
    /// Creates a manager for a mirror (`base_url`, e.g. `https://cli.podplane.dev/deps`)
    /// and a cache root.
    pub fn new(base_url: impl Into<String>, cache_dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let http = HttpClient::new(&ClientConfig::default())?;
        Ok(Self {
            base_url: base_url.into(),
            layout: Layout::new(cache_dir),
            http,
            manifest_retry: RetryPolicy::manifest(),
            download_retry: RetryPolicy::download(),
            lock_wait: LockWait::Wait,
            primary_arch: deps_manifest::host_arch().to_owned(),
            insecure_hosts: Vec::new(),
            registry_config: RegistryConfig::default(),
        })
    }

    /// Uses this HTTP client for every request.
    pub fn with_client(mut self, http: HttpClient) -> Self {
        self.http = http;
        self.apply_insecure_hosts();
        self
    }

    /// Uses these retry schedules for manifests and for downloads.
    pub fn with_retry_policies(mut self, manifest: RetryPolicy, download: RetryPolicy) -> Self {
        self.manifest_retry = manifest;
        self.download_retry = download;
        self
    }

    /// Waits for (or fails at once on) a cache lock held by another process.
    pub fn with_lock_wait(mut self, wait: LockWait) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Makes `arch` the primary one (default: the host's): its artifacts keep the
    /// original path `vmconfig/artifacts/<name>/<version>/<file>`, where podplane
    /// looks; every other arch's live under `<version>/<arch>/`.
    pub fn with_primary_arch(mut self, arch: impl Into<String>) -> Self {
        self.primary_arch = arch.into();
        self
    }

    /// The primary arch.
    pub fn primary_arch(&self) -> &str {
        &self.primary_arch
    }

    /// Uses these registry settings (mirror, insecure registries, credentials) for images and charts.
    pub fn with_registry_config(mut self, config: RegistryConfig) -> Self {
        self.registry_config = config;
        self
    }

    /// A registry client on `http` with this manager's registry settings.
    pub(crate) fn registry_client(&self, http: &HttpClient) -> RegistryClient {
        RegistryClient::new(http.clone(), self.registry_config.clone())
    }

    /// Allows plain HTTP to these hosts (`*` for any host); loopback is always allowed.
    pub fn with_insecure_hosts(mut self, hosts: Vec<String>) -> Self {
        self.insecure_hosts = hosts;
        self.apply_insecure_hosts();
        self
    }

    /// A caller's client with this manager's insecure hosts, for its redirects.
    pub(crate) fn with_own_insecure_hosts(&self, client: &HttpClient) -> Result<HttpClient, Error> {
        Ok(client.with_insecure_hosts(&self.insecure_hosts)?)
    }

    /// Gives the HTTP client the insecure hosts, so redirects follow the same
    /// rule as URLs. Should the client fail to rebuild, the old one stays: it
    /// refuses more redirects, never fewer.
    fn apply_insecure_hosts(&mut self) {
        match self.http.with_insecure_hosts(&self.insecure_hosts) {
            Ok(http) => self.http = http,
            Err(err) => tracing::warn!(%err, "could not allow insecure hosts for redirects"),
        }
    }

    /// The hosts plain HTTP may reach besides loopback ones.
    pub(crate) fn insecure_hosts(&self) -> &[String] {
        &self.insecure_hosts
    }

    /// The mirror's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The cache root.
    pub fn cache_dir(&self) -> &Path {
        self.layout.root()
    }

    /// The cache layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Refuses plain HTTP to a host that is neither loopback nor listed insecure.
    pub(crate) fn check_url(&self, url: &str) -> Result<(), deps_transport::Error> {
        deps_transport::check_scheme(url, &self.insecure_hosts)
    }

    /// The vmconfig dependency-domain cache directory.
    pub fn vmconfig_cache_dir(&self) -> PathBuf {
        self.layout.vmconfig_cache_dir()
    }

    /// The vmconfig manifest cache directory.
    pub fn vmconfig_manifest_cache_dir(&self) -> PathBuf {
        self.layout.vmconfig_manifest_cache_dir()
    }

    /// The latest cached vmconfig manifest for a kind and arch.
    pub fn vmconfig_manifest_cache_path(&self, kind: &str, arch: &str) -> Result<PathBuf, Error> {
        Ok(self.layout.vmconfig_manifest_cache_path(kind, arch)?)
    }

    /// An immutable historical vmconfig manifest path for these bytes, stamped now.
    pub fn vmconfig_historical_manifest_cache_path(
        &self,
        kind: &str,
        arch: &str,
        raw: &[u8],
    ) -> Result<PathBuf, Error> {
        Ok(self.layout.vmconfig_historical_manifest_cache_path(kind, arch, raw, now())?)
    }

    /// The vmconfig artifact cache directory.
    pub fn vmconfig_artifacts_cache_dir(&self) -> PathBuf {
        self.layout.vmconfig_artifacts_cache_dir()
    }

    /// Where one vmconfig artifact of the primary arch lives: `vmconfig/artifacts/<name>/<version>/<file>`.
    pub fn vmconfig_artifact_cache_path(
        &self,
        name: &str,
        dep: &deps_manifest::Dependency,
    ) -> Result<PathBuf, Error> {
        let primary = self.primary_arch.clone();
        self.vmconfig_arch_artifact_cache_path(name, dep, &primary)
    }

    /// Where one vmconfig artifact of `arch` lives: the original path for the
    /// primary arch, `vmconfig/artifacts/<name>/<version>/<arch>/<file>` for
    /// the others, so two archs never share a file. Every reader and writer of
    /// artifacts asks this.
    pub fn vmconfig_arch_artifact_cache_path(
        &self,
        name: &str,
        dep: &deps_manifest::Dependency,
        arch: &str,
    ) -> Result<PathBuf, Error> {
        let item = format!("vmconfig artifact {name}");
        let filename = dep.filename().map_err(|e| Error::invalid(&item, e))?;
        if arch == self.primary_arch {
            Ok(self.layout.vmconfig_artifact_cache_path(name, &dep.version, &filename)?)
        } else {
            Ok(self.layout.vmconfig_arch_artifact_cache_path(name, &dep.version, arch, &filename)?)
        }
    }

    /// The registry cache zot serves (`<parent>/registry` beside a root named `deps`).
    pub fn registry_cache_dir(&self) -> PathBuf {
        self.layout.registry_cache_dir()
    }

    /// Removes the temporary files a killed run left under the cache root and
    /// the registry cache; call it holding the lock. Blocking.
    pub(crate) fn sweep_stray_temp_files(&self) -> Result<(), Error> {
        let mut removed = deps_store::sweep_stray_temp_files(self.cache_dir())?;
        let registry = self.registry_cache_dir();
        if !registry.starts_with(self.cache_dir()) {
            removed.extend(deps_store::sweep_stray_temp_files(&registry)?);
        }
        if !removed.is_empty() {
            tracing::debug!(count = removed.len(), "removed stray temporary files");
        }
        Ok(())
    }

    /// The cache's fingerprints, covering the registry cache too.
    pub(crate) fn load_fingerprints(&self) -> deps_store::Fingerprints {
        deps_store::Fingerprints::load(self.cache_dir()).with_area("registry", &self.registry_cache_dir())
    }

    /// The components dependency-domain cache directory.
    pub fn components_cache_dir(&self) -> PathBuf {
        self.layout.components_cache_dir()
    }

    /// The components manifest cache directory.
    pub fn components_manifest_cache_dir(&self) -> PathBuf {
        self.layout.components_manifest_cache_dir()
    }

    /// The latest cached components manifest.
    pub fn components_manifest_cache_path(&self) -> PathBuf {
        self.layout.components_manifest_cache_path()
    }

    /// An immutable historical components manifest path for these bytes, stamped now.
    pub fn components_historical_manifest_cache_path(&self, raw: &[u8]) -> PathBuf {
        self.layout.components_historical_manifest_cache_path(raw, now())
    }

    /// The component OCI image directory: the image store in the registry cache (zot's storage root).
    pub fn components_images_cache_dir(&self) -> PathBuf {
        self.layout.components_images_cache_dir()
    }

    /// The templates dependency-domain cache directory.
    pub fn templates_cache_dir(&self) -> PathBuf {
        self.layout.templates_cache_dir()
    }

    /// The templates manifest cache directory.
    pub fn templates_manifest_cache_dir(&self) -> PathBuf {
        self.layout.templates_manifest_cache_dir()
    }

    /// The latest cached templates manifest.
    pub fn templates_manifest_cache_path(&self) -> PathBuf {
        self.layout.templates_manifest_cache_path()
    }

    /// The cached template chart data directory.
    pub fn templates_charts_cache_dir(&self) -> PathBuf {
        self.layout.templates_charts_cache_dir()
    }

    /// The seeds dependency-domain cache directory.
    pub fn seeds_cache_dir(&self) -> PathBuf {
        self.layout.seeds_cache_dir()
    }

    /// The seeds manifest cache directory.
    pub fn seeds_manifest_cache_dir(&self) -> PathBuf {
        self.layout.seeds_manifest_cache_dir()
    }

    /// The latest cached seeds manifest.
    pub fn seeds_manifest_cache_path(&self) -> PathBuf {
        self.layout.seeds_manifest_cache_path()
    }

    /// The cached seed snapshot directory.
    pub fn seeds_snapshots_cache_dir(&self) -> PathBuf {
        self.layout.seeds_snapshots_cache_dir()
    }

    /// Where a named seed snapshot of a seeds version lives.
    pub fn seed_snapshot_cache_path(
        &self,
        name: &str,
        version: &str,
        filename: &str,
    ) -> Result<PathBuf, Error> {
        Ok(self.layout.seed_snapshot_cache_path(name, version, filename)?)
    }

    /// Reads the latest cached vmconfig manifest; `None` when it is absent.
    pub fn read_cached_manifest(&self, kind: &str, arch: &str) -> Result<Option<(Manifest, Vec<u8>)>, Error> {
        read(&self.vmconfig_manifest_cache_path(kind, arch)?)
    }

    /// Reads the latest cached components manifest; `None` when it is absent.
    pub fn read_cached_components_manifest(&self) -> Result<Option<(ComponentsManifest, Vec<u8>)>, Error> {
        read(&self.components_manifest_cache_path())
    }

    /// Reads the latest cached templates manifest; `None` when it is absent.
    pub fn read_cached_templates_manifest(&self) -> Result<Option<(TemplatesManifest, Vec<u8>)>, Error> {
        read(&self.templates_manifest_cache_path())
    }

    /// Reads the latest cached seeds manifest; `None` when it is absent.
    pub fn read_cached_seeds_manifest(&self) -> Result<Option<(SeedsManifest, Vec<u8>)>, Error> {
        read(&self.seeds_manifest_cache_path())
    }

    /// Writes historical and latest vmconfig manifest bytes.
    pub fn write_cached_manifest(&self, kind: &str, arch: &str, raw: &[u8]) -> Result<(), Error> {
        self.write(&ManifestKind::VmConfig { kind, arch }, raw)
    }

    /// Writes historical and latest components manifest bytes.
    pub fn write_cached_components_manifest(&self, raw: &[u8]) -> Result<(), Error> {
        self.write(&ManifestKind::Components, raw)
    }

    /// Writes historical and latest templates manifest bytes.
    pub fn write_cached_templates_manifest(&self, raw: &[u8]) -> Result<(), Error> {
        self.write(&ManifestKind::Templates, raw)
    }

    /// Writes historical and latest seeds manifest bytes.
    pub fn write_cached_seeds_manifest(&self, raw: &[u8]) -> Result<(), Error> {
        self.write(&ManifestKind::Seeds, raw)
    }

    fn write(&self, kind: &ManifestKind<'_>, raw: &[u8]) -> Result<(), Error> {
        deps_store::write_cached_manifest(&self.layout, kind, raw)?;
        Ok(())
    }

    /// Runs blocking work on this manager (cache reads and writes) off the async worker threads.
    pub(crate) async fn off_thread<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&Manager) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let manager = self.clone();
        blocking(move || work(&manager)).await
    }

    /// Takes the cache lock, saying so when another process holds it.
    pub(crate) async fn lock(&self, events: &Events) -> Result<CacheLock, Error> {
        let (root, wait, events) = (self.cache_dir().to_owned(), self.lock_wait, events.clone());
        blocking(move || {
            fs_err::create_dir_all(&root).map_err(|source| Error::Io { path: root.clone(), source })?;
            let lock = CacheLock::acquire(&root, wait, |holder: LockHolder| {
                let who = holder.pid.map_or_else(|| "another process".to_owned(), |pid| format!("PID {pid}"));
                events.emit(DownloadEvent::status(format!("Waiting for the cache lock held by {who}...")));
            })?;
            Ok(lock)
        })
        .await
    }

    /// The file name of a vmconfig manifest on the mirror.
    pub(crate) fn vmconfig_manifest_file(kind: &str, arch: &str) -> String {
        format!("{}.json", vmconfig_manifest_name(kind, arch))
    }
}

fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<(T, Vec<u8>)>, Error> {
    Ok(deps_store::read_cached_json(path)?)
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
