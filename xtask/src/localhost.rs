//! What the servers the xtask starts on 127.0.0.1 (a real registry, nginx)
//! share: a free port to bind, a plain HTTP probe, and waiting until the
//! server answers or its process dies.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// A free port on 127.0.0.1 (free when probed).
pub(crate) fn free_port() -> anyhow::Result<SocketAddr> {
    let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("probing for a free port")?;
    Ok(probe.local_addr()?)
}

/// The status of a plain `GET path` to `addr`.
pub(crate) fn http_status(addr: SocketAddr, path: &str) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split(' ').nth(1).and_then(|s| s.parse().ok()).with_context(|| format!("bad reply {line:?}"))
}

/// How a server is waited for: its name in errors, its address, the patience,
/// and the answer that means it is up.
pub(crate) struct Readiness<'a> {
    /// The program, as errors name it.
    pub(crate) what: &'a str,
    pub(crate) addr: SocketAddr,
    pub(crate) timeout: Duration,
    /// Time between probes.
    pub(crate) every: Duration,
    /// Whether the server is up.
    pub(crate) ready: &'a dyn Fn() -> bool,
    /// The end of the server's logs, for errors.
    pub(crate) log: &'a dyn Fn() -> String,
}

/// Polls until the server is ready, failing if `child` exits first or the time runs out.
pub(crate) fn wait_ready(child: &mut Child, wait: &Readiness<'_>) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("{} exited with {status}: {}", wait.what, (wait.log)());
        }
        if (wait.ready)() {
            return Ok(());
        }
        if started.elapsed() > wait.timeout {
            bail!(
                "{} did not answer on {} within {:?}: {}",
                wait.what,
                wait.addr,
                wait.timeout,
                (wait.log)()
            );
        }
        std::thread::sleep(wait.every);
    }
}
