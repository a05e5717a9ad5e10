//! Runtime images: the container images a vmconfig (today the pause image)
//! or a template release needs, pulled into the image store like component
//! images.
//!
//! They are selected by architecture only: an image without a platform always
//! matches, else the second field of its platform must be a wanted arch.
//! Selection returns indexes, so `cached` markers land on the full manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arch::{arch_selection, platform_arch};
use crate::go_json::{is_false, nullable};
use crate::{Digest, DigestAlgo, Error, Extra, ImageRef};

/// One platform image of `vmconfig.images` or `templates.images`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeImage {
    /// The image reference, possibly `repo:tag@sha256:<index>`.
    pub image: String,
    /// Digest of the platform manifest (always sha256).
    pub digest: String,
    /// Manifest, config and layer bytes together.
    pub size: i64,
    /// `os/arch[/variant]`; empty for single-platform images.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub platform: String,
    /// Digest of the upstream image index.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub index: String,
    /// For template images: the charts using it, each with the values key the image goes to.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "nullable")]
    pub templates: BTreeMap<String, String>,
    /// Local marker: present and complete in the image store.
    #[serde(skip_serializing_if = "is_false")]
    pub cached: bool,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RuntimeImage {
    /// The architecture: the second field of `platform` (empty when there is none).
    pub fn arch(&self) -> &str {
        platform_arch(&self.platform)
    }

    /// Parses the `image` reference.
    pub fn image_ref(&self) -> Result<ImageRef, Error> {
        ImageRef::parse(&self.image)
    }

    /// Checks what a pull needs: a valid reference, a sha256 digest (and index), size > 0.
    pub fn validate(&self) -> Result<(), Error> {
        pull_problem(&self.image, &self.digest, self.size, &self.index)
            .map_or(Ok(()), |reason| Err(Error::RuntimeImage { image: self.image.clone(), reason }))
    }
}

/// What keeps an image entry (component or runtime) from being pulled: an
/// invalid reference, a digest (or index) that is not sha256, a size ≤ 0.
pub(crate) fn pull_problem(image: &str, digest: &str, size: i64, index: &str) -> Option<String> {
    if image.is_empty() {
        return Some("empty image".to_owned());
    }
    if let Err(err) = ImageRef::parse(image) {
        return Some(format!("an {err}"));
    }
    if digest.is_empty() {
        return Some("empty digest".to_owned());
    }
    if let Err(err) = sha256(digest) {
        return Some(format!("an {err}"));
    }
    if size <= 0 {
        return Some("missing size".to_owned());
    }
    if !index.is_empty()
        && let Err(err) = sha256(index)
    {
        return Some(format!("an index with {err}"));
    }
    None
}

/// Indexes of the images for `archs` (comma lists allowed); platform-less images always match.
pub(crate) fn image_indexes(images: &[RuntimeImage], archs: &[String]) -> Vec<usize> {
    let archs = arch_selection(archs);
    let images = images.iter().enumerate();
    images
        .filter(|(_, image)| image.platform.is_empty() || archs.contains(image.arch()))
        .map(|(i, _)| i)
        .collect()
}

/// Validates the images at `indexes`; an unknown index is skipped.
pub(crate) fn validate_images(images: &[RuntimeImage], indexes: &[usize]) -> Result<(), Error> {
    indexes.iter().filter_map(|&i| images.get(i)).try_for_each(RuntimeImage::validate)
}

/// Marks the image at `index` cached; false when there is no such index.
pub(crate) fn mark_image_cached(images: &mut [RuntimeImage], index: usize) -> bool {
    images.get_mut(index).map(|image| image.cached = true).is_some()
}

/// Parses an OCI digest, which must be sha256.
pub(crate) fn sha256(value: &str) -> Result<Digest, Error> {
    let digest: Digest = value.parse()?;
    if digest.algo() != DigestAlgo::Sha256 {
        return Err(Error::InvalidDigest {
            digest: value.to_owned(),
            reason: "OCI image digests must be sha256".to_owned(),
        });
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str, platform: &str) -> RuntimeImage {
        RuntimeImage {
            image: format!("registry.k8s.io/{name}:3.10"),
            digest: format!("sha256:{}", "a".repeat(64)),
            size: 100,
            platform: platform.to_owned(),
            index: format!("sha256:{}", "b".repeat(64)),
            ..RuntimeImage::default()
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn selects_by_arch_only() {
        let images = [
            image("pause", "linux/amd64"),
            image("pause", "linux/arm64/v8"),
            image("single", ""),
            image("x", "linux"),
        ];
        assert_eq!(image_indexes(&images, &strings(&["amd64"])), [0, 2]);
        assert_eq!(image_indexes(&images, &strings(&["ARM64"])), [1, 2]);
        assert_eq!(image_indexes(&images, &strings(&["amd64, arm64"])), [0, 1, 2]);
        assert_eq!(image_indexes(&images, &[]), [2]);
    }

    #[test]
    fn validate_names_the_image_and_problem() {
        type Break = fn(&mut RuntimeImage);
        let cases: [(&str, Break); 6] = [
            ("has missing size", |i| i.size = 0),
            ("has empty digest", |i| i.digest.clear()),
            ("has an invalid digest", |i| i.digest = "sha256:12".to_owned()),
            ("must be sha256", |i| i.digest = format!("sha512:{}", "c".repeat(128))),
            ("has an index with invalid digest", |i| i.index = "nope".to_owned()),
            ("has an invalid image reference", |i| i.image = "quay.io/../x".to_owned()),
        ];
        image("pause", "linux/amd64").validate().unwrap();
        for (want, break_it) in cases {
            let mut img = image("pause", "linux/amd64");
            break_it(&mut img);
            let msg = img.validate().unwrap_err().to_string();
            assert!(msg.starts_with(&format!("runtime image {} ", img.image)), "{msg}");
            assert!(msg.contains(want), "{want:?} not in {msg:?}");
        }
        let mut empty = image("pause", "");
        empty.image.clear();
        assert_eq!(empty.validate().unwrap_err().to_string(), "runtime image has empty image");
    }

    #[test]
    fn validate_and_mark_skip_unknown_indexes() {
        let mut images = vec![image("pause", "linux/amd64"), image("bad", "linux/arm64")];
        images[1].size = 0;
        validate_images(&images, &[0, 7]).unwrap();
        assert!(validate_images(&images, &[0, 1]).is_err());
        assert!(mark_image_cached(&mut images, 1));
        assert!(!mark_image_cached(&mut images, 2));
        assert!(!images[0].cached && images[1].cached);
    }

    #[test]
    fn writes_go_shape_and_reads_null_templates() {
        let img: RuntimeImage =
            serde_json::from_str(r#"{"image":"pause:3","digest":"d","size":1,"templates":null}"#).unwrap();
        assert_eq!(serde_json::to_string(&img).unwrap(), r#"{"image":"pause:3","digest":"d","size":1}"#);
        let mut img = image("caddy", "linux/amd64");
        img.templates.insert("web".to_owned(), "caddy".to_owned());
        img.cached = true;
        let json = serde_json::to_string(&img).unwrap();
        assert!(json.ends_with(r#""templates":{"web":"caddy"},"cached":true}"#), "{json}");
    }
}
