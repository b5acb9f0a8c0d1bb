//! The shared state, and the narrow pieces handlers take (axum's `FromRef`
//! pattern): a todo route extracts `State<TodoService>`, not everything.
//! Built by [`crate::app`]; the domain never sees this type.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::config::Config;
use crate::domain::accounts::Accounts;
use crate::domain::calls::Calls;
use crate::domain::chats::ChatService;
use crate::domain::cluster::Cluster;
use crate::domain::identity::TokenService;
use crate::domain::presence::Presence;
use crate::domain::signalling::Signalling;
use crate::domain::todos::TodoService;
use crate::http::origin::OriginPolicy;
use crate::http::rate::AuthLimits;
use crate::realtime::webrtc_ns::WebrtcState;
use crate::store::Db;
use crate::turn::IceConfig;

/// State shared by REST and Socket.IO handlers (cheap to clone).
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    /// Resolved configuration.
    pub config: Arc<Config>,
    /// The database (closed on shutdown).
    pub db: Db,
    /// JWT issue/verify.
    pub tokens: Arc<TokenService>,
    /// ICE server lists and TURN credentials.
    pub ice: Arc<IceConfig>,
    /// Registration, login, user lookup.
    pub accounts: Accounts,
    /// Owner-scoped todos.
    pub todos: TodoService,
    /// Chats and messages.
    pub chats: ChatService,
    /// Who is online on `/`.
    pub presence: Presence,
    /// Signalling rooms and relay of `/webrtc`.
    pub signalling: Signalling,
    /// Call invitations and the call log.
    pub calls: Calls,
    /// This node's sockets in the cluster (a no-op on a node alone).
    pub cluster: Cluster,
    /// Cluster mode: the Redis that `/ready` checks.
    pub redis: Option<RedisCheck>,
    /// Browser origins allowed.
    pub origins: OriginPolicy,
    /// Login and registration attempts per IP and e-mail.
    pub auth_limits: Arc<AuthLimits>,
}

impl FromRef<AppState> for WebrtcState {
    fn from_ref(s: &AppState) -> Self {
        WebrtcState {
            signalling: s.signalling.clone(),
            ice: s.ice.clone(),
            calls: s.calls.clone(),
            cluster: s.cluster.clone(),
            reach_by_room: s.redis.is_some(),
        }
    }
}

/// A connection to ping the cluster's Redis with.
#[derive(Clone)]
pub struct RedisCheck(pub ::redis::aio::ConnectionManager);

impl std::fmt::Debug for RedisCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisCheck")
    }
}

impl RedisCheck {
    /// Whether Redis answers `PING` within a second.
    pub async fn ping(&self) -> Result<(), String> {
        let mut conn = self.0.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(std::time::Duration::from_secs(1), ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 1s".into()),
        }
    }
}

/// Cookie settings of `/auth/*` answers.
#[derive(Clone, Copy, Debug)]
pub struct CookiePolicy {
    /// Mark the cookie `Secure`.
    pub secure: bool,
}

impl FromRef<AppState> for CookiePolicy {
    fn from_ref(s: &AppState) -> Self {
        CookiePolicy {
            secure: s.config.cookie_secure,
        }
    }
}
