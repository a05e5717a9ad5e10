//! A real registry for tests: Debian's `docker-registry` (CNCF distribution)
//! on 127.0.0.1 with filesystem storage in a work directory, started from the
//! template `xtask/registry/config.yml` and killed when dropped; and pushing a
//! fixture mirror's images and charts into it with Debian's `skopeo`,
//! digests preserved, so a client can pull from it exactly as from the fake.
//!
//! When `docker-registry` is not installed [`RealRegistry::start`] returns
//! `Ok(None)` so tests can skip; a missing `skopeo` is an error naming it.
//! skopeo 1.9 (Debian bookworm) reads only OCI media types from `oci:`
//! layouts, so repositories tagged with Docker manifest lists are staged as
//! a `dir:` image (hard links) and pushed from there.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::fixtures::{FixtureSummary, REGISTRY_DIR};
use crate::localhost::{Readiness, free_port, http_status, wait_ready};

/// Where Debian installs the registry.
pub const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";
/// Where Debian installs skopeo.
pub const SKOPEO: &str = "/usr/bin/skopeo";

/// The configuration template.
const CONFIG_TEMPLATE: &str = include_str!("../registry/config.yml");
/// How long the registry may take to answer `GET /v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts at starting (another process may take the port between probe and bind).
const START_ATTEMPTS: u32 = 3;

/// A running `docker-registry`, killed on drop.
#[derive(Debug)]
pub struct RealRegistry {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl RealRegistry {
    /// Starts a registry storing under `workdir`; `Ok(None)` when `docker-registry` is not installed.
    pub fn start(workdir: &Path) -> anyhow::Result<Option<RealRegistry>> {
        if !Path::new(DOCKER_REGISTRY).is_file() {
            eprintln!("note: {DOCKER_REGISTRY} is not installed (apt-get install docker-registry); skipping");
            return Ok(None);
        }
        fs_err::create_dir_all(workdir)?;
        let mut last = None;
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(workdir) {
                Ok(registry) => return Ok(Some(registry)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("the registry did not start")))
    }

    /// One attempt: pick a port, write the config, spawn, wait for `/v2/`.
    fn try_start(workdir: &Path) -> anyhow::Result<RealRegistry> {
        let addr = free_port()?;
        let root = workdir.join("storage");
        let config = CONFIG_TEMPLATE
            .replace("@ROOT@", &root.display().to_string())
            .replace("@ADDR@", &addr.to_string());
        let config_path = workdir.join("config.yml");
        fs_err::write(&config_path, config)?;
        let log = workdir.join("registry.log");
        let out = fs_err::File::create(&log)?;
        let child = Command::new(DOCKER_REGISTRY)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?.into_parts().0)
            .stderr(out.into_parts().0)
            .spawn()
            .with_context(|| format!("starting {DOCKER_REGISTRY}"))?;
        let mut registry = RealRegistry { child, addr, log };
        registry.wait_ready()?;
        Ok(registry)
    }

    /// Waits until `GET /v2/` answers 200, failing if the process exits first.
    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let (addr, log_path) = (self.addr, self.log.clone());
        let log = || log_tail(&log_path);
        let wait = Readiness {
            what: DOCKER_REGISTRY,
            addr,
            timeout: READY_TIMEOUT,
            every: Duration::from_millis(50),
            ready: &|| http_status(addr, "/v2/").is_ok_and(|s| s == 200),
            log: &log,
        };
        wait_ready(&mut self.child, &wait)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`, as image references name it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for RealRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pushes every image and chart of the fixture mirror at `mirror_dir` to `registry`
/// as `<host>/<prefix><repository>:<tag>`, keeping every digest.
pub fn push_fixture_images(mirror_dir: &Path, registry: &RealRegistry, prefix: &str) -> anyhow::Result<()> {
    if !Path::new(SKOPEO).is_file() {
        bail!("{SKOPEO} is not installed (apt-get install skopeo): it pushes the fixture images");
    }
    let summary = FixtureSummary::read(mirror_dir)?;
    let staging = staging_dir(mirror_dir)?;
    let pushed = summary.repository_tags().into_iter().try_for_each(|(repository, tag)| {
        push_one(mirror_dir, &staging, registry, prefix, &repository, &tag)
    });
    let _ = fs_err::remove_dir_all(&staging);
    pushed
}

/// Pushes `repository:tag` of the mirror to `<host>/<prefix><repository>:<tag>`.
fn push_one(
    mirror_dir: &Path,
    staging: &Path,
    registry: &RealRegistry,
    prefix: &str,
    repository: &str,
    tag: &str,
) -> anyhow::Result<()> {
    let layout = repository.split('/').fold(mirror_dir.join(REGISTRY_DIR), |dir, part| dir.join(part));
    let source = if tagged_media_type(&layout, tag)?.starts_with("application/vnd.oci.") {
        format!("oci:{}:{tag}", layout.display())
    } else {
        let dir = staging.join(format!("{}-{tag}", repository.replace('/', "_")));
        stage_dir_image(&layout, tag, &dir)?;
        format!("dir:{}", dir.display())
    };
    let dest = format!("docker://{}/{prefix}{repository}:{tag}", registry.host());
    let output = Command::new(SKOPEO)
        .args(["--insecure-policy", "copy", "--quiet", "--all", "--preserve-digests"])
        .args(["--dest-tls-verify=false", "--retry-times=2"])
        .arg(&source)
        .arg(&dest)
        .output()
        .with_context(|| format!("running {SKOPEO}"))?;
    if !output.status.success() {
        bail!("skopeo copy {source} {dest} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// A fresh staging directory next to the mirror (same file system, so hard links work).
fn staging_dir(mirror_dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = mirror_dir.join(format!(".push-staging-{}", std::process::id()));
    if dir.exists() {
        fs_err::remove_dir_all(&dir)?;
    }
    fs_err::create_dir_all(&dir)?;
    Ok(dir)
}

/// The descriptor of `tag` in the layout's `index.json`: its media type.
fn tagged_media_type(layout: &Path, tag: &str) -> anyhow::Result<String> {
    Ok(json_str(&tagged(layout, tag)?, "mediaType")?.to_owned())
}

/// The descriptor of `tag` in the layout's `index.json`.
fn tagged(layout: &Path, tag: &str) -> anyhow::Result<Value> {
    let index = read_json(&layout.join("index.json"))?;
    let manifests = index["manifests"].as_array().into_iter().flatten();
    manifests
        .into_iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .cloned()
        .with_context(|| format!("{} has no tag {tag}", layout.display()))
}

/// Writes the image `tag` of `layout` as a skopeo `dir:` image at `dir`.
fn stage_dir_image(layout: &Path, tag: &str, dir: &Path) -> anyhow::Result<()> {
    fs_err::create_dir_all(dir)?;
    fs_err::write(dir.join("version"), "Directory Transport Version: 1.1\n")?;
    let top = json_str(&tagged(layout, tag)?, "digest")?.to_owned();
    link(&blob_path(layout, &top)?, &dir.join("manifest.json"))?;
    let doc = read_json(&blob_path(layout, &top)?)?;
    let instances: Vec<String> = match doc["manifests"].as_array() {
        Some(list) => {
            list.iter().map(|d| json_str(d, "digest").map(str::to_owned)).collect::<anyhow::Result<_>>()?
        }
        None => Vec::new(),
    };
    let mut manifests = vec![doc];
    for digest in &instances {
        let path = blob_path(layout, digest)?;
        link(&path, &dir.join(format!("{}.manifest.json", hex_of(digest)?)))?;
        manifests.push(read_json(&path)?);
    }
    for manifest in manifests.iter().filter(|m| m["manifests"].is_null()) {
        let layers = manifest["layers"].as_array().into_iter().flatten();
        for descriptor in std::iter::once(&manifest["config"]).chain(layers) {
            let digest = json_str(descriptor, "digest")?;
            let dest = dir.join(hex_of(digest)?);
            if !dest.exists() {
                link(&blob_path(layout, digest)?, &dest)?;
            }
        }
    }
    Ok(())
}

/// The blob file of `digest` in `layout`.
fn blob_path(layout: &Path, digest: &str) -> anyhow::Result<PathBuf> {
    Ok(layout.join("blobs/sha256").join(hex_of(digest)?))
}

/// The hex of a `sha256:` digest.
fn hex_of(digest: &str) -> anyhow::Result<&str> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .with_context(|| format!("{digest:?} is not a sha256 digest"))
}

/// Hard-links `from` to `to`, copying where links are not possible.
fn link(from: &Path, to: &Path) -> anyhow::Result<()> {
    if fs_err::hard_link(from, to).is_err() {
        fs_err::copy(from, to)?;
    }
    Ok(())
}

/// Parses the JSON file at `path`.
fn read_json(path: &Path) -> anyhow::Result<Value> {
    serde_json::from_slice(&fs_err::read(path)?).with_context(|| format!("parsing {}", path.display()))
}

/// The string field `key` of `value`.
fn json_str<'a>(value: &'a Value, key: &str) -> anyhow::Result<&'a str> {
    value[key].as_str().with_context(|| format!("no string {key:?} in {value}"))
}

/// The end of the registry's log, for errors.
fn log_tail(path: &Path) -> String {
    let text = fs_err::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(2000);
    text.get(start..).unwrap_or(&text).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_template_has_every_placeholder() {
        for placeholder in ["@ROOT@", "@ADDR@"] {
            assert!(CONFIG_TEMPLATE.contains(placeholder), "{placeholder}");
        }
        assert!(CONFIG_TEMPLATE.contains("delete:\n    enabled: true"));
    }

    #[test]
    fn digests_must_be_sha256() {
        assert!(hex_of(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(hex_of("sha256:../x").is_err());
        assert!(hex_of(&format!("sha512:{}", "a".repeat(64))).is_err());
    }
}
