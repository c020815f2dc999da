//! The HTTP listener of `o2o serve`: HTTP/1.1 connections (hyper) serving the edge's router,
//! with the limits a public endpoint needs. Every connection is watched:
//!
//! - a request head must arrive within `header_read_timeout` of its first byte, and a kept-alive
//!   connection with no request is closed after `idle_timeout`;
//! - a request body must arrive whole within `body_read_timeout` of its head (the edge answers
//!   408 `body_timeout`, before anything is claimed or stored);
//! - at most `max_connections` are open: when a new one arrives at the cap, the connection that
//!   has waited longest without a request in flight is closed to make room, so `/healthz` and
//!   fresh deliveries are still served while slow or idle clients hold the rest; only when every
//!   connection has a request in flight is the new one answered 503 (`Retry-After: 1`);
//! - a malformed request head is answered 400 by hyper; an HTTP/2 preface gets a 400 saying that
//!   only HTTP/1.1 is served;
//! - on shutdown, connections without a request in flight close at once, the others finish their
//!   request, and whatever is still open after `shutdown_deadline` is closed: a delivery cut off
//!   there was never acknowledged, its claim expires, and the platform sends it again.

mod watch;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use o2o_edge::Edge;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use watch::{DeadlineBody, Slot, Tracker, Watched};

/// The listener's timeouts and limits (`[server]` in `o2o.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request head must be complete this long after its first byte arrived.
    pub header_read_timeout: Duration,
    /// A request body must be complete this long after its head arrived.
    pub body_read_timeout: Duration,
    /// A connection with no request in flight and no new request started is closed after this.
    pub idle_timeout: Duration,
    /// Open connections at most; see the module docs for what happens at the cap.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight before closing their connections.
    pub shutdown_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            shutdown_deadline: Duration::from_secs(10),
        }
    }
}

/// Serves the edge's router on `listener` until `shutdown` resolves, then drains as the module
/// docs describe. Returns when every connection is closed.
pub async fn serve(
    listener: TcpListener,
    edge: Arc<Edge>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, o2o_edge::router(edge), limits, shutdown).await
}

/// Serves any router on `listener` with the same limits and drain (the consumer API uses it).
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tracker = Arc::new(Tracker::new(limits.max_connections));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before accept): wait a
                    // moment rather than spin; connections closing will free descriptors.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let Some(slot) = Tracker::admit(&tracker) else {
            connections.spawn(refuse_busy(stream));
            continue;
        };
        connections.spawn(connection(
            stream,
            router.clone(),
            limits,
            slot,
            stopped.clone(),
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    let open = connections.len();
    let drained = tokio::time::timeout(limits.shutdown_deadline, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            of = open,
            deadline_ms = limits.shutdown_deadline.as_millis() as u64,
            "shutdown deadline passed: closing connections with requests still in flight"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Serves one connection until it ends, is evicted, times out or shutdown closes it.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    slot: Slot,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let activity = Arc::clone(slot.activity());
    // Until its first bytes arrive a connection is idle: evictable, and closed by shutdown.
    let http2 = tokio::select! {
        http2 = starts_with_http2_preface(&stream, limits.idle_timeout) => http2,
        () = activity.evicted() => return,
        _ = stopped.wait_for(|stop| *stop) => return,
    };
    if http2 {
        refuse_http2(stream).await;
        return;
    }
    let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity)));
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = activity.begin_request();
            let mut router = router.clone();
            let request = request.map(|body| {
                axum::body::Body::new(DeadlineBody::new(body, limits.body_read_timeout))
            });
            async move {
                use tower_service::Service as _;
                let response = match router.call(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                drop(busy);
                Ok::<_, Infallible>(response)
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = *stopped.borrow();
    loop {
        if draining && !activity.in_flight() {
            return;
        }
        let wake = activity.next_check(&limits);
        tokio::select! {
            _ = conn.as_mut() => return,
            () = activity.evicted() => return,
            changed = stopped.changed(), if !draining => {
                draining = changed.is_err() || *stopped.borrow();
                if draining {
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {
                if activity.expired(&limits) {
                    return;
                }
            }
        }
    }
}

/// Whether the client opened with HTTP/2's connection preface (`PRI * HTTP/2.0`), looking at
/// the first bytes without consuming them; false as soon as they differ, and when nothing
/// arrives `within` (the idle timeout: hyper then closes the idle connection at once).
async fn starts_with_http2_preface(stream: &TcpStream, within: Duration) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0";
    let mut first = [0u8; PREFACE.len()];
    let peek = async {
        loop {
            match stream.peek(&mut first).await {
                // Not enough bytes yet to tell: wait for more, unless they already differ.
                Ok(n) if n < PREFACE.len() && first[..n] == PREFACE[..n] && n > 0 => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(n) => return n == PREFACE.len() && first == *PREFACE,
                Err(_) => return false,
            }
        }
    };
    tokio::time::timeout(within, peek).await.unwrap_or(false)
}

/// A plain response written straight to the socket, for the two cases hyper never sees.
async fn answer_and_close(mut stream: TcpStream, status: &str, headers: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         {headers}connection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

async fn refuse_http2(stream: TcpStream) {
    answer_and_close(
        stream,
        "400 Bad Request",
        "",
        r#"{"error":"http2_not_served","message":"this endpoint speaks HTTP/1.1 only"}"#,
    )
    .await;
}

async fn refuse_busy(stream: TcpStream) {
    answer_and_close(
        stream,
        "503 Service Unavailable",
        "retry-after: 1\r\n",
        r#"{"error":"busy","message":"every connection has a request in flight; retry shortly"}"#,
    )
    .await;
}
