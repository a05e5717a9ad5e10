//! Where everything lives under the cache root (BEHAVIOR.md §4).
//!
//! [`Layout`] is the single source of truth for cache paths: the downloader,
//! verify, status and the CLI all ask it. Every value that comes from a
//! manifest (kind, arch, name, version, file name) passes
//! [`pathsafe::component`] before it is joined, so no accessor ever returns a
//! path outside the root. Accessors only compute paths; they never touch disk.

use std::path::{Path, PathBuf};

use deps_manifest::{pathsafe, vmconfig_manifest_name};
use time::OffsetDateTime;

use crate::Result;
use crate::manifest_kind::history_suffix;

/// The cache directory tree rooted at one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// A layout rooted at `root` (default `~/.podplane/cache/deps`, chosen by the caller).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The vmconfig dependency-domain directory: `vmconfig/`.
    pub fn vmconfig_cache_dir(&self) -> PathBuf {
        self.root.join("vmconfig")
    }

    /// The vmconfig manifest directory: `vmconfig/manifests/`.
    pub fn vmconfig_manifest_cache_dir(&self) -> PathBuf {
        self.vmconfig_cache_dir().join("manifests")
    }

    /// The latest cached vmconfig manifest: `vmconfig/manifests/vmconfig_<kind>_debian-13_<arch>.json`.
    pub fn vmconfig_manifest_cache_path(&self, kind: &str, arch: &str) -> Result<PathBuf> {
        let base = vmconfig_base(kind, arch)?;
        Ok(self.vmconfig_manifest_cache_dir().join(format!("{base}.json")))
    }

    /// An immutable historical copy of vmconfig manifest bytes, stamped with `now` in UTC.
    pub fn vmconfig_historical_manifest_cache_path(
        &self,
        kind: &str,
        arch: &str,
        raw: &[u8],
        now: OffsetDateTime,
    ) -> Result<PathBuf> {
        let base = vmconfig_base(kind, arch)?;
        let suffix = history_suffix(raw, now, '_');
        Ok(self.vmconfig_manifest_cache_dir().join(format!("{base}_{suffix}.json")))
    }

    /// The vmconfig artifact directory: `vmconfig/artifacts/`.
    pub fn vmconfig_artifacts_cache_dir(&self) -> PathBuf {
        self.vmconfig_cache_dir().join("artifacts")
    }

    /// Where one vmconfig artifact of the primary arch lives: `vmconfig/artifacts/<name>/<version>/<filename>`.
    pub fn vmconfig_artifact_cache_path(&self, name: &str, version: &str, filename: &str) -> Result<PathBuf> {
        nested(self.vmconfig_artifacts_cache_dir(), name, version, filename)
    }

    /// Where one vmconfig artifact of another arch lives, so archs never
    /// overwrite each other: `vmconfig/artifacts/<name>/<version>/<arch>/<filename>`.
    pub fn vmconfig_arch_artifact_cache_path(
        &self,
        name: &str,
        version: &str,
        arch: &str,
        filename: &str,
    ) -> Result<PathBuf> {
        let dir = nested(self.vmconfig_artifacts_cache_dir(), name, version, arch)?;
        Ok(dir.join(pathsafe::component("file name", filename)?))
    }

    /// The Git mirrors of component sources: `git/` (each at `git/<host[:port]>/<path>`).
    pub fn git_cache_dir(&self) -> PathBuf {
        self.root.join("git")
    }

    /// The registry cache that zot serves: `<parent>/registry` when the cache
    /// root is a directory named `deps`, else `<root>/registry`.
    pub fn registry_cache_dir(&self) -> PathBuf {
        match (self.root.file_name(), self.root.parent()) {
            (Some(name), Some(parent)) if name == "deps" => parent.join("registry"),
            _ => self.root.join("registry"),
        }
    }

    /// The image store inside the registry cache: `<registry cache>/mirror/`.
    pub fn image_store_dir(&self) -> PathBuf {
        self.registry_cache_dir().join("mirror")
    }

    /// Where older versions kept the image store: `components/images/`.
    pub fn legacy_images_cache_dir(&self) -> PathBuf {
        self.components_cache_dir().join("images")
    }

    /// The components dependency-domain directory: `components/`.
    pub fn components_cache_dir(&self) -> PathBuf {
        self.root.join("components")
    }

    /// The components manifest directory: `components/manifests/`.
    pub fn components_manifest_cache_dir(&self) -> PathBuf {
        self.components_cache_dir().join("manifests")
    }

    /// The latest cached components manifest: `components/manifests/components.json`.
    pub fn components_manifest_cache_path(&self) -> PathBuf {
        self.components_manifest_cache_dir().join("components.json")
    }

    /// An immutable historical components manifest: `components-<stamp>-<sha12>.json` (dashes).
    pub fn components_historical_manifest_cache_path(&self, raw: &[u8], now: OffsetDateTime) -> PathBuf {
        let suffix = history_suffix(raw, now, '-');
        self.components_manifest_cache_dir().join(format!("components-{suffix}.json"))
    }

    /// The component OCI image directory, zot's storage root: the image store
    /// in the registry cache ([`Layout::image_store_dir`]).
    pub fn components_images_cache_dir(&self) -> PathBuf {
        self.image_store_dir()
    }

    /// The templates dependency-domain directory: `templates/`.
    pub fn templates_cache_dir(&self) -> PathBuf {
        self.root.join("templates")
    }

    /// The templates manifest directory: `templates/manifests/`.
    pub fn templates_manifest_cache_dir(&self) -> PathBuf {
        self.templates_cache_dir().join("manifests")
    }

    /// The latest cached templates manifest: `templates/manifests/templates.json`.
    pub fn templates_manifest_cache_path(&self) -> PathBuf {
        self.templates_manifest_cache_dir().join("templates.json")
    }

    /// An immutable historical templates manifest: `templates_<stamp>_<sha12>.json`.
    pub fn templates_historical_manifest_cache_path(&self, raw: &[u8], now: OffsetDateTime) -> PathBuf {
        let suffix = history_suffix(raw, now, '_');
        self.templates_manifest_cache_dir().join(format!("templates_{suffix}.json"))
    }

    /// The template chart OCI layouts: `templates/charts/`.
    pub fn templates_charts_cache_dir(&self) -> PathBuf {
        self.templates_cache_dir().join("charts")
    }

    /// The seeds dependency-domain directory: `seeds/`.
    pub fn seeds_cache_dir(&self) -> PathBuf {
        self.root.join("seeds")
    }

    /// The seeds manifest directory: `seeds/manifests/`.
    pub fn seeds_manifest_cache_dir(&self) -> PathBuf {
        self.seeds_cache_dir().join("manifests")
    }

    /// The latest cached seeds manifest: `seeds/manifests/seeds.json`.
    pub fn seeds_manifest_cache_path(&self) -> PathBuf {
        self.seeds_manifest_cache_dir().join("seeds.json")
    }

    /// An immutable historical seeds manifest: `seeds_<stamp>_<sha12>.json`.
    pub fn seeds_historical_manifest_cache_path(&self, raw: &[u8], now: OffsetDateTime) -> PathBuf {
        let suffix = history_suffix(raw, now, '_');
        self.seeds_manifest_cache_dir().join(format!("seeds_{suffix}.json"))
    }

    /// The seed snapshot directory: `seeds/snapshots/`.
    pub fn seeds_snapshots_cache_dir(&self) -> PathBuf {
        self.seeds_cache_dir().join("snapshots")
    }

    /// Where one seed snapshot lives: `seeds/snapshots/<name>/<version>/<filename>`.
    pub fn seed_snapshot_cache_path(&self, name: &str, version: &str, filename: &str) -> Result<PathBuf> {
        nested(self.seeds_snapshots_cache_dir(), name, version, filename)
    }
}

/// `vmconfig_<kind>_debian-13_<arch>` ([`vmconfig_manifest_name`]), with kind and arch checked.
fn vmconfig_base(kind: &str, arch: &str) -> Result<String> {
    let kind = pathsafe::component("kind", kind)?;
    let arch = pathsafe::component("arch", arch)?;
    Ok(vmconfig_manifest_name(kind, arch))
}

/// `<dir>/<name>/<version>/<filename>`, each part checked.
fn nested(dir: PathBuf, name: &str, version: &str, filename: &str) -> Result<PathBuf> {
    let name = pathsafe::component("name", name)?;
    let version = pathsafe::component("version", version)?;
    let filename = pathsafe::component("file name", filename)?;
    Ok(dir.join(name).join(version).join(filename))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use proptest::prelude::*;
    use std::fmt::Write as _;
    use std::path::Component;
    use time::macros::datetime;

    const RAW: &[u8] = b"{\"vmconfig\":{}}\n";

    fn layout() -> Layout {
        Layout::new("/cache/deps")
    }

    /// Every accessor, with paths relative to the root's parent (the registry cache is beside the root).
    #[test]
    fn the_registry_cache_is_beside_a_deps_root_and_inside_any_other() {
        assert_eq!(
            Layout::new("/home/me/.cache/podplane/deps").registry_cache_dir(),
            Path::new("/home/me/.cache/podplane/registry")
        );
        assert_eq!(Layout::new("/srv/cache").registry_cache_dir(), Path::new("/srv/cache/registry"));
        assert_eq!(Layout::new("/").registry_cache_dir(), Path::new("/registry"));
        assert_eq!(Layout::new("deps").registry_cache_dir(), Path::new("registry"));
    }

    #[test]
    fn an_arch_path_refuses_an_unsafe_arch() {
        assert!(layout().vmconfig_arch_artifact_cache_path("kubelet", "1.0", "../x", "kubelet").is_err());
        assert!(layout().vmconfig_arch_artifact_cache_path("kubelet", "1.0", "arm64", "..").is_err());
    }

    #[test]
    fn whole_layout_snapshot() {
        let l = layout();
        let now = datetime!(2026-03-01 12:34:56 UTC);
        let rows: Vec<(&str, PathBuf)> = vec![
            ("vmconfig_cache_dir", l.vmconfig_cache_dir()),
            ("vmconfig_manifest_cache_dir", l.vmconfig_manifest_cache_dir()),
            (
                "vmconfig_manifest_cache_path(knc, arm64)",
                l.vmconfig_manifest_cache_path("knc", "arm64").unwrap(),
            ),
            (
                "vmconfig_historical_manifest_cache_path(knc, arm64)",
                l.vmconfig_historical_manifest_cache_path("knc", "arm64", RAW, now).unwrap(),
            ),
            ("vmconfig_artifacts_cache_dir", l.vmconfig_artifacts_cache_dir()),
            (
                "vmconfig_artifact_cache_path(runc, v1.2.3, runc.amd64)",
                l.vmconfig_artifact_cache_path("runc", "v1.2.3", "runc.amd64").unwrap(),
            ),
            ("components_cache_dir", l.components_cache_dir()),
            ("components_manifest_cache_dir", l.components_manifest_cache_dir()),
            ("components_manifest_cache_path", l.components_manifest_cache_path()),
            (
                "components_historical_manifest_cache_path",
                l.components_historical_manifest_cache_path(RAW, now),
            ),
            ("components_images_cache_dir", l.components_images_cache_dir()),
            ("legacy_images_cache_dir", l.legacy_images_cache_dir()),
            ("registry_cache_dir", l.registry_cache_dir()),
            ("image_store_dir", l.image_store_dir()),
            (
                "vmconfig_arch_artifact_cache_path(kubelet, 1.36.1, arm64, kubelet)",
                l.vmconfig_arch_artifact_cache_path("kubelet", "1.36.1", "arm64", "kubelet").unwrap(),
            ),
            ("templates_cache_dir", l.templates_cache_dir()),
            ("templates_manifest_cache_dir", l.templates_manifest_cache_dir()),
            ("templates_manifest_cache_path", l.templates_manifest_cache_path()),
            (
                "templates_historical_manifest_cache_path",
                l.templates_historical_manifest_cache_path(RAW, now),
            ),
            ("templates_charts_cache_dir", l.templates_charts_cache_dir()),
            ("seeds_cache_dir", l.seeds_cache_dir()),
            ("seeds_manifest_cache_dir", l.seeds_manifest_cache_dir()),
            ("seeds_manifest_cache_path", l.seeds_manifest_cache_path()),
            ("seeds_historical_manifest_cache_path", l.seeds_historical_manifest_cache_path(RAW, now)),
            ("seeds_snapshots_cache_dir", l.seeds_snapshots_cache_dir()),
            (
                "seed_snapshot_cache_path(etcd, 2026.03.1, etcd.netsy)",
                l.seed_snapshot_cache_path("etcd", "2026.03.1", "etcd.netsy").unwrap(),
            ),
        ];
        let mut out = String::new();
        for (name, path) in rows {
            let rel = path.strip_prefix("/cache").unwrap();
            writeln!(out, "{name}: {}", rel.display()).unwrap();
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn root_is_what_was_given() {
        assert_eq!(layout().root(), Path::new("/cache/deps"));
    }

    #[test]
    fn stamp_is_utc_and_hash_is_of_the_bytes() {
        let l = layout();
        let utc = datetime!(2026-03-01 12:34:56 UTC);
        let plus_two = datetime!(2026-03-01 14:34:56 +02:00);
        assert_eq!(
            l.seeds_historical_manifest_cache_path(RAW, utc),
            l.seeds_historical_manifest_cache_path(RAW, plus_two)
        );
        assert_ne!(
            l.seeds_historical_manifest_cache_path(RAW, utc),
            l.seeds_historical_manifest_cache_path(b"{}", utc)
        );
    }

    #[test]
    fn unsafe_values_are_rejected_with_their_field() {
        let l = layout();
        let cases: [(Result<PathBuf>, &str); 7] = [
            (l.vmconfig_manifest_cache_path("../x", "amd64"), "kind"),
            (l.vmconfig_manifest_cache_path("knc", "a/b"), "arch"),
            (l.vmconfig_historical_manifest_cache_path("knc", "", RAW, OffsetDateTime::UNIX_EPOCH), "arch"),
            (l.vmconfig_artifact_cache_path("..", "1", "f"), "name"),
            (l.vmconfig_artifact_cache_path("runc", "/etc", "f"), "version"),
            (l.seed_snapshot_cache_path("etcd", "1", "a\0b"), "file name"),
            (l.seed_snapshot_cache_path(".", "1", "f"), "name"),
        ];
        for (result, field) in cases {
            match result {
                Err(Error::Manifest(deps_manifest::Error::UnsafePath { field: got, .. })) => {
                    assert_eq!(got, field)
                }
                other => panic!("expected unsafe {field}, got {other:?}"),
            }
        }
    }

    fn inside(root: &Path, path: &Path) -> bool {
        path.strip_prefix(root).is_ok_and(|rel| rel.components().all(|c| matches!(c, Component::Normal(_))))
    }

    proptest! {
        #[test]
        fn accepted_values_never_leave_the_root(
            name in "\\PC{0,8}|[./\\\\a\\x00]{0,4}",
            version in "\\PC{0,8}|[./\\\\1]{0,4}",
            filename in "\\PC{0,8}|[./\\\\f]{0,4}",
        ) {
            let l = layout();
            let now = OffsetDateTime::UNIX_EPOCH;
            let paths = [
                l.vmconfig_artifact_cache_path(&name, &version, &filename),
                l.seed_snapshot_cache_path(&name, &version, &filename),
                l.vmconfig_manifest_cache_path(&name, &version),
                l.vmconfig_historical_manifest_cache_path(&name, &filename, RAW, now),
            ];
            for path in paths.into_iter().flatten() {
                prop_assert!(inside(l.root(), &path), "{} escapes", path.display());
            }
        }
    }
}
