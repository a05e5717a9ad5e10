//! The manager's error type. `NotCached` and `Incomplete` are the sentinels
//! callers branch on ("not downloaded yet" versus "the cache is damaged");
//! every other variant names the item, manifest or path it concerns.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with the cache, found by `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
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

/// Everything the manager can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No cached manifest exists: nothing has been downloaded yet.
    #[error("manifest not cached: {} (run `deps download`)", path.display())]
    NotCached {
        /// Where the cached manifest was looked for.
        path: PathBuf,
    },
    /// The cache is incomplete or corrupt; every problem found is listed.
    #[error("deps cache incomplete or corrupt: {}", summarize(problems))]
    Incomplete {
        /// What is wrong, one entry per file.
        problems: Vec<Problem>,
    },
    /// A manifest could not be parsed.
    #[error("{what} from {source_name} is not valid JSON: {source}")]
    Parse {
        /// Which manifest (e.g. "vmconfig manifest").
        what: &'static str,
        /// Where it came from (URL or path).
        source_name: String,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// A manifest entry failed validation; the message names the entry.
    #[error(transparent)]
    Manifest(#[from] deps_manifest::Error),
    /// A manifest value failed a check that does not name its entry itself.
    #[error("{item}: {source}")]
    Invalid {
        /// The entry (e.g. "vmconfig artifact kubectl").
        item: String,
        /// What is wrong with it.
        #[source]
        source: deps_manifest::Error,
    },
    /// A manifest entry failed a rule of the manager's own.
    #[error("{item}: {reason}")]
    Rejected {
        /// The entry.
        item: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Fetching a manifest failed.
    #[error("could not fetch {what}: {source} (check the mirror URL)")]
    Fetch {
        /// Which manifest.
        what: &'static str,
        /// The transport error.
        #[source]
        source: Box<deps_transport::Error>,
    },
    /// Downloading an item failed.
    #[error("{item}: {source}")]
    Download {
        /// The item.
        item: String,
        /// The transport error.
        #[source]
        source: Box<deps_transport::Error>,
    },
    /// A cache operation failed.
    #[error(transparent)]
    Store(#[from] deps_store::Error),
    /// Reading a local file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Setting up the HTTP client failed.
    #[error(transparent)]
    Transport(Box<deps_transport::Error>),
    /// A background task ended unexpectedly.
    #[error("internal task failed: {0}")]
    Task(String),
}

fn summarize(problems: &[Problem]) -> String {
    match problems {
        [] => "no details".to_owned(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
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
}
