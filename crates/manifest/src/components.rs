//! The components manifest: one entry per platform image that component charts render.
//!
//! Selection returns indexes into the full image list, so cache markers land
//! on the original manifest and the cached copy keeps every entry.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::cached_json::to_cached_json;
use crate::filter::NameSelector;
use crate::go_json::{is_false, nullable};
use crate::{ComponentImageFilter, Digest, DigestAlgo, Error, ImageRef, parse_list};

/// Addons the CLI always selects, in addition to the user's `--addons`.
pub const RECOMMENDED_ADDONS: [&str; 5] =
    ["agent-sandbox", "cert-manager", "platform-certs", "traefik", "trust-manager"];

/// A components manifest file: `{"components": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentsManifest {
    /// The payload.
    pub components: Components,
}

/// The rendered component chart images of one components release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Components {
    /// Components release version.
    pub version: String,
    /// One entry per image and platform.
    #[serde(deserialize_with = "nullable")]
    pub images: Vec<ComponentImage>,
}

/// One platform image rendered by a component chart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComponentImage {
    /// The component that renders it; empty for images shared by several.
    pub component: String,
    /// The image reference as the chart writes it, possibly `repo:tag@sha256:<index>`.
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
    /// Providers the image is for; empty means every provider.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub providers: Vec<String>,
    /// Whether the image belongs to an optional addon component.
    #[serde(skip_serializing_if = "is_false")]
    pub addon: bool,
    /// Local marker: present and complete in the image store.
    #[serde(skip_serializing_if = "is_false")]
    pub cached: bool,
}

impl ComponentsManifest {
    /// The cached copy's bytes: Go-style indented JSON with `cached` markers and a trailing newline.
    pub fn to_cached_json(&self) -> Vec<u8> {
        to_cached_json(self)
    }

    /// Indexes of the images to download for the filter's archs, providers and addons.
    pub fn download_image_indexes(&self, filter: &ComponentImageFilter) -> Vec<usize> {
        let archs: BTreeSet<String> =
            filter.archs.iter().flat_map(|a| parse_list(a)).map(|a| a.to_lowercase()).collect();
        let providers = NameSelector::new(&filter.providers);
        let addons = NameSelector::new(&filter.addons);
        let images = self.components.images.iter().enumerate();
        images
            .filter(|(_, image)| image.platform.is_empty() || archs.contains(image.arch()))
            .filter(|(_, image)| providers.includes_any(&image.providers))
            .filter(|(_, image)| !image.addon || addons.includes(&image.component))
            .map(|(i, _)| i)
            .collect()
    }

    /// Marks the image at `index` cached; false when there is no such index.
    pub fn mark_cached(&mut self, index: usize) -> bool {
        self.components.images.get_mut(index).map(|image| image.cached = true).is_some()
    }

    /// Clears every image's `cached` marker.
    pub fn reset_cached(&mut self) {
        for image in &mut self.components.images {
            image.cached = false;
        }
    }

    /// Validates the images at `indexes` (the selected ones); an unknown index is skipped.
    pub fn validate(&self, indexes: &[usize]) -> Result<(), Error> {
        indexes.iter().filter_map(|&i| self.components.images.get(i)).try_for_each(ComponentImage::validate)
    }
}

impl ComponentImage {
    /// The architecture: the second field of `platform` (empty when there is none).
    pub fn arch(&self) -> &str {
        self.platform.split('/').nth(1).unwrap_or_default()
    }

    /// Parses the `image` reference.
    pub fn image_ref(&self) -> Result<ImageRef, Error> {
        ImageRef::parse(&self.image)
    }

    /// Checks what a pull needs: a valid reference, a sha256 digest (and index), size > 0.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Error::ComponentImage {
            component: self.component.clone(),
            image: self.image.clone(),
            reason,
        };
        if self.image.is_empty() {
            return Err(invalid("empty image".to_owned()));
        }
        self.image_ref().map_err(|err| invalid(format!("an {err}")))?;
        if self.digest.is_empty() {
            return Err(invalid("empty digest".to_owned()));
        }
        sha256(&self.digest).map_err(|err| invalid(format!("an {err}")))?;
        if self.size <= 0 {
            return Err(invalid("missing size".to_owned()));
        }
        if !self.index.is_empty() {
            sha256(&self.index).map_err(|err| invalid(format!("an index with {err}")))?;
        }
        Ok(())
    }
}

/// Parses an OCI digest, which must be sha256.
fn sha256(value: &str) -> Result<Digest, Error> {
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

    fn image(component: &str, platform: &str, providers: &[&str], addon: bool) -> ComponentImage {
        ComponentImage {
            component: component.to_owned(),
            image: format!("quay.io/x/{}:v1", if component.is_empty() { "shared" } else { component }),
            digest: format!("sha256:{}", "a".repeat(64)),
            size: 100,
            platform: platform.to_owned(),
            index: format!("sha256:{}", "b".repeat(64)),
            providers: providers.iter().map(|p| (*p).to_owned()).collect(),
            addon,
            cached: false,
        }
    }

    fn manifest() -> ComponentsManifest {
        let images = vec![
            image("", "linux/amd64", &[], false),                 // 0
            image("", "linux/arm64/v8", &[], false),              // 1
            image("cilium", "", &[], false),                      // 2
            image("csi-aws-ebs", "linux/amd64", &["aws"], false), // 3
            image("traefik", "linux/amd64", &[], true),           // 4
            image("cert-manager", "linux/arm64", &[], true),      // 5
        ];
        ComponentsManifest { components: Components { version: "dev".to_owned(), images } }
    }

    fn filter(archs: &[&str], providers: &[&str], addons: &[&str]) -> ComponentImageFilter {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        ComponentImageFilter { archs: own(archs), providers: own(providers), addons: own(addons) }
    }

    #[test]
    fn selects_by_arch_provider_and_addon() {
        let m = manifest();
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &[], &[])), [0, 2]);
        assert_eq!(m.download_image_indexes(&filter(&["arm64"], &[], &[])), [1, 2]);
        assert_eq!(m.download_image_indexes(&filter(&[], &[], &[])), [2]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64,arm64"], &["AWS"], &[])), [0, 1, 2, 3]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &["all"], &["Traefik"])), [0, 2, 3, 4]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64", "arm64"], &[], &["all"])), [0, 1, 2, 4, 5]);
    }

    #[test]
    fn recommended_addons_select_addon_images() {
        let m = manifest();
        let addons: Vec<&str> = RECOMMENDED_ADDONS.to_vec();
        assert_eq!(m.download_image_indexes(&filter(&["arm64"], &[], &addons)), [1, 2, 5]);
    }

    #[test]
    fn mark_and_reset_cached_by_index() {
        let mut m = manifest();
        assert!(m.mark_cached(3));
        assert!(!m.mark_cached(99));
        assert_eq!(m.components.images.iter().filter(|i| i.cached).count(), 1);
        assert!(m.components.images[3].cached);
        m.reset_cached();
        assert!(m.components.images.iter().all(|i| !i.cached));
    }

    #[test]
    fn arch_is_the_second_platform_field() {
        assert_eq!(image("", "linux/arm64/v8", &[], false).arch(), "arm64");
        assert_eq!(image("", "linux", &[], false).arch(), "");
        assert_eq!(image("", "", &[], false).arch(), "");
    }

    #[test]
    fn validate_accepts_complete_images() {
        let m = manifest();
        m.validate(&(0..m.components.images.len()).collect::<Vec<_>>()).unwrap();
    }

    #[test]
    fn validate_names_component_image_and_problem() {
        type Break = fn(&mut ComponentImage);
        let cases: [(&str, Break); 7] = [
            ("has missing size", |i| i.size = 0),
            ("has empty digest", |i| i.digest.clear()),
            ("has an invalid digest", |i| i.digest = "sha256:12".to_owned()),
            ("must be sha256", |i| i.digest = format!("sha512:{}", "c".repeat(128))),
            ("has an index with invalid digest", |i| i.index = "nope".to_owned()),
            ("has an invalid image reference", |i| i.image = "quay.io/../x".to_owned()),
            ("has empty image", |i| i.image.clear()),
        ];
        for (want, break_it) in cases {
            let mut img = image("cilium", "linux/amd64", &[], false);
            break_it(&mut img);
            let msg = img.validate().unwrap_err().to_string();
            assert!(msg.starts_with("component cilium"), "{msg}");
            assert!(msg.contains(want), "{want:?} not in {msg:?}");
        }
        let mut m = manifest();
        m.components.images[4].size = 0;
        m.validate(&[0, 1, 99]).unwrap();
        let msg = m.validate(&[0, 4]).unwrap_err().to_string();
        assert_eq!(msg, "component traefik image quay.io/x/traefik:v1 has missing size");
    }

    #[test]
    fn writes_component_always_and_omits_empty_optional_fields() {
        let img = ComponentImage { image: "caddy:2".to_owned(), ..ComponentImage::default() };
        let json = serde_json::to_string(&img).unwrap();
        assert_eq!(json, r#"{"component":"","image":"caddy:2","digest":"","size":0}"#);
    }
}
