//! `Manager::verify`: re-checks what the cached manifests claim. Every item
//! marked cached must exist with its digest; every problem is collected, not
//! only the first, so the user sees the whole damage at once.
//!
//! Structure first (which files must exist, with which sizes), then content:
//! every file still to check is hashed on its own thread, largest first, on
//! as many threads as there are cores. A file whose fingerprint (size,
//! mtime, inode, digest recorded when it was verified) still matches is
//! trusted without reading it, unless the check is deep. Files that hash
//! right are fingerprinted, and the fingerprints saved when the cache lock is
//! free, so the next check is quick.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use deps_manifest::{Digest, Manifest};
use deps_oci::ImageBlobs;
use deps_store::{CacheLock, Fingerprints, LockWait};

use deps_transport::GitMirrorState;

use crate::images::ImageJob;
use crate::job::Target;
use crate::job::save_fingerprints;
use crate::report::VerifyReport;
use crate::seeds::snapshot_path;
use crate::{Domain, Error, Manager, Problem};

/// How one [`Manager::verify_with`] call checks the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Re-hash every file, ignoring fingerprints.
    pub deep: bool,
    /// Check only the vmconfig artifacts, not images, charts and seeds.
    pub skip_cross_arch_dependencies: bool,
}

impl VerifyOptions {
    /// Sets [`VerifyOptions::deep`].
    #[must_use]
    pub fn deep(mut self, deep: bool) -> Self {
        self.deep = deep;
        self
    }

    /// Sets [`VerifyOptions::skip_cross_arch_dependencies`].
    #[must_use]
    pub fn skip_cross_arch_dependencies(mut self, skip: bool) -> Self {
        self.skip_cross_arch_dependencies = skip;
        self
    }
}

/// One file whose content is to be checked against a digest.
#[derive(Debug)]
struct FileCheck {
    domain: Domain,
    item: String,
    path: PathBuf,
    digest: Digest,
}

impl Manager {
    /// Checks that the cached vmconfig manifest exists and that every item it
    /// marks cached (and every cached image, chart and seed snapshot) is
    /// present with its digest, trusting fingerprints where they still match.
    ///
    /// Returns [`Error::NotCached`] when there is no cached manifest and
    /// [`Error::Incomplete`] listing every problem when files are missing or corrupt.
    pub fn verify(&self, kind: &str, arch: &str) -> Result<Manifest, Error> {
        self.verify_with(kind, arch, VerifyOptions::default())
    }

    /// [`verify`](Self::verify) with options: a deep re-hash of everything, or artifacts only.
    pub fn verify_with(&self, kind: &str, arch: &str, opts: VerifyOptions) -> Result<Manifest, Error> {
        let path = self.vmconfig_manifest_cache_path(kind, arch)?;
        let Some((manifest, _)) = self.read_cached_manifest(kind, arch)? else {
            return Err(Error::NotCached { path });
        };
        let mut problems = Vec::new();
        let mut checks = Vec::new();
        for item in manifest.items().into_iter().filter(|item| item.dep.cached) {
            let dest = self.vmconfig_arch_artifact_cache_path(&item.name, &item.dep, arch)?;
            let digest = item.dep.parse_digest().map_err(|e| Error::invalid(&item.name, e))?;
            plan_file(Domain::VmConfig, &item.name, dest, Some(digest), &mut checks, &mut problems);
        }
        let vm_images = manifest
            .vmconfig
            .images
            .iter()
            .enumerate()
            .filter(|(_, image)| image.cached)
            .map(|(index, image)| ImageJob::runtime(Target::VmImage(index), image))
            .collect::<Result<Vec<_>, Error>>()?;
        let shared = !opts.skip_cross_arch_dependencies;
        if shared {
            self.plan_seed_checks(&mut checks, &mut problems)?;
            problems.extend(self.git_problem()?);
        }
        self.plan_image_checks(vm_images, shared, &mut checks, &mut problems)?;
        if shared {
            self.plan_chart_checks(&mut checks, &mut problems)?;
        }

        let fingerprints = self.load_fingerprints();
        problems.extend(check_contents(checks, &fingerprints, opts.deep));
        self.save_fingerprints_if_idle(&fingerprints);
        if problems.is_empty() { Ok(manifest) } else { Err(Error::Incomplete { problems }) }
    }

    /// What is wrong with the components source's mirror, when the cached manifest marks it cached.
    fn git_problem(&self) -> Result<Option<Problem>, Error> {
        let Some((name, state)) = self.git_state()? else { return Ok(None) };
        let path = self.layout().git_cache_dir();
        let problem = |reason: &str| Problem {
            domain: Domain::Components,
            item: name.clone(),
            path: path.clone(),
            reason: reason.to_owned(),
        };
        Ok(match state {
            GitMirrorState::At { .. } => None,
            GitMirrorState::Absent => Some(problem("Git mirror missing")),
            GitMirrorState::RefMissing => Some(problem("the Git mirror does not hold the ref")),
        })
    }

    /// Plans every cached seed snapshot.
    fn plan_seed_checks(
        &self,
        checks: &mut Vec<FileCheck>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), Error> {
        let Some((seeds, _)) = self.read_cached_seeds_manifest()? else { return Ok(()) };
        for (name, snap) in seeds.seeds.snapshots.iter().filter(|(_, s)| s.cached) {
            let dest = snapshot_path(self, name, &seeds.seeds.version, snap)?;
            let digest = snap.digest.parse::<Digest>().ok();
            plan_file(Domain::Seeds, &format!("seed/{name}"), dest, digest, checks, problems);
        }
        Ok(())
    }

    /// Checks the structure of every cached image (the vmconfig images, and
    /// when `shared` the component and template images) and plans its blobs,
    /// each blob once.
    fn plan_image_checks(
        &self,
        vm_images: Vec<ImageJob>,
        shared: bool,
        checks: &mut Vec<FileCheck>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), Error> {
        let mut jobs: Vec<(Domain, ImageJob)> =
            vm_images.into_iter().map(|j| (Domain::VmConfig, j)).collect();
        let components = if shared { self.read_cached_components_manifest()? } else { None };
        let templates = if shared { self.read_cached_templates_manifest()? } else { None };
        if let Some((components, _)) = components {
            for (index, image) in components.components.images.iter().enumerate().filter(|(_, i)| i.cached) {
                jobs.push((Domain::Components, ImageJob::new(index, image)?));
            }
        }
        if let Some((templates, _)) = templates {
            for (index, image) in templates.templates.images.iter().enumerate().filter(|(_, i)| i.cached) {
                jobs.push((Domain::Templates, ImageJob::runtime(Target::TemplateImage(index), image)?));
            }
        }
        let root = self.components_images_cache_dir();
        let mut planned: HashSet<PathBuf> = checks.iter().map(|c| c.path.clone()).collect();
        for (domain, job) in jobs {
            let ImageBlobs { problems: found, blobs } = job.blobs(&root)?;
            problems.extend(found.into_iter().map(|p| Problem {
                domain,
                item: job.name.clone(),
                path: p.path,
                reason: p.reason,
            }));
            for (path, digest) in blobs {
                // Images of one repository share blobs; each is hashed once.
                if planned.insert(path.clone()) {
                    checks.push(FileCheck { domain, item: job.name.clone(), path, digest });
                }
            }
        }
        Ok(())
    }

    /// Plans every cached template chart archive.
    fn plan_chart_checks(
        &self,
        checks: &mut Vec<FileCheck>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), Error> {
        let Some((templates, _)) = self.read_cached_templates_manifest()? else { return Ok(()) };
        for chart in templates.templates.charts.iter().filter(|c| c.cached) {
            match self.cached_template_chart(&chart.name) {
                Ok((chart, path)) => {
                    let digest = chart.chart_layer_digest.as_deref().and_then(|d| d.parse::<Digest>().ok());
                    plan_file(
                        Domain::Templates,
                        &format!("chart/{}", chart.name),
                        path,
                        digest,
                        checks,
                        problems,
                    );
                }
                Err(Error::Incomplete { problems: found }) => problems.extend(found),
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// Verifies the cache for `kind` and every arch of `archs`: the artifacts of
    /// each arch, and images, charts and seeds once. Every problem is listed
    /// once; an arch with nothing cached is reported, not an error.
    ///
    /// Blocking (reads and hashes files on every core): call it from a
    /// blocking context, e.g. `tokio::task::spawn_blocking`.
    pub fn verify_all(
        &self,
        kind: &str,
        archs: &[String],
        opts: VerifyOptions,
    ) -> Result<VerifyReport, Error> {
        let mut report = VerifyReport::default();
        let mut artifacts = 0;
        let mut cross_checked = opts.skip_cross_arch_dependencies;
        for arch in archs {
            let verified = self.verify_with(kind, arch, opts.skip_cross_arch_dependencies(cross_checked));
            cross_checked |= !matches!(verified, Err(Error::NotCached { .. }));
            match verified {
                Ok(m) => artifacts += m.items().iter().filter(|item| item.dep.cached).count(),
                Err(Error::Incomplete { problems }) => {
                    for problem in problems {
                        if !report.problems.contains(&problem) {
                            report.problems.push(problem);
                        }
                    }
                }
                Err(Error::NotCached { .. }) => report.not_cached.push(arch.clone()),
                Err(err) => return Err(err),
            }
        }
        let vmconfig = Some(artifacts).filter(|_| report.not_cached.is_empty());
        let images = self
            .read_cached_components_manifest()?
            .map(|(m, _)| m.components.images.iter().filter(|i| i.cached).count());
        let charts = self
            .read_cached_templates_manifest()?
            .map(|(m, _)| m.templates.charts.iter().filter(|c| c.cached).count());
        let snapshots = self
            .read_cached_seeds_manifest()?
            .map(|(m, _)| m.seeds.snapshots.values().filter(|s| s.cached).count());
        report.checked = vec![
            (Domain::VmConfig, vmconfig),
            (Domain::Components, images),
            (Domain::Templates, charts),
            (Domain::Seeds, snapshots),
        ];
        Ok(report)
    }

    /// Saves fingerprints learnt while verifying, unless a download holds the cache lock.
    fn save_fingerprints_if_idle(&self, fingerprints: &Fingerprints) {
        match CacheLock::acquire(self.cache_dir(), LockWait::NoWait, |_| {}) {
            Ok(_lock) => save_fingerprints(fingerprints),
            Err(err) => tracing::debug!(%err, "cache busy; fingerprints not saved"),
        }
    }
}

/// Records a missing file as a problem, else plans its content check (when its digest is known).
fn plan_file(
    domain: Domain,
    item: &str,
    path: PathBuf,
    digest: Option<Digest>,
    checks: &mut Vec<FileCheck>,
    problems: &mut Vec<Problem>,
) {
    if !path.is_file() {
        problems.push(Problem { domain, item: item.to_owned(), path, reason: "missing".to_owned() });
    } else if let Some(digest) = digest {
        checks.push(FileCheck { domain, item: item.to_owned(), path, digest });
    }
}

/// Checks every file's content, largest first, on one thread per core; returns the problems in plan order.
fn check_contents(checks: Vec<FileCheck>, fingerprints: &Fingerprints, deep: bool) -> Vec<Problem> {
    let order: Vec<usize> = {
        let mut sized: Vec<(u64, usize)> =
            checks.iter().enumerate().map(|(i, c)| (file_len(&c.path), i)).collect();
        sized.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        sized.into_iter().map(|(_, i)| i).collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(checks.len().max(1));
    let next = AtomicUsize::new(0);
    let found: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Some(reason) = content_problem(&checks[i], fingerprints, deep) {
                        found.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((i, reason));
                    }
                }
            });
        }
    });
    let mut found: HashMap<usize, String> =
        found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner).into_iter().collect();
    checks
        .into_iter()
        .enumerate()
        .filter_map(|(i, check)| {
            found.remove(&i).map(|reason| Problem {
                domain: check.domain,
                item: check.item,
                path: check.path,
                reason,
            })
        })
        .collect()
}

/// What is wrong with one file's content, if anything; `deep` re-hashes even a trusted file.
fn content_problem(check: &FileCheck, fingerprints: &Fingerprints, deep: bool) -> Option<String> {
    if !deep && fingerprints.trusted(&check.path, &check.digest) {
        return None;
    }
    match fingerprints.rehash(&check.path, &check.digest) {
        Ok(actual) if actual == check.digest => None,
        Ok(actual) => Some(format!("digest mismatch: expected {}, found {actual}", check.digest)),
        Err(err) => Some(format!("unreadable: {err}")),
    }
}

/// A file's length; 0 when it cannot be read.
fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
