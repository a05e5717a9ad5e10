//! What the CLI test binaries share: a fixture mirror served on loopback, a
//! fresh cache, and the `deps` binary pointed at both.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use xtask::mirror::Mirror;

/// One test's mirror and cache.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub mirror: Mirror,
}

impl Env {
    /// Generates fixtures (real sizes divided by `scale`) and starts the mirror.
    pub async fn new(scale: u64) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mirror = Mirror::start_with_fixtures(dir.path().join("mirror"), scale).await.unwrap();
        Env { dir, mirror }
    }

    pub fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// A home directory of this test's own, so nothing reads or writes the real one.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The environment that points `deps` at this mirror and cache, with
    /// podplane's home, config and cache directories inside the temp dir.
    /// The primary arch is arm64, the arch the tests download, so its
    /// artifacts keep the paths the mirror serves them at.
    pub fn vars(&self) -> [(&'static str, String); 7] {
        let home = self.home();
        [
            ("DEPS_BASE_URL", self.mirror.base_url()),
            ("PODPLANE_ARCH", "arm64".to_owned()),
            ("DEPS_CACHE_DIR", self.cache().display().to_string()),
            ("DEPS_REGISTRY_MIRROR", self.mirror.base_url()),
            ("HOME", home.display().to_string()),
            ("XDG_CONFIG_HOME", home.join(".config").display().to_string()),
            ("XDG_CACHE_HOME", home.join(".cache").display().to_string()),
        ]
    }

    /// `deps <args>` against this mirror and cache, not yet started; the
    /// caller's own `PODPLANE_*` settings do not leak in.
    pub fn deps(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deps-cli"));
        cmd.args(args).envs(self.vars()).stdin(Stdio::null());
        for var in [
            "DEPS_MIRROR",
            "RUST_LOG",
            "USERPROFILE",
            "PODPLANE_DEPS_URL",
            "PODPLANE_DEPS_BASE_URL",
            "PODPLANE_DEPS_CACHE_DIR",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Runs `deps <args>` to the end.
    pub async fn run(&self, args: &[&str]) -> Output {
        output(self.deps(args)).await
    }

    /// The mirror path and size of the OS image.
    pub fn os_image(&self) -> (String, u64) {
        let path = self.dir.path().join("mirror/manifests/vmconfig_knc_debian-13_arm64.json");
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let image = &m["vmconfig"]["os"]["image"];
        let url = image["url"].as_str().unwrap();
        (url.trim_start_matches("http://mirror.invalid").to_owned(), image["size"].as_u64().unwrap())
    }
}

/// Runs a command to the end off the async runtime.
pub async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

/// Lossy UTF-8.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A file's length, 0 when it does not exist.
pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
