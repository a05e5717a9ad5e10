//! Finding the peer tools and the servers, and what to do when one is
//! missing: its rows say "not installed", unless `DEPS_REQUIRE_TOOLS` is set,
//! when a missing tool is an error.

use std::path::{Path, PathBuf};

use anyhow::bail;

/// The variable that turns a missing tool into an error.
pub const REQUIRE_TOOLS_VAR: &str = "DEPS_REQUIRE_TOOLS";

/// Directories searched besides `PATH` (nginx lives in `/usr/sbin`).
const EXTRA_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Every external tool the harness may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    /// Serves the artifacts and manifests.
    Nginx,
    /// Serves the images (CNCF distribution).
    DockerRegistry,
    /// Pushes the images and is a peer for pulling them.
    Skopeo,
    /// A peer for artifacts.
    Aria2c,
    /// A peer for artifacts.
    Curl,
    /// Checks sha256 digests.
    Sha256sum,
    /// Checks sha512 digests.
    Sha512sum,
}

impl Tool {
    /// The executable's name.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Nginx => "nginx",
            Tool::DockerRegistry => "docker-registry",
            Tool::Skopeo => "skopeo",
            Tool::Aria2c => "aria2c",
            Tool::Curl => "curl",
            Tool::Sha256sum => "sha256sum",
            Tool::Sha512sum => "sha512sum",
        }
    }
}

/// Where each tool is, when it is installed.
#[derive(Debug, Clone)]
pub struct Tools {
    found: Vec<(Tool, Option<PathBuf>)>,
}

impl Tools {
    /// Looks for every tool on `PATH` and in the usual system directories.
    pub fn find() -> Self {
        let all = [
            Tool::Nginx,
            Tool::DockerRegistry,
            Tool::Skopeo,
            Tool::Aria2c,
            Tool::Curl,
            Tool::Sha256sum,
            Tool::Sha512sum,
        ];
        Tools { found: all.into_iter().map(|t| (t, which(t.name()))).collect() }
    }

    /// The path of `tool`, when installed.
    pub fn path(&self, tool: Tool) -> Option<&Path> {
        self.found.iter().find(|(t, _)| *t == tool).and_then(|(_, p)| p.as_deref())
    }

    /// The first of `needed` that is not installed; an error instead when tools are required.
    pub fn missing(&self, needed: &[Tool]) -> anyhow::Result<Option<Tool>> {
        let Some(&absent) = needed.iter().find(|t| self.path(**t).is_none()) else { return Ok(None) };
        if std::env::var_os(REQUIRE_TOOLS_VAR).is_some() {
            bail!(
                "{} is not installed and {REQUIRE_TOOLS_VAR} is set (apt-get install nginx docker-registry \
                 skopeo aria2 curl coreutils)",
                absent.name()
            );
        }
        Ok(Some(absent))
    }

    /// `tool`'s path, or an error naming it (for tools checked with [`Tools::missing`] first).
    pub fn require(&self, tool: Tool) -> anyhow::Result<&Path> {
        self.path(tool).ok_or_else(|| anyhow::anyhow!("{} is not installed", tool.name()))
    }
}

/// The executable `name` on `PATH` or in [`EXTRA_DIRS`].
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_is_found_and_a_made_up_tool_is_not() {
        assert!(which("sh").is_some());
        assert!(which("surely-not-a-real-tool-7f3a").is_none());
    }
}
