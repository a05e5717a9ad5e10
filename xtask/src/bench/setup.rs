//! Everything the scenarios share: the fixture mirror served by nginx and
//! docker-registry, the `deps` binary and its cache, and the data sets the
//! peers are given — the artifact files `deps download` fetched, the image
//! platforms it pulled and every file of the full cache with its digest —
//! read from a first, untimed `deps download` so that every tool handles
//! exactly the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use serde_json::Value;

use super::measure::{Proc, Step, time_steps};
use super::nginx::Nginx;
use crate::fixtures::{self, FixtureOptions, FixtureSummary, vmconfig_manifest_file};
use crate::registry::{self, RealRegistry};

/// The architecture every scenario downloads.
pub const ARCH: &str = "arm64";

/// A digest algorithm of the fixtures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algo {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

/// One file with its expected digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digested {
    /// Relative to the mirror (artifacts) or absolute (cache files).
    pub path: PathBuf,
    /// The digest algorithm.
    pub algo: Algo,
    /// The lowercase hex digest.
    pub hex: String,
    /// Size in bytes.
    pub size: u64,
}

/// One image platform `deps download` pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledImage {
    /// The registry repository (`quay.io/cilium/cilium`).
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The platform manifest digest.
    pub digest: String,
    /// Manifest, config and layer bytes.
    pub size: u64,
}

/// What the peers are given: the same files and images `deps` handles.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The vmconfig artifacts, paths relative to the mirror root.
    pub artifacts: Vec<Digested>,
    /// The image platforms.
    pub images: Vec<PulledImage>,
    /// Every file of the full cache `deps verify` checks, absolute paths, each blob once.
    pub cached: Vec<Digested>,
}

/// The servers, the binary and the cache.
#[derive(Debug)]
pub struct Ctx {
    /// The harness's work directory.
    pub work: PathBuf,
    /// nginx serving the mirror's files.
    pub nginx: Nginx,
    /// docker-registry serving its images.
    pub registry: RealRegistry,
    /// The `deps` binary.
    pub deps: PathBuf,
    /// The cache every `deps` run uses.
    pub cache: PathBuf,
    /// Whether `deps verify` has `--deep`.
    pub deep_verify: bool,
}

impl Ctx {
    /// Generates the fixture mirror at `scale` and starts the servers.
    pub fn start(
        work: &Path,
        scale: u64,
        nginx: &Path,
        deps: PathBuf,
    ) -> anyhow::Result<(Ctx, FixtureSummary)> {
        let mirror = work.join("mirror");
        let mut fixture_opts = FixtureOptions::new(&mirror);
        fixture_opts.scale = Some(scale);
        eprintln!("bench: generating the fixture mirror at scale {scale}");
        let summary = fixtures::generate(&fixture_opts)?;
        let nginx = Nginx::start(nginx, &mirror, &work.join("nginx"))?;
        let registry = RealRegistry::start(&work.join("registry"))?
            .with_context(|| format!("{} is not installed", registry::DOCKER_REGISTRY))?;
        eprintln!("bench: pushing the fixture images to {}", registry.base_url());
        registry::push_fixture_images(&mirror, &registry, "")?;
        let deep_verify = has_deep_verify(&deps)?;
        let cache = work.join("cache");
        Ok((Ctx { work: work.to_path_buf(), nginx, registry, deps, cache, deep_verify }, summary))
    }

    /// `deps` with the global options pointing at the servers and the cache,
    /// quiet; arm64 is the primary arch (its artifacts keep the original paths)
    /// and no podplane config file is read.
    pub fn deps(&self) -> Proc {
        Proc::new(&self.deps)
            .env("PODPLANE_ARCH", ARCH)
            .env("XDG_CONFIG_HOME", self.work.join("config"))
            .arg("-q")
            .arg("--base-url")
            .arg(self.nginx.base_url())
            .arg("--cache-dir")
            .arg(&self.cache)
            .arg("--registry-mirror")
            .arg(self.registry.base_url())
    }

    /// `deps download --arch arm64`.
    pub fn download(&self) -> Proc {
        self.deps().args(["download", "--arch", ARCH])
    }

    /// `deps verify [--deep] --arch arm64`.
    pub fn verify(&self, deep: bool) -> Proc {
        let verify = self.deps().arg("verify");
        let verify = if deep { verify.arg("--deep") } else { verify };
        verify.args(["--arch", ARCH])
    }

    /// Fills a fresh cache with one untimed `deps download` and reads what it holds.
    pub fn prime(&self, summary: &FixtureSummary) -> anyhow::Result<Dataset> {
        remove_dir(&self.cache)?;
        eprintln!("bench: filling the cache with a first deps download");
        time_steps(&[Step::one(self.download())], &self.work.join("logs/prime"))?;
        Ok(Dataset {
            artifacts: self.artifacts(summary)?,
            images: self.images(summary)?,
            cached: self.cached_files(summary)?,
        })
    }

    /// The artifacts in the cache, as mirror paths with the fixture's digests.
    fn artifacts(&self, summary: &FixtureSummary) -> anyhow::Result<Vec<Digested>> {
        let manifest = format!("manifests/{}", vmconfig_manifest_file(ARCH));
        let known: BTreeMap<&str, &str> =
            summary.items_of(&manifest).map(|i| (i.path.as_str(), i.digest.as_str())).collect();
        let mut out = Vec::new();
        for file in files_under(&self.cache.join("vmconfig/artifacts"))? {
            let rel = file.strip_prefix(&self.cache)?;
            let key = rel.to_string_lossy();
            let digest = known.get(key.as_ref()).with_context(|| {
                format!("{} is in the cache but not among the fixture's {ARCH} artifacts", file.display())
            })?;
            out.push(digested(rel.to_path_buf(), digest, fs_err::metadata(&file)?.len())?);
        }
        if out.is_empty() {
            bail!("deps download cached no artifact under {}", self.cache.display());
        }
        Ok(out)
    }

    /// The image platforms the cached components manifest marks cached.
    fn images(&self, summary: &FixtureSummary) -> anyhow::Result<Vec<PulledImage>> {
        let path = self.cache.join("components/manifests/components.json");
        let manifest: Value = serde_json::from_slice(&fs_err::read(&path)?)
            .with_context(|| format!("parsing {}", path.display()))?;
        let entries = manifest["components"]["images"].as_array().into_iter().flatten();
        let mut out = Vec::new();
        for entry in entries.filter(|e| e["cached"] == true) {
            let digest = entry["digest"].as_str().with_context(|| format!("no digest in {entry}"))?;
            let image = summary
                .images
                .iter()
                .find(|i| i.manifest.digest == digest)
                .with_context(|| format!("{digest} is cached but not a fixture image"))?;
            out.push(PulledImage {
                repository: image.repository.clone(),
                tag: image.tag.clone(),
                digest: digest.to_owned(),
                size: image.size,
            });
        }
        if out.is_empty() {
            bail!("deps download cached no image ({} marks none cached)", path.display());
        }
        Ok(out)
    }

    /// Every artifact, seed snapshot, image and chart blob of the cache, each blob once.
    fn cached_files(&self, summary: &FixtureSummary) -> anyhow::Result<Vec<Digested>> {
        let mut out: Vec<Digested> = self
            .artifacts(summary)?
            .into_iter()
            .map(|a| Digested { path: self.cache.join(&a.path), ..a })
            .collect();
        for file in files_under(&self.cache.join("seeds/snapshots"))? {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let item = summary
                .items_of("manifests/seeds.json")
                .find(|i| i.path.rsplit('/').next() == Some(name.as_str()))
                .with_context(|| format!("{} is not a fixture seed snapshot", file.display()))?;
            out.push(digested(file.clone(), &item.digest, fs_err::metadata(&file)?.len())?);
        }
        let mut blobs = BTreeMap::new();
        for area in ["registry/mirror", "templates/charts"] {
            for file in files_under(&self.cache.join(area))? {
                let in_blobs = file.parent().is_some_and(|p| p.ends_with("blobs/sha256"));
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if in_blobs && is_hex(&name, 64) {
                    let size = fs_err::metadata(&file)?.len();
                    blobs.entry(name.clone()).or_insert(Digested {
                        path: file,
                        algo: Algo::Sha256,
                        hex: name,
                        size,
                    });
                }
            }
        }
        out.extend(blobs.into_values());
        Ok(out)
    }
}

/// Whether `deps verify --help` offers `--deep`.
fn has_deep_verify(deps: &Path) -> anyhow::Result<bool> {
    let output = Command::new(deps)
        .args(["verify", "--help"])
        .output()
        .with_context(|| format!("running {} verify --help", deps.display()))?;
    if !output.status.success() {
        bail!(
            "`{} verify --help` failed ({}): {}",
            deps.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).contains("--deep"))
}

/// `algo:hex` parsed.
fn digested(path: PathBuf, digest: &str, size: u64) -> anyhow::Result<Digested> {
    let (algo, hex) = match digest.split_once(':') {
        Some(("sha256", hex)) if is_hex(hex, 64) => (Algo::Sha256, hex),
        Some(("sha512", hex)) if is_hex(hex, 128) => (Algo::Sha512, hex),
        _ => bail!("{digest:?} is neither a sha256 nor a sha512 digest"),
    };
    Ok(Digested { path, algo, hex: hex.to_owned(), size })
}

/// Whether `s` is `len` lowercase hex digits.
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Every regular file under `dir` (none when it does not exist), sorted.
pub fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs_err::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Removes `dir` and everything in it, if it exists.
pub fn remove_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        fs_err::remove_dir_all(dir)?;
    }
    Ok(())
}

/// Writes `<list>.sha256` / `<list>.sha512` in the format of `sha256sum -c`, one per algorithm present.
pub fn write_check_lists(files: &[Digested], list: &Path) -> anyhow::Result<Vec<(Algo, PathBuf)>> {
    let mut out = Vec::new();
    for (algo, ext) in [(Algo::Sha256, "sha256"), (Algo::Sha512, "sha512")] {
        let mut text = String::new();
        for file in files.iter().filter(|f| f.algo == algo) {
            writeln!(text, "{}  {}", file.hex, file.path.display())?;
        }
        if !text.is_empty() {
            let path = list.with_extension(ext);
            fs_err::write(&path, text)?;
            out.push((algo, path));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_parsed_by_algorithm() {
        let a = digested("x".into(), &format!("sha256:{}", "a".repeat(64)), 1).unwrap();
        assert_eq!(a.algo, Algo::Sha256);
        assert_eq!(
            digested("x".into(), &format!("sha512:{}", "0".repeat(128)), 1).unwrap().algo,
            Algo::Sha512
        );
        assert!(digested("x".into(), "md5:abc", 1).is_err());
        assert!(digested("x".into(), &format!("sha256:{}", "A".repeat(64)), 1).is_err());
    }

    #[test]
    fn check_lists_split_by_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            digested("a/b".into(), &format!("sha256:{}", "1".repeat(64)), 1).unwrap(),
            digested("c".into(), &format!("sha512:{}", "2".repeat(128)), 1).unwrap(),
        ];
        let lists = write_check_lists(&files, &dir.path().join("list")).unwrap();
        assert_eq!(lists.len(), 2);
        let sha256 = fs_err::read_to_string(&lists[0].1).unwrap();
        assert_eq!(sha256, format!("{}  a/b\n", "1".repeat(64)));
    }
}
