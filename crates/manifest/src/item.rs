//! A named vmconfig artifact: the unit that is selected, validated and downloaded.
//!
//! [`Item::validate`] is the gate before anything becomes a request or a path:
//! URL, size and digest present and well-formed; name, version and file name
//! safe path components. Errors name the item.

use crate::dependency::url_basename;
use crate::filter::NameSelector;
use crate::{Dependency, Error, ItemFilter, VMCONFIG_DEP_NAME, pathsafe};

/// A dependency paired with its name (the OS image is named `os-image`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    /// The dependency's key in the manifest, or `os-image`.
    pub name: String,
    /// The dependency itself.
    pub dep: Dependency,
}

impl Item {
    /// Whether this is the placeholder `vmconfig` entry (no URL, no digest) of unreleased manifests.
    pub fn is_unreleased_vmconfig_stub(&self) -> bool {
        self.name == VMCONFIG_DEP_NAME && self.dep.url.is_empty() && self.dep.digest.is_empty()
    }

    /// The file name used on the VM: `<name>` for binaries, else `<name>.<ext>` by type.
    ///
    /// `deb`, `tar.gz` and `qcow2` get that extension; `binary` and any unknown
    /// type get none (an unknown type is not trusted to be a safe extension).
    pub fn local_filename(&self) -> String {
        match self.dep.kind.as_str() {
            ext @ ("deb" | "tar.gz" | "qcow2") => format!("{}.{ext}", self.name),
            _ => self.name.clone(),
        }
    }

    /// The download URL: under `base` when it is non-empty, else the manifest's URL.
    ///
    /// With a base the URL is `<base>/vmconfig/artifacts/<name>/<version>/<file name>`.
    /// Call [`Item::validate`] first; the parts are used as they are.
    pub fn resolve_url(&self, base: &str) -> String {
        if base.is_empty() {
            return self.dep.url.clone();
        }
        format!(
            "{}/vmconfig/artifacts/{}/{}/{}",
            base.trim_end_matches('/'),
            self.name,
            self.dep.version,
            url_basename(&self.dep.url)
        )
    }

    /// Whether the item applies to the filter's providers and cache state.
    pub fn matches(&self, filter: &ItemFilter) -> bool {
        if filter.cached_only && !self.dep.cached {
            return false;
        }
        NameSelector::new(&filter.providers).includes_any(&self.dep.providers)
    }

    /// Checks everything a download needs: URL, size > 0, digest, and safe name, version and file name.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Error::Artifact { name: self.name.clone(), reason };
        let unsafe_path = |err: Error| invalid(err.to_string());
        pathsafe::component("name", &self.name).map_err(unsafe_path)?;
        if self.dep.url.is_empty() {
            return Err(invalid("missing url".to_owned()));
        }
        if self.dep.size <= 0 {
            return Err(invalid("missing size".to_owned()));
        }
        if self.dep.digest.is_empty() {
            return Err(invalid("missing digest".to_owned()));
        }
        self.dep.parse_digest().map_err(|err| invalid(err.to_string()))?;
        pathsafe::component("version", &self.dep.version).map_err(unsafe_path)?;
        self.dep.filename().map_err(unsafe_path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, kind: &str) -> Item {
        Item {
            name: name.to_owned(),
            dep: Dependency {
                version: "1.36.1".to_owned(),
                url: "https://dl.k8s.io/release/v1.36.1/bin/linux/arm64/kubectl".to_owned(),
                kind: kind.to_owned(),
                digest: format!("sha256:{}", "5".repeat(64)),
                size: 55_640_226,
                ..Dependency::default()
            },
        }
    }

    #[test]
    fn stub_needs_the_vmconfig_name_and_no_url_or_digest() {
        let mut stub = item("vmconfig", "tar.gz");
        stub.dep.url.clear();
        stub.dep.digest.clear();
        assert!(stub.is_unreleased_vmconfig_stub());
        let mut released = stub.clone();
        released.dep.url = "https://x/vmconfig.tar.gz".to_owned();
        assert!(!released.is_unreleased_vmconfig_stub());
        let mut half = stub.clone();
        half.dep.digest = "sha256:00".to_owned();
        assert!(!half.is_unreleased_vmconfig_stub());
        let mut other = stub;
        other.name = "kubectl".to_owned();
        assert!(!other.is_unreleased_vmconfig_stub());
    }

    #[test]
    fn local_filename_follows_the_type() {
        assert_eq!(item("kubectl", "binary").local_filename(), "kubectl");
        assert_eq!(item("uidmap", "deb").local_filename(), "uidmap.deb");
        assert_eq!(item("containerd", "tar.gz").local_filename(), "containerd.tar.gz");
        assert_eq!(item("os-image", "qcow2").local_filename(), "os-image.qcow2");
        assert_eq!(item("odd", "../x").local_filename(), "odd");
    }

    #[test]
    fn resolve_url_uses_the_mirror_layout_or_the_upstream_url() {
        let it = item("kubectl", "binary");
        assert_eq!(it.resolve_url(""), it.dep.url);
        let want = "http://127.0.0.1:8080/deps/vmconfig/artifacts/kubectl/1.36.1/kubectl";
        assert_eq!(it.resolve_url("http://127.0.0.1:8080/deps"), want);
        assert_eq!(it.resolve_url("http://127.0.0.1:8080/deps//"), want);
    }

    #[test]
    fn matches_applies_providers_and_cached_only() {
        let mut it = item("csi", "binary");
        assert!(it.matches(&ItemFilter::default()));
        it.dep.providers = vec!["AWS".to_owned()];
        assert!(!it.matches(&ItemFilter::default()));
        let aws = ItemFilter { providers: vec![" google , aws".to_owned()], cached_only: false };
        assert!(it.matches(&aws));
        let all = ItemFilter { providers: vec!["all".to_owned()], cached_only: false };
        assert!(it.matches(&all));
        let cached_only = ItemFilter { providers: vec!["all".to_owned()], cached_only: true };
        assert!(!it.matches(&cached_only));
        it.dep.cached = true;
        assert!(it.matches(&cached_only));
    }

    #[test]
    fn validate_accepts_a_complete_item() {
        item("kubectl", "binary").validate().unwrap();
    }

    #[test]
    fn validate_names_the_item_and_the_problem() {
        type Break = fn(&mut Item);
        let cases: [(&str, Break); 9] = [
            ("missing url", |it| it.dep.url.clear()),
            ("missing size", |it| it.dep.size = 0),
            ("missing size", |it| it.dep.size = -5),
            ("missing digest", |it| it.dep.digest.clear()),
            ("invalid digest", |it| it.dep.digest = "sha256:abc".to_owned()),
            ("unsafe version", |it| it.dep.version = "../1".to_owned()),
            ("unsafe version", |it| it.dep.version.clear()),
            ("unsafe file name", |it| it.dep.url = "https://x.io/a/..".to_owned()),
            ("unsafe name", |it| it.name = "a/b".to_owned()),
        ];
        for (want, break_it) in cases {
            let mut it = item("kubectl", "binary");
            break_it(&mut it);
            let msg = it.validate().unwrap_err().to_string();
            assert!(msg.starts_with(&format!("vmconfig artifact {}: ", it.name)), "{msg}");
            assert!(msg.contains(want), "{want:?} not in {msg:?}");
        }
    }
}
