//! Connections: a listener that wraps each accepted TCP stream so a handler
//! can reset it. A reset sets `SO_LINGER` to zero before the socket closes,
//! so the peer sees a TCP RST ("connection reset"), not an orderly FIN.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A handle on one connection, given to handlers as connect info.
#[derive(Debug, Clone, Default)]
pub(super) struct ConnHandle {
    reset: Arc<AtomicBool>,
}

impl ConnHandle {
    /// Marks the connection to be reset: its next I/O fails and closing sends RST.
    pub(super) fn reset(&self) {
        self.reset.store(true, Ordering::SeqCst);
    }

    fn is_reset(&self) -> bool {
        self.reset.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, ResettableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        stream.io().handle.clone()
    }
}

/// A TCP listener whose connections can be reset.
pub(super) struct ResettableListener {
    inner: TcpListener,
}

impl ResettableListener {
    /// Wraps a bound listener.
    pub(super) fn new(inner: TcpListener) -> Self {
        ResettableListener { inner }
    }
}

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (ResettableStream { stream, handle: ConnHandle::default() }, addr);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "mirror accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted TCP stream and its reset flag.
pub(super) struct ResettableStream {
    stream: TcpStream,
    handle: ConnHandle,
}

impl ResettableStream {
    /// Fails once the connection is marked reset, arming the RST first.
    fn check(&self) -> io::Result<()> {
        if self.handle.is_reset() {
            let _ = self.stream.set_zero_linger();
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "fault: connection reset"));
        }
        Ok(())
    }
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.handle.is_reset() {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}
