//! Blob redirects, as registries that keep blobs in object storage do: when
//! enabled, a blob GET on `/v2/` answers 307 with a signed URL on a second
//! listener (on 127.0.0.2, another host as far as a client can tell) that
//! serves `/blobs/sha256/<hex>?sig=<signature>` with no auth at all. A URL
//! is honoured only with the signature this mirror made for that blob, and
//! only for blobs it redirected to.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use axum::http::{StatusCode, header};
use sha2::{Digest as _, Sha256};

use super::outcome::Outcome;
use super::query;
use super::reqpath::ReqPath;
use super::resource;

/// The redirect switch, the signing key and the blobs redirected to.
#[derive(Debug)]
pub(super) struct BlobStorage {
    base_url: String,
    enabled: AtomicBool,
    secret: u64,
    files: Mutex<HashMap<String, PathBuf>>,
}

impl BlobStorage {
    /// Storage served at `base_url` (`http://127.0.0.2:PORT`), redirects off.
    pub(super) fn new(base_url: String) -> BlobStorage {
        BlobStorage {
            base_url,
            enabled: AtomicBool::new(false),
            secret: RandomState::new().build_hasher().finish(),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// The storage listener's base URL.
    pub(super) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Turns blob redirects on or off.
    pub(super) fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
    }

    /// Whether blob GETs are redirected.
    pub(super) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    /// The 307 sending a client to blob `hex` (stored at `file`) on the storage host.
    pub(super) fn redirect(&self, hex: &str, file: PathBuf) -> Outcome {
        self.files.lock().unwrap_or_else(PoisonError::into_inner).insert(hex.to_owned(), file);
        let location = format!("{}/blobs/sha256/{hex}?sig={}", self.base_url, self.sign(hex));
        Outcome::status(StatusCode::TEMPORARY_REDIRECT).with_header(header::LOCATION, location)
    }

    /// Answers a request to the storage listener.
    pub(super) async fn serve(&self, path: &ReqPath, query: Option<&str>) -> Outcome {
        let [blobs, algo, hex] = path.parts() else { return Outcome::status(StatusCode::NOT_FOUND) };
        if blobs != "blobs" || algo != "sha256" {
            return Outcome::status(StatusCode::NOT_FOUND);
        }
        let params = query::params(query);
        if query::values(&params, "sig").next() != Some(self.sign(hex).as_str()) {
            return Outcome::status(StatusCode::FORBIDDEN);
        }
        let file = self.files.lock().unwrap_or_else(PoisonError::into_inner).get(hex.as_str()).cloned();
        let Some(file) = file else { return Outcome::status(StatusCode::NOT_FOUND) };
        match resource::file(&file, "application/octet-stream").await {
            Ok(Some(resource)) => Outcome::Serve { resource, headers: Vec::new() },
            Ok(None) => Outcome::status(StatusCode::NOT_FOUND),
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "storage could not read a blob");
                Outcome::status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    /// The signature of blob `hex`.
    fn sign(&self, hex: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(self.secret.to_le_bytes());
        hash.update(hex.as_bytes());
        hex::encode(&hash.finalize()[..16])
    }
}
