//! The mirror's lifecycle: bind on loopback, serve until shut down (by
//! `shutdown` or by dropping the [`Mirror`]), and the handles tests use to
//! arm faults and read the request log. Shutting down stops accepting at
//! once and ends bodies that are paused or throttled.

use std::net::{Ipv4Addr, SocketAddr};
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
use super::handler;
use super::log::{RequestLog, RequestRecord};
use super::reqpath::normalise;

/// How long `shutdown` waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
    /// Becomes true on shutdown.
    pub(super) shutdown: watch::Receiver<bool>,
}

/// A fake mirror serving a directory over HTTP/1.1 on loopback.
pub struct Mirror {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("root", &self.shared.root)
            .field("base_url", &self.shared.base_url)
            .finish()
    }
}

impl Mirror {
    /// Serves `root` on 127.0.0.1 at a free port.
    pub async fn start(root: PathBuf) -> anyhow::Result<Mirror> {
        Self::start_on(root, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Serves `root` on `addr`.
    pub async fn start_on(root: PathBuf, addr: SocketAddr) -> anyhow::Result<Mirror> {
        if !root.is_dir() {
            bail!("mirror root {} is not a directory", root.display());
        }
        let listener =
            TcpListener::bind(addr).await.with_context(|| format!("binding the mirror to {addr}"))?;
        let local = listener.local_addr().context("reading the mirror's address")?;
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            root,
            base_url: format!("http://{local}"),
            faults: FaultTable::default(),
            log: RequestLog::default(),
            shutdown,
        });
        let app = Router::new().fallback(handler::handle).with_state(Arc::clone(&shared));
        let mut signal = stop.subscribe();
        let serve = axum::serve(
            ResettableListener::new(listener),
            app.into_make_service_with_connect_info::<ConnHandle>(),
        )
        .with_graceful_shutdown(async move {
            let _ = signal.wait_for(|down| *down).await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "mirror stopped");
            }
        });
        Ok(Mirror { shared, stop, task: Some(task) })
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Arms `fault` on the URL path `path` for the next `times` requests (forever with `None`).
    pub fn set_fault(&self, path: &str, fault: Fault, times: Option<u32>) {
        self.shared.faults.set(&normalise(path), fault, times);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Every request since start or the last clear, in arrival order.
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

    /// Stops the mirror and waits (briefly) for open connections to end.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err()
        {
            tracing::warn!("mirror connections still open after shutdown");
        }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
