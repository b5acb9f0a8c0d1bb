//! Embedded TURN server (RFC 5766 over UDP) built on the webrtc-rs `turn` crate.
//!
//! It authenticates with the TURN REST shared-secret scheme that
//! `GET /ice-servers` mints credentials for: the username is
//! `<expiry-unix>:<userId>` and the password is
//! `base64(HMAC-SHA1(secret, username))`. An expired username, a username of
//! another shape or a password that does not match the HMAC is refused.
//!
//! Relayed traffic goes through [`PeerFilterConn`], which refuses to send to
//! loopback, unspecified, multicast, broadcast and link-local peers (cloud
//! metadata lives at 169.254.169.254) unless [`TurnServerConfig::allow_loopback_peers`]
//! is set: a TURN server that relays to its own host's services is an open
//! door into them.

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::turn::auth::{AuthHandler, generate_auth_key};
use ::turn::relay::RelayAddressGenerator;
use ::turn::server::Server;
use ::turn::server::config::{ConnConfig, ServerConfig};
use async_trait::async_trait;
use tokio::net::UdpSocket;
use webrtc_util::Conn;

/// Settings for [`TurnServer::start`].
#[derive(Clone, Debug)]
pub struct TurnServerConfig {
    /// UDP address the TURN server listens on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// IP address announced to clients as the relayed address
    /// (the server's public IP in production, 127.0.0.1 in tests).
    pub relay_ip: IpAddr,
    /// Local IP the relay sockets bind to (usually `0.0.0.0`, or the same
    /// address as `relay_ip` when that is a local address).
    pub relay_bind: IpAddr,
    /// Inclusive UDP port range for relay sockets; `None` lets the OS pick.
    pub relay_ports: Option<(u16, u16)>,
    /// Realm announced in 401 answers.
    pub realm: String,
    /// TURN REST shared secret (the same one `/ice-servers` signs with).
    pub secret: String,
    /// Relay to loopback peers as well (tests on one host need it; keep it
    /// off in production).
    pub allow_loopback_peers: bool,
}

impl TurnServerConfig {
    /// The embedded server as `switchboard serve --turn` configures it:
    /// listens on `--turn-listen`, binds relays on the same IP, announces
    /// `--turn-relay-ip`, signs with `TURN_SECRET`. Loopback peers are allowed
    /// only when the relay address itself is loopback (local development and
    /// tests, where every peer is on this host).
    pub fn from_ice_args(args: &crate::config::IceArgs) -> Result<Self, TurnServerError> {
        let secret = args
            .turn_secret
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or(TurnServerError::MissingSecret)?;
        if args.turn_relay_ip.is_unspecified() {
            return Err(TurnServerError::UnspecifiedRelayIp);
        }
        Ok(Self {
            listen: args.turn_listen,
            relay_ip: args.turn_relay_ip,
            relay_bind: args.turn_listen.ip(),
            relay_ports: None,
            realm: args.turn_realm.clone(),
            secret,
            allow_loopback_peers: args.turn_relay_ip.is_loopback(),
        })
    }

    /// A server on `127.0.0.1` relaying on `127.0.0.1`, for tests and local development.
    pub fn loopback(port: u16, secret: impl Into<String>) -> Self {
        let lo = IpAddr::from([127, 0, 0, 1]);
        Self {
            listen: SocketAddr::new(lo, port),
            relay_ip: lo,
            relay_bind: lo,
            relay_ports: None,
            realm: "switchboard".to_owned(),
            secret: secret.into(),
            allow_loopback_peers: true,
        }
    }
}

/// Errors that stop the embedded TURN server from starting or closing.
#[derive(Debug, thiserror::Error)]
pub enum TurnServerError {
    #[error("TURN secret must not be empty")]
    EmptySecret,
    #[error("the embedded TURN server (--turn) needs TURN_SECRET (--turn-secret)")]
    MissingSecret,
    #[error("--turn-relay-ip must be an address clients can reach, not 0.0.0.0 or ::")]
    UnspecifiedRelayIp,
    #[error("invalid TURN relay port range {0}-{1}")]
    InvalidPortRange(u16, u16),
    #[error("cannot bind TURN listener on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("TURN server: {0}")]
    Turn(#[from] ::turn::Error),
}

/// A running embedded TURN server. Dropping it stops it; [`TurnServer::close`]
/// also waits until the listener is closed.
pub struct TurnServer {
    server: Server,
    local_addr: SocketAddr,
    relay_ip: IpAddr,
}

impl TurnServer {
    /// Binds the UDP listener and starts serving.
    pub async fn start(config: TurnServerConfig) -> Result<Self, TurnServerError> {
        if config.secret.is_empty() {
            return Err(TurnServerError::EmptySecret);
        }
        if let Some((min, max)) = config.relay_ports
            && (min == 0 || max < min)
        {
            return Err(TurnServerError::InvalidPortRange(min, max));
        }
        let socket =
            UdpSocket::bind(config.listen)
                .await
                .map_err(|source| TurnServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = socket
            .local_addr()
            .map_err(|source| TurnServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let server = Server::new(ServerConfig {
            conn_configs: vec![ConnConfig {
                conn: Arc::new(socket),
                relay_addr_generator: Box::new(FilteredRelayGenerator {
                    relay_ip: config.relay_ip,
                    relay_bind: config.relay_bind,
                    relay_ports: config.relay_ports,
                    allow_loopback_peers: config.allow_loopback_peers,
                }),
            }],
            realm: config.realm.clone(),
            auth_handler: Arc::new(RestAuthHandler::new(config.secret)),
            channel_bind_timeout: Duration::from_secs(0),
            alloc_close_notify: None,
        })
        .await?;
        tracing::info!(%local_addr, relay_ip = %config.relay_ip, "TURN server listening (udp)");
        Ok(Self {
            server,
            local_addr,
            relay_ip: config.relay_ip,
        })
    }

    /// The UDP address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients use: `turn:<relay-ip>:<port>?transport=udp`.
    pub fn url(&self) -> String {
        let host = match self.relay_ip {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        format!("turn:{host}:{}?transport=udp", self.local_addr.port())
    }

    /// Stops the server and closes every allocation.
    pub async fn close(&self) -> Result<(), TurnServerError> {
        self.server.close().await?;
        Ok(())
    }
}

/// Checks `<expiry-unix>:<userId>` usernames against the shared secret.
pub struct RestAuthHandler {
    secret: String,
}

impl RestAuthHandler {
    pub fn new(secret: String) -> Self {
        Self { secret }
    }
}

impl AuthHandler for RestAuthHandler {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        src_addr: SocketAddr,
    ) -> Result<Vec<u8>, ::turn::Error> {
        let refuse = |why: &str| {
            tracing::info!(%src_addr, reason = why, "TURN credential refused");
            Err(::turn::Error::Other(format!(
                "TURN credential refused: {why}"
            )))
        };
        let Some((expiry, user_id)) = username.split_once(':') else {
            return refuse("username is not <expiry>:<userId>");
        };
        let Ok(expiry) = expiry.parse::<u64>() else {
            return refuse("username expiry is not a unix time");
        };
        if user_id.is_empty() {
            return refuse("username has no user id");
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(u64::MAX);
        if expiry <= now {
            return refuse("credential expired");
        }
        // The key is derived from the expected password: a client that signs
        // with another password fails the MESSAGE-INTEGRITY check.
        let password = super::turn_password(&self.secret, username);
        Ok(generate_auth_key(username, realm, &password))
    }
}

/// Allocates relay sockets and wraps them in [`PeerFilterConn`].
struct FilteredRelayGenerator {
    relay_ip: IpAddr,
    relay_bind: IpAddr,
    relay_ports: Option<(u16, u16)>,
    allow_loopback_peers: bool,
}

impl FilteredRelayGenerator {
    async fn bind(&self, port: u16) -> std::io::Result<UdpSocket> {
        UdpSocket::bind(SocketAddr::new(self.relay_bind, port)).await
    }
}

#[async_trait]
impl RelayAddressGenerator for FilteredRelayGenerator {
    fn validate(&self) -> Result<(), ::turn::Error> {
        Ok(())
    }

    async fn allocate_conn(
        &self,
        use_ipv4: bool,
        requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), ::turn::Error> {
        if use_ipv4 != self.relay_bind.is_ipv4() {
            return Err(::turn::Error::Other(
                "requested address family is not served".to_owned(),
            ));
        }
        let socket = match (requested_port, self.relay_ports) {
            (0, Some((min, max))) => {
                let mut bound = None;
                for _ in 0..16 {
                    let port = rand::Rng::gen_range(&mut rand::thread_rng(), min..=max);
                    if let Ok(s) = self.bind(port).await {
                        bound = Some(s);
                        break;
                    }
                }
                bound.ok_or_else(|| {
                    ::turn::Error::Other("no free relay port in the configured range".to_owned())
                })?
            }
            (port, _) => self
                .bind(port)
                .await
                .map_err(|e| ::turn::Error::Other(format!("relay bind failed: {e}")))?,
        };
        let mut relay_addr = socket
            .local_addr()
            .map_err(|e| ::turn::Error::Other(format!("relay address: {e}")))?;
        relay_addr.set_ip(self.relay_ip);
        let conn = PeerFilterConn {
            inner: socket,
            allow_loopback_peers: self.allow_loopback_peers,
        };
        Ok((Arc::new(conn), relay_addr))
    }
}

/// Whether the relay may send to `ip`.
pub fn peer_allowed(ip: IpAddr, allow_loopback_peers: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                return allow_loopback_peers;
            }
            !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() || v4.is_link_local())
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return peer_allowed(IpAddr::V4(v4), allow_loopback_peers);
            }
            if v6.is_loopback() {
                return allow_loopback_peers;
            }
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !(v6.is_unspecified() || v6.is_multicast() || link_local)
        }
    }
}

/// A relay socket that drops datagrams to peers the policy refuses.
struct PeerFilterConn {
    inner: UdpSocket,
    allow_loopback_peers: bool,
}

#[async_trait]
impl Conn for PeerFilterConn {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        if !peer_allowed(addr.ip(), self.allow_loopback_peers) {
            return Err(webrtc_util::Error::Other(format!(
                "relay to {} refused",
                addr.ip()
            )));
        }
        Ok(self.inner.connect(addr).await?)
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.inner.recv(buf).await?)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        Ok(self.inner.recv_from(buf).await?)
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        Ok(self.inner.send(buf).await?)
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if !peer_allowed(target.ip(), self.allow_loopback_peers) {
            tracing::debug!(peer = %target.ip(), "TURN relay to refused peer dropped");
            return Err(webrtc_util::Error::Other(format!(
                "relay to {} refused",
                target.ip()
            )));
        }
        Ok(self.inner.send_to(buf, target).await?)
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.inner.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::turn_password;

    #[test]
    fn auth_refuses_expired_and_malformed_usernames() {
        let h = RestAuthHandler::new("s3cret".into());
        let src: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(h.auth_handle("1:user", "r", src).is_err());
        assert!(h.auth_handle("user", "r", src).is_err());
        assert!(h.auth_handle("notanumber:user", "r", src).is_err());
        assert!(h.auth_handle("99999999999:", "r", src).is_err());
        let key = h.auth_handle("99999999999:user", "r", src).unwrap();
        assert_eq!(
            key,
            generate_auth_key(
                "99999999999:user",
                "r",
                &turn_password("s3cret", "99999999999:user")
            )
        );
    }

    #[test]
    fn peer_policy() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(!peer_allowed(lo, false));
        assert!(peer_allowed(lo, true));
        assert!(!peer_allowed("169.254.169.254".parse().unwrap(), true));
        assert!(!peer_allowed("0.0.0.0".parse().unwrap(), true));
        assert!(!peer_allowed("::ffff:127.0.0.1".parse().unwrap(), false));
        assert!(peer_allowed("203.0.113.7".parse().unwrap(), false));
    }
}
