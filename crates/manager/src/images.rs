//! Component images into zot's per-repository OCI layout (BEHAVIOR.md §6).
//!
//! Images are grouped by zot repository: one group's images are pulled one
//! after another because they share one `index.json`, while groups run
//! concurrently with each other and with the artifact downloads. A blob that
//! any repository of the store already holds is hard-linked, not fetched. An
//! image is marked cached only once its manifest, config and layers are all
//! in place and its tag points at it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use deps_manifest::{ComponentImage, Digest, ImageRef};
use deps_oci::{BlobIndex, Descriptor, ImageBlobs, Parsed, Platform, RepoLayout, parse_manifest};
use deps_store::Fingerprints;
use deps_transport::RegistryClient;
use tokio::sync::Semaphore;

use crate::download::{Target, record_fingerprint};
use crate::events::{DownloadEvent, DownloadEventType as Ev};
use crate::{DownloadOptions, Error};

/// One component image to pull.
#[derive(Debug, Clone)]
pub(crate) struct ImageJob {
    /// The entry's index in the components manifest.
    pub(crate) index: usize,
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
    /// Builds the job of one validated manifest entry.
    pub(crate) fn new(index: usize, image: &ComponentImage) -> Result<Self, Error> {
        let label = || format!("component image {}", image.image);
        let reference = image.image_ref()?;
        let digest: Digest = image.digest.parse().map_err(|e| Error::invalid(label(), e))?;
        let pinned_index = reference.digest().filter(|d| **d != digest).cloned();
        let platform = if image.platform.is_empty() {
            None
        } else {
            Some(Platform::parse(&image.platform).map_err(|e| Error::rejected(label(), e.to_string()))?)
        };
        let name = match &platform {
            Some(p) => format!("{} ({p})", image.image),
            None => image.image.clone(),
        };
        Ok(Self {
            index,
            name,
            repo: reference.zot_repository(),
            tag: reference.tag().unwrap_or("latest").to_owned(),
            reference,
            platform,
            digest,
            pinned_index,
            size: u64::try_from(image.size).unwrap_or(0),
        })
    }

    /// The repository layout this image goes into.
    pub(crate) fn layout(&self, root: &Path) -> Result<RepoLayout, Error> {
        RepoLayout::open(root, &self.repo).map_err(|e| Error::rejected(&self.name, e.to_string()))
    }

    /// Whether the image is complete in the store (sizes only).
    pub(crate) fn is_cached(&self, root: &Path) -> Result<bool, Error> {
        let layout = self.layout(root)?;
        layout
            .is_cached(Some(&self.tag), &self.digest, self.pinned_index.as_ref())
            .map_err(|e| Error::rejected(&self.name, e.to_string()))
    }

    /// Whether the image is complete and every blob has its digest, trusting
    /// fingerprints and hashing (then fingerprinting) the rest.
    pub(crate) fn is_intact(&self, root: &Path, fingerprints: &Fingerprints) -> Result<bool, Error> {
        let layout = self.layout(root)?;
        let ImageBlobs { problems, blobs } = layout
            .image_blobs(Some(&self.tag), &self.digest, self.pinned_index.as_ref())
            .map_err(|e| Error::rejected(&self.name, e.to_string()))?;
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
}

/// Groups image jobs by repository, keeping manifest order inside a group.
pub(crate) fn group_by_repo(jobs: Vec<ImageJob>) -> Vec<Vec<ImageJob>> {
    let mut groups: BTreeMap<String, Vec<ImageJob>> = BTreeMap::new();
    for job in jobs {
        groups.entry(job.repo.clone()).or_default().push(job);
    }
    groups.into_values().collect()
}

/// What every image task shares.
#[derive(Clone)]
pub(crate) struct ImageContext {
    pub(crate) root: std::path::PathBuf,
    pub(crate) registry: RegistryClient,
    pub(crate) blobs: Arc<Mutex<BlobIndex>>,
    /// One lock per blob digest, so a blob two repositories need is fetched once.
    pub(crate) blob_locks: Arc<Mutex<HashMap<Digest, Arc<tokio::sync::Mutex<()>>>>>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) host_slots: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Every blob verified on the way in is fingerprinted here.
    pub(crate) fingerprints: Arc<Fingerprints>,
    pub(crate) opts: DownloadOptions,
}

impl ImageContext {
    /// The semaphore limiting one registry host, when it has a limit.
    fn host_slot(&self, registry: &str) -> Option<Arc<Semaphore>> {
        let limit = RegistryClient::host_limit(registry)?;
        let mut slots = self.host_slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(Arc::clone(slots.entry(registry.to_owned()).or_insert_with(|| Arc::new(Semaphore::new(limit)))))
    }

    /// Pulls one repository's images in order; returns the targets pulled.
    pub(crate) async fn pull_group(self, group: Vec<ImageJob>) -> Result<Vec<Target>, Error> {
        let mut done = Vec::new();
        for job in group {
            let host = self.host_slot(job.reference.registry());
            let _host = match &host {
                Some(s) => Some(s.acquire().await.map_err(|e| Error::Task(e.to_string()))?),
                None => None,
            };
            let _slot = self.slots.acquire().await.map_err(|e| Error::Task(e.to_string()))?;
            self.opts.emit(DownloadEvent::item(Ev::Started, &job.name, None, job.size));
            match self.pull(&job).await {
                Ok(()) => {
                    let event =
                        DownloadEvent::item(Ev::Done, &job.name, None, job.size).with_current(job.size);
                    self.opts.emit(event);
                    done.push(Target::Image(job.index));
                }
                Err(err) => {
                    let err = Arc::new(err);
                    let mut event = DownloadEvent::item(Ev::Failed, &job.name, None, job.size);
                    event.message = err.to_string();
                    event.error = Some(Arc::clone(&err));
                    self.opts.emit(event);
                    return Err(
                        Arc::try_unwrap(err).unwrap_or_else(|e| Error::rejected(&job.name, e.to_string()))
                    );
                }
            }
        }
        Ok(done)
    }

    /// Whether a blob in place has its digest (fingerprint, else hash).
    async fn check_blob(&self, path: &Path, digest: &Digest) -> Result<bool, Error> {
        let (fingerprints, path, digest) = (Arc::clone(&self.fingerprints), path.to_owned(), digest.clone());
        tokio::task::spawn_blocking(move || fingerprints.check(&path, &digest))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
            .map_err(Error::from)
    }

    /// Pulls one platform image into its repository layout.
    async fn pull(&self, job: &ImageJob) -> Result<(), Error> {
        let registry = job.reference.registry();
        let repository = job.reference.repository();
        let layout = job.layout(&self.root)?;
        let oci = |e: deps_oci::Error| Error::rejected(&job.name, e.to_string());
        let net = |source: deps_transport::Error| Error::Download {
            item: job.name.clone(),
            source: Box::new(source),
        };

        let manifest = self
            .registry
            .get_manifest(registry, repository, &job.digest.to_string(), Some(&job.digest))
            .await
            .map_err(net)?;
        let blobs = match parse_manifest(&manifest.bytes).map_err(oci)? {
            Parsed::Image { config, layers, .. } => std::iter::once(config).chain(layers).collect::<Vec<_>>(),
            Parsed::Index { .. } => {
                return Err(Error::rejected(&job.name, "digest names an index, not a platform manifest"));
            }
        };
        let total: u64 = job.size;
        let mut so_far = manifest.bytes.len() as u64;
        for blob in &blobs {
            let blob_lock = {
                let mut locks = self.blob_locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                Arc::clone(locks.entry(blob.digest.clone()).or_default())
            };
            let _fetching = blob_lock.lock().await;
            let linked = {
                let mut index = self.blobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                index.link_into(&layout, &blob.digest, blob.size).map_err(oci)?
            };
            let dest = layout.blob_path(&blob.digest);
            // A blob already here or shared with another repository is hashed
            // unless its fingerprint vouches for it; a corrupt one is fetched again.
            let mut fetch = linked.is_none();
            if !fetch && !self.check_blob(&dest, &blob.digest).await? {
                fs_err::remove_file(&dest).map_err(|source| Error::Io { path: dest.clone(), source })?;
                fetch = true;
            }
            if fetch {
                let base = so_far;
                let progress = |current: u64, _: u64| {
                    let event = DownloadEvent::item(Ev::Progress, &job.name, None, total);
                    self.opts.emit(event.with_current(base + current));
                };
                self.registry
                    .download_blob(registry, repository, &blob.digest, blob.size, dest.clone(), &progress)
                    .await
                    .map_err(net)?;
                record_fingerprint(&self.fingerprints, &dest, &blob.digest);
                let mut index = self.blobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                index.insert(blob.digest.clone(), dest);
            }
            so_far += blob.size;
        }

        let root = self.root.clone();
        let job = job.clone();
        let upstream = match &job.pinned_index {
            Some(index_digest) => Some(
                self.registry
                    .get_manifest(registry, repository, &index_digest.to_string(), Some(index_digest))
                    .await
                    .map_err(net)?,
            ),
            None => None,
        };
        let fingerprints = Arc::clone(&self.fingerprints);
        tokio::task::spawn_blocking(move || -> Result<(), Error> {
            let layout = job.layout(&root)?;
            let oci = |e: deps_oci::Error| Error::rejected(&job.name, e.to_string());
            // Manifests were checked against their digests as they arrived.
            let put = |digest: &Digest, bytes: &[u8]| -> Result<(), Error> {
                layout.put_blob(digest, bytes).map_err(oci)?;
                fingerprints.record(&layout.blob_path(digest), digest)?;
                Ok(())
            };
            layout.ensure_layout_file().map_err(oci)?;
            put(&manifest.digest, &manifest.bytes)?;
            let mut descriptor =
                Descriptor::new(&manifest.media_type, manifest.digest.clone(), manifest.bytes.len() as u64);
            if let Some(platform) = &job.platform {
                descriptor = descriptor.with_platform(platform.clone());
            }
            layout.record_platform_manifest(&descriptor).map_err(oci)?;
            match (&upstream, &job.platform) {
                (Some(index), _) => {
                    put(&index.digest, &index.bytes)?;
                    layout
                        .tag_upstream_index(
                            &job.tag,
                            &index.digest,
                            &index.media_type,
                            index.bytes.len() as u64,
                        )
                        .map_err(oci)?;
                }
                (None, Some(_)) => {
                    layout.tag_platform(&job.tag, &descriptor).map_err(oci)?;
                }
                (None, None) => layout.tag_manifest(&job.tag, &descriptor).map_err(oci)?,
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }
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
        let job = ImageJob::new(index, image)?;
        if !job.is_cached(dest)? {
            jobs.push(job);
        }
    }
    let root = dest.to_owned();
    let blobs = tokio::task::spawn_blocking(move || BlobIndex::build(&root))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map_err(|e| Error::rejected("component image store", e.to_string()))?;
    let ctx = ImageContext {
        root: dest.to_owned(),
        registry,
        blobs: Arc::new(Mutex::new(blobs)),
        blob_locks: Arc::default(),
        slots: Arc::new(Semaphore::new(opts.concurrency())),
        host_slots: Arc::default(),
        // Not the cache: nothing is trusted, and nothing is saved beside the store.
        fingerprints: Arc::new(Fingerprints::empty(dest)),
        opts,
    };
    let mut set = tokio::task::JoinSet::new();
    for group in group_by_repo(jobs) {
        set.spawn(ctx.clone().pull_group(group));
    }
    while let Some(joined) = set.join_next().await {
        let result = joined.map_err(|e| Error::Task(e.to_string()))?;
        if let Err(err) = result {
            set.abort_all();
            while set.join_next().await.is_some() {}
            return Err(err);
        }
    }
    Ok(())
}
