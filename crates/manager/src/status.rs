//! `status` and `ensure_vmconfig_manifest_cached`: comparing the mirror's
//! latest vmconfig manifest with the cached one, ignoring `cached` markers.

use deps_manifest::{
    ComponentImageFilter, ComponentsManifest, Manifest, RECOMMENDED_ADDONS, SeedsManifest, TemplatesManifest,
};

use deps_transport::GitMirrorState;

use crate::images::ImageJob;
use crate::job::Target;
use crate::report::{CacheStatus, DomainStatus};
use crate::seeds::snapshot_path;
use crate::source::{Source, parse};
use crate::{Domain, Error, Manager};

impl Manager {
    /// Fetches the latest vmconfig manifest; returns whether the cache needs an
    /// update (no cached copy, or a different one) and the latest manifest.
    pub async fn status(&self, kind: &str, arch: &str) -> Result<(bool, Manifest), Error> {
        let latest = self.fetch_vmconfig(kind, arch).await?;
        let cached = self.read_cached_manifest(kind, arch)?;
        let needed = match cached {
            None => true,
            Some((mut cached, _)) => {
                cached.reset_cached();
                let mut fresh = latest.clone();
                fresh.reset_cached();
                cached.to_cached_json() != fresh.to_cached_json()
            }
        };
        Ok((needed, latest))
    }

    /// Returns the cached vmconfig manifest, fetching and caching it first when absent.
    pub async fn ensure_vmconfig_manifest_cached(&self, kind: &str, arch: &str) -> Result<Manifest, Error> {
        if let Some((manifest, _)) = self.read_cached_manifest(kind, arch)? {
            return Ok(manifest);
        }
        let mut manifest = self.fetch_vmconfig(kind, arch).await?;
        manifest.reset_cached();
        self.write_cached_manifest(kind, arch, &manifest.to_cached_json())?;
        Ok(manifest)
    }

    /// Fetches and parses the mirror's vmconfig manifest.
    pub(crate) async fn fetch_vmconfig(&self, kind: &str, arch: &str) -> Result<Manifest, Error> {
        let file = Self::vmconfig_manifest_file(kind, arch);
        let (bytes, source): (Vec<u8>, Source) =
            self.fetch_manifest_bytes("vmconfig manifest", &file, &self.http).await?;
        parse("vmconfig manifest", &source, &bytes)
    }
}

impl Manager {
    /// The version of the mirror's latest manifest of a shared domain
    /// (components, templates, seeds); vmconfig versions come from [`Manager::status`].
    pub async fn latest_version(&self, domain: Domain) -> Result<String, Error> {
        let Some((what, file)) = domain.shared_manifest() else {
            return Err(Error::rejected(
                "vmconfig",
                "a vmconfig version needs a kind and arch: use status()",
            ));
        };
        let (bytes, source) = self.fetch_manifest_bytes(what, file, &self.http).await?;
        Ok(match domain {
            Domain::Components => parse::<ComponentsManifest>(what, &source, &bytes)?.components.version,
            Domain::Templates => parse::<TemplatesManifest>(what, &source, &bytes)?.templates.version,
            _ => parse::<SeedsManifest>(what, &source, &bytes)?.seeds.version,
        })
    }

    /// What the cache holds, per domain (vmconfig once per arch): cached
    /// versions and how many items are present, by existence and size only
    /// (`verify` re-hashes). Components count the default selection for
    /// `archs` (recommended addons, provider-neutral) plus every image a
    /// download marked cached. Reads the disk only: works offline.
    ///
    /// Blocking: call it from a blocking context.
    pub fn cache_status(&self, kind: &str, archs: &[String]) -> Result<CacheStatus, Error> {
        let mut domains = Vec::new();
        for arch in archs {
            let mut status = DomainStatus {
                domain: Domain::VmConfig,
                arch: Some(arch.clone()),
                version: None,
                cached: 0,
                total: 0,
                images_cached: 0,
                images_total: 0,
                git: None,
            };
            if let Some((m, _)) = self.read_cached_manifest(kind, arch)? {
                let selected = m.image_indexes(std::slice::from_ref(arch));
                (status.images_cached, status.images_total) =
                    self.images_present(&m.vmconfig.images, &selected, Target::VmImage)?;
                status.version = Some(m.vmconfig.version.clone());
                for item in m.items().into_iter().filter(|item| item.dep.cached) {
                    status.total += 1;
                    let path = self.vmconfig_arch_artifact_cache_path(&item.name, &item.dep, arch)?;
                    let size = u64::try_from(item.dep.size).unwrap_or(0);
                    if path.metadata().is_ok_and(|md| md.is_file() && (size == 0 || md.len() == size)) {
                        status.cached += 1;
                    }
                }
            }
            domains.push(status);
        }
        let shared = |domain, version, cached, total| DomainStatus {
            domain,
            arch: None,
            version,
            cached,
            total,
            images_cached: 0,
            images_total: 0,
            git: None,
        };
        domains.push(match self.read_cached_components_manifest()? {
            Some((m, _)) => {
                let filter = ComponentImageFilter {
                    archs: archs.to_vec(),
                    providers: Vec::new(),
                    addons: RECOMMENDED_ADDONS.iter().map(|s| (*s).to_owned()).collect(),
                };
                let default = m.download_image_indexes(&filter);
                let selected: Vec<bool> = m
                    .components
                    .images
                    .iter()
                    .enumerate()
                    .filter(|(i, img)| img.cached || default.contains(i))
                    .map(|(_, img)| img.cached)
                    .collect();
                let cached = selected.iter().filter(|c| **c).count();
                let mut status =
                    shared(Domain::Components, Some(m.components.version), cached, selected.len());
                status.git = self.git_state()?.map(|(name, state)| match state {
                    GitMirrorState::At { commit } => (name, Some(commit)),
                    _ => (name, None),
                });
                status
            }
            None => shared(Domain::Components, None, 0, 0),
        });
        domains.push(match self.read_cached_templates_manifest()? {
            Some((m, _)) => {
                let charts = &m.templates.charts;
                let cached = charts.iter().filter(|c| c.cached).count();
                let mut status =
                    shared(Domain::Templates, Some(m.templates.version.clone()), cached, charts.len());
                let selected = m.image_indexes(archs);
                (status.images_cached, status.images_total) =
                    self.images_present(&m.templates.images, &selected, Target::TemplateImage)?;
                status
            }
            None => shared(Domain::Templates, None, 0, 0),
        });
        domains.push(match self.read_cached_seeds_manifest()? {
            Some((m, _)) => {
                let seeds = &m.seeds;
                let mut cached = 0;
                for (name, snap) in seeds.snapshots.iter().filter(|(_, s)| s.cached) {
                    if snapshot_path(self, name, &seeds.version, snap)?.is_file() {
                        cached += 1;
                    }
                }
                shared(Domain::Seeds, Some(seeds.version.clone()), cached, seeds.snapshots.len())
            }
            None => shared(Domain::Seeds, None, 0, 0),
        });
        Ok(CacheStatus { cache_dir: self.cache_dir().to_owned(), domains })
    }

    /// How many of the selected runtime images are complete in the image store (sizes only), of how many.
    fn images_present(
        &self,
        images: &[deps_manifest::RuntimeImage],
        selected: &[usize],
        target: fn(usize) -> Target,
    ) -> Result<(usize, usize), Error> {
        let root = self.components_images_cache_dir();
        let mut present = 0;
        for &i in selected {
            let Some(image) = images.get(i) else { continue };
            if image.cached && ImageJob::runtime(target(i), image)?.is_cached(&root)? {
                present += 1;
            }
        }
        Ok((present, selected.len()))
    }

    /// Whether the mirror's latest manifest of a shared domain differs from the
    /// cached one (every `cached` marker removed, images included, so a download
    /// alone never makes it differ), and the latest version.
    pub async fn shared_status(&self, domain: Domain) -> Result<(bool, String), Error> {
        let Some((what, file)) = domain.shared_manifest() else {
            return Err(Error::rejected(
                "vmconfig",
                "a vmconfig manifest needs a kind and arch: use status()",
            ));
        };
        let (bytes, source) = self.fetch_manifest_bytes(what, file, &self.http).await?;
        self.off_thread(move |manager| {
            fn differs<T>(latest: T, cached: Option<T>, reset: fn(&mut T), json: fn(&T) -> Vec<u8>) -> bool {
                let Some(mut cached) = cached else { return true };
                let mut latest = latest;
                reset(&mut latest);
                reset(&mut cached);
                json(&latest) != json(&cached)
            }
            Ok(match domain {
                Domain::Components => {
                    let latest: ComponentsManifest = parse(what, &source, &bytes)?;
                    let version = latest.components.version.clone();
                    let cached = manager.read_cached_components_manifest()?.map(|(m, _)| m);
                    (
                        differs(
                            latest,
                            cached,
                            ComponentsManifest::reset_cached,
                            ComponentsManifest::to_cached_json,
                        ),
                        version,
                    )
                }
                Domain::Templates => {
                    let latest: TemplatesManifest = parse(what, &source, &bytes)?;
                    let version = latest.templates.version.clone();
                    let cached = manager.read_cached_templates_manifest()?.map(|(m, _)| m);
                    (
                        differs(
                            latest,
                            cached,
                            TemplatesManifest::reset_cached,
                            TemplatesManifest::to_cached_json,
                        ),
                        version,
                    )
                }
                _ => {
                    let latest: SeedsManifest = parse(what, &source, &bytes)?;
                    let version = latest.seeds.version.clone();
                    let cached = manager.read_cached_seeds_manifest()?.map(|(m, _)| m);
                    (
                        differs(latest, cached, SeedsManifest::reset_cached, SeedsManifest::to_cached_json),
                        version,
                    )
                }
            })
        })
        .await
    }
}
