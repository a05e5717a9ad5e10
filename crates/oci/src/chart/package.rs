//! Packaging a chart directory into a Helm chart archive, natively and reproducibly.
//!
//! What goes in follows Helm's directory loader: every regular file under the
//! chart directory not ignored by `.helmignore` (plus Helm's default rule),
//! symbolic links followed, a UTF-8 byte-order mark stripped from each file,
//! and `Chart.yaml` required. We refuse what Helm would only warn about or
//! loop on: a link that leaves the chart directory, or one that leads back to
//! a directory being walked.
//!
//! How it is written is ours (BEHAVIOR §7, beyond): the same input gives the
//! same bytes. Entries are files only, all under `<name>/`, `Chart.yaml`
//! first and then sorted by path; each has mode 0644 (as Helm writes), uid and
//! gid 0, no user or group names, and mtime 0. The gzip header has no name
//! and mtime 0. Unlike `helm package`, `Chart.yaml` is kept byte for byte
//! rather than re-marshalled, and `charts/*.tgz` dependencies stay archives.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use deps_manifest::{Digest, pathsafe};
use flate2::{Compression, GzBuilder};

use super::helmignore::HelmIgnore;
use super::metadata::ChartMetadata;
use crate::{Error, Result, sha256};

/// The chart metadata file.
const CHART_FILE: &str = "Chart.yaml";
/// The ignore file.
const IGNORE_FILE: &str = ".helmignore";
/// Chart types Helm accepts (empty means `application`).
const CHART_TYPES: [&str; 3] = ["", "application", "library"];
/// gzip's "unknown" operating system byte, as Go writes it.
const GZIP_OS_UNKNOWN: u8 = 255;

/// A packaged chart: the archive, the config blob and what they were made from.
#[derive(Debug, Clone, PartialEq)]
pub struct PackagedChart {
    /// The chart's name (from `Chart.yaml`).
    pub name: String,
    /// The chart's version (from `Chart.yaml`).
    pub version: String,
    /// The parsed `Chart.yaml`.
    pub metadata: ChartMetadata,
    /// The archive's entries in order, each `<name>/<relative path>`.
    pub entries: Vec<String>,
    /// The `.tgz` bytes.
    pub archive: Vec<u8>,
    /// The archive's sha256 digest.
    pub archive_digest: Digest,
    /// The config blob: the metadata as Helm's JSON.
    pub config: Vec<u8>,
    /// The config's sha256 digest.
    pub config_digest: Digest,
}

impl PackagedChart {
    /// The file name `helm package` would give the archive: `<name>-<version>.tgz`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }
}

/// Packages the chart directory `dir` (see the module docs for what goes in and how).
pub fn package_chart(dir: &Path) -> Result<PackagedChart> {
    let root = fs_err::canonicalize(dir)?;
    let rules = read_rules(&root)?;
    let mut walker = Walker { root: root.clone(), rules, files: Vec::new(), stack: vec![root.clone()] };
    walker.walk(&root, "")?;
    let mut files = walker.files;

    let chart_yaml = root.join(CHART_FILE);
    let Some(meta_bytes) = files.iter().find(|(rel, _)| rel == CHART_FILE).map(|(_, bytes)| bytes) else {
        let reason = if chart_yaml.exists() {
            "Chart.yaml is excluded by .helmignore"
        } else {
            "Chart.yaml is missing"
        };
        return Err(Error::InvalidChart { path: root, reason: reason.to_owned() });
    };
    let metadata = ChartMetadata::from_yaml(meta_bytes)
        .map_err(|source| Error::ChartYaml { path: chart_yaml.clone(), source })?;
    validate(&metadata, &chart_yaml)?;

    files.sort_by(|(a, _), (b, _)| (a != CHART_FILE).cmp(&(b != CHART_FILE)).then_with(|| a.cmp(b)));
    let name = metadata.name.clone();
    let entries: Vec<String> = files.iter().map(|(rel, _)| format!("{name}/{rel}")).collect();
    let archive = write_archive(&root, &entries, &files)?;
    let config = metadata.config_json();
    Ok(PackagedChart {
        version: metadata.version.clone(),
        name,
        archive_digest: sha256(&archive),
        archive,
        config_digest: sha256(&config),
        config,
        entries,
        metadata,
    })
}

/// The chart's `.helmignore` rules (if any) and Helm's default rule.
fn read_rules(root: &Path) -> Result<HelmIgnore> {
    let path = root.join(IGNORE_FILE);
    let rules = match std::fs::read(&path) {
        Ok(bytes) => HelmIgnore::parse(&String::from_utf8_lossy(&bytes), &path)?,
        Err(err) if err.kind() == io::ErrorKind::NotFound => HelmIgnore::default(),
        Err(source) => return Err(Error::IoAt { action: "read", path, source }),
    };
    Ok(rules.with_defaults())
}

/// The checks Helm makes on metadata before packaging, and ours on what becomes a path or tag.
fn validate(metadata: &ChartMetadata, chart_yaml: &Path) -> Result<()> {
    let invalid = |reason: String| Error::InvalidChart { path: chart_yaml.to_owned(), reason };
    if metadata.api_version.is_empty() {
        return Err(invalid("apiVersion is required".to_owned()));
    }
    pathsafe::component("chart name", &metadata.name).map_err(|err| invalid(err.to_string()))?;
    pathsafe::component("chart version", &metadata.version).map_err(|err| invalid(err.to_string()))?;
    if !CHART_TYPES.contains(&metadata.kind.as_str()) {
        return Err(invalid(format!("type {:?} is not application or library", metadata.kind)));
    }
    if let Some(dep) = metadata.dependencies.iter().find(|d| d.name.is_empty()) {
        return Err(invalid(format!("a dependency has no name (repository {:?})", dep.repository)));
    }
    Ok(())
}

/// The directory walk: sorted, links followed inside the chart, ignore rules applied.
struct Walker {
    /// The canonical chart directory.
    root: PathBuf,
    /// What to leave out.
    rules: HelmIgnore,
    /// Collected files: relative path and bytes.
    files: Vec<(String, Vec<u8>)>,
    /// Canonical directories being walked, to catch link loops.
    stack: Vec<PathBuf>,
}

impl Walker {
    /// Walks the canonical directory `dir`, whose path in the chart is `rel` (empty at the top).
    fn walk(&mut self, dir: &Path, rel: &str) -> Result<()> {
        let mut entries = fs_err::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
        entries.sort_by_key(fs_err::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let Ok(name) = entry.file_name().into_string() else {
                return Err(Error::InvalidChart { path, reason: "file name is not UTF-8".to_owned() });
            };
            let rel_path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let (real, meta) = self.resolve(&path)?;
            if meta.is_dir() {
                if self.rules.ignores(&rel_path, true) {
                    continue;
                }
                if self.stack.contains(&real) {
                    let reason = format!("symbolic link loops back to {}", real.display());
                    return Err(Error::InvalidChart { path, reason });
                }
                self.stack.push(real.clone());
                self.walk(&real, &rel_path)?;
                self.stack.pop();
            } else {
                if self.rules.ignores(&rel_path, false) {
                    continue;
                }
                if !meta.is_file() {
                    let reason = "is not a regular file (device, socket or pipe)".to_owned();
                    return Err(Error::InvalidChart { path, reason });
                }
                let bytes = fs_err::read(&real)?;
                let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
                    Some(rest) => rest.to_vec(),
                    None => bytes,
                };
                self.files.push((rel_path, bytes));
            }
        }
        Ok(())
    }

    /// The real path and metadata of `path`, following a symbolic link that stays inside the chart.
    fn resolve(&self, path: &Path) -> Result<(PathBuf, std::fs::Metadata)> {
        let meta = fs_err::symlink_metadata(path)?;
        if !meta.file_type().is_symlink() {
            return Ok((path.to_owned(), meta));
        }
        let target = fs_err::canonicalize(path)?;
        if !target.starts_with(&self.root) {
            let reason = format!("symbolic link to {} leaves the chart directory", target.display());
            return Err(Error::InvalidChart { path: path.to_owned(), reason });
        }
        let meta = fs_err::metadata(&target)?;
        Ok((target, meta))
    }
}

/// Writes the deterministic `.tgz`: ustar entries with fixed metadata, gzip without name or time.
fn write_archive(root: &Path, entries: &[String], files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let io_err = |path: PathBuf| move |source| Error::IoAt { action: "archive", path, source };
    let gz =
        GzBuilder::new().mtime(0).operating_system(GZIP_OS_UNKNOWN).write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (entry, (rel, bytes)) in entries.iter().zip(files) {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(bytes.len() as u64);
        tar.append_data(&mut header, entry, bytes.as_slice()).map_err(io_err(root.join(rel)))?;
    }
    let mut gz = tar.into_inner().map_err(io_err(root.to_owned()))?;
    gz.flush().map_err(io_err(root.to_owned()))?;
    gz.finish().map_err(io_err(root.to_owned()))
}
