//! What zot v2.1.17 needs of a store it serves as it is, as a check tests run
//! on every layout they produce (public, so other crates' tests can too).
//!
//! Written by us from zot's source at v2.1.17 (facts, not code):
//! - **Discovery** (`pkg/storage/imagestore`, `GetRepositories`): zot walks
//!   the root, skipping directories whose path ends in `.sync`, `.uploads` or
//!   `blobs`; a directory is a repository when its path relative to the root
//!   matches the distribution name grammar (`pkg/regexp`, `FullNameRegexp`:
//!   components of lower-case letters and digits joined by `.`, `_`, `__` or
//!   dashes, separated by `/`) and it holds `oci-layout`, `index.json` and
//!   `blobs/`. A layout whose name fails the grammar is silently invisible.
//! - **Reads** (`pkg/storage/common`): `index.json` is an OCI index; a tag is
//!   the `org.opencontainers.image.ref.name` annotation of a top-level
//!   descriptor (tags follow `^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`), and a
//!   pull by digest finds only top-level descriptors, never entries nested in
//!   an index blob.
//! - **GC** (`pkg/storage/gc`): the reference walk reads each top-level
//!   descriptor once: an index adds itself and the manifests it lists (not
//!   their blobs), a manifest adds itself, its config, layers and subject.
//!   Every other blob is deleted. Before that every name under
//!   `blobs/<algo>/` (for the algorithms go-digest knows) becomes a digest and
//!   the first invalid one aborts GC for the whole repository.
//! - **Permissions**: zot may run as another user: every file must be
//!   readable, and every directory searchable, by others.
//!
//! Never changes anything; reads file modes, directory listings and small
//! JSON documents only.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Which of zot's rules a [`Violation`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// A layout directory whose name fails zot's repository name grammar (invisible to zot).
    RepositoryName,
    /// A repository directory without `oci-layout`, `index.json` or `blobs/`.
    RepositoryShape,
    /// An `index.json` that is not an OCI index of valid descriptors.
    IndexJson,
    /// An invalid or duplicate `org.opencontainers.image.ref.name` tag.
    Tag,
    /// A top-level descriptor whose blob is missing or of another size.
    MissingBlob,
    /// A manifest listed by a local index with no top-level descriptor: a pull by its digest fails.
    DigestPull,
    /// A blob we need that zot's GC reference walk does not reach (it would be deleted), or a manifest it cannot read.
    GcReference,
    /// A name under `blobs/<algo>/` that is not a valid digest: zot's GC aborts for the repository.
    BlobName,
    /// A file not readable, or a directory not searchable, by others.
    Readable,
}

/// One way a store breaks a zot rule: where, which rule, and what was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The rule broken.
    pub rule: Rule,
    /// The file or directory at fault.
    pub path: PathBuf,
    /// What was found.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}: {}", self.rule, self.path.display(), self.detail)
    }
}

/// The digest algorithms go-digest makes available, with their hex lengths.
const ALGORITHMS: [(&str, usize); 3] = [("sha256", 64), ("sha384", 96), ("sha512", 128)];
/// Index media types zot's GC reads as indexes.
const INDEX_TYPES: [&str; 2] =
    ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
/// Manifest media types zot's GC reads as image manifests.
const MANIFEST_TYPES: [&str; 2] =
    ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

/// Checks the store at `root` against zot v2.1.17's read and GC rules; empty when zot serves it as it is.
pub fn check_zot_store(root: &Path) -> Vec<Violation> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Whether `name` matches zot's `FullNameRegexp` (the distribution repository name grammar).
pub fn is_zot_repository_name(name: &str) -> bool {
    !name.is_empty() && name.split('/').all(is_name_component)
}

/// `[a-z0-9]+((\.|_|__|-*)[a-z0-9]+)*`
fn is_name_component(part: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !part.starts_with(alnum) || !part.ends_with(alnum) {
        return false;
    }
    part.split(alnum)
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-'))
}

/// zot's `TagRegexp`.
fn is_tag(tag: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    tag.len() <= 128 && tag.starts_with(ok) && tag.chars().all(|c| ok(c) || c == '.' || c == '-')
}

/// Whether `digest` is `<algo>:<lower-case hex of the algorithm's length>`, as go-digest validates.
fn is_digest(digest: &str) -> bool {
    digest.split_once(':').is_some_and(|(algo, hex)| is_hex_for(algo, hex))
}

/// Whether `hex` is a valid encoded digest for `algo`.
fn is_hex_for(algo: &str, hex: &str) -> bool {
    ALGORITHMS.iter().any(|(name, len)| {
        *name == algo
            && hex.len() == *len
            && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Records a violation.
fn violation(out: &mut Vec<Violation>, rule: Rule, path: &Path, detail: impl Into<String>) {
    out.push(Violation { rule, path: path.to_owned(), detail: detail.into() });
}

/// Checks modes under `dir` and every repository zot's walk would find there.
fn walk(root: &Path, dir: &Path, out: &mut Vec<Violation>) {
    check_mode(dir, true, out);
    let Ok(entries) = std::fs::read_dir(dir) else {
        violation(out, Rule::Readable, dir, "cannot be listed");
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let names: HashSet<_> = entries.iter().map(|e| e.file_name()).collect();
    if dir != root
        && (names.contains(std::ffi::OsStr::new("index.json"))
            || names.contains(std::ffi::OsStr::new("oci-layout")))
    {
        check_repository(root, dir, out);
    }
    for entry in entries {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => walk(root, &path, out),
            Ok(kind) if kind.is_file() => check_mode(&path, false, out),
            _ => {}
        }
    }
}

/// A file must be readable by others; a directory readable and searchable.
fn check_mode(path: &Path, is_dir: bool, out: &mut Vec<Violation>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::symlink_metadata(path) else { return };
        let mode = meta.permissions().mode() & 0o777;
        let need = if is_dir { 0o005 } else { 0o004 };
        if mode & need != need {
            violation(out, Rule::Readable, path, format!("mode {mode:04o} is not readable by others"));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, is_dir, out);
}

/// One layout directory: its name, shape, index, tags, blobs and GC references.
fn check_repository(root: &Path, dir: &Path, out: &mut Vec<Violation>) {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let name: Vec<_> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let name = name.join("/");
    if !is_zot_repository_name(&name) {
        violation(
            out,
            Rule::RepositoryName,
            dir,
            format!("{name:?} is not a valid repository name: zot never lists it"),
        );
        return;
    }
    for needed in ["oci-layout", "index.json", "blobs"] {
        if !dir.join(needed).exists() {
            violation(out, Rule::RepositoryShape, dir, format!("no {needed}: zot does not see a repository"));
        }
    }
    check_blob_names(dir, out);
    let index_path = dir.join("index.json");
    let Some(index) = read_json(&index_path, Rule::IndexJson, out) else { return };
    let Some(top) = top_level(&index_path, &index, out) else { return };
    check_tags(&index_path, &top, out);
    let blob = |digest: &str| {
        let (algo, hex) = digest.split_once(':').unwrap_or(("", ""));
        dir.join("blobs").join(algo).join(hex)
    };
    let top_digests: HashSet<&str> = top.iter().map(|d| d.digest.as_str()).collect();
    let mut zot_refs = HashSet::new();
    let mut needed = BTreeSet::new();
    for desc in &top {
        let path = blob(&desc.digest);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() && meta.len() == desc.size => {}
            _ => {
                violation(
                    out,
                    Rule::MissingBlob,
                    &index_path,
                    format!("names {} of {} bytes, not in blobs/", desc.digest, desc.size),
                );
                continue;
            }
        }
        // zot's one-level GC walk.
        let is_index = INDEX_TYPES.contains(&desc.media_type.as_str());
        if is_index || MANIFEST_TYPES.contains(&desc.media_type.as_str()) {
            let Some(doc) = read_json(&path, Rule::GcReference, out) else { continue };
            zot_refs.insert(desc.digest.clone());
            let children = if is_index { &["manifests"][..] } else { &["config", "layers", "subject"][..] };
            for digest in child_digests(&doc, children) {
                if is_index && blob(&digest).is_file() && !top_digests.contains(digest.as_str()) {
                    violation(
                        out,
                        Rule::DigestPull,
                        &path,
                        format!("lists {digest}, which has no descriptor in index.json"),
                    );
                }
                zot_refs.insert(digest);
            }
        }
        collect_needed(&desc.digest, &desc.media_type, &blob, &mut needed);
    }
    for digest in needed {
        if !zot_refs.contains(&digest) {
            violation(
                out,
                Rule::GcReference,
                &blob(&digest),
                "needed, but zot's GC reference walk does not reach it",
            );
        }
    }
}

/// A top-level descriptor of `index.json`.
struct Top {
    media_type: String,
    digest: String,
    size: u64,
    tag: Option<String>,
}

/// The descriptors of an OCI index document, or a violation of its shape.
fn top_level(path: &Path, index: &Value, out: &mut Vec<Violation>) -> Option<Vec<Top>> {
    if index.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        violation(out, Rule::IndexJson, path, "schemaVersion is not 2");
    }
    if let Some(media_type) = index.get("mediaType")
        && media_type.as_str() != Some(INDEX_TYPES[0])
    {
        violation(out, Rule::IndexJson, path, format!("mediaType {media_type} is not the OCI index type"));
    }
    let Some(manifests) = index.get("manifests").and_then(Value::as_array) else {
        violation(out, Rule::IndexJson, path, "no manifests array");
        return None;
    };
    let mut top = Vec::new();
    for (i, d) in manifests.iter().enumerate() {
        let media_type = d.get("mediaType").and_then(Value::as_str);
        let digest = d.get("digest").and_then(Value::as_str).filter(|d| is_digest(d));
        let size = d.get("size").and_then(Value::as_u64);
        let (Some(media_type), Some(digest), Some(size)) = (media_type, digest, size) else {
            violation(
                out,
                Rule::IndexJson,
                path,
                format!("manifests[{i}] lacks a mediaType, valid digest or size"),
            );
            continue;
        };
        let tag = d
            .pointer("/annotations/org.opencontainers.image.ref.name")
            .map(|t| t.as_str().unwrap_or("").to_owned());
        top.push(Top { media_type: media_type.to_owned(), digest: digest.to_owned(), size, tag });
    }
    Some(top)
}

/// Tags must follow the tag grammar and name one descriptor each.
fn check_tags(path: &Path, top: &[Top], out: &mut Vec<Violation>) {
    let mut seen = HashSet::new();
    for tag in top.iter().filter_map(|d| d.tag.as_deref()) {
        if !is_tag(tag) {
            violation(out, Rule::Tag, path, format!("tag {tag:?} is not a valid tag"));
        }
        if !seen.insert(tag) {
            violation(out, Rule::Tag, path, format!("tag {tag:?} names more than one descriptor"));
        }
    }
}

/// Every name under `blobs/<algo>/` for the algorithms zot knows must be a valid digest of a regular file.
fn check_blob_names(dir: &Path, out: &mut Vec<Violation>) {
    for (algo, _) in ALGORITHMS {
        let Ok(entries) = std::fs::read_dir(dir.join("blobs").join(algo)) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_hex_for(algo, &name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
                violation(
                    out,
                    Rule::BlobName,
                    &entry.path(),
                    format!("{algo}:{name} is not a valid digest: zot's GC gives up on the repository"),
                );
            }
        }
    }
}

/// Reads a JSON document, recording `rule` when it is missing or not JSON.
fn read_json(path: &Path, rule: Rule, out: &mut Vec<Violation>) -> Option<Value> {
    let parsed = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
    match parsed {
        Ok(value) => Some(value),
        Err(err) => {
            violation(out, rule, path, format!("unreadable JSON: {err}"));
            None
        }
    }
}

/// The digests of the descriptors under `fields` (a descriptor or an array of them).
fn child_digests(doc: &Value, fields: &[&str]) -> Vec<String> {
    let mut digests = Vec::new();
    for field in fields {
        let descriptors = match doc.get(*field) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => Vec::new(),
        };
        digests.extend(descriptors.iter().filter_map(|d| d.get("digest")?.as_str()).map(str::to_owned));
    }
    digests
}

/// Every blob present in the layout that `digest` needs, recursively (what a pull of it reads).
fn collect_needed(
    digest: &str,
    media_type: &str,
    blob: &impl Fn(&str) -> PathBuf,
    needed: &mut BTreeSet<String>,
) {
    let path = blob(digest);
    if !path.is_file() || !needed.insert(digest.to_owned()) {
        return;
    }
    let is_index = INDEX_TYPES.contains(&media_type);
    if !is_index && !MANIFEST_TYPES.contains(&media_type) {
        return;
    }
    let Some(doc) = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else {
        return;
    };
    if is_index {
        for child in doc.get("manifests").and_then(Value::as_array).into_iter().flatten() {
            let (Some(d), Some(t)) =
                (child.get("digest").and_then(Value::as_str), child.get("mediaType").and_then(Value::as_str))
            else {
                continue;
            };
            collect_needed(d, t, blob, needed);
        }
    } else {
        for d in child_digests(&doc, &["config", "layers"]) {
            let p = blob(&d);
            if p.is_file() {
                needed.insert(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_grammar_is_zots() {
        for ok in
            ["a", "docker.io/library/caddy", "localhost_5000/team/app", "a__b", "a---b", "ghcr.io/x/y-z"]
        {
            assert!(is_zot_repository_name(ok), "{ok}");
        }
        for bad in [
            "",
            "localhost:5000/app",
            "A/b",
            "a/",
            "/a",
            "a//b",
            ".deps-staging",
            "a/.x",
            "a..b",
            "a___b",
            "a._b",
            "-a",
            "a-",
        ] {
            assert!(!is_zot_repository_name(bad), "{bad}");
        }
    }

    #[test]
    fn tags_and_digests() {
        assert!(
            is_tag("v1.2_3-x") && is_tag("_a") && !is_tag(".a") && !is_tag("") && !is_tag(&"a".repeat(129))
        );
        let hex = "a".repeat(64);
        assert!(is_digest(&format!("sha256:{hex}")));
        assert!(!is_digest(&format!("sha256:{}", hex.to_uppercase())) && !is_digest(&format!("md5:{hex}")));
    }
}
