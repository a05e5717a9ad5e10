//! Whether an image is complete in a layout (BEHAVIOR §6 "Cached means"), cheaply or thoroughly.
//!
//! An image (a platform manifest, optionally under a tag) is cached when:
//! `index.json` lists the platform digest; its manifest blob and every
//! config and layer blob exist with the sizes their descriptors name; and,
//! with a tag, the tag points at an index blob that is present and lists the
//! platform digest. When the reference is pinned to an upstream index, the
//! tag must point at exactly that digest. So a tag whose index lists another
//! digest for the same platform means "not cached".
//!
//! [`RepoLayout::is_cached`] checks sizes only and stops at the first problem;
//! [`RepoLayout::verify_image`] also re-hashes every blob and reports every
//! problem; [`RepoLayout::image_blobs`] reports every problem but leaves the
//! re-hashing of the blobs it lists to the caller (who may trust fingerprints,
//! or hash on many threads). A layout that is absent or incomplete is never an error here;
//! only an unreadable or corrupt `index.json` is.

use std::fmt;
use std::path::PathBuf;

use deps_manifest::Digest;

use crate::descriptor::Descriptor;
use crate::layout::RepoLayout;
use crate::parse::{Parsed, parse_manifest};
use crate::{Error, Result};

/// One thing wrong with a cached image: the file and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file at fault (`index.json` or a blob).
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// An image checked by structure and sizes: what is wrong, and the blobs whose content is left to hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageBlobs {
    /// Every problem found without hashing.
    pub problems: Vec<Problem>,
    /// Every blob present with its size: path and the digest its content must have.
    pub blobs: Vec<(PathBuf, Digest)>,
}

impl RepoLayout {
    /// Whether the image is complete, by sizes only (see the module docs).
    ///
    /// `upstream_index` equal to `platform` means "not pinned" (a
    /// single-platform image whose reference digest is the manifest itself).
    pub fn is_cached(
        &self,
        tag: Option<&str>,
        platform: &Digest,
        upstream_index: Option<&Digest>,
    ) -> Result<bool> {
        let mut check = Check::new(self, false, false);
        check.image(tag, platform, upstream_index)?;
        Ok(check.problems.is_empty())
    }

    /// Every problem with the image, re-hashing each blob; empty when it is complete and intact.
    pub fn verify_image(
        &self,
        tag: Option<&str>,
        platform: &Digest,
        upstream_index: Option<&Digest>,
    ) -> Result<Vec<Problem>> {
        let mut check = Check::new(self, true, true);
        check.image(tag, platform, upstream_index)?;
        Ok(check.problems)
    }

    /// Every problem found by sizes and structure, and every blob present with
    /// the right size (path and digest) whose content is still to be hashed.
    pub fn image_blobs(
        &self,
        tag: Option<&str>,
        platform: &Digest,
        upstream_index: Option<&Digest>,
    ) -> Result<ImageBlobs> {
        let mut check = Check::new(self, false, true);
        check.image(tag, platform, upstream_index)?;
        Ok(ImageBlobs { problems: check.problems, blobs: check.blobs })
    }

    /// Checks one blob against its descriptor (size, and digest when `rehash`); `None` when fine.
    pub(crate) fn blob_problem(&self, descriptor: &Descriptor, rehash: bool) -> Result<Option<Problem>> {
        let path = self.blob_path(&descriptor.digest);
        let problem = |reason: String| Ok(Some(Problem { path: path.clone(), reason }));
        let meta = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return problem("is not a regular file".to_owned()),
            Err(_) => return problem(format!("missing blob {}", descriptor.digest)),
        };
        if meta.len() != descriptor.size {
            return problem(format!("has {} bytes, expected {}", meta.len(), descriptor.size));
        }
        if rehash {
            let actual = deps_store::hash_file(&path, descriptor.digest.algo())?;
            if actual != descriptor.digest {
                return problem(format!("content has digest {actual}, expected {}", descriptor.digest));
            }
        }
        Ok(None)
    }
}

/// One run of the checks, collecting problems.
struct Check<'a> {
    layout: &'a RepoLayout,
    rehash: bool,
    all: bool,
    problems: Vec<Problem>,
    /// Blobs that passed (by size alone when not `rehash`).
    blobs: Vec<(PathBuf, Digest)>,
}

impl<'a> Check<'a> {
    /// A check that re-hashes blobs or not, and stops at the first problem or not.
    fn new(layout: &'a RepoLayout, rehash: bool, all: bool) -> Self {
        Check { layout, rehash, all, problems: Vec::new(), blobs: Vec::new() }
    }

    /// Records a problem; returns whether to keep checking.
    fn report(&mut self, path: PathBuf, reason: String) -> bool {
        self.problems.push(Problem { path, reason });
        self.all
    }

    /// Checks a blob; returns whether it is fine.
    fn blob(&mut self, descriptor: &Descriptor) -> Result<bool> {
        match self.layout.blob_problem(descriptor, self.rehash)? {
            Some(problem) => {
                self.problems.push(problem);
                Ok(false)
            }
            None => {
                self.blobs.push((self.layout.blob_path(&descriptor.digest), descriptor.digest.clone()));
                Ok(true)
            }
        }
    }

    /// Checks a blob and parses it as a manifest; `None` when either fails (a problem is recorded).
    fn manifest(&mut self, descriptor: &Descriptor) -> Result<Option<Parsed>> {
        if !self.blob(descriptor)? {
            return Ok(None);
        }
        let path = self.layout.blob_path(&descriptor.digest);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(source) => return Err(Error::IoAt { action: "read", path, source }),
        };
        match parse_manifest(&bytes) {
            Ok(parsed) => Ok(Some(parsed)),
            Err(err) => {
                self.report(path, err.to_string());
                Ok(None)
            }
        }
    }

    /// All the checks for one image.
    fn image(&mut self, tag: Option<&str>, platform: &Digest, upstream_index: Option<&Digest>) -> Result<()> {
        let index_path = self.layout.index_path();
        if !index_path.is_file() {
            self.report(index_path, "missing".to_owned());
            return Ok(());
        }
        let index = self.layout.read_index()?;

        match index.find(platform) {
            None => {
                if !self.report(index_path.clone(), format!("does not list {platform}")) {
                    return Ok(());
                }
            }
            Some(descriptor) => match self.manifest(descriptor)? {
                Some(Parsed::Image { config, layers, .. }) => {
                    for blob in std::iter::once(&config).chain(&layers) {
                        if !self.blob(blob)? && !self.all {
                            return Ok(());
                        }
                    }
                }
                Some(Parsed::Index { .. }) => {
                    let path = self.layout.blob_path(platform);
                    if !self.report(path, "is an index, not a platform image manifest".to_owned()) {
                        return Ok(());
                    }
                }
                None if !self.all => return Ok(()),
                None => {}
            },
        }

        let Some(tag) = tag else { return Ok(()) };
        let Some(tagged) = index.tagged(tag) else {
            self.report(index_path, format!("has no tag {tag:?}"));
            return Ok(());
        };
        if let Some(pin) = upstream_index.filter(|pin| *pin != platform)
            && tagged.digest != *pin
        {
            let reason = format!("tag {tag:?} points at {}, not the upstream index {pin}", tagged.digest);
            if !self.report(index_path, reason) {
                return Ok(());
            }
        }
        match self.manifest(tagged)? {
            Some(parsed @ Parsed::Index { .. }) if parsed.lists(platform) => {}
            Some(Parsed::Index { .. }) => {
                self.report(
                    self.layout.blob_path(&tagged.digest),
                    format!("tag {tag:?} index does not list {platform}"),
                );
            }
            Some(Parsed::Image { .. }) => {
                let reason =
                    format!("tag {tag:?} points at an image manifest, not an index listing {platform}");
                self.report(self.layout.blob_path(&tagged.digest), reason);
            }
            None => {}
        }
        Ok(())
    }
}
