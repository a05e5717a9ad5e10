//! The components manifest: one entry per platform image that component charts render.
//!
//! Selection returns indexes into the full image list, so cache markers land
//! on the original manifest and the cached copy keeps every entry. An image
//! names the components it serves in `components` (one image may serve
//! several); the older single `component` is read as a one-name list.

use serde::{Deserialize, Serialize};

use crate::arch::{arch_selection, platform_arch};
use crate::cached_json::to_cached_json;
use crate::filter::{NameSelector, secrets_providers};
use crate::go_json::{is_false, nullable};
use crate::runtime_image::pull_problem;
use crate::{ComponentImageFilter, ComponentsSource, Error, Extra, ImageRef};

/// Addons the CLI always selects, in addition to the user's `--addons`.
pub const RECOMMENDED_ADDONS: [&str; 7] = [
    "agent-sandbox",
    "cert-manager",
    "platform-certs",
    "podplane-operator",
    "secrets-store-csi-driver",
    "traefik",
    "trust-manager",
];

/// A components manifest file: `{"components": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentsManifest {
    /// The payload.
    pub components: Components,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The rendered component chart images of one components release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Components {
    /// Components release version.
    pub version: String,
    /// The Git repository the components come from, when published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<ComponentsSource>,
    /// One entry per image and platform.
    #[serde(deserialize_with = "nullable")]
    pub images: Vec<ComponentImage>,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One platform image rendered by component charts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComponentImage {
    /// The components that render it (current shape; `None` when the field is
    /// absent, so an explicit empty list round-trips); see [`ComponentImage::component_names`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// The one component that renders it (older shape); empty when absent.
    #[serde(skip_serializing_if = "String::is_empty")]
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
    /// Whether the image belongs to optional addon components.
    #[serde(skip_serializing_if = "is_false")]
    pub addon: bool,
    /// Local marker: present and complete in the image store.
    #[serde(skip_serializing_if = "is_false")]
    pub cached: bool,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ComponentsManifest {
    /// The cached copy's bytes: Go-style indented JSON with `cached` markers and a trailing newline.
    pub fn to_cached_json(&self) -> Vec<u8> {
        to_cached_json(self)
    }

    /// Indexes of the images to download for the filter's archs, providers and addons.
    ///
    /// An image matches when it has no platform or one of the archs; when it
    /// names no provider or a selected one (the filter's providers plus their
    /// [`secrets_providers`]); and, for an addon, when it names no component,
    /// or a selected addon, or the addons hold `all`.
    pub fn download_image_indexes(&self, filter: &ComponentImageFilter) -> Vec<usize> {
        let archs = arch_selection(&filter.archs);
        let mut providers = filter.providers.clone();
        providers.extend(secrets_providers(&filter.providers));
        let providers = NameSelector::new(&providers);
        let addons = NameSelector::new(&filter.addons);
        let images = self.components.images.iter().enumerate();
        images
            .filter(|(_, image)| image.platform.is_empty() || archs.contains(image.arch()))
            .filter(|(_, image)| providers.includes_any(&image.providers))
            .filter(|(_, image)| !image.addon || addons.includes_any(&image.component_names()))
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
        if let Some(source) = &mut self.components.source {
            source.cached = false;
        }
    }

    /// Validates the images at `indexes` (the selected ones); an unknown index is skipped.
    pub fn validate(&self, indexes: &[usize]) -> Result<(), Error> {
        indexes.iter().filter_map(|&i| self.components.images.get(i)).try_for_each(ComponentImage::validate)
    }
}

impl ComponentImage {
    /// The components it serves: `components`, then `component` when set, without repeats.
    pub fn component_names(&self) -> Vec<&str> {
        let listed = self.components.iter().flatten();
        let mut names: Vec<&str> = Vec::new();
        let all = listed.map(String::as_str).chain(Some(self.component.as_str()));
        for name in all.filter(|n| !n.is_empty()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

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
        match pull_problem(&self.image, &self.digest, self.size, &self.index) {
            None => Ok(()),
            Some(reason) => Err(Error::ComponentImage {
                components: self.component_names().into_iter().map(str::to_owned).collect(),
                image: self.image.clone(),
                reason,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image in the older shape: one `component` (empty for none).
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
            ..ComponentImage::default()
        }
    }

    /// An image in the current shape: a `components` list.
    fn shared(components: &[&str], platform: &str, providers: &[&str], addon: bool) -> ComponentImage {
        ComponentImage {
            components: Some(components.iter().map(|c| (*c).to_owned()).collect()),
            image: format!("quay.io/x/{}:v1", components.join("-")),
            ..image("", platform, providers, addon)
        }
    }

    fn manifest_of(images: Vec<ComponentImage>) -> ComponentsManifest {
        let components = Components { version: "dev".to_owned(), images, ..Components::default() };
        ComponentsManifest { components, ..ComponentsManifest::default() }
    }

    fn manifest() -> ComponentsManifest {
        manifest_of(vec![
            image("", "linux/amd64", &[], false),                 // 0
            image("", "linux/arm64/v8", &[], false),              // 1
            image("cilium", "", &[], false),                      // 2
            image("csi-aws-ebs", "linux/amd64", &["aws"], false), // 3
            image("traefik", "linux/amd64", &[], true),           // 4
            image("cert-manager", "linux/arm64", &[], true),      // 5
        ])
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
    fn recommended_addons_are_podplanes_seven() {
        assert_eq!(
            RECOMMENDED_ADDONS,
            [
                "agent-sandbox",
                "cert-manager",
                "platform-certs",
                "podplane-operator",
                "secrets-store-csi-driver",
                "traefik",
                "trust-manager"
            ]
        );
        let m = manifest_of(
            ["podplane-operator", "secrets-store-csi-driver", "platform-certs", "external-dns"]
                .iter()
                .map(|c| shared(&[c], "linux/amd64", &[], true))
                .collect(),
        );
        let recommended: Vec<&str> = RECOMMENDED_ADDONS.to_vec();
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &[], &recommended)), [0, 1, 2]);
    }

    #[test]
    fn a_shared_image_is_selected_by_any_of_its_components() {
        let m = manifest_of(vec![
            shared(&["cert-manager", "trust-manager"], "linux/amd64", &[], true), // 0
            shared(&["cert-manager", "trust-manager"], "linux/arm64", &[], true), // 1
            shared(&["cilium", "hubble"], "linux/amd64", &[], false),             // 2
        ]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &[], &["trust-manager"])), [0, 2]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &[], &["CERT-MANAGER"])), [0, 2]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &[], &["traefik"])), [2]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64,arm64"], &[], &["all"])), [0, 1, 2]);
    }

    #[test]
    fn an_addon_image_naming_no_component_is_selected_without_addons() {
        let m = manifest_of(vec![
            shared(&[], "linux/amd64", &[], true), // 0: nobody's, always wanted
            shared(&["traefik"], "linux/amd64", &[], true), // 1
        ]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &[], &[])), [0]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &[], &["traefik"])), [0, 1]);
    }

    #[test]
    fn addons_all_selects_every_addon_image() {
        let m = manifest_of(vec![
            shared(&["a"], "linux/amd64", &[], true),
            image("b", "linux/amd64", &[], true),
            shared(&[], "", &[], true),
            shared(&["c"], "linux/amd64", &["gcp"], true),
        ]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &[], &["x, ALL"])), [0, 1, 2]);
        assert_eq!(m.download_image_indexes(&filter(&["amd64"], &["all"], &["all"])), [0, 1, 2, 3]);
    }

    #[test]
    fn the_legacy_component_field_still_selects_and_round_trips() {
        let json = r#"{"component":"traefik","image":"traefik:v3","digest":"d","size":1,"addon":true}"#;
        let old: ComponentImage = serde_json::from_str(json).unwrap();
        assert_eq!(old.component_names(), ["traefik"]);
        assert_eq!(serde_json::to_string(&old).unwrap(), json);
        let m = manifest_of(vec![old]);
        assert_eq!(m.download_image_indexes(&filter(&[], &[], &["traefik"])), [0]);
        assert!(m.download_image_indexes(&filter(&[], &[], &["cert-manager"])).is_empty());
        let json = r#"{"components":["a","b"],"image":"x:1","digest":"d","size":1}"#;
        let new: ComponentImage = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&new).unwrap(), json);
    }

    #[test]
    fn component_names_join_both_shapes_without_repeats() {
        let mut img = shared(&["a", "b", "a"], "", &[], false);
        assert_eq!(img.component_names(), ["a", "b"]);
        img.component = "b".to_owned();
        assert_eq!(img.component_names(), ["a", "b"]);
        img.component = "c".to_owned();
        assert_eq!(img.component_names(), ["a", "b", "c"]);
        assert!(shared(&[], "", &[], false).component_names().is_empty());
        let nulls: ComponentImage = serde_json::from_str(r#"{"components":null,"providers":null}"#).unwrap();
        assert_eq!(nulls, ComponentImage::default());
        let empty: ComponentImage = serde_json::from_str(r#"{"components":[]}"#).unwrap();
        assert_eq!(empty.components, Some(Vec::new()), "an explicit empty list is kept");
        assert!(serde_json::to_string(&empty).unwrap().contains(r#""components":[]"#));
    }

    #[test]
    fn providers_bring_their_secrets_providers() {
        let m = manifest_of(vec![
            shared(&["secrets-store-csi-provider-aws"], "", &["aws"], false), // 0
            shared(&["secrets-store-csi-provider-gcp"], "", &["gcp"], false), // 1
            shared(&["secrets-store-csi-provider-openbao"], "", &["openbao"], false), // 2
            shared(&["csi-proxmox"], "", &["proxmox"], false),                // 3
        ]);
        let select = |providers: &[&str]| m.download_image_indexes(&filter(&[], providers, &[]));
        assert_eq!(select(&["aws"]), [0]);
        assert_eq!(select(&["gcp"]), [1]);
        assert_eq!(select(&["google"]), [1]);
        assert_eq!(select(&["proxmox"]), [2, 3]);
        assert_eq!(select(&["Google, PROXMOX"]), [1, 2, 3]);
        assert_eq!(select(&["all"]), [0, 1, 2, 3]);
        assert!(select(&[]).is_empty());
        assert!(select(&["azure"]).is_empty());
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
    fn validate_names_every_component_of_a_shared_image() {
        let mut img = shared(&["cert-manager", "trust-manager"], "", &[], true);
        img.size = 0;
        let msg = img.validate().unwrap_err().to_string();
        assert_eq!(
            msg,
            "component cert-manager,trust-manager image quay.io/x/cert-manager-trust-manager:v1 has missing size"
        );
    }

    #[test]
    fn omits_empty_component_fields_and_optional_fields() {
        let img = ComponentImage { image: "caddy:2".to_owned(), ..ComponentImage::default() };
        let json = serde_json::to_string(&img).unwrap();
        assert_eq!(json, r#"{"image":"caddy:2","digest":"","size":0}"#);
    }

    #[test]
    fn components_source_is_read_and_written_before_images() {
        let json = r#"{"version":"v1","source":{"url":"https://github.com/podplane/components","ref":{"tag":"v1"}},"images":[]}"#;
        let c: Components = serde_json::from_str(json).unwrap();
        c.source.as_ref().unwrap().validate().unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), json);
        let none: Components = serde_json::from_str(r#"{"version":"v1","images":null}"#).unwrap();
        assert_eq!(serde_json::to_string(&none).unwrap(), r#"{"version":"v1","images":[]}"#);
    }
}
