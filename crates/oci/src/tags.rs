//! Tags and platform manifests in a layout's `index.json` (BEHAVIOR §6).
//!
//! A pulled platform manifest gets its own untagged descriptor. Its tag then
//! points at an image index, one of two kinds:
//!
//! - **pinned** (the reference names an upstream index digest that differs
//!   from the platform digest): the upstream index bytes, stored as fetched,
//!   so pulls by the original digest keep working;
//! - **unpinned**: a local index we build from the platform manifests pulled
//!   so far under this tag, one entry per platform. Pulling a second
//!   architecture of the same tag adds an entry to the same tag index;
//!   re-pulling a platform with a new digest replaces its entry.
//!
//! Replacing a platform (re-pulling it under the same tag with a new digest)
//! drops, in the same `index.json` write that moves the tag, the old platform
//! manifest's untagged descriptor unless another index still lists it; the
//! old tag index blob is removed after that write when nothing names it any
//! more. zot's GC would otherwise delete what they point at later, behind our
//! back, leaving descriptors to missing blobs.
//!
//! Every operation here requires the blobs it points at to be in the layout
//! already, so `index.json` never names a blob that is missing: blobs are
//! written first, `index.json` last. Each is one
//! read-modify-write of `index.json`; the one-writer-per-repository rule of
//! [`crate::RepoLayout`] applies.
//!
//! A pull therefore goes: layers and config (streamed into `blob_path`, or
//! linked from another repository), the platform manifest bytes (`put_blob`),
//! [`RepoLayout::record_platform_manifest`], then either the upstream index
//! bytes (`put_blob`) and [`RepoLayout::tag_upstream_index`], or
//! [`RepoLayout::tag_platform`]. Interrupted anywhere, the image is simply
//! not cached yet.

use std::collections::HashSet;

use deps_manifest::Digest;
use tracing::debug;

use crate::descriptor::Descriptor;
use crate::index::ImageIndex;
use crate::layout::RepoLayout;
use crate::media::{self, OCI_IMAGE_INDEX};
use crate::parse::{Parsed, parse_manifest};
use crate::{Error, Result, sha256};

impl RepoLayout {
    /// Lists a platform manifest in `index.json` without a tag, once per digest.
    pub fn record_platform_manifest(&self, descriptor: &Descriptor) -> Result<()> {
        self.require_blob(descriptor)?;
        let mut index = self.read_index()?;
        if index.add_untagged(descriptor) {
            self.write_index(&index)?;
        }
        Ok(())
    }

    /// Points `tag` at `descriptor` (whose blob must be in the layout), replacing the tag's old descriptor.
    pub fn tag_manifest(&self, tag: &str, descriptor: &Descriptor) -> Result<()> {
        self.require_blob(descriptor)?;
        let mut index = self.read_index()?;
        if index.tagged(tag) != Some(&descriptor.clone().with_ref_name(tag)) {
            index.set_tag(tag, descriptor);
            self.write_index(&index)?;
        }
        Ok(())
    }

    /// Pinned reference: points `tag` at the upstream index blob (stored beforehand with `put_blob`).
    pub fn tag_upstream_index(
        &self,
        tag: &str,
        index_digest: &deps_manifest::Digest,
        media_type: &str,
        size: u64,
    ) -> Result<()> {
        self.tag_manifest(tag, &Descriptor::new(media_type, index_digest.clone(), size))
    }

    /// Unpinned reference: adds a platform manifest to `tag`'s local index and points the tag at it.
    ///
    /// The new index holds the entries of the tag's current index whose
    /// manifests are in this layout, minus any entry of the same platform, plus
    /// `platform_manifest` (which must carry its platform); entries are sorted
    /// by platform. It is stored as a blob and the tag points at it. Returns the
    /// tag's new descriptor (without the tag annotation).
    pub fn tag_platform(&self, tag: &str, platform_manifest: &Descriptor) -> Result<Descriptor> {
        if platform_manifest.platform.is_none() {
            return Err(Error::NoPlatform { digest: platform_manifest.digest.clone() });
        }
        self.require_blob(platform_manifest)?;
        let entries = self.current_tag_entries(tag)?;
        let replaced: Vec<Digest> = entries
            .iter()
            .filter(|e| e.platform == platform_manifest.platform && e.digest != platform_manifest.digest)
            .map(|e| e.digest.clone())
            .collect();
        let mut tag_index = ImageIndex::new(entries);
        tag_index.upsert_platform(platform_manifest);
        let bytes = tag_index.to_json();
        let digest = sha256(&bytes);
        self.put_blob(&digest, &bytes)?;
        let descriptor = Descriptor::new(OCI_IMAGE_INDEX, digest, bytes.len() as u64);

        let mut index = self.read_index()?;
        let old_tag = index.tagged(tag).map(|d| d.digest.clone());
        if index.tagged(tag) == Some(&descriptor.clone().with_ref_name(tag)) && replaced.is_empty() {
            return Ok(descriptor);
        }
        index.set_tag(tag, &descriptor);
        if !replaced.is_empty() {
            let listed = self.listed_by_indexes(&index)?;
            index.manifests.retain(|d| {
                d.ref_name().is_some() || !replaced.contains(&d.digest) || listed.contains(&d.digest)
            });
        }
        self.write_index(&index)?;
        // After index.json: a crash before this line leaves an unreferenced blob, never a dangling descriptor.
        if let Some(old) = old_tag
            && old != descriptor.digest
            && index.find(&old).is_none()
            && !self.listed_by_indexes(&index)?.contains(&old)
        {
            debug!(repo = self.repo(), tag, %old, "removing the replaced tag index");
            deps_store::remove_if_exists(&self.blob_path(&old))?;
        }
        Ok(descriptor)
    }

    /// Every manifest digest listed by an index blob that `index` names (and that is in the layout).
    fn listed_by_indexes(&self, index: &ImageIndex) -> Result<HashSet<Digest>> {
        let mut listed = HashSet::new();
        for d in &index.manifests {
            if !media::is_index(&d.media_type) || !self.has_blob(&d.digest, Some(d.size)) {
                continue;
            }
            if let Ok(Parsed::Index { manifests, .. }) = parse_manifest(&self.read_blob(&d.digest)?) {
                listed.extend(manifests.into_iter().map(|m| m.digest));
            }
        }
        Ok(listed)
    }

    /// The platform entries of the index `tag` points at that are in this layout; empty when none.
    fn current_tag_entries(&self, tag: &str) -> Result<Vec<Descriptor>> {
        let index = self.read_index()?;
        let Some(current) = index.tagged(tag) else { return Ok(Vec::new()) };
        if !media::is_index(&current.media_type) || !self.has_blob(&current.digest, Some(current.size)) {
            return Ok(Vec::new());
        }
        let bytes = self.read_blob(&current.digest)?;
        match parse_manifest(&bytes) {
            Ok(Parsed::Index { manifests, .. }) => Ok(manifests
                .into_iter()
                .filter(|m| m.platform.is_some() && self.has_blob(&m.digest, Some(m.size)))
                .collect()),
            other => {
                debug!(repo = self.repo(), tag, ?other, "tag index unusable; starting a new one");
                Ok(Vec::new())
            }
        }
    }

    /// Fails unless the descriptor's blob is in the layout with its size.
    fn require_blob(&self, descriptor: &Descriptor) -> Result<()> {
        if self.has_blob(&descriptor.digest, Some(descriptor.size)) {
            Ok(())
        } else {
            Err(Error::MissingBlob {
                digest: descriptor.digest.clone(),
                path: self.blob_path(&descriptor.digest),
            })
        }
    }
}
