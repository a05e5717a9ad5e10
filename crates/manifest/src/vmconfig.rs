//! The vmconfig manifest: the OS image and every artifact a VM of one kind needs.
//!
//! The OS image is presented as the item named [`IMAGE_DEP_NAME`]; items come
//! in a fixed order (OS image first, then dependencies by name), so everything
//! derived from them is deterministic. [`Manifest::items`] keeps the unreleased
//! `vmconfig` stub, so callers can reject it in a published manifest; only the
//! download and install selections skip it. The container images the VM runs
//! (`images`) are selected by architecture, by index like component images.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cached_json::to_cached_json;
use crate::go_json::nullable;
use crate::runtime_image::{image_indexes, mark_image_cached, validate_images};
use crate::{BootInfo, Dependency, Error, Extra, Item, ItemFilter, RuntimeImage};

/// The default instance kind of `deps download`.
pub const DEFAULT_KIND: &str = "knc";
/// The OS name encoded in vmconfig manifest file names.
pub const OS: &str = "debian-13";
/// The item name of the OS image, also its cache directory name.
pub const IMAGE_DEP_NAME: &str = "os-image";
/// The dependency name of the vmconfig package tarball (a stub in unreleased manifests).
pub const VMCONFIG_DEP_NAME: &str = "vmconfig";

/// The manifest's base name, without `.json`: `vmconfig_<kind>_debian-13_<arch>`.
///
/// `kind` and `arch` are used as given; check them with [`crate::pathsafe`]
/// (or [`crate::normalize_archs`]) before the name becomes a path.
pub fn vmconfig_manifest_name(kind: &str, arch: &str) -> String {
    format!("vmconfig_{kind}_{OS}_{arch}")
}

/// A vmconfig manifest file: `{"vmconfig": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The payload.
    pub vmconfig: VmConfig,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The OS image and all dependencies needed to build a VM of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VmConfig {
    /// Manifest version.
    pub version: String,
    /// Instance kind (e.g. `knc`).
    pub kind: String,
    /// The base OS and its image.
    pub os: OsInfo,
    /// Every other artifact, by name.
    #[serde(deserialize_with = "nullable")]
    pub dependencies: BTreeMap<String, Dependency>,
    /// Container images the VM itself runs (today the pause image).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub images: Vec<RuntimeImage>,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The base OS, its qcow2 image and boot metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OsInfo {
    /// OS name (e.g. `debian-13`).
    pub name: String,
    /// Architecture (`amd64` or `arm64`).
    pub arch: String,
    /// The OS image artifact.
    pub image: Dependency,
    /// Direct kernel boot metadata.
    pub boot: BootInfo,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Manifest {
    /// The cached copy's bytes: Go-style indented JSON with `cached` markers and a trailing newline.
    pub fn to_cached_json(&self) -> Vec<u8> {
        to_cached_json(self)
    }

    /// The OS image followed by every dependency in name order.
    pub fn items(&self) -> Vec<Item> {
        let image = Item { name: IMAGE_DEP_NAME.to_owned(), dep: self.vmconfig.os.image.clone() };
        let deps = self
            .vmconfig
            .dependencies
            .iter()
            .map(|(name, dep)| Item { name: name.clone(), dep: dep.clone() });
        std::iter::once(image).chain(deps).collect()
    }

    /// The items a download fetches: [`Manifest::items`] matching every filter, without the unreleased stub.
    ///
    /// No filters means the default filter: provider-neutral items only.
    pub fn download_items(&self, filters: &[ItemFilter]) -> Vec<Item> {
        self.items()
            .into_iter()
            .filter(|it| !it.is_unreleased_vmconfig_stub() && selected(it, filters))
            .collect()
    }

    /// The items a running VM installs, by name: no OS image, no unreleased stub.
    ///
    /// No filters means the default filter: provider-neutral items only.
    pub fn install_items(&self, filters: &[ItemFilter]) -> Vec<Item> {
        self.items()
            .into_iter()
            .skip(1)
            .filter(|it| !it.is_unreleased_vmconfig_stub() && selected(it, filters))
            .collect()
    }

    /// Whether a downloadable (released) `vmconfig` package is present and selected.
    pub fn has_vmconfig_dep(&self, filters: &[ItemFilter]) -> bool {
        self.vmconfig.dependencies.get(VMCONFIG_DEP_NAME).is_some_and(|dep| {
            let it = Item { name: VMCONFIG_DEP_NAME.to_owned(), dep: dep.clone() };
            !it.is_unreleased_vmconfig_stub() && selected(&it, filters)
        })
    }

    /// The unreleased `vmconfig` stub, when the manifest has one.
    pub fn unreleased_stub(&self) -> Option<&Dependency> {
        self.vmconfig
            .dependencies
            .get(VMCONFIG_DEP_NAME)
            .filter(|dep| dep.url.is_empty() && dep.digest.is_empty())
    }

    /// Whether the manifest has the unreleased `vmconfig` stub (an error in a published manifest).
    pub fn has_unreleased_stub(&self) -> bool {
        self.unreleased_stub().is_some()
    }

    /// Marks one item cached (`os-image` marks the OS image); false when there is no such item.
    pub fn mark_cached(&mut self, name: &str) -> bool {
        if name == IMAGE_DEP_NAME {
            self.vmconfig.os.image.cached = true;
            return true;
        }
        match self.vmconfig.dependencies.get_mut(name) {
            Some(dep) => {
                dep.cached = true;
                true
            }
            None => false,
        }
    }

    /// Clears every `cached` marker (OS image, dependencies and images).
    pub fn reset_cached(&mut self) {
        self.vmconfig.os.image.cached = false;
        for dep in self.vmconfig.dependencies.values_mut() {
            dep.cached = false;
        }
        for image in &mut self.vmconfig.images {
            image.cached = false;
        }
    }

    /// Indexes of the `images` for `archs` (comma lists allowed); an image without a platform always matches.
    pub fn image_indexes(&self, archs: &[String]) -> Vec<usize> {
        image_indexes(&self.vmconfig.images, archs)
    }

    /// Marks the image at `index` cached; false when there is no such index.
    pub fn mark_image_cached(&mut self, index: usize) -> bool {
        mark_image_cached(&mut self.vmconfig.images, index)
    }

    /// Validates the images at `indexes` (the selected ones); an unknown index is skipped.
    pub fn validate_images(&self, indexes: &[usize]) -> Result<(), Error> {
        validate_images(&self.vmconfig.images, indexes)
    }

    /// Validates the given (selected) items; the first problem is returned.
    pub fn validate(&self, items: &[Item]) -> Result<(), Error> {
        items.iter().try_for_each(Item::validate)
    }
}

/// Whether `item` passes every filter (the default filter when there are none).
fn selected(item: &Item, filters: &[ItemFilter]) -> bool {
    if filters.is_empty() {
        item.matches(&ItemFilter::default())
    } else {
        filters.iter().all(|f| item.matches(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(url: &str, providers: &[&str]) -> Dependency {
        Dependency {
            version: "1".to_owned(),
            url: url.to_owned(),
            kind: "binary".to_owned(),
            digest: if url.is_empty() { String::new() } else { format!("sha256:{}", "0".repeat(64)) },
            size: if url.is_empty() { 0 } else { 10 },
            providers: providers.iter().map(|p| (*p).to_owned()).collect(),
            ..Dependency::default()
        }
    }

    fn manifest() -> Manifest {
        let mut m = Manifest::default();
        m.vmconfig.os.image = dep("https://x/os.qcow2", &[]);
        for (name, d) in [
            ("zot", dep("https://x/zot", &[])),
            ("vmconfig", dep("", &[])),
            ("aws-tool", dep("https://x/aws-tool", &["aws"])),
            ("kubectl", dep("https://x/kubectl", &[])),
        ] {
            m.vmconfig.dependencies.insert(name.to_owned(), d);
        }
        m
    }

    fn names(items: &[Item]) -> Vec<&str> {
        items.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn manifest_name_has_kind_os_and_arch() {
        assert_eq!(vmconfig_manifest_name(DEFAULT_KIND, "arm64"), "vmconfig_knc_debian-13_arm64");
    }

    #[test]
    fn items_put_the_os_image_first_then_names_in_order() {
        assert_eq!(names(&manifest().items()), ["os-image", "aws-tool", "kubectl", "vmconfig", "zot"]);
    }

    #[test]
    fn download_items_skip_the_stub_and_unselected_providers() {
        let m = manifest();
        assert_eq!(names(&m.download_items(&[])), ["os-image", "kubectl", "zot"]);
        let aws = ItemFilter { providers: vec!["aws".to_owned()], cached_only: false };
        assert_eq!(
            names(&m.download_items(std::slice::from_ref(&aws))),
            ["os-image", "aws-tool", "kubectl", "zot"]
        );
        // Every filter must match: a neutral-only cached filter drops provider items.
        let neutral_cached = ItemFilter { providers: vec![], cached_only: true };
        let cached = ItemFilter { providers: vec!["all".to_owned()], cached_only: true };
        assert!(m.download_items(&[aws.clone(), cached.clone()]).is_empty());
        let mut marked = m.clone();
        marked.mark_cached("aws-tool");
        assert_eq!(names(&marked.download_items(&[aws.clone(), cached])), ["aws-tool"]);
        assert!(marked.download_items(&[aws, neutral_cached]).is_empty());
    }

    #[test]
    fn install_items_exclude_os_image_and_stub() {
        let m = manifest();
        assert_eq!(names(&m.install_items(&[])), ["kubectl", "zot"]);
        let all = ItemFilter { providers: vec!["all".to_owned()], cached_only: false };
        assert_eq!(names(&m.install_items(&[all])), ["aws-tool", "kubectl", "zot"]);
    }

    #[test]
    fn stub_is_reported_and_not_a_vmconfig_dep() {
        let mut m = manifest();
        assert!(m.has_unreleased_stub());
        assert_eq!(m.unreleased_stub(), m.vmconfig.dependencies.get("vmconfig"));
        assert!(!m.has_vmconfig_dep(&[]));
        m.vmconfig.dependencies.insert("vmconfig".to_owned(), dep("https://x/vmconfig.tar.gz", &[]));
        assert!(!m.has_unreleased_stub());
        assert!(m.has_vmconfig_dep(&[]));
        m.vmconfig.dependencies.insert("vmconfig".to_owned(), dep("https://x/vmconfig.tar.gz", &["aws"]));
        assert!(!m.has_vmconfig_dep(&[]));
        m.vmconfig.dependencies.remove("vmconfig");
        assert!(!m.has_vmconfig_dep(&[]) && !m.has_unreleased_stub());
    }

    #[test]
    fn mark_and_reset_cached() {
        let mut m = manifest();
        assert!(m.mark_cached("os-image"));
        assert!(m.mark_cached("kubectl"));
        assert!(!m.mark_cached("missing"));
        assert!(!m.vmconfig.dependencies.contains_key("missing"));
        assert!(m.vmconfig.os.image.cached && m.vmconfig.dependencies["kubectl"].cached);
        assert!(!m.vmconfig.dependencies["zot"].cached);
        m.reset_cached();
        assert!(m.items().iter().all(|i| !i.dep.cached));
    }

    #[test]
    fn images_select_by_arch_and_mark_and_reset() {
        let mut m = manifest();
        let image = |platform: &str| RuntimeImage {
            image: "registry.k8s.io/pause:3.10".to_owned(),
            digest: format!("sha256:{}", "a".repeat(64)),
            size: 1,
            platform: platform.to_owned(),
            ..RuntimeImage::default()
        };
        m.vmconfig.images = vec![image("linux/amd64"), image("linux/arm64"), image("")];
        let archs = |a: &str| vec![a.to_owned()];
        assert_eq!(m.image_indexes(&archs("arm64")), [1, 2]);
        assert_eq!(m.image_indexes(&archs("amd64,arm64")), [0, 1, 2]);
        m.validate_images(&[0, 1, 2]).unwrap();
        assert!(m.mark_image_cached(1) && !m.mark_image_cached(3));
        assert!(m.mark_cached("kubectl"));
        assert!(m.vmconfig.images[1].cached);
        m.reset_cached();
        assert!(m.vmconfig.images.iter().all(|i| !i.cached));
        assert!(m.items().iter().all(|i| !i.dep.cached));
        m.vmconfig.images[2].size = 0;
        let err = m.validate_images(&[2]).unwrap_err();
        assert_eq!(err.to_string(), "runtime image registry.k8s.io/pause:3.10 has missing size");
    }

    #[test]
    fn validate_checks_the_given_items_only() {
        let m = manifest();
        m.validate(&m.download_items(&[])).unwrap();
        let err = m.validate(&m.items()).unwrap_err();
        assert_eq!(err.to_string(), "vmconfig artifact vmconfig: missing url");
    }

    #[test]
    fn parsing_requires_the_top_level_key() {
        let err = serde_json::from_slice::<Manifest>(br#"{"components": {}}"#).unwrap_err();
        assert!(err.to_string().contains("vmconfig"), "{err}");
        let m: Manifest =
            serde_json::from_slice(br#"{"vmconfig": {"dependencies": null, "images": []}}"#).unwrap();
        assert_eq!(m, Manifest::default());
    }
}
