//! `status` and `ensure_vmconfig_manifest_cached`: comparing the mirror's
//! latest vmconfig manifest with the cached one, ignoring `cached` markers.

use deps_manifest::Manifest;

use crate::source::{Source, parse};
use crate::{Error, Manager};

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

/// A manifest shared by every architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// `manifests/components.json`.
    Components,
    /// `manifests/templates.json`.
    Templates,
    /// `manifests/seeds.json`.
    Seeds,
}

impl Manager {
    /// The version of the mirror's latest manifest of a shared domain.
    pub async fn latest_version(&self, domain: Domain) -> Result<String, Error> {
        let (what, file) = match domain {
            Domain::Components => ("components manifest", "components.json"),
            Domain::Templates => ("templates manifest", "templates.json"),
            Domain::Seeds => ("seeds manifest", "seeds.json"),
        };
        let (bytes, source) = self.fetch_manifest_bytes(what, file, &self.http).await?;
        Ok(match domain {
            Domain::Components => {
                parse::<deps_manifest::ComponentsManifest>(what, &source, &bytes)?.components.version
            }
            Domain::Templates => {
                parse::<deps_manifest::TemplatesManifest>(what, &source, &bytes)?.templates.version
            }
            Domain::Seeds => parse::<deps_manifest::SeedsManifest>(what, &source, &bytes)?.seeds.version,
        })
    }
}
