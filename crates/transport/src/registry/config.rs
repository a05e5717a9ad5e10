//! What the registry client is told by its caller: a pull-through mirror, the
//! registries allowed over plain http, where Docker credentials live, and
//! the retry schedules. The default finds the user's Docker config.

use std::path::PathBuf;

use crate::{RetryPolicy, redact};

/// Settings of a [`RegistryClient`](crate::RegistryClient).
#[derive(Clone)]
pub struct RegistryConfig {
    /// A mirror base URL serving `<registry>/<repository>` as `<mirror>/v2/<registry>/<repository>/...`.
    pub mirror: Option<String>,
    /// Registries (`host` or `host:port`) allowed over plain http; `*` allows any. Loopback always is.
    pub insecure_hosts: Vec<String>,
    /// A Docker `config.json` to read credentials from (`None`: anonymous).
    pub docker_config: Option<PathBuf>,
    /// Retry schedule of manifests and tokens.
    pub manifest_policy: RetryPolicy,
    /// Retry schedule of blobs.
    pub blob_policy: RetryPolicy,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            mirror: None,
            insecure_hosts: Vec::new(),
            docker_config: default_docker_config(),
            manifest_policy: RetryPolicy::manifest(),
            blob_policy: RetryPolicy::download(),
        }
    }
}

impl std::fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("mirror", &self.mirror.as_deref().map(redact))
            .field("insecure_hosts", &self.insecure_hosts)
            .field("docker_config", &self.docker_config)
            .field("manifest_policy", &self.manifest_policy)
            .field("blob_policy", &self.blob_policy)
            .finish()
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, when the file exists.
pub(crate) fn default_docker_config() -> Option<PathBuf> {
    let dir = match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs::home_dir()?.join(".docker"),
    };
    Some(dir.join("config.json")).filter(|path| path.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_mirror_credentials() {
        let config = RegistryConfig {
            mirror: Some("https://user:hunter2@mirror.lan/".into()),
            docker_config: None,
            ..RegistryConfig::default()
        };
        let debug = format!("{config:?}");
        assert!(debug.contains("mirror.lan") && !debug.contains("hunter2"), "{debug}");
    }
}
