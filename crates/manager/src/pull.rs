//! The one OCI pull path, for component images and `oci` template charts:
//! fetch a manifest checked against its digest, fetch its config and layers
//! (a blob any repository of the store already holds is hard-linked, not
//! fetched; one fetch per digest at a time) through the repository's staging
//! directory, fingerprint every blob verified on the way in, then write the
//! manifest and tags. All disk work runs off the
//! async worker threads.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use deps_manifest::Digest;
use deps_oci::{BlobIndex, Descriptor, Parsed, RepoLayout, parse_manifest};
use deps_store::Fingerprints;
use deps_transport::{FetchedManifest, RegistryClient};

use crate::Error;
use crate::events::ItemProgress;
use crate::job::{blocking, record_fingerprint};

/// A root of OCI layouts (the image store, the chart store) and what every pull into it shares.
#[derive(Clone)]
pub(crate) struct Store {
    root: PathBuf,
    registry: RegistryClient,
    blobs: Arc<Mutex<BlobIndex>>,
    /// One lock per blob digest, so a blob two repositories need is fetched once.
    blob_locks: Arc<Mutex<HashMap<Digest, Arc<tokio::sync::Mutex<()>>>>>,
    /// Every blob verified on the way in is fingerprinted here.
    fingerprints: Arc<Fingerprints>,
}

/// The repository a pull reads from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    pub(crate) registry: &'a str,
    pub(crate) repository: &'a str,
}

impl Store {
    /// The store under `root`, indexing the blobs it already holds.
    pub(crate) async fn open(
        root: PathBuf,
        registry: RegistryClient,
        fingerprints: Arc<Fingerprints>,
    ) -> Result<Self, Error> {
        let scan = root.clone();
        let blobs = blocking(move || {
            BlobIndex::build(&scan).map_err(|e| Error::layout(format!("OCI store {}", scan.display()), e))
        })
        .await?;
        Ok(Self {
            root,
            registry,
            blobs: Arc::new(Mutex::new(blobs)),
            blob_locks: Arc::default(),
            fingerprints,
        })
    }

    /// The layout of one repository of the store.
    pub(crate) fn layout(&self, item: &str, repo: &str) -> Result<RepoLayout, Error> {
        RepoLayout::open(&self.root, repo).map_err(|e| Error::layout(item, e))
    }

    /// Fetches a manifest by tag or digest, checked against `expected`, and
    /// returns it with its config and layers; an index is refused.
    pub(crate) async fn fetch_image_manifest(
        &self,
        item: &str,
        from: Source<'_>,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<(FetchedManifest, Vec<Descriptor>), Error> {
        let manifest = self.fetch_manifest(item, from, reference, expected).await?;
        match parse_manifest(&manifest.bytes).map_err(|e| Error::layout(item, e))? {
            Parsed::Image { config, layers, .. } => {
                let blobs = std::iter::once(config).chain(layers).collect();
                Ok((manifest, blobs))
            }
            Parsed::Index { .. } => {
                Err(Error::rejected(item, "the reference names an index, not an image manifest"))
            }
        }
    }

    /// Fetches any manifest by tag or digest, checked against `expected`.
    pub(crate) async fn fetch_manifest(
        &self,
        item: &str,
        from: Source<'_>,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<FetchedManifest, Error> {
        self.registry
            .get_manifest(from.registry, from.repository, reference, expected)
            .await
            .map_err(|e| Error::download(item, e))
    }

    /// Puts every blob into `layout`: linked from elsewhere in the store when a
    /// verified copy exists, fetched otherwise. Progress counts from `base`.
    pub(crate) async fn fetch_blobs(
        &self,
        item: &str,
        layout: &RepoLayout,
        from: Source<'_>,
        blobs: &[Descriptor],
        base: u64,
        progress: &ItemProgress,
    ) -> Result<(), Error> {
        let mut so_far = base;
        for blob in blobs {
            let blob_lock = {
                let mut locks = self.blob_locks.lock().unwrap_or_else(PoisonError::into_inner);
                Arc::clone(locks.entry(blob.digest.clone()).or_default())
            };
            let _fetching = blob_lock.lock().await;
            if !self.place_existing(item, layout, blob).await? {
                // Bytes arrive in the repository's staging directory (zot never reads
                // it) and move into blobs/ only once verified.
                let staged = layout.staging_path(&blob.digest);
                let report = |current: u64, _: u64| progress.report(so_far + current);
                self.registry
                    .download_blob(from.registry, from.repository, &blob.digest, blob.size, staged, &report)
                    .await
                    .map_err(|e| Error::download(item, e))?;
                let (adopting, digest, name) = (layout.clone(), blob.digest.clone(), item.to_owned());
                let fingerprints = Arc::clone(&self.fingerprints);
                let dest = blocking(move || {
                    // Made durable once for all of the image's blobs, before index.json names them.
                    let dest =
                        adopting.adopt_staged_unsynced(&digest).map_err(|e| Error::layout(&name, e))?;
                    record_fingerprint(&fingerprints, &dest, &digest);
                    Ok(dest)
                })
                .await?;
                self.blobs.lock().unwrap_or_else(PoisonError::into_inner).insert(blob.digest.clone(), dest);
            }
            so_far += blob.size;
            progress.report(so_far);
        }
        Ok(())
    }

    /// Links a blob the store already holds into `layout` and checks it (its
    /// fingerprint, else its hash); a corrupt copy is removed. Whether it is now in place.
    async fn place_existing(
        &self,
        item: &str,
        layout: &RepoLayout,
        blob: &Descriptor,
    ) -> Result<bool, Error> {
        let (item, layout, blob) = (item.to_owned(), layout.clone(), blob.clone());
        let (blobs, fingerprints) = (Arc::clone(&self.blobs), Arc::clone(&self.fingerprints));
        blocking(move || {
            let linked = blobs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .link_into(&layout, &blob.digest, blob.size)
                .map_err(|e| Error::layout(&item, e))?;
            if linked.is_none() {
                return Ok(false);
            }
            let dest = layout.blob_path(&blob.digest);
            if fingerprints.check(&dest, &blob.digest)? {
                return Ok(true);
            }
            fs_err::remove_file(&dest).map_err(|source| Error::Io { path: dest.clone(), source })?;
            Ok(false)
        })
        .await
    }

    /// Writes manifest blobs (already checked against their digests) and
    /// fingerprints them, then runs `tag` on the layout; all off the async threads.
    pub(crate) async fn write<F>(
        &self,
        item: &str,
        layout: &RepoLayout,
        manifests: Vec<FetchedManifest>,
        tag: F,
    ) -> Result<(), Error>
    where
        F: FnOnce(&RepoLayout) -> Result<(), deps_oci::Error> + Send + 'static,
    {
        let (item, layout, fingerprints) = (item.to_owned(), layout.clone(), Arc::clone(&self.fingerprints));
        blocking(move || {
            let oci = |e| Error::layout(&item, e);
            layout.sync_blobs().map_err(oci)?;
            layout.ensure_layout_file().map_err(oci)?;
            for manifest in &manifests {
                layout.put_blob(&manifest.digest, &manifest.bytes).map_err(oci)?;
                record_fingerprint(&fingerprints, &layout.blob_path(&manifest.digest), &manifest.digest);
            }
            tag(&layout).map_err(oci)
        })
        .await
    }
}

/// The descriptor of a fetched manifest.
pub(crate) fn descriptor_of(manifest: &FetchedManifest) -> Descriptor {
    Descriptor::new(&manifest.media_type, manifest.digest.clone(), manifest.bytes.len() as u64)
}
