//! Where a manifest comes from: the mirror (`<base>/manifests/<file>`) or a
//! local file. The source decides what a manifest may do: only a local
//! manifest may name local `path` entries, resolved against its directory.

use std::fmt;
use std::path::{Path, PathBuf};

use deps_transport::HttpClient;
use serde::de::DeserializeOwned;

use crate::{Error, Manager};

/// Largest manifest we accept from the mirror.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// The origin of a loaded manifest.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Fetched from this URL.
    Remote(String),
    /// Read from this local file.
    Local(PathBuf),
}

impl Source {
    /// True when the manifest came from a local file.
    pub(crate) fn is_local(&self) -> bool {
        matches!(self, Source::Local(_))
    }

    /// Resolves a manifest `path` entry; refused for remote manifests.
    pub(crate) fn resolve_local(&self, item: &str, entry: &str) -> Result<PathBuf, Error> {
        match self {
            Source::Local(file) => {
                let dir = file.parent().unwrap_or(Path::new("."));
                Ok(dir.join(entry))
            }
            Source::Remote(url) => Err(Error::rejected(
                item,
                format!(
                    "local path {entry:?} in a manifest fetched from {url}; only local manifests may name local files"
                ),
            )),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Remote(url) => f.write_str(url),
            Source::Local(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A parsed manifest with where it came from.
#[derive(Debug)]
pub(crate) struct Loaded<T> {
    pub(crate) manifest: T,
    pub(crate) source: Source,
}

impl Manager {
    /// The URL of a manifest file on the mirror.
    pub(crate) fn manifest_url(&self, file: &str) -> String {
        format!("{}/manifests/{file}", self.base_url().trim_end_matches('/'))
    }

    /// Fetches raw manifest bytes from the mirror (with the manifest retry schedule).
    pub(crate) async fn fetch_manifest_bytes(
        &self,
        what: &'static str,
        file: &str,
        http: &HttpClient,
    ) -> Result<(Vec<u8>, Source), Error> {
        let url = self.manifest_url(file);
        self.check_url(&url).map_err(|source| Error::Fetch { what, source: Box::new(source) })?;
        let bytes = http
            .get_bytes(&url, &self.manifest_retry, MAX_MANIFEST_BYTES)
            .await
            .map_err(|source| Error::Fetch { what, source: Box::new(source) })?;
        Ok((bytes, Source::Remote(url)))
    }

    /// Loads a manifest from `local` when given, else from the mirror.
    pub(crate) async fn load_manifest<T: DeserializeOwned>(
        &self,
        what: &'static str,
        file: &str,
        local: Option<&Path>,
        http: &HttpClient,
    ) -> Result<Loaded<T>, Error> {
        let (bytes, source) = match local {
            Some(path) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|source| Error::Io { path: path.to_owned(), source })?;
                (bytes, Source::Local(path.to_owned()))
            }
            None => self.fetch_manifest_bytes(what, file, http).await?,
        };
        let manifest = parse(what, &source, &bytes)?;
        Ok(Loaded { manifest, source })
    }
}

/// Parses manifest bytes, naming the manifest and its source on failure.
pub(crate) fn parse<T: DeserializeOwned>(
    what: &'static str,
    source: &Source,
    bytes: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|source_err| Error::Parse {
        what,
        source_name: source.to_string(),
        source: source_err,
    })
}
