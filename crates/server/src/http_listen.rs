//! The HTTP server's accept loop (instead of `axum::serve`, which has no timeouts and no
//! connection cap): each connection is served by hyper's HTTP/1 with a header-read timeout
//! (slowloris clients and idle keep-alive connections are closed), every request body has a
//! deadline (a stalled upload is answered 408 and its connection closed), and at most
//! `server.max_connections` connections are open at once (more are closed on accept, so
//! the open ones keep their share). All of it is counted in [`Counters`] (`/metrics`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::serve::Listener;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::Counters;

/// How long a graceful shutdown waits for open connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The limits one listener enforces (from `[server]`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Time for a complete request head, and between requests on a kept-alive connection.
    pub header_read: Duration,
    /// Time for a request's whole body, from the end of its head.
    pub request_body: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Limits {
    /// The limits `config` sets.
    pub(crate) fn from_config(config: &crate::ServerConfig) -> Limits {
        Limits {
            header_read: Duration::from_secs(config.header_read_timeout_secs),
            request_body: Duration::from_secs(config.request_body_timeout_secs),
            max_connections: config.max_connections,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open connections
/// finish their requests (up to [`SHUTDOWN_GRACE`]).
pub(crate) async fn serve<L>(
    mut listener: L,
    router: Router,
    limits: Limits,
    counters: Arc<Counters>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) where
    L: Listener<Addr = SocketAddr>,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            counters
                .http_connections_refused
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                %peer,
                max_connections = limits.max_connections,
                "HTTP connection refused: server.max_connections are open"
            );
            drop(io);
            continue;
        };
        counters
            .http_connections_open
            .fetch_add(1, Ordering::Relaxed);
        let service = RequestService {
            router: router.clone(),
            peer,
            body_deadline: limits.request_body,
            counters: counters.clone(),
        };
        let conn = builder.serve_connection(
            TokioIo::new(io),
            hyper::service::service_fn(move |req| service.clone().call(req)),
        );
        let conn = graceful.watch(conn);
        let counters = counters.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                if e.is_timeout() {
                    counters
                        .http_header_timeouts
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "HTTP connection closed: no request head in time");
                } else {
                    tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
                }
            }
            counters
                .http_connections_open
                .fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "HTTP connections still open {SHUTDOWN_GRACE:?} after shutdown; closing them"
        );
    }
}

/// Calls the router for one request of one connection.
#[derive(Clone)]
struct RequestService {
    router: Router,
    peer: SocketAddr,
    body_deadline: Duration,
    counters: Arc<Counters>,
}

impl RequestService {
    async fn call(self, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        let expired = Arc::new(AtomicBool::new(false));
        let mut req = req.map(|body| {
            Body::new(DeadlineBody {
                body,
                deadline: Box::pin(tokio::time::sleep(self.body_deadline)),
                expired: expired.clone(),
            })
        });
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let resp = match self.router.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        if !expired.load(Ordering::Relaxed) {
            return Ok(resp);
        }
        self.counters
            .http_body_timeouts
            .fetch_add(1, Ordering::Relaxed);
        // Whatever the handler made of the broken body, the client is told why; the
        // connection closes (the rest of the body is never read).
        tracing::warn!(peer = %self.peer, "request body not received in time; answered 408");
        let message = format!(
            "the request body did not arrive within {} s (server.request_body_timeout_secs)",
            self.body_deadline.as_secs()
        );
        let body = serde_json::json!({"error": {"code": "request_timeout", "message": message}});
        let mut resp = Response::new(Body::from(body.to_string()));
        *resp.status_mut() = StatusCode::REQUEST_TIMEOUT;
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        Ok(resp)
    }
}

/// A request body that fails once its deadline passes before it is complete, and says so
/// in `expired` so the response can name the reason.
struct DeadlineBody {
    body: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

/// The error a [`DeadlineBody`] ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

/// Whether reading a request body failed because its deadline passed (rather than, say,
/// its size limit), so handlers do not count it as something else.
pub(crate) fn is_body_timeout(e: axum::Error) -> bool {
    let inner = e.into_inner();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*inner);
    while let Some(c) = cause {
        if c.is::<BodyTimedOut>() {
            return true;
        }
        cause = c.source();
    }
    false
}

impl hyper::body::Body for DeadlineBody {
    type Data = hyper::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match this.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.expired.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
