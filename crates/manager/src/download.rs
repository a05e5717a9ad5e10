//! `Manager::download`: one run for one kind and architecture, in the order of
//! BEHAVIOR.md §5. Everything is loaded and validated before any byte is
//! downloaded; the cache lock is held from the cache check to the last
//! manifest write; an item is marked cached only after its bytes were verified
//! and renamed into place, so an interrupted run never claims what it lacks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deps_manifest::{
    ComponentImageFilter, ComponentsManifest, Digest, Item, ItemFilter, Manifest, SeedsManifest,
    TemplatesManifest,
};
use deps_oci::BlobIndex;
use deps_store::{CacheLock, Fingerprints, LockHolder};
use deps_transport::{DownloadRequest, HttpClient, RegistryClient};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::events::{DownloadEvent, DownloadEventType as Ev};
use crate::images::{ImageContext, ImageJob, group_by_repo};
use crate::seeds::{SeedPlan, plan_seeds};
use crate::source::Loaded;
use crate::{DownloadOptions, Error, Manager};

/// One file to fetch, verify and rename into place.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// What the job marks cached when it succeeds.
    pub(crate) target: Target,
    /// The event name.
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) dest: PathBuf,
    pub(crate) digest: Digest,
    pub(crate) size: u64,
}

/// The manifest entry a job belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A vmconfig item, by name.
    Artifact(String),
    /// A seed snapshot, by name.
    Seed(String),
    /// A component image, by its index in the components manifest.
    Image(usize),
}

/// Manifests shared by every architecture of one run.
#[derive(Debug)]
pub(crate) struct CrossArch {
    pub(crate) components: Loaded<ComponentsManifest>,
    pub(crate) image_indexes: Vec<usize>,
    pub(crate) image_jobs: Vec<ImageJob>,
    pub(crate) templates: Loaded<TemplatesManifest>,
    pub(crate) seeds: Option<(Loaded<SeedsManifest>, Vec<SeedPlan>)>,
}

/// What one run checks and downloads under the lock, planned before it is taken.
struct RunPlan<'a> {
    kind: &'a str,
    arch: &'a str,
    /// Artifact and seed snapshot files.
    jobs: Vec<Job>,
    /// The selected vmconfig items.
    items: &'a [Item],
    /// The vmconfig manifest, its markers reset.
    manifest: Manifest,
    cross: Option<CrossArch>,
}

impl Manager {
    /// Fetches the manifests for `kind`/`arch` and downloads every missing
    /// artifact, image and snapshot they select into the cache.
    pub async fn download(&self, kind: &str, arch: &str, opts: DownloadOptions) -> Result<(), Error> {
        let http = opts.client.clone().unwrap_or_else(|| self.http.clone());
        let target_name = format!("{kind}_{}_{arch}", deps_manifest::OS);

        // 1. The vmconfig manifest: load, reject a published stub, reset, select, validate.
        let file = Self::vmconfig_manifest_file(kind, arch);
        let vm: Loaded<Manifest> = self
            .load_manifest("vmconfig manifest", &file, opts.vmconfig_manifest_path.as_deref(), &http)
            .await?;
        let mut manifest = vm.manifest;
        if !vm.source.is_local() && manifest.items().iter().any(Item::is_unreleased_vmconfig_stub) {
            return Err(Error::rejected(
                format!("vmconfig manifest {}", vm.source),
                "published vmconfig manifest contains unreleased vmconfig stub",
            ));
        }
        manifest.reset_cached();
        let filter = ItemFilter { providers: opts.providers.clone(), cached_only: false };
        let items = manifest.download_items(&[filter]);
        let artifact_jobs = self.artifact_jobs(&items, opts.mirror.as_deref())?;

        // 2. Manifests shared across architectures.
        let cross = if opts.skip_cross_arch_dependencies {
            None
        } else {
            Some(self.load_cross_arch(arch, &opts, &http).await?)
        };

        // 3. Dry run: report and stop.
        if opts.dry_run {
            return self.print_dry_run(&vm.source, &artifact_jobs, cross.as_ref(), &opts);
        }

        // 4. Check the cache, under the lock.
        let _lock = self.lock(&opts).await?;
        let mut jobs = artifact_jobs;
        if let Some((_, plans)) = cross.as_ref().and_then(|c| c.seeds.as_ref()) {
            jobs.extend(plans.iter().filter_map(SeedPlan::job).cloned());
        }
        let fingerprints = Arc::new(Fingerprints::load(self.cache_dir()));
        let plan = RunPlan { kind, arch, jobs, items: &items, manifest, cross };
        let finished = self.fetch_and_record(plan, &fingerprints, &http, &opts).await;
        save_fingerprints(&fingerprints);
        finished?;

        // 7. Done.
        opts.emit(DownloadEvent::status(format!("All dependencies for {target_name} are up to date.")));
        Ok(())
    }

    /// Steps 4 to 6 under the lock: check the cache, download what is missing
    /// (fingerprinting what is verified), write the manifests with their markers.
    async fn fetch_and_record(
        &self,
        plan: RunPlan<'_>,
        fingerprints: &Arc<Fingerprints>,
        http: &HttpClient,
        opts: &DownloadOptions,
    ) -> Result<(), Error> {
        let RunPlan { kind, arch, jobs, items, mut manifest, mut cross } = plan;
        let (queued, mut present) = self.check_cached(jobs, fingerprints, opts).await?;
        for job in &queued {
            opts.emit(DownloadEvent::item(Ev::Queued, &job.name, Some(job.dest.clone()), job.size));
        }
        let image_jobs = cross.as_mut().map(|c| std::mem::take(&mut c.image_jobs)).unwrap_or_default();
        let (queued_images, cached_images) = self.check_images(image_jobs, fingerprints, opts).await?;
        present.extend(cached_images);

        // 5. Download everything missing; the first failure cancels the rest.
        let registry = self.registry_client(http);
        present.extend(self.run_jobs(queued, queued_images, &registry, http, fingerprints, opts).await?);

        // 6. Write the manifests with their markers.
        for item in items {
            if present.contains(&Target::Artifact(item.name.clone())) {
                manifest.mark_cached(&item.name);
            }
        }
        self.write_cached_manifest(kind, arch, &manifest.to_cached_json())?;
        if let Some(cross) = cross.as_mut() {
            let components = &mut cross.components.manifest;
            components.reset_cached();
            for target in &present {
                if let Target::Image(i) = target {
                    components.mark_cached(*i);
                }
            }
            self.write_cached_components_manifest(&components.to_cached_json())?;
            self.cache_templates(&mut cross.templates, &registry, opts).await?;
            self.write_cached_templates_manifest(&cross.templates.manifest.to_cached_json())?;
            if let Some((seeds, plans)) = cross.seeds.as_mut() {
                self.finish_seeds(&mut seeds.manifest, plans, &present, opts).await?;
                self.write_cached_seeds_manifest(&seeds.manifest.to_cached_json())?;
            }
        }

        Ok(())
    }

    /// Builds and validates the download jobs of the selected vmconfig items.
    fn artifact_jobs(&self, items: &[Item], mirror: Option<&str>) -> Result<Vec<Job>, Error> {
        items
            .iter()
            .map(|item| {
                let label = format!("vmconfig artifact {}", item.name);
                item.validate()?;
                let digest = item.dep.parse_digest().map_err(|e| Error::invalid(&label, e))?;
                let dest = self.vmconfig_artifact_cache_path(&item.name, &item.dep)?;
                let url = item.resolve_url(mirror.unwrap_or(""));
                self.check_url(&url)
                    .map_err(|source| Error::Download { item: label.clone(), source: Box::new(source) })?;
                Ok(Job {
                    target: Target::Artifact(item.name.clone()),
                    name: item.name.clone(),
                    url,
                    dest,
                    digest,
                    size: u64::try_from(item.dep.size).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Loads and validates the components, templates and seeds manifests.
    async fn load_cross_arch(
        &self,
        arch: &str,
        opts: &DownloadOptions,
        http: &HttpClient,
    ) -> Result<CrossArch, Error> {
        let components: Loaded<ComponentsManifest> = self
            .load_manifest(
                "components manifest",
                "components.json",
                opts.components_manifest_path.as_deref(),
                http,
            )
            .await?;
        let archs = if opts.archs.is_empty() { vec![arch.to_owned()] } else { opts.archs.clone() };
        let filter =
            ComponentImageFilter { archs, providers: opts.providers.clone(), addons: opts.addons.clone() };
        let image_indexes = components.manifest.download_image_indexes(&filter);
        let mut image_jobs = Vec::new();
        for &i in &image_indexes {
            let image = &components.manifest.components.images[i];
            image.validate()?;
            image_jobs.push(ImageJob::new(i, image)?);
        }

        let templates: Loaded<TemplatesManifest> = self
            .load_manifest(
                "templates manifest",
                "templates.json",
                opts.templates_manifest_path.as_deref(),
                http,
            )
            .await?;
        for chart in &templates.manifest.templates.charts {
            let label = format!("template chart {}", chart.name);
            chart.validate()?;
            if let Some(path) = chart.path.as_deref().filter(|p| !p.is_empty()) {
                templates.source.resolve_local(&label, path)?;
            }
        }

        let seeds = if opts.skip_seeds {
            None
        } else {
            let seeds: Loaded<SeedsManifest> = self
                .load_manifest("seeds manifest", "seeds.json", opts.seeds_manifest_path.as_deref(), http)
                .await?;
            let plans = plan_seeds(self, &seeds)?;
            Some((seeds, plans))
        };
        Ok(CrossArch { components, image_indexes, image_jobs, templates, seeds })
    }

    /// Takes the cache lock, saying so when another process holds it.
    pub(crate) async fn lock(&self, opts: &DownloadOptions) -> Result<CacheLock, Error> {
        let root = self.cache_dir().to_owned();
        let wait = self.lock_wait;
        let progress = opts.progress.clone();
        let lock = tokio::task::spawn_blocking(move || {
            fs_err::create_dir_all(&root).map_err(|source| Error::Io { path: root.clone(), source })?;
            CacheLock::acquire(&root, wait, |holder: LockHolder| {
                let who = holder.pid.map_or_else(|| "another process".to_owned(), |pid| format!("PID {pid}"));
                if let Some(progress) = &progress {
                    progress(&DownloadEvent::status(format!("Waiting for the cache lock held by {who}...")));
                }
            })
            .map_err(Error::from)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
        Ok(lock)
    }

    /// Emits `checking` and `cached` events; returns the missing jobs and the present targets.
    pub(crate) async fn check_cached(
        &self,
        jobs: Vec<Job>,
        fingerprints: &Arc<Fingerprints>,
        opts: &DownloadOptions,
    ) -> Result<(Vec<Job>, Vec<Target>), Error> {
        let mut missing = Vec::new();
        let mut present_targets = Vec::new();
        for job in jobs {
            opts.emit(DownloadEvent::item(Ev::Checking, &job.name, Some(job.dest.clone()), job.size));
            let (dest, digest, fingerprints) =
                (job.dest.clone(), job.digest.clone(), Arc::clone(fingerprints));
            let present = tokio::task::spawn_blocking(move || fingerprints.check(&dest, &digest))
                .await
                .map_err(|e| Error::Task(e.to_string()))??;
            if present {
                opts.emit(
                    DownloadEvent::item(Ev::Cached, &job.name, Some(job.dest.clone()), job.size)
                        .with_current(job.size),
                );
                present_targets.push(job.target);
            } else {
                missing.push(job);
            }
        }
        Ok((missing, present_targets))
    }

    /// Emits `checking` and `cached` (or `queued`) for images; returns the missing
    /// (or damaged) ones and the targets already complete.
    pub(crate) async fn check_images(
        &self,
        jobs: Vec<ImageJob>,
        fingerprints: &Arc<Fingerprints>,
        opts: &DownloadOptions,
    ) -> Result<(Vec<ImageJob>, Vec<Target>), Error> {
        let root = self.components_images_cache_dir();
        let fingerprints = Arc::clone(fingerprints);
        let checked = tokio::task::spawn_blocking(move || {
            jobs.into_iter()
                .map(|job| job.is_intact(&root, &fingerprints).map(|cached| (job, cached)))
                .collect::<Result<Vec<_>, Error>>()
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
        let (mut missing, mut present) = (Vec::new(), Vec::new());
        for (job, cached) in checked {
            opts.emit(DownloadEvent::item(Ev::Checking, &job.name, None, job.size));
            if cached {
                opts.emit(DownloadEvent::item(Ev::Cached, &job.name, None, job.size).with_current(job.size));
                present.push(Target::Image(job.index));
            } else {
                opts.emit(DownloadEvent::item(Ev::Queued, &job.name, None, job.size));
                missing.push(job);
            }
        }
        Ok((missing, present))
    }

    /// Downloads files and images with bounded concurrency; returns what was fetched.
    pub(crate) async fn run_jobs(
        &self,
        jobs: Vec<Job>,
        images: Vec<ImageJob>,
        registry: &RegistryClient,
        http: &HttpClient,
        fingerprints: &Arc<Fingerprints>,
        opts: &DownloadOptions,
    ) -> Result<Vec<Target>, Error> {
        let semaphore = Arc::new(Semaphore::new(opts.concurrency()));
        let mut set: JoinSet<Result<Vec<Target>, Error>> = JoinSet::new();
        for job in jobs {
            let semaphore = Arc::clone(&semaphore);
            let http = http.clone();
            let opts = opts.clone();
            let policy = self.download_retry.clone();
            let fingerprints = Arc::clone(fingerprints);
            set.spawn(async move {
                let _permit = semaphore.acquire_owned().await.map_err(|e| Error::Task(e.to_string()))?;
                fetch_one(job, &http, policy, &fingerprints, &opts).await.map(|t| vec![t])
            });
        }
        if !images.is_empty() {
            let root = self.components_images_cache_dir();
            let scan = root.clone();
            let blobs = tokio::task::spawn_blocking(move || BlobIndex::build(&scan))
                .await
                .map_err(|e| Error::Task(e.to_string()))?
                .map_err(|e| Error::rejected("component image store", e.to_string()))?;
            let ctx = ImageContext {
                root,
                registry: registry.clone(),
                blobs: Arc::new(Mutex::new(blobs)),
                blob_locks: Arc::default(),
                slots: Arc::clone(&semaphore),
                host_slots: Arc::default(),
                fingerprints: Arc::clone(fingerprints),
                opts: opts.clone(),
            };
            for group in group_by_repo(images) {
                set.spawn(ctx.clone().pull_group(group));
            }
        }
        let mut fetched = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(targets)) => fetched.extend(targets),
                Ok(Err(err)) => {
                    set.abort_all();
                    while set.join_next().await.is_some() {}
                    return Err(err);
                }
                Err(join) if join.is_cancelled() => {}
                Err(join) => {
                    set.abort_all();
                    while set.join_next().await.is_some() {}
                    return Err(Error::Task(join.to_string()));
                }
            }
        }
        Ok(fetched)
    }
}

/// Saves what a run fingerprinted; they only spare later runs some hashing, so failing fails nothing.
pub(crate) fn save_fingerprints(fingerprints: &Fingerprints) {
    if let Err(err) = fingerprints.save() {
        tracing::warn!(%err, "could not save the cache fingerprints");
    }
}

/// Fingerprints a file whose bytes were just verified; failing only costs a later re-hash.
pub(crate) fn record_fingerprint(fingerprints: &Fingerprints, path: &Path, digest: &Digest) {
    if let Err(err) = fingerprints.record(path, digest) {
        tracing::debug!(%err, "could not fingerprint");
    }
}

/// Least time between two progress events of one item.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Downloads one job, emitting started / progress / done or failed.
async fn fetch_one(
    job: Job,
    http: &HttpClient,
    policy: deps_transport::RetryPolicy,
    fingerprints: &Fingerprints,
    opts: &DownloadOptions,
) -> Result<Target, Error> {
    let Job { target, name, url, dest, digest, size } = job;
    opts.emit(DownloadEvent::item(Ev::Started, &name, Some(dest.clone()), size));
    let last = Mutex::new(None::<Instant>);
    let progress = |current: u64, total: u64| {
        let mut last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if current < total && last.is_some_and(|t| now.duration_since(t) < PROGRESS_INTERVAL) {
            return;
        }
        *last = Some(now);
        opts.emit(DownloadEvent::item(Ev::Progress, &name, Some(dest.clone()), total).with_current(current));
    };
    let request = DownloadRequest {
        url,
        dest: dest.clone(),
        digest: digest.clone(),
        size: Some(size),
        policy,
        authorization: None,
    };
    match http.download(request, &progress).await {
        Ok(done) => {
            record_fingerprint(fingerprints, &dest, &digest);
            opts.emit(DownloadEvent::item(Ev::Done, &name, Some(dest), size).with_current(done.size));
            Ok(target)
        }
        Err(source) => {
            let label = match &target {
                Target::Artifact(n) => format!("vmconfig artifact {n}"),
                Target::Seed(n) => format!("seed snapshot {n}"),
                Target::Image(i) => format!("component image #{i}"),
            };
            let err = Arc::new(Error::Download { item: label.clone(), source: Box::new(source) });
            let mut event = DownloadEvent::item(Ev::Failed, &name, Some(dest), size);
            event.message = err.to_string();
            event.error = Some(Arc::clone(&err));
            opts.emit(event);
            Err(Arc::try_unwrap(err).unwrap_or_else(|shared| Error::rejected(label, shared.to_string())))
        }
    }
}
