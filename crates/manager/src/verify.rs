//! `Manager::verify`: re-checks what the cached manifests claim. Every item
//! marked cached must exist with its digest; every problem is collected, not
//! only the first, so the user sees the whole damage at once.

use std::path::Path;

use deps_manifest::{Digest, Manifest};

use crate::images::ImageJob;
use crate::seeds::snapshot_path;
use crate::{Error, Manager, Problem};

impl Manager {
    /// Checks that the cached vmconfig manifest exists and that every item it
    /// marks cached (and every cached seed snapshot) is present with its digest.
    ///
    /// Returns [`Error::NotCached`] when there is no cached manifest and
    /// [`Error::Incomplete`] listing every problem when files are missing or corrupt.
    pub fn verify(&self, kind: &str, arch: &str) -> Result<Manifest, Error> {
        let path = self.vmconfig_manifest_cache_path(kind, arch)?;
        let Some((manifest, _)) = self.read_cached_manifest(kind, arch)? else {
            return Err(Error::NotCached { path });
        };
        let mut problems = Vec::new();
        for item in manifest.items().into_iter().filter(|item| item.dep.cached) {
            let dest = self.vmconfig_artifact_cache_path(&item.name, &item.dep)?;
            let digest = item.dep.parse_digest().map_err(|e| Error::invalid(&item.name, e))?;
            check_file(&item.name, &dest, Some(&digest), &mut problems);
        }
        if let Some((seeds, _)) = self.read_cached_seeds_manifest()? {
            for (name, snap) in seeds.seeds.snapshots.iter().filter(|(_, s)| s.cached) {
                let dest = snapshot_path(self, name, &seeds.seeds.version, snap)?;
                let digest = snap.digest.parse::<Digest>().ok();
                check_file(&format!("seed/{name}"), &dest, digest.as_ref(), &mut problems);
            }
        }
        self.verify_images(&mut problems)?;
        self.verify_charts(&mut problems)?;
        if problems.is_empty() { Ok(manifest) } else { Err(Error::Incomplete { problems }) }
    }

    /// Re-hashes every cached component image's blobs.
    fn verify_images(&self, problems: &mut Vec<Problem>) -> Result<(), Error> {
        let Some((components, _)) = self.read_cached_components_manifest()? else { return Ok(()) };
        let root = self.components_images_cache_dir();
        for (index, image) in components.components.images.iter().enumerate().filter(|(_, i)| i.cached) {
            let job = ImageJob::new(index, image)?;
            let layout = job.layout(&root)?;
            let found = layout
                .verify_image(Some(&job.tag), &job.digest, job.pinned_index.as_ref())
                .map_err(|e| Error::rejected(&job.name, e.to_string()))?;
            problems.extend(found.into_iter().map(|p| Problem {
                item: job.name.clone(),
                path: p.path,
                reason: p.reason,
            }));
        }
        Ok(())
    }

    /// Re-hashes every cached template chart archive.
    fn verify_charts(&self, problems: &mut Vec<Problem>) -> Result<(), Error> {
        let Some((templates, _)) = self.read_cached_templates_manifest()? else { return Ok(()) };
        for chart in templates.templates.charts.iter().filter(|c| c.cached) {
            match self.cached_template_chart(&chart.name) {
                Ok((chart, path)) => {
                    let digest = chart.chart_layer_digest.as_deref().and_then(|d| d.parse::<Digest>().ok());
                    check_file(&format!("chart/{}", chart.name), &path, digest.as_ref(), problems);
                }
                Err(Error::Incomplete { problems: found }) => problems.extend(found),
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }
}

/// Records a problem when `path` is missing, unreadable or has another digest.
fn check_file(item: &str, path: &Path, digest: Option<&Digest>, problems: &mut Vec<Problem>) {
    let problem = |reason: String| Problem { item: item.to_owned(), path: path.to_owned(), reason };
    if !path.is_file() {
        problems.push(problem("missing".to_owned()));
        return;
    }
    let Some(digest) = digest else { return };
    match deps_store::hash_file(path, digest.algo()) {
        Ok(actual) if &actual == digest => {}
        Ok(actual) => problems.push(problem(format!("digest mismatch: expected {digest}, found {actual}"))),
        Err(err) => problems.push(problem(format!("unreadable: {err}"))),
    }
}
