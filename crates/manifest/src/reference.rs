//! Image references (`[registry/]repository[:tag][@digest]`) and their zot repository names.
//!
//! Parsing follows the OCI distribution reference grammar: the first path part
//! is a registry only when another part follows and it contains `.` or `:` or
//! is `localhost`; repository parts are lower-case `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`;
//! tags are `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. A parsed reference keeps the
//! name as written (so it displays back unchanged) and derives:
//!
//! - [`ImageRef::registry`]: `docker.io` when none is written; `index.docker.io` becomes `docker.io`.
//! - [`ImageRef::repository`]: the path on that registry (`library/<name>` for
//!   single-part Docker Hub names), as the distribution API wants it.
//! - [`ImageRef::zot_repository`]: the cache directory name (BEHAVIOR §6).
//!   Always a safe relative path, and a valid zot repository name: a port's
//!   `:` becomes `_` (`localhost:5000/team/app` is `localhost_5000/team/app`).

use std::fmt;
use std::str::FromStr;

use crate::{Digest, Error, pathsafe};

/// The registry of references that name none.
const DOCKER_HUB: &str = "docker.io";
/// Longest accepted name (registry and repository), as in the reference grammar.
const MAX_NAME_LEN: usize = 255;
/// Longest accepted tag.
const MAX_TAG_LEN: usize = 128;

/// A parsed, validated image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    name: String,
    registry: String,
    repository: String,
    zot_repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageRef {
    /// Parses and validates a reference such as `quay.io/cilium/cilium:v1.16.3@sha256:<hex>`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::ImageRef { reference: s.to_owned(), reason: reason.to_owned() };
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => {
                let digest = digest.parse::<Digest>().map_err(|err| bad(&err.to_string()))?;
                (rest, Some(digest))
            }
            None => (s, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(colon) if !rest[colon..].contains('/') => (&rest[..colon], Some(&rest[colon + 1..])),
            _ => (rest, None),
        };
        if let Some(tag) = tag {
            check_tag(tag).map_err(bad)?;
        }
        if name.is_empty() {
            return Err(bad("has no repository name"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(bad("name is longer than 255 characters"));
        }
        let (written_registry, path) = match name.split_once('/') {
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => (Some(first), path),
            _ => (None, name),
        };
        if let Some(host) = written_registry {
            check_host(host).map_err(bad)?;
        }
        check_path(path).map_err(bad)?;

        let registry = match written_registry {
            None | Some("index.docker.io") => DOCKER_HUB,
            Some(host) => host,
        };
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        let zot_repository = match written_registry {
            Some(_) => format!("{}/{path}", zot_host(registry)),
            None => format!("{DOCKER_HUB}/{repository}"),
        };
        pathsafe::relative_path("image repository", &zot_repository)?;
        Ok(Self {
            name: name.to_owned(),
            registry: registry.to_owned(),
            repository,
            zot_repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// The name as written, without tag and digest (e.g. `caddy`, `quay.io/cilium/cilium`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registry host and optional port; `docker.io` when the reference names none.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path on the registry (`library/caddy` for `caddy`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, when one is written.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest after `@`, when one is written.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The zot repository (cache directory) name, e.g. `docker.io/library/caddy`.
    ///
    /// A name whose first part is not a registry gets `docker.io/` (single names
    /// `docker.io/library/`); a written registry is kept, with `index.docker.io`
    /// shortened to `docker.io`, lower-cased, and a port joined with `_`
    /// instead of `:` (`localhost:5000/team/app` is `localhost_5000/team/app`).
    /// Always passes [`pathsafe::relative_path`] and zot's repository name
    /// grammar; see [`zot_host`] for why the encoding is collision-free.
    pub fn zot_repository(&self) -> String {
        self.zot_repository.clone()
    }

    /// `<registry>/<repository>@<digest>`: this repository pinned to `digest`.
    pub fn pinned_with(&self, digest: &Digest) -> String {
        format!("{}/{}@{digest}", self.registry, self.repository)
    }

    /// `<registry>/<repository>@<digest>` with the reference's own digest, when it has one.
    pub fn pinned(&self) -> Option<String> {
        self.digest.as_ref().map(|d| self.pinned_with(d))
    }
}

impl FromStr for ImageRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Checks `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), &'static str> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    match tag.as_bytes() {
        [] => Err("has an empty tag"),
        _ if tag.len() > MAX_TAG_LEN => Err("tag is longer than 128 characters"),
        [first, rest @ ..] if word(*first) && rest.iter().all(|&b| word(b) || b == b'.' || b == b'-') => {
            Ok(())
        }
        _ => Err("tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"),
    }
}

/// Checks `host[:port]`: dot-separated DNS labels, an optional numeric port.
fn check_host(host: &str) -> Result<(), &'static str> {
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("registry port must be 1 to 5 digits");
    }
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        matches!((bytes.first(), bytes.last()), (Some(a), Some(z)) if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric())
            && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err("registry must be a host name with an optional port")
    }
}

/// A registry host as the first part of a zot repository name: lower-case, `host_port` for `host:port`.
///
/// zot's (the distribution) repository name grammar has no `:` and no upper
/// case, so `host:port` cannot be a directory zot serves. `_` is a separator
/// that grammar allows, and one a registry host never contains (host labels are
/// letters, digits and inner `-`, [`check_host`]), so the encoding is
/// collision-free: `host_port` is never another host's name, the last (only)
/// `_` of the first part is where the port starts, and a first part without `_`
/// has no port. Lower-casing merges only spellings DNS treats as one host.
/// The pull reference and `--registry-mirror` routing use
/// [`ImageRef::registry`], which keeps the `:`.
fn zot_host(host: &str) -> String {
    host.to_ascii_lowercase().replace(':', "_")
}

/// Checks a `/`-separated repository path of lower-case OCI path components.
fn check_path(path: &str) -> Result<(), &'static str> {
    if path.split('/').all(path_component_ok) {
        Ok(())
    } else {
        Err("repository path parts must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*")
    }
}

/// Whether `part` matches `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn path_component_ok(part: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = part.as_bytes();
    let mut i = 0;
    loop {
        // An alphanumeric run...
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        // ...then one separator before the next run.
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        match &part[sep_start..i] {
            "." | "_" | "__" => {}
            sep if sep.bytes().all(|b| b == b'-') => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "62d2a09bbef840a46099ac4c69421c90f84f28d018d479749049011329aa7f28";

    fn parse(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn splits_registry_repository_tag_and_digest() {
        let r = parse(&format!("quay.io/cilium/cilium:v1.16.3@sha256:{HEX}"));
        assert_eq!(r.registry(), "quay.io");
        assert_eq!(r.repository(), "cilium/cilium");
        assert_eq!(r.tag(), Some("v1.16.3"));
        assert_eq!(r.digest().map(Digest::hex), Some(HEX));
        assert_eq!(r.zot_repository(), "quay.io/cilium/cilium");
        assert_eq!(r.pinned(), Some(format!("quay.io/cilium/cilium@sha256:{HEX}")));
    }

    #[test]
    fn zot_repository_follows_the_normalisation_rule() {
        let cases = [
            ("caddy", "docker.io/library/caddy"),
            ("caddy:2", "docker.io/library/caddy"),
            ("docker.io/library/caddy:2", "docker.io/library/caddy"),
            ("index.docker.io/library/caddy", "docker.io/library/caddy"),
            ("coredns/coredns:1.11.3", "docker.io/coredns/coredns"),
            ("docker.io/traefik:v3.4.3", "docker.io/traefik"),
            ("quay.io/cilium/cilium", "quay.io/cilium/cilium"),
            ("registry:5000/a/b:tag", "registry_5000/a/b"),
            ("localhost/foo", "localhost/foo"),
            ("localhost:5000/foo/bar", "localhost_5000/foo/bar"),
            ("localhost:5000/team/app:1", "localhost_5000/team/app"),
            ("Registry.Example:443/a", "registry.example_443/a"),
            ("localhost", "docker.io/library/localhost"),
            (
                "public.ecr.aws/csi-components/csi-attacher:v4.9.0-eksbuild.3",
                "public.ecr.aws/csi-components/csi-attacher",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).zot_repository(), want, "{input}");
        }
    }

    /// zot v2.1.17's `FullNameRegexp`: `/`-separated `[a-z0-9]+((\.|_|__|-*)[a-z0-9]+)*`.
    fn is_zot_name(name: &str) -> bool {
        let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        name.split('/').all(|part| {
            part.starts_with(alnum)
                && part.ends_with(alnum)
                && part
                    .split(alnum)
                    .filter(|sep| !sep.is_empty())
                    .all(|sep| matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-'))
        })
    }

    #[test]
    fn a_port_gives_a_zot_valid_name_that_no_other_reference_gives() {
        let with_port = parse("localhost:5000/team/app");
        assert_eq!(with_port.registry(), "localhost:5000", "pulls still go to the port");
        assert_eq!(
            with_port.pinned_with(&format!("sha256:{HEX}").parse().unwrap()),
            format!("localhost:5000/team/app@sha256:{HEX}")
        );
        assert!(is_zot_name(&with_port.zot_repository()));
        // The first part with `_` is no registry (hosts have no `_`): Docker Hub, a different directory.
        assert_eq!(parse("localhost_5000/team/app").zot_repository(), "docker.io/localhost_5000/team/app");
        assert_ne!(parse("localhost/team/app").zot_repository(), with_port.zot_repository());
        assert_ne!(parse("localhost:5001/team/app").zot_repository(), with_port.zot_repository());
    }

    #[test]
    fn docker_hub_names_get_registry_and_library() {
        let r = parse("caddy:2");
        assert_eq!((r.registry(), r.repository(), r.name()), ("docker.io", "library/caddy", "caddy"));
        let r = parse("docker.io/traefik:v3.4.3");
        assert_eq!((r.registry(), r.repository()), ("docker.io", "library/traefik"));
        let r = parse("index.docker.io/coredns/coredns");
        assert_eq!((r.registry(), r.repository()), ("docker.io", "coredns/coredns"));
        let digest: Digest = format!("sha256:{HEX}").parse().unwrap();
        assert_eq!(r.pinned_with(&digest), format!("docker.io/coredns/coredns@sha256:{HEX}"));
        assert_eq!(r.pinned(), None);
    }

    #[test]
    fn ports_and_tags_are_told_apart() {
        let r = parse("registry:5000/a/b");
        assert_eq!((r.registry(), r.repository(), r.tag()), ("registry:5000", "a/b", None));
        let r = parse("localhost:5000");
        assert_eq!((r.repository(), r.tag()), ("library/localhost", Some("5000")));
        let r = parse(&format!("registry:5000/a/b@sha256:{HEX}"));
        assert_eq!(r.tag(), None);
        assert!(r.digest().is_some());
    }

    #[test]
    fn rejects_bad_references() {
        let bad = [
            "",
            ":tag",
            "Caddy",
            "quay.io/Cilium/cilium",
            "a//b",
            "a/../b",
            "../x",
            "quay.io/",
            "quay.io/..",
            "a/b:",
            "a:-tag",
            "a:t/ag",
            "a@sha256:abc",
            "a@md5:00",
            "a..b",
            "a___b",
            "a-",
            "-a",
            "host:99999999/x",
            "host:/x",
            "bad_host.io/x",
            "-bad.io/x",
            ".io/x",
            "a b",
            "a\0b",
        ];
        for s in bad {
            let err = ImageRef::parse(s).expect_err(s);
            assert!(
                err.to_string().contains("image reference") || err.to_string().contains("unsafe"),
                "{err}"
            );
        }
        assert!(ImageRef::parse(&format!("a:{}", "t".repeat(129))).is_err());
        assert!(ImageRef::parse(&format!("a:{}", "t".repeat(128))).is_ok());
        assert!(ImageRef::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn path_component_grammar() {
        for ok in ["a", "a0", "a.b", "a_b", "a__b", "a-b", "a---b", "a.b-c_d__e"] {
            assert!(path_component_ok(ok), "{ok}");
        }
        for bad in ["", "A", "a.", ".a", "a..b", "a___b", "a.-b", "a_-b", "a:b"] {
            assert!(!path_component_ok(bad), "{bad}");
        }
    }

    fn reference() -> impl Strategy<Value = (Option<String>, Vec<String>, Option<String>, Option<String>)> {
        let host = prop_oneof![
            Just("localhost".to_owned()),
            Just("docker.io".to_owned()),
            Just("index.docker.io".to_owned()),
            "[a-z][a-z0-9-]{0,6}[a-z0-9]\\.[a-z]{2,3}",
            "[a-z]{1,8}(\\.[a-z]{1,4})?:[0-9]{1,5}",
            "localhost:[0-9]{1,5}",
        ];
        let part = "[a-z0-9]{1,4}((\\.|_|__|-{1,3})[a-z0-9]{1,4}){0,2}";
        let first_part = "[a-z0-9]{1,4}((_|__|-{1,3})[a-z0-9]{1,4}){0,2}";
        (
            proptest::option::of(host),
            first_part,
            proptest::collection::vec(part, 0..4),
            proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            proptest::option::of("[0-9a-f]{64}"),
        )
            .prop_map(|(host, first, rest, tag, hex)| {
                let mut path = vec![first];
                path.extend(rest);
                (host, path, tag, hex.map(|h| format!("sha256:{h}")))
            })
    }

    proptest! {
        #[test]
        fn generated_references_parse_and_round_trip((host, path, tag, digest) in reference()) {
            let mut s = host.clone().map(|h| format!("{h}/")).unwrap_or_default();
            s.push_str(&path.join("/"));
            if let Some(tag) = &tag { s.push(':'); s.push_str(tag); }
            if let Some(digest) = &digest { s.push('@'); s.push_str(digest); }

            let r = ImageRef::parse(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(r.to_string(), s.clone());
            prop_assert_eq!(ImageRef::parse(&r.to_string()).ok(), Some(r.clone()));
            prop_assert_eq!(r.tag(), tag.as_deref());
            prop_assert_eq!(r.digest().map(ToString::to_string), digest);
            let registry = match host.as_deref() { None | Some("index.docker.io") => "docker.io", Some(h) => h };
            prop_assert_eq!(r.registry(), registry);
            let zot = r.zot_repository();
            prop_assert!(pathsafe::relative_path("repo", &zot).is_ok());
            prop_assert!(is_zot_name(&zot), "{zot}");
            let zot_prefix = format!("{}/", registry.to_ascii_lowercase().replace(':', "_"));
            prop_assert!(zot.starts_with(&zot_prefix));
            let prefix = format!("{registry}/");
            prop_assert!(zot.ends_with(&path.join("/")));
            let pin: Digest = format!("sha256:{HEX}").parse().unwrap();
            prop_assert!(r.pinned_with(&pin).starts_with(&prefix));
        }

        #[test]
        fn odd_input_never_panics_and_stays_safe(s in "[a-zA-Z0-9./:@_ -]{0,40}|\\PC{0,30}") {
            if let Ok(r) = ImageRef::parse(&s) {
                prop_assert!(pathsafe::relative_path("repo", &r.zot_repository()).is_ok());
                prop_assert!(is_zot_name(&r.zot_repository()), "{}", r.zot_repository());
                prop_assert_eq!(ImageRef::parse(&r.to_string()).ok(), Some(r));
            }
        }
    }
}
