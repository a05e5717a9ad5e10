//! Debian's nginx serving a fixture mirror on 127.0.0.1: its own generated
//! configuration, pid file, logs and temp directories in a work directory,
//! `sendfile` on and no access log. Files come from an overlay directory
//! first (the manifests with the placeholder host replaced by nginx's own
//! address) and from the mirror otherwise. Stopped on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::measure::tail;
use crate::fixtures::{PLACEHOLDER_BASE_URL, REGISTRY_DIR};
use crate::localhost::{Readiness, free_port, http_status, wait_ready};

/// How long nginx may take to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at starting (another process may take the port between probe and bind).
const START_ATTEMPTS: u32 = 3;

/// A running nginx, stopped on drop.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    binary: PathBuf,
    conf: PathBuf,
    prefix: PathBuf,
    error_log: PathBuf,
    addr: SocketAddr,
}

impl Nginx {
    /// Starts `binary` serving `mirror`, with its files under `workdir`.
    pub fn start(binary: &Path, mirror: &Path, workdir: &Path) -> anyhow::Result<Nginx> {
        let mut last = None;
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(binary, mirror, workdir) {
                Ok(nginx) => return Ok(nginx),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("nginx did not start")))
    }

    /// One attempt: pick a port, write the overlay and the config, spawn, wait for an answer.
    fn try_start(binary: &Path, mirror: &Path, workdir: &Path) -> anyhow::Result<Nginx> {
        let addr = free_port()?;
        let prefix = workdir.to_path_buf();
        let overlay = prefix.join("overlay");
        write_overlay(mirror, &overlay, &format!("http://{addr}"))?;
        for temp in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            fs_err::create_dir_all(prefix.join("temp").join(temp))?;
        }
        let error_log = prefix.join("error.log");
        let conf = prefix.join("nginx.conf");
        fs_err::write(&conf, config(&prefix, &overlay, mirror, addr, running_as_root()))?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&error_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs_err::File::create(prefix.join("stderr.log"))?.into_parts().0)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut nginx = Nginx { child, binary: binary.to_path_buf(), conf, prefix, error_log, addr };
        nginx.wait_ready()?;
        Ok(nginx)
    }

    /// Waits until nginx answers HTTP (any status), failing if it exits first.
    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let addr = self.addr;
        let log = || format!("{} {}", tail(&self.prefix.join("stderr.log")), tail(&self.error_log));
        let what = self.binary.display().to_string();
        let wait = Readiness {
            what: &what,
            addr,
            timeout: READY_TIMEOUT,
            every: Duration::from_millis(20),
            ready: &|| http_status(addr, "/").is_ok(),
            log: &log,
        };
        wait_ready(&mut self.child, &wait)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // `stop` reaches the workers too; killing the master alone would leave them serving.
        let stopped = Command::new(&self.binary)
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(&self.conf)
            .args(["-s", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        while stopped && Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The configuration: one foreground master, a worker per core, loopback only.
fn config(prefix: &Path, overlay: &Path, mirror: &Path, addr: SocketAddr, root: bool) -> String {
    let user = if root { "user root;\n" } else { "" };
    let temp = prefix.join("temp");
    let temp = temp.display();
    format!(
        "{user}daemon off;
worker_processes auto;
pid {pid};
error_log {error_log} warn;
events {{
    worker_connections 512;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000;
    default_type application/octet-stream;
    types {{
        application/json json;
    }}
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen {addr};
        location / {{
            root {overlay};
            try_files $uri @mirror;
        }}
        location @mirror {{
            root {mirror};
        }}
    }}
}}
",
        pid = prefix.join("nginx.pid").display(),
        error_log = prefix.join("error.log").display(),
        overlay = overlay.display(),
        mirror = mirror.display(),
    )
}

/// Copies every JSON file of `mirror` (outside the registry) that names the
/// placeholder host into `overlay`, with `base_url` in its place.
fn write_overlay(mirror: &Path, overlay: &Path, base_url: &str) -> anyhow::Result<()> {
    if overlay.exists() {
        fs_err::remove_dir_all(overlay)?;
    }
    let mut dirs = vec![mirror.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs_err::read_dir(&dir)? {
            let path = entry?.path();
            let rel = path.strip_prefix(mirror).with_context(|| format!("{} is outside", path.display()))?;
            if path.is_dir() {
                if rel != Path::new(REGISTRY_DIR) {
                    dirs.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = fs_err::read_to_string(&path)?;
            if text.contains(PLACEHOLDER_BASE_URL) {
                let dest = overlay.join(rel);
                if let Some(parent) = dest.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                fs_err::write(dest, text.replace(PLACEHOLDER_BASE_URL, base_url))?;
            }
        }
    }
    Ok(())
}

/// Whether this process runs as root (nginx then needs `user root;` to read the work directory).
fn running_as_root() -> bool {
    let status = fs_err::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_listens_on_loopback_only_and_runs_as_root_only_when_root() {
        let addr = SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 8080));
        let conf = config(Path::new("/w"), Path::new("/w/overlay"), Path::new("/m"), addr, false);
        assert!(conf.contains("listen 127.0.0.1:8080;") && conf.contains("sendfile on;"), "{conf}");
        assert!(conf.contains("access_log off;") && conf.contains("daemon off;"));
        assert!(!conf.contains("user root;"));
        assert!(
            config(Path::new("/w"), Path::new("/o"), Path::new("/m"), addr, true).starts_with("user root;")
        );
    }

    #[test]
    fn the_overlay_rewrites_the_placeholder_host_in_manifests_only() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror");
        fs_err::create_dir_all(mirror.join("manifests")).unwrap();
        fs_err::create_dir_all(mirror.join(REGISTRY_DIR)).unwrap();
        let manifest = format!(r#"{{"url":"{PLACEHOLDER_BASE_URL}/a"}}"#);
        fs_err::write(mirror.join("manifests/m.json"), &manifest).unwrap();
        fs_err::write(mirror.join(REGISTRY_DIR).join("index.json"), &manifest).unwrap();
        fs_err::write(mirror.join("manifests/plain.json"), "{}").unwrap();
        let overlay = dir.path().join("overlay");
        write_overlay(&mirror, &overlay, "http://127.0.0.1:9").unwrap();
        let text = fs_err::read_to_string(overlay.join("manifests/m.json")).unwrap();
        assert_eq!(text, r#"{"url":"http://127.0.0.1:9/a"}"#);
        assert!(!overlay.join(REGISTRY_DIR).exists() && !overlay.join("manifests/plain.json").exists());
    }
}
