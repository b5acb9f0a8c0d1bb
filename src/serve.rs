//! The HTTP server loop: hyper directly (not `axum::serve`), so that a
//! connection whose request headers do not arrive within
//! `HTTP_HEADER_TIMEOUT` is closed (a slowloris client holds a connection
//! and a task, never the server), every accepted socket gets `TCP_NODELAY`,
//! and each request carries its peer address (`ConnectInfo`, for the
//! per-IP login limit). On shutdown the listener closes first, then open
//! HTTP connections get a grace period to finish.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long open HTTP connections may take to finish after shutdown begins.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// Serve `router` on `listener` until `shutdown` resolves. `prepare` runs
/// on every request before the router (e.g. to copy the request head).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    prepare: fn(axum::extract::Request) -> axum::extract::Request,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors or similar: back off briefly
                    // instead of spinning; the listener stays up.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Signalling messages are small and latency-bound: never let Nagle's
        // algorithm hold one back waiting for the previous one's ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let svc = router
            .clone()
            .map_request(move |req: hyper::Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(remote));
                prepare(req)
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(svc))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "http connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("some HTTP connections were still open after the grace period");
    }
    Ok(())
}

/// The client address of a request served by [`serve`].
pub fn peer_addr(parts: &axum::http::Extensions) -> Option<SocketAddr> {
    parts.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}
