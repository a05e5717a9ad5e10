//! The mirror's lifecycle: bind on loopback (the mirror, and a blob storage
//! listener on 127.0.0.2 that registry redirects point at), serve until shut
//! down (by `shutdown` or by dropping the [`Mirror`]), and the handles tests
//! use to arm faults, read the request log and steer the registry's auth and
//! redirects. Shutting down stops accepting at once and ends bodies that are
//! paused or throttled.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::conn::{ConnHandle, ResettableListener};
use super::fault::{Fault, FaultTable};
use super::handler::{self, Endpoint, Role};
use super::log::{RequestLog, RequestRecord};
use super::reqpath::normalise;
use super::storage::BlobStorage;
use super::token::TokenAuth;

/// How long `shutdown` waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The address blob redirects point at: loopback, but another host to a client.
const STORAGE_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// What the handler shares with the [`Mirror`].
pub(super) struct Shared {
    /// The directory served.
    pub(super) root: PathBuf,
    /// `http://127.0.0.1:PORT`, put into manifests.
    pub(super) base_url: String,
    /// Armed faults.
    pub(super) faults: FaultTable,
    /// The request log.
    pub(super) log: RequestLog,
    /// Registry token auth.
    pub(super) auth: TokenAuth,
    /// Blob redirects and the storage host.
    pub(super) storage: BlobStorage,
    /// Becomes true on shutdown.
    pub(super) shutdown: watch::Receiver<bool>,
}

/// A fake mirror serving a directory over HTTP/1.1 on loopback: files, and
/// the OCI distribution API over the layouts under `registry/`.
pub struct Mirror {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("root", &self.shared.root)
            .field("base_url", &self.shared.base_url)
            .field("storage_url", &self.shared.storage.base_url())
            .finish()
    }
}

impl Mirror {
    /// Serves `root` on 127.0.0.1 at a free port.
    pub async fn start(root: PathBuf) -> anyhow::Result<Mirror> {
        Self::start_on(root, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Generates a fixture mirror into `root` (real sizes divided by `scale`) and serves it.
    pub async fn start_with_fixtures(root: PathBuf, scale: u64) -> anyhow::Result<Mirror> {
        Self::start_with_fixtures_shape(root, scale, crate::fixtures::Shape::Legacy).await
    }

    /// Generates a fixture mirror of manifest shape `shape` into `root` (sizes divided by `scale`) and serves it.
    pub async fn start_with_fixtures_shape(
        root: PathBuf,
        scale: u64,
        shape: crate::fixtures::Shape,
    ) -> anyhow::Result<Mirror> {
        let mut opts = crate::fixtures::FixtureOptions::new(&root);
        opts.scale = Some(scale);
        opts.shape = shape;
        crate::fixtures::generate(&opts)?;
        Self::start(root).await
    }

    /// Serves `root` on `addr` (blob storage on 127.0.0.2 at a free port).
    pub async fn start_on(root: PathBuf, addr: SocketAddr) -> anyhow::Result<Mirror> {
        if !root.is_dir() {
            bail!("mirror root {} is not a directory", root.display());
        }
        let listener =
            TcpListener::bind(addr).await.with_context(|| format!("binding the mirror to {addr}"))?;
        let local = listener.local_addr().context("reading the mirror's address")?;
        let storage = bind_storage(local.ip()).await?;
        let storage_addr = storage.local_addr().context("reading the storage address")?;
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            root,
            base_url: format!("http://{local}"),
            faults: FaultTable::default(),
            log: RequestLog::default(),
            auth: TokenAuth::default(),
            storage: BlobStorage::new(format!("http://{storage_addr}")),
            shutdown,
        });
        let mut tasks = Vec::new();
        for (listener, role, addr) in
            [(listener, Role::Mirror, local), (storage, Role::Storage, storage_addr)]
        {
            let endpoint = Arc::new(Endpoint { shared: Arc::clone(&shared), role, addr: addr.to_string() });
            tasks.push(spawn(listener, endpoint, stop.subscribe()));
        }
        Ok(Mirror { shared, stop, tasks })
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash); the registry is `<base>/v2/`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The registry host as image references name it, `127.0.0.1:PORT`.
    pub fn registry_host(&self) -> String {
        self.shared.base_url.trim_start_matches("http://").to_owned()
    }

    /// The blob storage host redirects point at, `http://127.0.0.2:PORT`.
    pub fn storage_url(&self) -> String {
        self.shared.storage.base_url().to_owned()
    }

    /// Arms `fault` on the URL path `path` for the next `times` requests (forever with `None`).
    pub fn set_fault(&self, path: &str, fault: Fault, times: Option<u32>) {
        self.shared.faults.set(&normalise(path), fault, times);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Every request since start or the last clear, in arrival order (both listeners).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.records()
    }

    /// Forgets the logged requests.
    pub fn clear_requests(&self) {
        self.shared.log.clear();
    }

    /// Body bytes sent for the URL path `path`, summed over the log.
    pub fn bytes_served(&self, path: &str) -> u64 {
        self.shared.log.bytes_served(&normalise(path))
    }

    /// Requires bearer tokens on `/v2/` (on by default) or not.
    pub fn set_registry_auth(&self, on: bool) {
        self.shared.auth.set_enabled(on);
    }

    /// Sets how long tokens issued from now on stay valid (5 minutes by default).
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.shared.auth.set_ttl(ttl);
    }

    /// Invalidates every token issued so far, as if they had all expired.
    pub fn revoke_tokens(&self) {
        self.shared.auth.revoke();
    }

    /// Tokens issued since the mirror started.
    pub fn tokens_issued(&self) -> usize {
        self.shared.auth.issued()
    }

    /// Makes `/token` require these Basic credentials (`None`: anonymous, the default).
    pub fn set_basic_auth(&self, credentials: Option<(&str, &str)>) {
        self.shared.auth.set_basic(credentials);
    }

    /// Answers blob GETs with a 307 to the storage host (off by default).
    pub fn set_blob_redirect(&self, on: bool) {
        self.shared.storage.set_enabled(on);
    }

    /// Stops the mirror and waits (briefly) for open connections to end.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        for task in self.tasks.drain(..) {
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                tracing::warn!("mirror connections still open after shutdown");
            }
        }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Binds the storage listener on 127.0.0.2, or next to the mirror where that is not possible.
async fn bind_storage(mirror_ip: IpAddr) -> anyhow::Result<TcpListener> {
    match TcpListener::bind((STORAGE_IP, 0)).await {
        Ok(listener) => Ok(listener),
        Err(e) => {
            tracing::warn!(error = %e, "cannot bind {STORAGE_IP}; blob storage shares the mirror's address");
            TcpListener::bind((mirror_ip, 0)).await.context("binding the blob storage listener")
        }
    }
}

/// Serves `endpoint` on `listener` until `stop` turns true.
fn spawn(listener: TcpListener, endpoint: Arc<Endpoint>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let app = Router::new().fallback(handler::handle).with_state(endpoint);
    let serve = axum::serve(
        ResettableListener::new(listener),
        app.into_make_service_with_connect_info::<ConnHandle>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop.wait_for(|down| *down).await;
    });
    tokio::spawn(async move {
        if let Err(e) = serve.await {
            tracing::warn!(error = %e, "mirror stopped");
        }
    })
}
