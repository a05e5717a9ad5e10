//! `Manager::download`: one run for one kind and architecture, in the order of
//! BEHAVIOR.md §5. Everything is loaded and validated before any byte is
//! downloaded; the cache lock is held from the cache check to the last
//! manifest write; an item is marked cached only after its bytes were verified
//! and renamed into place, so an interrupted run never claims what it lacks.
//! Only orchestration lives here: the work runs through the scheduler.

use std::collections::HashSet;
use std::sync::Arc;

use deps_manifest::{
    ComponentImageFilter, ComponentsManifest, Item, ItemFilter, Manifest, SeedsManifest, TemplatesManifest,
};
use deps_store::Fingerprints;
use deps_transport::{HttpClient, RegistryClient};

use crate::checks;
use crate::error::Failure;
use crate::events::DownloadEvent;
use crate::files::{check_files, file_lanes};
use crate::git::GitPlan;
use crate::images::{ImageJob, check_images, image_lanes};
use crate::job::{Job, Target, blocking, save_fingerprints};
use crate::pull::Store;
use crate::report::{DownloadPlan, SharedCounts};
use crate::scheduler::{Outcome, Scheduler};
use crate::seeds::{SeedPlan, plan_seeds};
use crate::source::Loaded;
use crate::{DownloadOptions, Error, Manager};

/// Manifests shared by every architecture of one run.
#[derive(Debug)]
struct CrossArch {
    components: Loaded<ComponentsManifest>,
    image_jobs: Vec<ImageJob>,
    templates: Loaded<TemplatesManifest>,
    /// The selected template images.
    template_image_jobs: Vec<ImageJob>,
    /// The components Git source's mirror, unless there is none or it is skipped.
    git: Option<GitPlan>,
    seeds: Option<(Loaded<SeedsManifest>, Vec<SeedPlan>)>,
}

impl CrossArch {
    /// How many items of each shared domain the run selects.
    fn counts(&self) -> SharedCounts {
        SharedCounts {
            component_images: self.image_jobs.len(),
            template_charts: self.templates.manifest.templates.charts.len(),
            template_images: self.template_image_jobs.len(),
            seed_snapshots: self.seeds.as_ref().map_or(0, |(_, plans)| plans.len()),
        }
    }
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
    /// The selected vmconfig images (the VM's own runtime images).
    vm_images: Vec<ImageJob>,
    cross: Option<CrossArch>,
}

/// What a run under the lock did: its plan, and every item that failed.
struct Ran {
    plan: DownloadPlan,
    failures: Vec<Failure>,
}

impl Manager {
    /// Fetches the manifests for `kind`/`arch` and downloads every missing
    /// artifact, image, chart and snapshot they select into the cache.
    ///
    /// Returns the run's plan (what was missing). With `opts.dry_run` nothing
    /// is downloaded or written and the plan says what would be. When items
    /// fail, the others still finish and are kept (verified, fingerprinted),
    /// each domain whose items all succeeded gets its cached manifest, and the
    /// error is [`Error::Failed`] listing every failure. With
    /// `opts.fail_fast`, the first failure stops the run and nothing more is
    /// written.
    pub async fn download(
        &self,
        kind: &str,
        arch: &str,
        opts: DownloadOptions,
    ) -> Result<DownloadPlan, Error> {
        let http = match &opts.client {
            Some(client) => self.with_own_insecure_hosts(client)?,
            None => self.http.clone(),
        };
        let events = opts.events();
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
        let artifact_jobs = self.artifact_jobs(&items, arch, opts.mirror.as_deref())?;
        let vm_images = runtime_jobs(
            &manifest.vmconfig.images,
            &manifest.image_indexes(&[arch.to_owned()]),
            Target::VmImage,
        )?;

        // 2. Manifests shared across architectures.
        let cross = if opts.skip_cross_arch_dependencies {
            None
        } else {
            Some(self.load_cross_arch(arch, &opts, &http).await?)
        };

        // Checks that need the whole plan: one path per item, names that fit.
        let seed_jobs =
            cross.as_ref().and_then(|c| c.seeds.as_ref()).into_iter().flat_map(|(_, plans)| plans);
        let seed_jobs: Vec<&Job> = seed_jobs.filter_map(SeedPlan::job).collect();
        checks::distinct_destinations(artifact_jobs.iter().chain(seed_jobs.iter().copied()))?;
        artifact_jobs.iter().chain(seed_jobs).try_for_each(checks::name_fits)?;

        // 3. Dry run: the plan, and nothing written.
        if opts.dry_run {
            let counts = cross.as_ref().map(CrossArch::counts);
            let mut plan = self.plan_of(target_name, &vm.source, artifact_jobs, counts).await?;
            plan.vmconfig_images = vm_images.len();
            plan.git = cross.as_ref().and_then(|c| c.git.as_ref()).map(|g| self.planned_git(g));
            return Ok(plan);
        }

        // 4. Check the cache, under the lock.
        let _lock = self.lock(&events).await?;
        let mut jobs = artifact_jobs;
        if let Some((_, plans)) = cross.as_ref().and_then(|c| c.seeds.as_ref()) {
            jobs.extend(plans.iter().filter_map(SeedPlan::job).cloned());
        }
        let moving = events.clone();
        self.off_thread(move |m| {
            // Temporary files a killed run left behind go first; then an older image store moves.
            m.sweep_stray_temp_files()?;
            m.migrate_image_store(&moving)
        })
        .await?;
        let fingerprints = Arc::new(self.off_thread(|m| Ok(m.load_fingerprints())).await?);
        let source = vm.source.to_string();
        let plan = RunPlan { kind, arch, jobs, items: &items, manifest, vm_images, cross };
        let ran = self.fetch_and_record(target_name.clone(), source, plan, &fingerprints, &http, &opts).await;
        let saved = Arc::clone(&fingerprints);
        blocking(move || {
            save_fingerprints(&saved);
            Ok(())
        })
        .await?;
        let Ran { plan, failures } = ran?;
        if !failures.is_empty() {
            return Err(Error::Failed { failures });
        }

        // 7. Done.
        events.emit(DownloadEvent::status(format!("All dependencies for {target_name} are up to date.")));
        Ok(plan)
    }

    /// Steps 4 to 6 under the lock: check the cache, download what is missing
    /// (fingerprinting what is verified), write the manifests with their markers.
    async fn fetch_and_record(
        &self,
        target_name: String,
        source: String,
        plan: RunPlan<'_>,
        fingerprints: &Arc<Fingerprints>,
        http: &HttpClient,
        opts: &DownloadOptions,
    ) -> Result<Ran, Error> {
        let RunPlan { kind, arch, jobs, items, mut manifest, vm_images, mut cross } = plan;
        let events = opts.events();
        let (queued, mut present) = check_files(jobs, fingerprints, &events).await?;
        let missing =
            queued.iter().filter(|j| matches!(j.target, Target::Artifact(_))).map(|j| self.planned(j));
        let mut run_plan =
            self.plan(target_name, source, missing.collect(), cross.as_ref().map(CrossArch::counts));
        run_plan.vmconfig_images = vm_images.len();
        let mut image_jobs = vm_images;
        if let Some(cross) = cross.as_mut() {
            image_jobs.append(&mut cross.image_jobs);
            image_jobs.append(&mut cross.template_image_jobs);
        }
        let selected_images: Vec<Target> = image_jobs.iter().map(|job| job.target.clone()).collect();
        let images_root = self.components_images_cache_dir();
        let (queued_images, cached_images) =
            check_images(image_jobs, &images_root, fingerprints, &events).await?;
        present.extend(cached_images);

        // Everything still to fetch must fit; a manifest that declares a terabyte fails here.
        let needed = queued.iter().map(|j| j.size).chain(queued_images.iter().map(|j| j.size)).sum::<u64>();
        let root = self.cache_dir().to_owned();
        blocking(move || checks::space_for(needed, &root)).await?;

        // 5. Download everything missing; the others go on when one fails, unless told to fail fast.
        let registry = self.registry_client(http);
        let scheduler = Scheduler::new(opts.effective_concurrency(), opts.fail_fast, events.clone());
        let mut lanes = file_lanes(queued, http, &self.download_retry, fingerprints, &events);
        let git = cross.as_mut().and_then(|c| c.git.take());
        let git_selected = git.is_some();
        if let Some(git) = git {
            run_plan.git = Some(self.planned_git(&git));
            lanes.push(vec![self.git_unit(git, &events)]);
        }
        if !queued_images.is_empty() {
            let store = Store::open(images_root, registry.clone(), Arc::clone(fingerprints)).await?;
            lanes.extend(image_lanes(queued_images, &store, &events));
        }
        let mut outcome = scheduler.run(lanes).await;
        if opts.fail_fast && !outcome.failures.is_empty() {
            return Ok(Ran { plan: run_plan, failures: outcome.failures });
        }
        present.append(&mut outcome.done);
        let mut present: HashSet<Target> = present.into_iter().collect();
        // A file deleted while the run went on is not claimed: every artifact is looked at once more.
        let artifacts: Vec<(Target, std::path::PathBuf)> = items
            .iter()
            .filter_map(|item| {
                let target = Target::Artifact(item.name.clone());
                let dest = self.vmconfig_arch_artifact_cache_path(&item.name, &item.dep, arch).ok()?;
                present.contains(&target).then_some((target, dest))
            })
            .collect();
        let gone = blocking(move || {
            Ok(artifacts.into_iter().filter(|(_, dest)| !dest.is_file()).map(|(t, _)| t).collect::<Vec<_>>())
        })
        .await?;
        for target in gone {
            present.remove(&target);
            if let Target::Artifact(name) = target {
                let reason = "its file was deleted while the run went on".to_owned();
                let error = Error::Unavailable { item: format!("vmconfig artifact {name}"), reason };
                outcome.failures.push(Failure { item: name, error });
            }
        }

        // 6. Write the manifests with their markers. A domain with a failed item
        // keeps its previous cached manifest: a cached manifest never claims a
        // selection that is not all in the cache. What did finish is in place
        // and fingerprinted, so the next run does not fetch it again.
        let complete = |target: Target| present.contains(&target);
        // Whether every selected image of one kind arrived.
        let images_complete = |kind: fn(&Target) -> bool| {
            selected_images.iter().filter(|t| kind(t)).all(|t| present.contains(t))
        };
        let artifacts_complete = items.iter().all(|item| complete(Target::Artifact(item.name.clone())));
        if artifacts_complete && images_complete(|t| matches!(t, Target::VmImage(_))) {
            for item in items {
                manifest.mark_cached(&item.name);
            }
            for target in &present {
                if let Target::VmImage(i) = target {
                    manifest.mark_image_cached(*i);
                }
            }
            let (kind, arch, raw) = (kind.to_owned(), arch.to_owned(), manifest.to_cached_json());
            self.off_thread(move |m| m.write_cached_manifest(&kind, &arch, &raw)).await?;
        }
        if let Some(cross) = cross.as_mut() {
            let components = &mut cross.components.manifest;
            components.reset_cached();
            for target in &present {
                if let Target::Image(i) = target {
                    components.mark_cached(*i);
                }
            }
            if let Some(source) = components.components.source.as_mut() {
                source.cached = present.contains(&Target::Git);
            }
            let git_complete = !git_selected || present.contains(&Target::Git);
            if images_complete(|t| matches!(t, Target::Image(_))) && git_complete {
                let raw = components.to_cached_json();
                self.off_thread(move |m| m.write_cached_components_manifest(&raw)).await?;
            }
            let template_images = images_complete(|t| matches!(t, Target::TemplateImage(_)));
            outcome.extend(
                self.cache_templates(
                    &mut cross.templates,
                    &present,
                    template_images,
                    &registry,
                    fingerprints,
                    &scheduler,
                )
                .await?,
            );
            if opts.fail_fast && !outcome.failures.is_empty() {
                return Ok(Ran { plan: run_plan, failures: outcome.failures });
            }
            if let Some((seeds, plans)) = cross.seeds.as_mut() {
                let fetched = plans.iter().filter_map(SeedPlan::job).all(|job| complete(job.target.clone()));
                self.finish_seeds(&mut seeds.manifest, plans, &present, &events).await?;
                if fetched {
                    let raw = seeds.manifest.to_cached_json();
                    self.off_thread(move |m| m.write_cached_seeds_manifest(&raw)).await?;
                }
            }
        }
        Ok(Ran { plan: run_plan, failures: outcome.failures })
    }

    /// Caches every chart of the templates manifest, marks each with its layer
    /// digest and each template image in `present`, and writes the templates
    /// manifest when every chart is cached and `images_complete`.
    async fn cache_templates(
        &self,
        templates: &mut Loaded<TemplatesManifest>,
        present: &HashSet<Target>,
        images_complete: bool,
        registry: &RegistryClient,
        fingerprints: &Arc<Fingerprints>,
        scheduler: &Scheduler,
    ) -> Result<Outcome, Error> {
        let store =
            Store::open(self.templates_charts_cache_dir(), registry.clone(), Arc::clone(fingerprints))
                .await?;
        let (charts, lanes) = self.plan_charts(templates, &store, scheduler.events()).await?;
        let outcome = scheduler.run(lanes).await;
        templates.manifest.reset_cached();
        for target in charts.iter().chain(&outcome.done).chain(present) {
            match target {
                Target::Chart(index, layer) => {
                    templates.manifest.mark_cached(*index, layer.to_string());
                }
                Target::TemplateImage(index) => {
                    templates.manifest.mark_image_cached(*index);
                }
                _ => {}
            }
        }
        if outcome.failures.is_empty() && images_complete {
            let raw = templates.manifest.to_cached_json();
            self.off_thread(move |m| m.write_cached_templates_manifest(&raw)).await?;
        }
        Ok(Outcome { done: Vec::new(), failures: outcome.failures })
    }

    /// Builds and validates the download jobs of the selected vmconfig items of `arch`.
    ///
    /// With a mirror, an arch other than the primary one tries the mirror's
    /// arch path first (`<name>/<version>/<arch>/<file>`, where a multi-arch
    /// cache served over HTTP keeps it), then the original path: the digest decides.
    fn artifact_jobs(&self, items: &[Item], arch: &str, mirror: Option<&str>) -> Result<Vec<Job>, Error> {
        items
            .iter()
            .map(|item| {
                let label = format!("vmconfig artifact {}", item.name);
                item.validate()?;
                let digest = item.dep.parse_digest().map_err(|e| Error::invalid(&label, e))?;
                let dest = self.vmconfig_arch_artifact_cache_path(&item.name, &item.dep, arch)?;
                let url = item.resolve_url(mirror.unwrap_or(""));
                self.check_url(&url).map_err(|e| Error::download(&label, e))?;
                let (url, fallback) = match mirror.filter(|m| !m.is_empty()) {
                    Some(mirror) if arch != self.primary_arch() => {
                        let file =
                            dest.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                        let base = mirror.trim_end_matches('/');
                        let arch_url = format!(
                            "{base}/vmconfig/artifacts/{}/{}/{arch}/{file}",
                            item.name, item.dep.version
                        );
                        (arch_url, Some(url))
                    }
                    _ => (url, None),
                };
                Ok(Job {
                    target: Target::Artifact(item.name.clone()),
                    name: item.name.clone(),
                    url,
                    fallback,
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
        let filter = ComponentImageFilter {
            archs: archs.clone(),
            providers: opts.providers.clone(),
            addons: opts.addons.clone(),
        };
        let mut image_jobs = Vec::new();
        for i in components.manifest.download_image_indexes(&filter) {
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
        let selected = templates.manifest.image_indexes(&archs);
        let template_image_jobs =
            runtime_jobs(&templates.manifest.templates.images, &selected, Target::TemplateImage)?;

        let seeds = if opts.skip_seeds {
            None
        } else {
            let seeds: Loaded<SeedsManifest> = self
                .load_manifest("seeds manifest", "seeds.json", opts.seeds_manifest_path.as_deref(), http)
                .await?;
            let plans = plan_seeds(self, &seeds)?;
            Some((seeds, plans))
        };
        let git = match &components.manifest.components.source {
            Some(source) if !opts.skip_components_git => Some(self.plan_git(source)?),
            _ => None,
        };
        Ok(CrossArch { components, image_jobs, templates, template_image_jobs, git, seeds })
    }
}

/// The validated jobs of the selected runtime images (vmconfig or template images).
fn runtime_jobs(
    images: &[deps_manifest::RuntimeImage],
    selected: &[usize],
    target: fn(usize) -> Target,
) -> Result<Vec<ImageJob>, Error> {
    selected
        .iter()
        .filter_map(|&i| images.get(i).map(|image| (i, image)))
        .map(|(i, image)| {
            image.validate()?;
            ImageJob::runtime(target(i), image)
        })
        .collect()
}
