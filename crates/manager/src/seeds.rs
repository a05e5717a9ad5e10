//! Seed snapshots: planning (copy a local `path`, or fetch a `url` checked
//! against its sha512), marking them cached, and the lookups other commands
//! use (`cached_seed_snapshot_path`, `cached_seeds_version`,
//! `ensure_seed_snapshot`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use deps_manifest::{DigestAlgo, SeedSnapshot, SeedsManifest, pathsafe};
use deps_transport::HttpClient;

use crate::events::{DownloadEvent, DownloadEventType as Ev, Events};
use crate::files::{check_files, file_lanes};
use crate::job::{Job, Target, blocking, save_fingerprints};
use crate::scheduler::Scheduler;
use crate::source::Loaded;
use crate::{DEFAULT_CONCURRENCY, Error, Manager};

/// What to do for one seed snapshot.
#[derive(Debug, Clone)]
pub(crate) enum SeedPlan {
    /// Copy a local file into the cache.
    Copy {
        /// The snapshot name.
        name: String,
        /// The local file.
        src: PathBuf,
        /// Where it goes in the cache.
        dest: PathBuf,
    },
    /// Download and verify.
    Fetch(Job),
}

impl SeedPlan {
    /// The download job, for snapshots fetched by URL.
    pub(crate) fn job(&self) -> Option<&Job> {
        match self {
            SeedPlan::Fetch(job) => Some(job),
            SeedPlan::Copy { .. } => None,
        }
    }
}

/// Where a snapshot of a seeds version is cached.
pub(crate) fn snapshot_path(
    manager: &Manager,
    name: &str,
    version: &str,
    snap: &SeedSnapshot,
) -> Result<PathBuf, Error> {
    let filename = snap.filename(name)?;
    manager.seed_snapshot_cache_path(name, version, &filename)
}

/// Validates a seeds manifest and plans every snapshot in it.
pub(crate) fn plan_seeds(manager: &Manager, seeds: &Loaded<SeedsManifest>) -> Result<Vec<SeedPlan>, Error> {
    let version = &seeds.manifest.seeds.version;
    pathsafe::component("seeds version", version).map_err(|e| Error::invalid("seeds manifest", e))?;
    let mut plans = Vec::new();
    for (name, snap) in &seeds.manifest.seeds.snapshots {
        let label = format!("seed snapshot {name}");
        snap.validate(name)?;
        let dest = snapshot_path(manager, name, version, snap)?;
        if snap.url.is_empty() {
            let src = seeds.source.resolve_local(&label, &snap.path)?;
            plans.push(SeedPlan::Copy { name: name.clone(), src, dest });
        } else {
            let digest: deps_manifest::Digest = snap.digest.parse().map_err(|e| Error::invalid(&label, e))?;
            if digest.algo() != DigestAlgo::Sha512 {
                return Err(Error::rejected(&label, "seed snapshot digests must be sha512"));
            }
            manager.check_url(&snap.url).map_err(|e| Error::download(&label, e))?;
            plans.push(SeedPlan::Fetch(Job {
                target: Target::Seed(name.clone()),
                name: format!("seed/{name}"),
                url: snap.url.clone(),
                fallback: None,
                dest,
                digest,
                size: u64::try_from(snap.size).unwrap_or(0),
            }));
        }
    }
    Ok(plans)
}

impl Manager {
    /// Copies local snapshots and marks every snapshot now in the cache.
    pub(crate) async fn finish_seeds(
        &self,
        manifest: &mut SeedsManifest,
        plans: &[SeedPlan],
        present: &HashSet<Target>,
        events: &Events,
    ) -> Result<(), Error> {
        manifest.reset_cached();
        for plan in plans {
            match plan {
                SeedPlan::Fetch(job) => {
                    if present.contains(&job.target)
                        && let Target::Seed(name) = &job.target
                    {
                        manifest.mark_cached(name);
                    }
                }
                SeedPlan::Copy { name, src, dest } => {
                    let event_name = format!("seed/{name}");
                    events.emit(DownloadEvent::item(Ev::Checking, &event_name, Some(dest.clone()), 0));
                    let (s, d) = (src.clone(), dest.clone());
                    let copied = blocking(move || copy_if_changed(&s, &d)).await?;
                    let kind = if copied { Ev::Done } else { Ev::Cached };
                    events.emit(DownloadEvent::item(kind, &event_name, Some(dest.clone()), 0));
                    manifest.mark_cached(name);
                }
            }
        }
        Ok(())
    }

    /// The seeds version of the latest cached seeds manifest.
    pub fn cached_seeds_version(&self) -> Result<String, Error> {
        match self.read_cached_seeds_manifest()? {
            Some((manifest, _)) => Ok(manifest.seeds.version),
            None => Err(Error::NotCached { path: self.seeds_manifest_cache_path() }),
        }
    }

    /// The cached snapshot file for `name` at seeds `version`; errors when the
    /// cache holds another version or lacks the file.
    pub fn cached_seed_snapshot_path(&self, name: &str, version: &str) -> Result<PathBuf, Error> {
        let Some((manifest, _)) = self.read_cached_seeds_manifest()? else {
            return Err(Error::NotCached { path: self.seeds_manifest_cache_path() });
        };
        let item = format!("seed snapshot {name}");
        if manifest.seeds.version != version {
            let reason = format!(
                "cached seeds are version {}, not {version} (run `deps download`)",
                manifest.seeds.version
            );
            return Err(Error::Unavailable { item, reason });
        }
        let Some(snap) = manifest.seeds.snapshots.get(name) else {
            return Err(Error::Unavailable { item, reason: "not in the cached seeds manifest".to_owned() });
        };
        let path = snapshot_path(self, name, version, snap)?;
        if !snap.cached || !path.is_file() {
            return Err(Error::Incomplete {
                problems: vec![crate::Problem {
                    domain: crate::Domain::Seeds,
                    item: format!("seed/{name}"),
                    path,
                    reason: "missing (run `deps download`)".to_owned(),
                }],
            });
        }
        Ok(path)
    }

    /// Returns the cached snapshot for `name`/`version`, fetching the seeds
    /// manifest and its snapshots first when needed.
    pub async fn ensure_seed_snapshot(
        &self,
        name: &str,
        version: &str,
        client: Option<HttpClient>,
    ) -> Result<PathBuf, Error> {
        let (n, v) = (name.to_owned(), version.to_owned());
        if let Ok(path) = self.off_thread(move |m| m.cached_seed_snapshot_path(&n, &v)).await {
            return Ok(path);
        }
        let http = match &client {
            Some(client) => self.with_own_insecure_hosts(client)?,
            None => self.http.clone(),
        };
        let seeds: Loaded<SeedsManifest> =
            self.load_manifest("seeds manifest", "seeds.json", None, &http).await?;
        let plans = plan_seeds(self, &seeds)?;
        let events = Events::default();
        let _lock = self.lock(&events).await?;
        let jobs: Vec<Job> = plans.iter().filter_map(SeedPlan::job).cloned().collect();
        let fingerprints = Arc::new(self.off_thread(|m| Ok(m.load_fingerprints())).await?);
        let (missing, mut present) = check_files(jobs, &fingerprints, &events).await?;
        let lanes = file_lanes(missing, &http, &self.download_retry, &fingerprints, &events);
        let outcome = Scheduler::new(DEFAULT_CONCURRENCY, false, events.clone()).run(lanes).await;
        let saved = Arc::clone(&fingerprints);
        blocking(move || {
            save_fingerprints(&saved);
            Ok(())
        })
        .await?;
        present.extend(outcome.done);
        let present: HashSet<Target> = present.into_iter().collect();
        let mut manifest = seeds.manifest;
        self.finish_seeds(&mut manifest, &plans, &present, &events).await?;
        let raw = manifest.to_cached_json();
        self.off_thread(move |m| m.write_cached_seeds_manifest(&raw)).await?;
        if !outcome.failures.is_empty() {
            return Err(Error::Failed { failures: outcome.failures });
        }
        let (name, version) = (name.to_owned(), version.to_owned());
        self.off_thread(move |m| m.cached_seed_snapshot_path(&name, &version)).await
    }
}

/// Copies `src` to `dest` atomically unless `dest` already has the same bytes.
fn copy_if_changed(src: &std::path::Path, dest: &std::path::Path) -> Result<bool, Error> {
    let algo = DigestAlgo::Sha256;
    let want = deps_store::hash_file(src, algo)?;
    if dest.is_file() && deps_store::hash_file(dest, algo)? == want {
        return Ok(false);
    }
    deps_store::atomic_copy(src, dest)?;
    Ok(true)
}
