//! Serving connections: hyper's HTTP/1 connection with a header-read timeout, an
//! inactivity timeout, a connection limit and graceful shutdown.
//!
//! `axum::serve` has none of the three limits: a client trickling one header byte at a
//! time kept its connection for ever, and enough of them exhausted the process's file
//! descriptors. Here:
//!
//! - the **connection limit** is a semaphore taken before `accept`: over the limit the
//!   server stops accepting, and new connections wait in the kernel's listen backlog
//!   (or are refused by the kernel once it is full) instead of costing a descriptor;
//! - the **header timeout** is hyper's `header_read_timeout`: a request's head must
//!   arrive in full within it, however slowly it trickles;
//! - the **idle timeout** closes a connection on which no request is being handled and
//!   no byte has moved, either way, for that long: a kept-alive connection between
//!   requests, a connection that never sends, a client that stops reading its answer.
//!   While a request is being handled the request timeout applies instead.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{body::Body, Router};
use hyper::{body::Incoming, server::conn::http1, service::Service, Request, Response};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, Semaphore},
    time::Instant,
};

/// The largest request head (request line and headers) in bytes: beyond it hyper
/// answers 431. Above hyper's longest request target (65,534 bytes, else 414), so
/// both answers can happen; far above what any client of this API sends.
pub const MAX_HEAD_BYTES: usize = 128 * 1024;

/// The most headers in one request: beyond it hyper answers 431.
pub const MAX_HEADERS: usize = 100;

/// Limits on connections (flags of `zkmargin-verifier serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's head (request line and headers) must arrive in full within this.
    pub header_timeout: Duration,
    /// A connection with no request being handled and no byte moved for this long is
    /// closed.
    pub idle_timeout: Duration,
    /// Most connections open at once; beyond it the server stops accepting until one
    /// closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    /// 10 s to send a request's head, 5 s idle, 4096 connections (keep it well below
    /// the process's open-file limit, `ulimit -n`).
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            max_connections: 4096,
        }
    }
}

/// Accepts connections on `listener` and serves `app` on each until `shutdown`
/// completes; then stops accepting, lets every connection finish its request in
/// flight (a connection still sending its head is closed by the header timeout), and
/// returns when all are closed.
pub(crate) async fn run(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    // A semaphore holds at most `MAX_PERMITS`, and `acquire_many` takes a u32.
    let max = limits
        .max_connections
        .clamp(1, u32::MAX.try_into().unwrap_or(usize::MAX))
        .min(Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // never closed
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of descriptors or memory: wait rather than spin.
                    tracing::error!("accept error: {e}");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            serve_connection(stream, app, limits, stopped).await;
            drop(slot);
        });
    }
    drop(listener);
    drop(stopped);
    let _ = stop.send(());
    // Every connection holds a slot until it closes.
    let _ = slots.acquire_many(max as u32).await;
}

/// Errors of one connection that `accept` reports; the next accept is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it closes, times out idle, or shutdown has let its
/// request in flight finish.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: ConnectionLimits,
    mut stopped: watch::Receiver<()>,
) {
    // Small JSON answers: do not wait to fill a segment.
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let service = Handling {
        inner: TowerToHyperService::new(app),
        activity: activity.clone(),
    };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        // While a request is handled, look again one idle period later.
        let idle_at = if activity.handling.load(Ordering::Relaxed) > 0 {
            Instant::now() + limits.idle_timeout
        } else {
            activity.last() + limits.idle_timeout
        };
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!("connection closed: {e}");
                }
                return;
            }
            () = tokio::time::sleep_until(idle_at) => {
                if activity.is_idle_for(limits.idle_timeout) {
                    tracing::debug!("connection idle for {:?}: closed", limits.idle_timeout);
                    return;
                }
            }
            _ = stopped.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// When a connection last moved a byte or finished handling a request, and how many
/// requests it is handling.
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last_ms: AtomicU64,
    handling: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    fn is_idle_for(&self, limit: Duration) -> bool {
        self.handling.load(Ordering::Relaxed) == 0 && self.last().elapsed() >= limit
    }
}

/// The socket, noting every byte moved.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router as a hyper service, counting the requests being handled (the idle
/// timeout does not run while one is).
#[derive(Clone)]
struct Handling {
    inner: TowerToHyperService<Router>,
    activity: Arc<Activity>,
}

/// Marks a request handled when dropped (answered, or abandoned with its connection).
struct Handled(Arc<Activity>);

impl Drop for Handled {
    fn drop(&mut self) {
        // The answer is about to be written: the idle clock restarts now.
        self.0.touch();
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Service<Request<Incoming>> for Handling {
    type Response = Response<Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.activity.handling.fetch_add(1, Ordering::Relaxed);
        let handled = Handled(self.activity.clone());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            drop(handled);
            answer
        })
    }
}
