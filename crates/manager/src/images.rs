//! Images into zot's per-repository OCI layout (BEHAVIOR.md §6 and §10):
//! component images, the vmconfig images the VM itself runs, and template
//! images, all into the one image store in the registry cache.
//!
//! Images are grouped by zot repository: one group's images are pulled one
//! after another because they share one `index.json`, while groups run
//! concurrently with each other and with the artifact downloads. An image is
//! marked cached only once its manifest, config and layers are all in place
//! and its tag points at it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use deps_manifest::{ComponentImage, Digest, ImageRef, RuntimeImage};
use deps_oci::{ImageBlobs, Platform, RepoLayout};
use deps_store::Fingerprints;
use deps_transport::RegistryClient;

use crate::events::{DownloadEvent, DownloadEventType as Ev, Events, ItemProgress};
use crate::job::{Target, blocking};
use crate::pull::{Source, Store, descriptor_of};
use crate::scheduler::{Finished, Lane, Scheduler, Unit};
use crate::{DownloadOptions, Error};

/// One image to pull.
#[derive(Debug, Clone)]
pub(crate) struct ImageJob {
    /// The manifest entry it marks cached.
    pub(crate) target: Target,
    /// The event name: `<reference> (<platform>)`.
    pub(crate) name: String,
    pub(crate) reference: ImageRef,
    pub(crate) repo: String,
    pub(crate) tag: String,
    pub(crate) platform: Option<Platform>,
    pub(crate) digest: Digest,
    /// The pinned upstream index digest, when it differs from the platform digest.
    pub(crate) pinned_index: Option<Digest>,
    pub(crate) size: u64,
}

impl ImageJob {
    /// The job of one validated components manifest entry.
    pub(crate) fn new(index: usize, image: &ComponentImage) -> Result<Self, Error> {
        let reference = image.image_ref()?;
        let parts = (&image.image, &image.digest, &image.platform, image.size);
        Self::from_parts(Target::Image(index), "component image", reference, parts)
    }

    /// The job of one validated vmconfig (`VmImage`) or template (`TemplateImage`) image entry.
    pub(crate) fn runtime(target: Target, image: &RuntimeImage) -> Result<Self, Error> {
        let what = if matches!(target, Target::VmImage(_)) { "vmconfig image" } else { "template image" };
        let reference = image.image_ref()?;
        Self::from_parts(target, what, reference, (&image.image, &image.digest, &image.platform, image.size))
    }

    /// A job from an entry's image, digest, platform and size.
    fn from_parts(
        target: Target,
        what: &str,
        reference: ImageRef,
        (image, digest, platform, size): (&String, &String, &String, i64),
    ) -> Result<Self, Error> {
        let label = || format!("{what} {image}");
        let digest: Digest = digest.parse().map_err(|e| Error::invalid(label(), e))?;
        let pinned_index = reference.digest().filter(|d| **d != digest).cloned();
        let platform = if platform.is_empty() {
            None
        } else {
            Some(Platform::parse(platform).map_err(|e| Error::layout(label(), e))?)
        };
        let name = match &platform {
            Some(p) => format!("{image} ({p})"),
            None => image.clone(),
        };
        Ok(Self {
            target,
            name,
            repo: reference.zot_repository(),
            tag: reference.tag().unwrap_or("latest").to_owned(),
            reference,
            platform,
            digest,
            pinned_index,
            size: u64::try_from(size).unwrap_or(0),
        })
    }

    /// The repository layout this image goes into.
    pub(crate) fn layout(&self, root: &Path) -> Result<RepoLayout, Error> {
        RepoLayout::open(root, &self.repo).map_err(|e| Error::layout(&self.name, e))
    }

    /// The image's blobs in the store, and what is wrong with its structure.
    pub(crate) fn blobs(&self, root: &Path) -> Result<ImageBlobs, Error> {
        self.layout(root)?
            .image_blobs(Some(&self.tag), &self.digest, self.pinned_index.as_ref())
            .map_err(|e| Error::layout(&self.name, e))
    }

    /// Whether the image is complete in the store (sizes only).
    pub(crate) fn is_cached(&self, root: &Path) -> Result<bool, Error> {
        self.layout(root)?
            .is_cached(Some(&self.tag), &self.digest, self.pinned_index.as_ref())
            .map_err(|e| Error::layout(&self.name, e))
    }

    /// Whether the image is complete and every blob has its digest, trusting
    /// fingerprints and hashing (then fingerprinting) the rest.
    pub(crate) fn is_intact(&self, root: &Path, fingerprints: &Fingerprints) -> Result<bool, Error> {
        let ImageBlobs { problems, blobs } = self.blobs(root)?;
        if !problems.is_empty() {
            return Ok(false);
        }
        for (path, digest) in blobs {
            if !fingerprints.check(&path, &digest)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The unit that pulls this image into `store`.
    fn unit(self, store: Store, events: Events) -> Unit {
        let host = self.reference.registry().to_owned();
        let limit = RegistryClient::host_limit(&host).map(|limit| (host, limit));
        let (name, size) = (self.name.clone(), self.size);
        Unit::new(&name, None, size, async move {
            let progress = ItemProgress::new(events, &self.name, None, self.size);
            pull_image(&store, &self, &progress).await?;
            Ok(Finished { target: self.target.clone(), bytes: self.size })
        })
        .with_host_limit(limit)
    }
}

/// One lane per repository, images in manifest order inside it.
pub(crate) fn image_lanes(jobs: Vec<ImageJob>, store: &Store, events: &Events) -> Vec<Lane> {
    let mut groups: BTreeMap<String, Vec<ImageJob>> = BTreeMap::new();
    for job in jobs {
        groups.entry(job.repo.clone()).or_default().push(job);
    }
    groups
        .into_values()
        .map(|group| group.into_iter().map(|job| job.unit(store.clone(), events.clone())).collect())
        .collect()
}

/// Pulls one platform image into its repository layout.
async fn pull_image(store: &Store, job: &ImageJob, progress: &ItemProgress) -> Result<(), Error> {
    let from = Source { registry: job.reference.registry(), repository: job.reference.repository() };
    let layout = store.layout(&job.name, &job.repo)?;
    let digest = job.digest.to_string();
    let (manifest, blobs) = store.fetch_image_manifest(&job.name, from, &digest, Some(&job.digest)).await?;
    store.fetch_blobs(&job.name, &layout, from, &blobs, manifest.bytes.len() as u64, progress).await?;
    let upstream = match &job.pinned_index {
        Some(index) => Some(store.fetch_manifest(&job.name, from, &index.to_string(), Some(index)).await?),
        None => None,
    };
    let mut descriptor = descriptor_of(&manifest);
    if let Some(platform) = &job.platform {
        descriptor = descriptor.with_platform(platform.clone());
    }
    let (tag, platform) = (job.tag.clone(), job.platform.is_some());
    let upstream_descriptor = upstream.as_ref().map(descriptor_of);
    let manifests = std::iter::once(manifest).chain(upstream).collect();
    store
        .write(&job.name, &layout, manifests, move |layout| {
            layout.record_platform_manifest(&descriptor)?;
            match upstream_descriptor {
                Some(index) => layout.tag_upstream_index(&tag, &index.digest, &index.media_type, index.size),
                None if platform => layout.tag_platform(&tag, &descriptor).map(|_| ()),
                None => layout.tag_manifest(&tag, &descriptor),
            }
        })
        .await
}

/// Populates a zot store under `dest` with every image of `manifest`, outside a
/// full download run (the original's `PopulateComponentsZotStore`).
pub async fn populate_components_zot_store(
    dest: &Path,
    manifest: &deps_manifest::ComponentsManifest,
    registry: RegistryClient,
    opts: DownloadOptions,
) -> Result<(), Error> {
    let mut jobs = Vec::new();
    for (index, image) in manifest.components.images.iter().enumerate() {
        image.validate()?;
        jobs.push(ImageJob::new(index, image)?);
    }
    let root = dest.to_owned();
    let jobs = blocking(move || {
        let mut missing = Vec::new();
        for job in jobs {
            if !job.is_cached(&root)? {
                missing.push(job);
            }
        }
        Ok(missing)
    })
    .await?;
    // Not the cache: nothing is trusted, and nothing is saved beside the store.
    let fingerprints = Arc::new(Fingerprints::empty(dest));
    let store = Store::open(dest.to_owned(), registry, fingerprints).await?;
    let events = opts.events();
    let scheduler = Scheduler::new(opts.effective_concurrency(), opts.fail_fast, events.clone());
    let outcome = scheduler.run(image_lanes(jobs, &store, &events)).await;
    if outcome.failures.is_empty() { Ok(()) } else { Err(Error::Failed { failures: outcome.failures }) }
}

/// Checks every image against the store (trusting fingerprints, hashing the
/// rest), emitting `checking` then `cached` or `queued`; returns the missing
/// (or damaged) images and the targets already complete.
pub(crate) async fn check_images(
    jobs: Vec<ImageJob>,
    root: &Path,
    fingerprints: &Arc<Fingerprints>,
    events: &Events,
) -> Result<(Vec<ImageJob>, Vec<Target>), Error> {
    let (root, fingerprints) = (root.to_owned(), Arc::clone(fingerprints));
    let (checked, repaired) = blocking(move || {
        let mut repaired = Vec::new();
        let mut checked = Vec::new();
        for job in jobs {
            let cached = match job.is_intact(&root, &fingerprints) {
                Ok(cached) => cached,
                // An index.json that does not parse tells nothing: it goes, and every
                // image of the repository is recorded again (its blobs stay, so nothing
                // is fetched twice).
                Err(err) if is_corrupt_index(&err) => {
                    let index = job.layout(&root)?.index_path();
                    fs_err::remove_file(&index)
                        .map_err(|source| Error::Io { path: index.clone(), source })?;
                    repaired.push(index);
                    false
                }
                Err(err) => return Err(err),
            };
            checked.push((job, cached));
        }
        Ok((checked, repaired))
    })
    .await?;
    for index in repaired {
        events.emit(DownloadEvent::status(format!("Repairing {}: it did not parse.", index.display())));
    }
    let (mut missing, mut present) = (Vec::new(), Vec::new());
    for (job, cached) in checked {
        events.emit(DownloadEvent::item(Ev::Checking, &job.name, None, job.size));
        if cached {
            events.emit(DownloadEvent::item(Ev::Cached, &job.name, None, job.size).with_current(job.size));
            present.push(job.target.clone());
        } else {
            events.emit(DownloadEvent::item(Ev::Queued, &job.name, None, job.size));
            missing.push(job);
        }
    }
    Ok((missing, present))
}

/// Whether an error is an image repository's `index.json` that does not parse.
fn is_corrupt_index(err: &Error) -> bool {
    matches!(err, Error::Layout { source, .. } if matches!(**source, deps_oci::Error::CorruptLayoutFile { .. }))
}
