//! `o2o serve`'s listener: the edge's router ([`o2o_edge::router`]) served by hyper, with
//! graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use o2o_edge::Edge;
use tokio::net::TcpListener;

/// Serves the edge on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    edge: Arc<Edge>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, o2o_edge::router(edge))
        .with_graceful_shutdown(shutdown)
        .await
}
