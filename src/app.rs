//! Wiring: shared state, the router (REST + Socket.IO + static web client)
//! with its layers, and the server lifecycle with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};
use axum::response::IntoResponse;
use socketioxide::adapter::{Adapter, Emitter, LocalAdapter};
use socketioxide::layer::SocketIoLayer;
use socketioxide::{SocketIo, SocketIoBuilder};
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::domain::accounts::Accounts;
use crate::domain::calls::{CallPorts, Calls};
use crate::domain::chats::ChatService;
use crate::domain::cluster::Cluster;
use crate::domain::identity::TokenService;
use crate::domain::presence::Presence;
use crate::domain::signalling::{ResumeConfig, Signalling};
use crate::domain::todos::TodoService;
use crate::http::origin::{self, OriginPolicy};
use crate::ports::{NoHooks, Notifier, Publisher};
use crate::realtime::publisher::SocketIoPublisher;
use crate::realtime::webrtc_ns::WebrtcState;
use crate::realtime::{self, session};
use crate::redis::PubSubDriver;
use crate::shared::SharedState;
use crate::state::AppState;
use crate::state::RedisCheck;
use crate::store::{Db, OpenError};
use crate::turn::IceConfig;

/// Errors while starting the server.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No JWT secret configured.
    #[error("JWT secret is not set")]
    NoSecret,
    /// Webhook URLs without a secret, or a URL that is not http(s).
    #[error("webhooks: {0}")]
    Webhooks(String),
    /// Redis (cluster mode) could not be reached or set up.
    #[error("cluster: {0}")]
    Cluster(String),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
}

/// The Socket.IO adapter of cluster mode: packets between nodes go
/// through Redis pub/sub.
pub type ClusterAdapter = socketioxide_redis::CustomRedisAdapter<Emitter, PubSubDriver>;

/// The Socket.IO server, on one node or on a cluster.
#[derive(Clone)]
pub enum Io {
    /// In-process adapter.
    Local(SocketIo),
    /// Redis adapter.
    Cluster(SocketIo<ClusterAdapter>),
}

impl Io {
    /// Log the sockets being closed, then close them.
    async fn close(&self) {
        match self {
            Io::Local(io) => {
                session::log_shutdown_disconnects(io);
                io.close().await;
            }
            Io::Cluster(io) => {
                session::log_shutdown_disconnects(io);
                io.close().await;
            }
        }
    }
}

/// A built application, ready to serve.
pub struct App {
    /// Shared state.
    pub state: AppState,
    /// The Socket.IO server handle.
    pub io: Io,
    /// The webhook outbox, when receivers are configured.
    pub outbox: Option<crate::webhooks::Outbox>,
    router: Router,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl App {
    /// Open the database, build state and the router.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_turn(config, None).await
    }

    /// As [`App::build`], advertising `embedded_turn_url` when no TURN URLs
    /// are configured (the embedded TURN server's address).
    pub async fn build_with_turn(
        config: Config,
        embedded_turn_url: Option<String>,
    ) -> Result<Self, StartError> {
        let secret = config
            .secret
            .jwt_secret
            .clone()
            .ok_or(StartError::NoSecret)?;
        // Install the metrics recorder before anything is counted.
        let _ = crate::telemetry::handle();
        let db = Db::connect(&config.database_url).await?;
        let store = Arc::new(db.clone());
        let ice = IceConfig::new(&config.ice, embedded_turn_url);
        let tokens = Arc::new(TokenService::new(&secret, config.token_ttl));
        let shared = match &config.redis_url {
            Some(url) => SharedState::redis(url, &config)
                .await
                .map_err(|e| StartError::Cluster(e.to_string()))?,
            None => SharedState::local(),
        };
        let local_pub = SocketIoPublisher::<LocalAdapter>::new();
        let cluster_pub = SocketIoPublisher::<ClusterAdapter>::cluster();
        let events: Arc<dyn Publisher> = if shared.cluster.is_some() {
            Arc::new(cluster_pub.clone())
        } else {
            Arc::new(local_pub.clone())
        };
        let locks = shared.locks.clone();
        let outbox = start_webhooks(&config, store.clone()).await?;
        let hooks: Arc<dyn Notifier> = match &outbox {
            Some(o) => Arc::new(o.clone()),
            None => Arc::new(NoHooks),
        };
        let calls = Calls::new(
            CallPorts {
                state: shared.calls.clone(),
                devices: shared.devices.clone(),
                log: store.clone(),
                users: store.clone(),
                locks: locks.clone(),
                publisher: events.clone(),
                hooks: hooks.clone(),
            },
            config.call_ring_timeout,
        );
        let presence = Presence::new(
            shared.presence.clone(),
            locks.clone(),
            store.clone(),
            events.clone(),
        )
        .with_hooks(hooks.clone());
        let signalling = Signalling::new(
            shared.rooms.clone(),
            store.clone(),
            events.clone(),
            config.room_max_peers,
        )
        .with_calls(calls.clone())
        .with_max_rooms(config.max_rooms_per_socket)
        .with_hooks(hooks.clone())
        .with_resume(ResumeConfig {
            slots: shared.slots.clone(),
            locks: locks.clone(),
            window: config.resume_window,
        });
        let cluster = Cluster::new(
            shared.nodes.clone(),
            signalling.clone(),
            calls.clone(),
            presence.clone(),
        );
        let state = AppState {
            accounts: Accounts::new(store.clone(), tokens.clone()),
            todos: TodoService::new(store.clone(), events.clone(), locks.clone()),
            chats: ChatService::new(store.clone(), store.clone(), events.clone(), locks.clone())
                .with_presence(shared.presence.clone()),
            presence,
            calls,
            signalling,
            cluster,
            redis: shared.cluster.as_ref().map(|c| RedisCheck(c.conn.clone())),
            origins: OriginPolicy::new(&config.cors_origins),
            auth_limits: Arc::new(crate::http::rate::AuthLimits::new(
                shared.buckets(config.auth_rate_limit, "auth"),
            )),
            ice: Arc::new(ice),
            tokens,
            db,
            config: Arc::new(config),
        };
        let (router, io, tasks) = match shared.cluster {
            None => {
                let (layer, io) =
                    with_states(realtime::builder(&state.config), &state).build_layer();
                local_pub.attach(io.clone());
                realtime::register(&io);
                (router(state.clone(), layer), Io::Local(io), Vec::new())
            }
            Some(link) => {
                let beat = link.beat();
                let builder =
                    realtime::builder(&state.config).with_adapter::<ClusterAdapter>(link.adapter);
                let (layer, io) = with_states(builder, &state).build_layer();
                cluster_pub.attach(io.clone());
                for init in realtime::register(&io) {
                    init.await.map_err(|e| StartError::Cluster(e.to_string()))?;
                }
                let sweep = state.cluster.start_sweeping(
                    (state.config.node_ttl / 6).max(std::time::Duration::from_millis(50)),
                );
                (
                    router(state.clone(), layer),
                    Io::Cluster(io),
                    vec![beat, sweep],
                )
            }
        };
        Ok(Self {
            state,
            io,
            outbox,
            router,
            tasks,
        })
    }

    /// Serve on `listener` until `shutdown` resolves, then close every
    /// socket and the database.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let io = self.io.clone();
        let db = self.state.db.clone();
        let outbox = self.outbox.clone();
        let cluster = self.state.cluster.clone();
        let clustered = matches!(io, Io::Cluster(_));
        let tasks = self.tasks;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let graceful = async move {
            shutdown.await;
            tracing::info!("shutting down: closing sockets");
            // socketioxide's `close` detaches the namespaces before it closes
            // the transports, so no disconnect handler runs: they are logged
            // here, and in a cluster the node cleans up after its sockets
            // (rooms, presence, calls) before it leaves.
            for t in &tasks {
                t.abort();
            }
            if clustered {
                cluster.leave().await;
            }
            io.close().await;
            let _ = tx.send(());
        };
        crate::serve::serve(
            listener,
            self.router,
            self.state.config.http_header_timeout,
            detach_request_head,
            graceful,
        )
        .await
        .map_err(StartError::Serve)?;
        let _ = rx.await;
        if let Some(o) = outbox {
            o.flush().await;
        }
        db.close().await;
        Ok(())
    }
}

/// Register the narrow states Socket.IO handlers take, one by one.
fn with_states<A: Adapter>(b: SocketIoBuilder<A>, state: &AppState) -> SocketIoBuilder<A> {
    b.with_state(state.tokens.clone())
        .with_state(crate::realtime::admission::Admission::new(
            state.config.max_sockets_per_user,
        ))
        .with_state(crate::realtime::rate::EventQuota::new(
            state.config.rate_limit_events,
        ))
        .with_state(state.chats.clone())
        .with_state(state.presence.clone())
        .with_state(state.cluster.clone())
        .with_state(WebrtcState::from_ref(state))
}

/// Start the webhook outbox when receivers are configured.
async fn start_webhooks(
    config: &Config,
    queue: Arc<Db>,
) -> Result<Option<crate::webhooks::Outbox>, StartError> {
    let w = &config.webhooks;
    let urls: Vec<String> = w
        .urls
        .iter()
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .collect();
    if urls.is_empty() {
        return Ok(None);
    }
    let Some(secret) = w.secret.clone().filter(|s| !s.is_empty()) else {
        return Err(StartError::Webhooks(
            "WEBHOOK_URLS needs WEBHOOK_SECRET".into(),
        ));
    };
    for u in &urls {
        let ok = reqwest::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https"));
        if !ok {
            return Err(StartError::Webhooks(format!("not an http(s) URL: {u}")));
        }
    }
    let mut hooks = crate::webhooks::HookConfig::new(urls, secret);
    hooks.timeout = w.timeout;
    hooks.max_queued = w.queue_max;
    hooks.first_backoff = w.backoff;
    crate::webhooks::Outbox::start(hooks, queue)
        .await
        .map(Some)
        .map_err(|e| StartError::Webhooks(e.to_string()))
}

/// Give the request head (URI and header values) allocations of its own.
///
/// hyper parses a request head into slices of the connection's read buffer
/// (16 KiB once grown), so any clone of the URI or of a header value keeps
/// that whole buffer alive. Engine.IO keeps every session's request head
/// (including axum's `OriginalUri`, inserted by the router before any of
/// its layers run) for the session's lifetime: without this copy each idle
/// websocket pinned its upgrade connection's 16 KiB read buffer.
///
/// A websocket session keeps only the headers it uses: the handshake's and
/// the credentials' (see [`SESSION_HEADERS`]). A browser sends a dozen more
/// (user agent, languages, caches, extensions) that would stay allocated for
/// as long as the socket is open.
fn detach_request_head(mut req: Request) -> Request {
    let uri = req.uri();
    let copied = Uri::try_from(uri.to_string()).unwrap_or_else(|_| uri.clone());
    *req.uri_mut() = copied;
    let websocket_session = realtime::is_engine_io_path(req.uri().path())
        && req
            .headers()
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let headers = std::mem::take(req.headers_mut());
    let kept = |name: &HeaderName| !websocket_session || SESSION_HEADERS.contains(name);
    let mut copied = HeaderMap::with_capacity(headers.keys().filter(|n| kept(n)).count());
    let mut name = None;
    for (next, value) in headers {
        if next.is_some() {
            name = next;
        }
        let Some(name) = name.as_ref() else { continue };
        if !kept(name) {
            continue;
        }
        let mut fresh = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        fresh.set_sensitive(value.is_sensitive());
        copied.append(name.clone(), fresh);
    }
    *req.headers_mut() = copied;
    req
}

/// Headers a websocket session keeps: the upgrade handshake's, the Origin
/// check's, and the credentials the auth middleware reads.
const SESSION_HEADERS: [HeaderName; 8] = [
    header::HOST,
    header::CONNECTION,
    header::UPGRADE,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::ORIGIN,
    header::AUTHORIZATION,
    header::COOKIE,
];

/// Pending connections the kernel queues before `accept` (connect storms).
const LISTEN_BACKLOG: u32 = 4096;

/// Bind `host:port` from the configuration, with a deep accept backlog.
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    let addr = SocketAddr::new(config.host, config.port);
    let bind = || -> std::io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(LISTEN_BACKLOG)
    };
    bind().map_err(|source| StartError::Bind { addr, source })
}

/// A GET for an extension-less path from a client that accepts HTML.
fn wants_client_page(req: &Request) -> bool {
    let last = req.uri().path().rsplit('/').next().unwrap_or_default();
    let accepts_html = req
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    req.method() == axum::http::Method::GET && accepts_html && !last.contains('.')
}

/// 404 in the API's error format.
fn not_found(req: &Request) -> axum::response::Response {
    crate::http::error::ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
    .into_response()
}

fn router<A: Adapter>(state: AppState, io_layer: SocketIoLayer<A>) -> Router {
    let policy = state.origins.clone();
    let mut app = crate::http::routes();
    let web = &state.config.web_dir;
    if web.join("index.html").is_file() {
        let index = web.join("index.html");
        // A browser navigating to a client route gets index.html; anything
        // else that matches no file (a missing asset, an API typo) is a 404.
        let spa_fallback = tower::service_fn(move |req: Request| {
            let index = index.clone();
            async move {
                if !wants_client_page(&req) {
                    return Ok::<_, std::convert::Infallible>(not_found(&req));
                }
                let res = ServeFile::new(index).oneshot(req).await;
                Ok(res
                    .map(IntoResponse::into_response)
                    .unwrap_or_else(|e| match e {}))
            }
        });
        app = app.fallback_service(ServeDir::new(web).fallback(spa_fallback));
    } else {
        app = app
            .route("/", axum::routing::get(crate::http::ops::landing))
            .fallback(|req: Request| async move { not_found(&req) });
    }
    app.with_state(state.clone())
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::http::limits::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(crate::http::limits::limit_body))
        .layer(io_layer)
        .layer(axum::middleware::from_fn(crate::telemetry::track_http))
        .layer(axum::middleware::from_fn_with_state(policy.clone(), origin::enforce))
        .layer(policy.cors_layer())
        .layer(
            // Log method and path only: a query string may carry a token.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(axum::body::Body::empty()).expect("request")
    }

    const BROWSER: [(&str, &str); 7] = [
        ("host", "localhost:3000"),
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("cookie", "access_token=abc"),
        ("user-agent", "Mozilla/5.0"),
        ("accept-language", "ru-RU,ru;q=0.9"),
    ];

    #[test]
    fn websocket_sessions_keep_only_the_headers_they_use() {
        let req = detach_request_head(request("/socket.io/?EIO=4&transport=websocket", &BROWSER));
        let mut kept: Vec<_> = req
            .headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                "connection",
                "cookie",
                "host",
                "sec-websocket-key",
                "upgrade"
            ]
        );
        assert_eq!(req.headers()["cookie"], "access_token=abc");
        assert_eq!(req.uri().query(), Some("EIO=4&transport=websocket"));
    }

    #[test]
    fn other_requests_keep_every_header() {
        for path in [
            "/socket.io/?EIO=4&transport=polling",
            "/socket.io-admin/",
            "/todos",
        ] {
            let mut headers = BROWSER.to_vec();
            if path.contains("polling") {
                headers.retain(|(name, _)| *name != "upgrade");
            }
            let req = detach_request_head(request(path, &headers));
            assert_eq!(req.headers().len(), headers.len(), "{path}");
        }
    }
}
