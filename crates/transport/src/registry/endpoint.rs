//! Where a repository of a registry is fetched from: the base URL, the name
//! the endpoint knows it by, and whose credentials apply.
//!
//! Without a mirror, `docker.io` is served by `registry-1.docker.io`, and the
//! scheme is https unless the host is loopback or listed as insecure. With a
//! mirror, every registry lives under the mirror's base with its host as the
//! first path component (`<mirror>/v2/docker.io/library/caddy/...`; a port
//! as `host_port`, the image store's encoding), and the
//! mirror's own credentials apply: upstream credentials never go to a mirror.
//! Names and references are checked before they become URL paths.

use deps_manifest::Digest;

use crate::{Error, RegistryConfig, is_loopback_host, redact};

/// The host Docker Hub's registry API is served from.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// Registries that throttle parallel pulls hard, with the most requests in flight we allow.
const HOST_LIMITS: [(&str, usize); 1] = [("public.ecr.aws", 1)];

/// One repository as a registry endpoint serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `scheme://host[:port][/prefix]`, no trailing slash.
    pub(crate) base: String,
    /// The repository name on this endpoint (`docker.io/library/caddy` on a mirror).
    pub(crate) name: String,
    /// The registry as references name it.
    pub(crate) registry: String,
    /// The repository as references name it.
    pub(crate) repository: String,
    /// The host whose Docker credentials apply (`docker.io`, or the mirror's `host:port`).
    pub(crate) credential_host: String,
    /// Whether a mirror serves it.
    pub(crate) mirrored: bool,
}

impl Endpoint {
    /// Resolves `registry`/`repository` under `config`.
    pub(crate) fn new(config: &RegistryConfig, registry: &str, repository: &str) -> Result<Self, Error> {
        check_registry(registry)?;
        check_repository(registry, repository)?;
        let registry = registry.to_ascii_lowercase();
        match &config.mirror {
            Some(mirror) => {
                let base = mirror.trim_end_matches('/').to_owned();
                let credential_host = check_mirror(&base, &config.insecure_hosts)?;
                // A registry's port is written `host_port`, as in the image store, so a
                // zot mirror (whose names cannot hold ':') can serve it.
                Ok(Self {
                    base,
                    name: format!("{}/{repository}", registry.replace(':', "_")),
                    registry,
                    repository: repository.to_owned(),
                    credential_host,
                    mirrored: true,
                })
            }
            None => {
                let api_host = match registry.as_str() {
                    "docker.io" | "index.docker.io" => DOCKER_HUB_API,
                    other => other,
                };
                let scheme = if allows_http(&registry, &config.insecure_hosts) { "http" } else { "https" };
                Ok(Self {
                    base: format!("{scheme}://{api_host}"),
                    name: repository.to_owned(),
                    credential_host: if api_host == DOCKER_HUB_API {
                        "docker.io".to_owned()
                    } else {
                        registry.clone()
                    },
                    registry,
                    repository: repository.to_owned(),
                    mirrored: false,
                })
            }
        }
    }

    /// `<base>/v2/<name>/manifests/<reference>`.
    pub(crate) fn manifest_url(&self, reference: &str) -> String {
        format!("{}/v2/{}/manifests/{reference}", self.base, self.name)
    }

    /// `<base>/v2/<name>/blobs/<digest>`.
    pub(crate) fn blob_url(&self, digest: &Digest) -> String {
        format!("{}/v2/{}/blobs/{digest}", self.base, self.name)
    }

    /// The registry for messages: `docker.io`, or `docker.io via http://mirror`.
    pub(crate) fn display_registry(&self) -> String {
        if self.mirrored {
            format!("{} via {}", self.registry, redact(&self.base))
        } else {
            self.registry.clone()
        }
    }
}

/// The per-host concurrency limit of `registry` (`None`: unlimited).
pub(crate) fn host_limit(registry: &str) -> Option<usize> {
    HOST_LIMITS.iter().find(|(host, _)| host.eq_ignore_ascii_case(registry)).map(|(_, limit)| *limit)
}

/// A tag, or a digest in canonical form; anything else cannot go into a URL path.
pub(crate) fn check_reference(reference: &str) -> Result<Option<Digest>, Error> {
    let invalid =
        |reason: &str| Error::InvalidReference { reference: reference.to_owned(), reason: reason.to_owned() };
    if reference.contains(':') {
        let digest: Digest = reference.parse().map_err(|e: deps_manifest::Error| invalid(&e.to_string()))?;
        return Ok(Some(digest));
    }
    let mut chars = reference.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !first_ok || !rest_ok || reference.len() > 128 {
        return Err(invalid("a tag is 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"));
    }
    Ok(None)
}

/// Whether plain http may be used for `host` (`host` or `host:port`).
fn allows_http(host: &str, insecure_hosts: &[String]) -> bool {
    let bare = strip_port(host);
    is_loopback_host(bare)
        || insecure_hosts
            .iter()
            .any(|h| h == "*" || h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(bare))
}

/// `host` without a trailing `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') =>
        {
            name
        }
        _ => host,
    }
}

/// Checks the mirror URL's scheme; returns its `host[:port]`.
fn check_mirror(base: &str, insecure_hosts: &[String]) -> Result<String, Error> {
    let url =
        url::Url::parse(base).map_err(|e| Error::InvalidUrl { url: redact(base), reason: e.to_string() })?;
    let host = url.host_str().unwrap_or_default();
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    match url.scheme() {
        "https" => Ok(authority),
        "http" if allows_http(&authority, insecure_hosts) => Ok(authority),
        "http" => Err(Error::InsecureUrl { url: redact(base) }),
        other => {
            Err(Error::InvalidUrl { url: redact(base), reason: format!("unsupported scheme {other:?}") })
        }
    }
}

/// A registry host as references write it: `name[:port]`, nothing that could leave the authority.
fn check_registry(registry: &str) -> Result<(), Error> {
    let ok =
        !registry.is_empty() && registry.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidReference {
            reference: registry.to_owned(),
            reason: "not a registry host".to_owned(),
        })
    }
}

/// A repository path: lower-case components of letters, digits and separators, no `.`/`..`.
fn check_repository(registry: &str, repository: &str) -> Result<(), Error> {
    let component_ok = |c: &str| {
        !c.is_empty()
            && c != "."
            && c != ".."
            && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    };
    if repository.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(Error::InvalidReference {
            reference: format!("{registry}/{repository}"),
            reason: "a repository is '/'-separated lower-case names".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(mirror: Option<&str>, insecure: &[&str]) -> RegistryConfig {
        RegistryConfig {
            mirror: mirror.map(str::to_owned),
            insecure_hosts: insecure.iter().map(|s| (*s).to_owned()).collect(),
            docker_config: None,
            ..RegistryConfig::default()
        }
    }

    #[test]
    fn docker_hub_is_served_by_registry_1_over_https() {
        let ep = Endpoint::new(&config(None, &[]), "docker.io", "library/caddy").unwrap();
        assert_eq!(ep.base, "https://registry-1.docker.io");
        assert_eq!(ep.name, "library/caddy");
        assert_eq!(ep.credential_host, "docker.io");
        assert_eq!(ep.manifest_url("2"), "https://registry-1.docker.io/v2/library/caddy/manifests/2");
    }

    #[test]
    fn other_registries_keep_their_host_and_loopback_uses_http() {
        let ep = Endpoint::new(&config(None, &[]), "quay.io", "cilium/cilium").unwrap();
        assert_eq!(ep.base, "https://quay.io");
        assert_eq!(ep.credential_host, "quay.io");
        let ep = Endpoint::new(&config(None, &[]), "127.0.0.1:5000", "a/b").unwrap();
        assert_eq!(ep.base, "http://127.0.0.1:5000");
        let ep = Endpoint::new(&config(None, &[]), "localhost:5000", "a").unwrap();
        assert_eq!(ep.base, "http://localhost:5000");
    }

    #[test]
    fn insecure_hosts_match_with_or_without_port() {
        for listed in ["reg.lan:5000", "reg.lan", "*"] {
            let ep = Endpoint::new(&config(None, &[listed]), "reg.lan:5000", "a").unwrap();
            assert_eq!(ep.base, "http://reg.lan:5000", "{listed}");
        }
        let ep = Endpoint::new(&config(None, &["other.lan"]), "reg.lan:5000", "a").unwrap();
        assert_eq!(ep.base, "https://reg.lan:5000");
    }

    #[test]
    fn a_mirror_serves_a_registry_with_a_port_under_a_name_zot_accepts() {
        let ep =
            Endpoint::new(&config(Some("http://127.0.0.1:9"), &[]), "localhost:5000", "team/app").unwrap();
        assert_eq!(ep.manifest_url("1"), "http://127.0.0.1:9/v2/localhost_5000/team/app/manifests/1");
    }

    #[test]
    fn a_mirror_serves_every_registry_under_its_host_name() {
        let ep =
            Endpoint::new(&config(Some("http://127.0.0.1:9/"), &[]), "docker.io", "library/caddy").unwrap();
        assert_eq!(ep.manifest_url("2"), "http://127.0.0.1:9/v2/docker.io/library/caddy/manifests/2");
        assert_eq!(ep.credential_host, "127.0.0.1:9");
        let digest: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        let ep =
            Endpoint::new(&config(Some("https://m.lan/prefix"), &[]), "quay.io", "cilium/cilium").unwrap();
        assert_eq!(
            ep.blob_url(&digest),
            format!("https://m.lan/prefix/v2/quay.io/cilium/cilium/blobs/{digest}")
        );
        assert_eq!(ep.credential_host, "m.lan");
        assert_eq!(ep.display_registry(), "quay.io via https://m.lan/prefix");
    }

    #[test]
    fn a_plain_http_mirror_elsewhere_must_be_listed() {
        let err = Endpoint::new(&config(Some("http://m.lan:8080"), &[]), "quay.io", "a").unwrap_err();
        assert!(matches!(err, Error::InsecureUrl { .. }), "{err}");
        assert!(Endpoint::new(&config(Some("http://m.lan:8080"), &["m.lan:8080"]), "quay.io", "a").is_ok());
        assert!(Endpoint::new(&config(Some("ftp://m.lan"), &["*"]), "quay.io", "a").is_err());
    }

    #[test]
    fn names_that_could_escape_the_path_are_refused() {
        let c = config(None, &[]);
        for (registry, repository) in [
            ("quay.io", "../x"),
            ("quay.io", "a//b"),
            ("quay.io", "A/b"),
            ("quay.io/x", "a"),
            ("a@b", "c"),
            ("", "a"),
        ] {
            assert!(Endpoint::new(&c, registry, repository).is_err(), "{registry} {repository}");
        }
    }

    #[test]
    fn references_are_tags_or_digests() {
        assert_eq!(check_reference("v1.16.3").unwrap(), None);
        assert_eq!(check_reference("latest_2").unwrap(), None);
        let hex = "a".repeat(64);
        assert_eq!(check_reference(&format!("sha256:{hex}")).unwrap().unwrap().hex(), hex);
        for bad in ["", ".x", "-x", "a/b", "a?b", "sha256:abc", "md5:00", &"t".repeat(129)] {
            assert!(check_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_public_ecr_is_limited() {
        assert_eq!(host_limit("public.ecr.aws"), Some(1));
        assert_eq!(host_limit("docker.io"), None);
        assert_eq!(host_limit("quay.io"), None);
    }
}
