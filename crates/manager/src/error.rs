//! The manager's error type. `NotCached` and `Incomplete` are the sentinels
//! callers branch on ("not downloaded yet" versus "the cache is damaged");
//! every other variant names the item, manifest or path it concerns and keeps
//! the typed error of the crate it came from, so [`Error::hint`] can say what
//! to do from the kind of failure, never from its text.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::domain::Domain;

/// One thing wrong with the cache, found by `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The domain the file belongs to.
    pub domain: Domain,
    /// The item (e.g. `kubectl`, `seed/minimal`).
    pub item: String,
    /// The file concerned.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.item, self.reason, self.path.display())
    }
}

/// One item of a run that failed, with its cause.
#[derive(Debug)]
pub struct Failure {
    /// The item's event name (e.g. `kubectl`, `seed/minimal`, `<image> (<platform>)`).
    pub item: String,
    /// Why it failed.
    pub error: Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.item, self.error)
    }
}

/// Everything the manager can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)] // fields are named for what they hold; the variants say what failed
pub enum Error {
    /// No cached manifest exists: nothing has been downloaded yet.
    #[error("manifest not cached: {} (run `deps download`)", path.display())]
    NotCached { path: PathBuf },
    /// The cache is incomplete or corrupt; every problem found is listed.
    #[error("deps cache incomplete or corrupt: {}", summarize(problems))]
    Incomplete { problems: Vec<Problem> },
    /// Something the cache was asked for is not in it (another version, not marked cached).
    #[error("{item}: {reason}")]
    Unavailable { item: String, reason: String },
    /// A manifest could not be parsed.
    #[error("{what} from {source_name} is not valid JSON: {source}")]
    Parse {
        what: &'static str,
        source_name: String,
        #[source]
        source: serde_json::Error,
    },
    /// A manifest entry failed validation; the message names the entry.
    #[error(transparent)]
    Manifest(#[from] deps_manifest::Error),
    /// A manifest value failed a check that does not name its entry itself.
    #[error("{item}: {source}")]
    Invalid {
        item: String,
        #[source]
        source: deps_manifest::Error,
    },
    /// A manifest entry broke a rule of the manager's own.
    #[error("{item}: {reason}")]
    Rejected { item: String, reason: String },
    /// Fetching a manifest failed.
    #[error("could not fetch {what}: {source}")]
    Fetch {
        what: &'static str,
        #[source]
        source: Box<deps_transport::Error>,
    },
    /// Downloading an item's bytes failed.
    #[error("{item}: {source}")]
    Download {
        item: String,
        #[source]
        source: Box<deps_transport::Error>,
    },
    /// Writing or reading an item's OCI layout (image store, chart store) failed.
    #[error("{item}: {source}")]
    Layout {
        item: String,
        #[source]
        source: Box<deps_oci::Error>,
    },
    /// A cache operation failed.
    #[error(transparent)]
    Store(#[from] deps_store::Error),
    /// A file operation on a path failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Setting up the HTTP client failed.
    #[error(transparent)]
    Transport(Box<deps_transport::Error>),
    /// A background task panicked or was cancelled.
    #[error("internal task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// What a run still has to download does not fit on the cache's file system.
    #[error(
        "not enough free space for {}: {needed} bytes still to download, {available} available",
        path.display()
    )]
    NoSpace { path: PathBuf, needed: u64, available: u64 },
    /// Some items of a run failed; the others went on to the end.
    #[error("{}", summarize_failures(failures))]
    Failed { failures: Vec<Failure> },
}

fn summarize(problems: &[Problem]) -> String {
    match problems {
        [] => "no details".to_owned(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

fn summarize_failures(failures: &[Failure]) -> String {
    match failures {
        [] => "no item failed".to_owned(),
        [one] => one.error.to_string(),
        [first, rest @ ..] => {
            format!("{} items failed: {} (and {} more)", failures.len(), first.error, rest.len())
        }
    }
}

impl From<deps_transport::Error> for Error {
    fn from(err: deps_transport::Error) -> Self {
        Error::Transport(Box::new(err))
    }
}

impl Error {
    /// True for the "not downloaded yet" sentinel.
    pub fn is_not_cached(&self) -> bool {
        matches!(self, Error::NotCached { .. })
    }

    /// True for the "cache damaged" sentinel.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Error::Incomplete { .. })
    }

    /// Wraps a manifest validation error with the item it concerns.
    pub(crate) fn invalid(item: impl Into<String>, source: deps_manifest::Error) -> Self {
        Error::Invalid { item: item.into(), source }
    }

    /// A rule violation naming the item.
    pub(crate) fn rejected(item: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Rejected { item: item.into(), reason: reason.into() }
    }

    /// An OCI layout failure of an item.
    pub(crate) fn layout(item: impl Into<String>, source: deps_oci::Error) -> Self {
        Error::Layout { item: item.into(), source: Box::new(source) }
    }

    /// A transport failure of an item's bytes.
    pub(crate) fn download(item: impl Into<String>, source: deps_transport::Error) -> Self {
        Error::Download { item: item.into(), source: Box::new(source) }
    }

    /// The kind of failure, from the error's type and its typed causes.
    pub fn cause(&self) -> Cause<'_> {
        match self {
            Error::NotCached { .. } | Error::Unavailable { .. } => Cause::NotDownloaded,
            Error::Incomplete { .. } => Cause::Damaged,
            Error::Parse { .. } | Error::Manifest(_) | Error::Invalid { .. } | Error::Rejected { .. } => {
                Cause::Manifest
            }
            Error::Fetch { source, .. } | Error::Download { source, .. } | Error::Transport(source) => {
                transport_cause(source)
            }
            Error::Layout { source, .. } => oci_cause(source),
            Error::Store(err) => store_cause(err),
            Error::Io { path, source } => Cause::Disk { path: Some(path), error: source },
            Error::Task(_) => Cause::Bug,
            Error::NoSpace { path, .. } => Cause::NoSpace { path },
            Error::Failed { .. } => Cause::Several,
        }
    }

    /// What the user should do next, chosen from [`Error::cause`]; `None` when
    /// the message already says it.
    pub fn hint(&self) -> Option<String> {
        self.cause().hint()
    }
}

/// What kind of failure an [`Error`] is, which decides the advice a user gets.
#[derive(Debug)]
#[non_exhaustive]
pub enum Cause<'a> {
    /// Nothing is cached yet, or not what was asked for.
    NotDownloaded,
    /// Cached files are missing or corrupt.
    Damaged,
    /// A manifest is malformed or breaks a rule: its publisher is at fault.
    Manifest,
    /// A file operation failed (disk full, permissions, read-only file system).
    Disk {
        /// The file, when known.
        path: Option<&'a Path>,
        /// The operating system's error.
        error: &'a io::Error,
    },
    /// What is still to download does not fit where it goes.
    NoSpace {
        /// The directory it would go to.
        path: &'a Path,
    },
    /// The server sent bytes that do not match the digest the manifest names.
    WrongBytes,
    /// The server sent more than the manifest declares or a manifest may hold.
    Oversized,
    /// The server does not have the file or image (HTTP 404).
    NotFound,
    /// The server refused our credentials.
    Unauthorized,
    /// Network trouble that lasted past every retry.
    Network,
    /// A URL refused by policy (plain HTTP, bad scheme) or malformed.
    Url,
    /// Local settings are wrong (CA certificate, Docker config).
    Settings,
    /// A program deps runs (git) is not installed; the message says what to do.
    MissingTool,
    /// Another process holds the cache lock.
    Locked,
    /// A cached file (manifest copy, `index.json`) does not parse.
    CorruptCache,
    /// A defect in deps itself.
    Bug,
    /// Several items failed, each with its own cause.
    Several,
}

impl Cause<'_> {
    /// The advice for this kind of failure.
    pub fn hint(&self) -> Option<String> {
        let text = match self {
            Cause::NotDownloaded => "run `deps download`",
            Cause::Damaged => "run `deps download` to repair, then `deps verify` again",
            Cause::Manifest => {
                "the manifest is at fault: tell whoever publishes it, or pass a corrected local manifest"
            }
            Cause::Disk { path, error } => return Some(disk_hint(*path, error)),
            Cause::NoSpace { path } => {
                return Some(format!(
                    "free some space on the file system of {} or use another --cache-dir; nothing was downloaded",
                    path.display()
                ));
            }
            Cause::WrongBytes => {
                "the server sent bytes that do not match the manifest's digest: the mirror or a proxy \
                 serves a wrong or corrupt copy; tell whoever runs it (nothing wrong was kept)"
            }
            Cause::Oversized => {
                "the server sent more than expected (a wrong file, or a manifest over the size limit): \
                 check what the mirror serves at that URL"
            }
            Cause::NotFound => {
                "the server does not have it: check --base-url / --mirror / --registry-mirror, or tell \
                 whoever publishes the manifest"
            }
            Cause::Unauthorized => {
                "check the credentials for that registry (`docker login` or ~/.docker/config.json)"
            }
            Cause::Network => {
                "check the network, proxy and mirror, then run `deps download` again: verified \
                 files are kept and partial ones resume"
            }
            Cause::Url | Cause::MissingTool => return None,
            Cause::Settings => "check --ca-cert, the proxy settings and ~/.docker/config.json",
            Cause::Locked => "wait for the other `deps` to finish, or run without --no-wait",
            Cause::CorruptCache => "a cached file is damaged: run `deps verify`, then `deps download`",
            Cause::Bug => "this is a bug in deps: please report it with the command you ran",
            Cause::Several => return None,
        };
        Some(text.to_owned())
    }
}

/// Advice for a failed file operation, from the operating system's error kind.
fn disk_hint(path: Option<&Path>, error: &io::Error) -> String {
    let place = path.map_or_else(|| "the cache".to_owned(), |p| p.display().to_string());
    // ENOSPC and EDQUOT on Unix; StorageFull covers the first portably.
    let full = error.kind() == io::ErrorKind::StorageFull || matches!(error.raw_os_error(), Some(28 | 122));
    if full {
        format!(
            "the disk holding {place} is full: free some space or use another --cache-dir, then run \
             `deps download` again (verified files are kept)"
        )
    } else if error.kind() == io::ErrorKind::PermissionDenied {
        format!("deps may not write {place}: check its owner and permissions")
    } else if error.kind() == io::ErrorKind::ReadOnlyFilesystem {
        format!("{place} is on a read-only file system: use another --cache-dir")
    } else {
        format!("check {place}, its permissions and the free disk space")
    }
}

/// The cause of a transport failure.
fn transport_cause(err: &deps_transport::Error) -> Cause<'_> {
    use deps_transport::Error as T;
    match err {
        T::RetriesExhausted { last, .. } => match transport_cause(last) {
            // A transient failure that never healed is a network problem, whatever the last one was.
            Cause::Bug | Cause::Settings => Cause::Network,
            cause => cause,
        },
        T::Request { .. } | T::Protocol { .. } => Cause::Network,
        T::BodyTooLong { .. } => Cause::Oversized,
        T::Status { status: 404 | 410, .. } | T::ManifestUnknown { .. } | T::BlobUnknown { .. } => {
            Cause::NotFound
        }
        T::Status { status: 401 | 403, .. } | T::Unauthorized { .. } | T::RegistryUnauthorized { .. } => {
            Cause::Unauthorized
        }
        T::Status { .. } | T::Token { .. } => Cause::Network,
        T::ManifestDigestMismatch { .. } => Cause::WrongBytes,
        T::InsecureUrl { .. }
        | T::InvalidUrl { .. }
        | T::InvalidReference { .. }
        | T::RedirectRefused { .. } => Cause::Url,
        T::TimedOut { .. } => Cause::Network,
        T::Git { .. } => Cause::Network,
        T::GitRefNotFound { .. } | T::GitRefInvalid { .. } => Cause::Manifest,
        T::GitIo { path, source } => Cause::Disk { path: Some(path), error: source },
        T::GitMissing { .. } => Cause::MissingTool,
        T::CaCert { .. } | T::Client(_) | T::DockerConfig { .. } => Cause::Settings,
        T::Store(err) => store_cause(err),
        T::Task(_) => Cause::Bug,
    }
}

/// The cause of a cache failure.
fn store_cause(err: &deps_store::Error) -> Cause<'_> {
    use deps_store::Error as S;
    match err {
        S::Io { path, source, .. } => Cause::Disk { path: Some(path), error: source },
        S::Corrupt { .. } => Cause::CorruptCache,
        S::DigestMismatch { .. } | S::SizeMismatch { .. } | S::TooLong { .. } => Cause::WrongBytes,
        S::Locked { .. } => Cause::Locked,
        S::Manifest(_) => Cause::Manifest,
    }
}

/// The cause of an OCI layout failure.
fn oci_cause(err: &deps_oci::Error) -> Cause<'_> {
    use deps_oci::Error as O;
    match err {
        O::Io(source) => Cause::Disk { path: None, error: source },
        O::IoAt { path, source, .. } => Cause::Disk { path: Some(path), error: source },
        O::Store(err) => store_cause(err),
        O::Manifest(_) => Cause::Manifest,
        O::CorruptLayoutFile { .. } | O::CorruptBlob { .. } | O::SizeMismatch { .. } => Cause::CorruptCache,
        O::DigestMismatch { .. } => Cause::WrongBytes,
        O::MissingBlob { .. } => Cause::Bug,
        // Verified bytes of a shape we cannot use, or a local chart: their author is at fault.
        O::ManifestJson { .. }
        | O::UnsupportedManifest { .. }
        | O::InvalidPlatform { .. }
        | O::NoPlatform { .. }
        | O::NoChartLayer { .. }
        | O::ChartYaml { .. }
        | O::InvalidChart { .. }
        | O::HelmIgnore { .. } => Cause::Manifest,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn disk_full(path: &str) -> deps_store::Error {
        let source = io::Error::from_raw_os_error(28); // ENOSPC
        deps_store::Error::Io { action: "write", path: path.into(), source }
    }

    #[test]
    fn a_full_disk_is_blamed_on_the_disk_wherever_it_happens() {
        let via_download =
            Error::download("kubectl", deps_transport::Error::Store(disk_full("/c/a.partial")));
        let via_layout = Error::layout("img", deps_oci::Error::Store(disk_full("/c/blobs/sha256/ab")));
        let direct = Error::Store(disk_full("/c/manifests/x.json"));
        for err in [via_download, via_layout, direct] {
            let hint = err.hint().unwrap();
            assert!(hint.contains("disk holding /c/") && hint.contains("is full"), "{hint}");
            assert!(!hint.contains("manifest is at fault"), "{hint}");
        }
    }

    #[test]
    fn each_kind_of_failure_gets_its_own_advice() {
        let status = |status| deps_transport::Error::Status { url: "https://m/x".into(), status };
        let not_found = Error::download("kubectl", status(404));
        assert!(matches!(not_found.cause(), Cause::NotFound));
        assert!(!not_found.hint().unwrap().contains("again"), "a 404 does not heal by retrying");
        let flaky = deps_transport::Error::RetriesExhausted {
            url: "https://m/x".into(),
            retries: 5,
            elapsed: Duration::from_secs(7),
            last: Box::new(status(503)),
        };
        assert!(matches!(Error::download("kubectl", flaky).cause(), Cause::Network));
        let mismatch = deps_store::Error::DigestMismatch {
            path: "/c/x".into(),
            expected: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
                .parse()
                .unwrap(),
            actual: "sha256:1111111111111111111111111111111111111111111111111111111111111111"
                .parse()
                .unwrap(),
        };
        let wrong = Error::download("kubectl", deps_transport::Error::Store(mismatch));
        assert!(wrong.hint().unwrap().contains("do not match the manifest's digest"));
        assert!(Error::rejected("chart x", "bad").hint().unwrap().contains("manifest is at fault"));
        let oversized = deps_transport::Error::BodyTooLong { url: "https://m/x".into(), limit: 10 };
        let hint = Error::Fetch { what: "vmconfig manifest", source: Box::new(oversized) }.hint().unwrap();
        assert!(!hint.contains("again"), "re-running cannot fix an oversized body: {hint}");
    }
}
