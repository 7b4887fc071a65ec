//! A TCP listener whose connections a handler can reset (fault injection: "connection reset").

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

/// The connection a request came in on; setting `kill` makes the connection fail with a TCP
/// reset instead of sending the response.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    pub remote: SocketAddr,
    pub kill: Arc<AtomicBool>,
}

impl Connected<IncomingStream<'_, ResettableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Wraps a `TcpListener`.
pub(crate) struct ResettableListener(pub TcpListener);

/// A connection that turns into a reset once killed.
pub(crate) struct KillableIo {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl KillableIo {
    fn killed(&self) -> bool {
        if self.kill.load(Ordering::Relaxed) {
            // SO_LINGER 0: closing sends RST instead of FIN.
            let _ = self.inner.set_zero_linger();
            true
        } else {
            false
        }
    }
}

fn reset() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "simulated connection reset")
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Listener for ResettableListener {
    type Io = KillableIo;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (
                        KillableIo {
                            inner: stream,
                            kill: kill.clone(),
                        },
                        ConnHandle { remote, kill },
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnHandle {
            remote: self.0.local_addr()?,
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}
