//! Request paths: percent-decoded and split into plain components. A path
//! with a `.` or `..` component, a backslash or a NUL (however encoded) is
//! refused, so nothing outside the mirror root can ever be named.

use std::path::{Path, PathBuf};

/// A checked request path: `/`-joined plain components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReqPath {
    parts: Vec<String>,
}

impl ReqPath {
    /// Decodes and checks the path of a request URI; `None` when refused.
    pub(super) fn parse(raw: &str) -> Option<ReqPath> {
        let decoded = String::from_utf8(percent_decode(raw.strip_prefix('/')?)?).ok()?;
        let mut parts = Vec::new();
        for part in decoded.split('/') {
            if part == "." || part == ".." || part.contains(['\\', '\0']) {
                return None;
            }
            if !part.is_empty() {
                parts.push(part.to_owned());
            }
        }
        Some(ReqPath { parts })
    }

    /// The plain components, in order.
    pub(super) fn parts(&self) -> &[String] {
        &self.parts
    }

    /// The normalised path, starting with `/` (the key for faults and the log).
    pub(super) fn as_url_path(&self) -> String {
        format!("/{}", self.parts.join("/"))
    }

    /// The file this path names under `root`.
    pub(super) fn under(&self, root: &Path) -> PathBuf {
        self.parts.iter().fold(root.to_path_buf(), |p, part| p.join(part))
    }

    /// Whether this is a JSON manifest (`/manifests/*.json`), served rewritten.
    pub(super) fn is_manifest(&self) -> bool {
        self.parts.first().is_some_and(|p| p == "manifests")
            && self.parts.last().is_some_and(|p| p.ends_with(".json"))
    }
}

/// Decodes `%XX` escapes; `None` on a malformed escape.
pub(super) fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// `path` with a leading `/`, the form faults and the log are keyed by.
pub(super) fn normalise(path: &str) -> String {
    if path.starts_with('/') { path.to_owned() } else { format!("/{path}") }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn plain_and_encoded_paths() {
        let p = ReqPath::parse("/vmconfig/artifacts/libpq5/17.9-0%2Bdeb13u1/x.deb").unwrap();
        assert_eq!(p.as_url_path(), "/vmconfig/artifacts/libpq5/17.9-0+deb13u1/x.deb");
        assert_eq!(p.under(Path::new("/r")), Path::new("/r/vmconfig/artifacts/libpq5/17.9-0+deb13u1/x.deb"));
        assert!(ReqPath::parse("/manifests/seeds.json").unwrap().is_manifest());
        assert!(!ReqPath::parse("/seeds/x.json").unwrap().is_manifest());
        assert_eq!(ReqPath::parse("//a//b/").unwrap().as_url_path(), "/a/b");
    }

    #[test]
    fn traversal_is_refused_however_spelled() {
        for bad in [
            "/../etc/passwd",
            "/a/../../b",
            "/a/%2e%2e/b",
            "/a%2f..%2fb",
            "/a/./b",
            "/a\\..\\b",
            "/a%00",
            "/%zz",
            "x",
        ] {
            assert_eq!(ReqPath::parse(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn accepted_paths_stay_under_the_root(raw in "/[a-z./%0-9A-F\\\\]{0,24}") {
            if let Some(p) = ReqPath::parse(&raw) {
                let root = Path::new("/root");
                let file = p.under(root);
                prop_assert!(file.starts_with(root));
                prop_assert!(file.components().all(|c| matches!(c, std::path::Component::RootDir | std::path::Component::Normal(_))));
            }
        }
    }
}
