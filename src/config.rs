//! Runtime configuration: every option is a command-line flag with an
//! environment-variable twin (flags win), parsed with clap.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Default browser origins allowed to talk to the server (Vite dev server and
/// the server's own default origin).
pub const DEFAULT_CORS_ORIGINS: &str =
    "http://localhost:5173,http://127.0.0.1:5173,http://localhost:3000,http://127.0.0.1:3000";

/// Options of `switchboard serve` (the server configuration).
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    #[command(flatten)]
    pub secret: SecretArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    /// Database URL (`sqlite://file.db` or `sqlite::memory:`).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://switchboard.db")]
    pub database_url: String,
    /// Redis URL (`redis://host:port`, Redis 7 or later): turns on cluster
    /// mode, where every node shares rooms, presence and calls through it.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel (several clusters may share one Redis).
    #[arg(long, env = "REDIS_PREFIX", default_value = "sb:")]
    pub redis_prefix: String,
    /// In cluster mode: how soon the other nodes notice that a node died
    /// and clean up after it, e.g. `15s`.
    #[arg(long, env = "NODE_TTL", default_value = "15s", value_parser = parse_duration)]
    pub node_ttl: Duration,
    /// Comma-separated list of allowed browser origins.
    #[arg(long, env = "CORS_ORIGINS", default_value = DEFAULT_CORS_ORIGINS, value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Maximum peers in one signalling room.
    #[arg(long, env = "ROOM_MAX_PEERS", default_value_t = 16)]
    pub room_max_peers: usize,
    /// Most signalling rooms one `/webrtc` socket may be in at once.
    #[arg(long, env = "MAX_ROOMS_PER_SOCKET", default_value_t = 32)]
    pub max_rooms_per_socket: usize,
    /// Most sockets one user may have open per namespace on this node.
    #[arg(long, env = "MAX_SOCKETS_PER_USER", default_value_t = 32)]
    pub max_sockets_per_user: usize,
    /// Events one socket may send, all events together: `200/s` (burst twice
    /// the rate), or with an explicit burst, `200/s:400`.
    #[arg(long, env = "RATE_LIMIT_EVENTS", default_value = "200/s:400", value_parser = Rate::parse)]
    pub rate_limit_events: Rate,
    /// Login and registration attempts per client IP and per e-mail: `10/min`.
    #[arg(long, env = "AUTH_RATE_LIMIT", default_value = "10/min", value_parser = Rate::parse)]
    pub auth_rate_limit: Rate,
    /// Proxies (addresses or CIDR ranges, comma list) whose
    /// `X-Forwarded-For` names the client, e.g. `127.0.0.1` behind a local
    /// nginx. Without it the TCP peer is the client.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = IpNet::parse)]
    pub trusted_proxies: Vec<IpNet>,
    /// Bearer token `GET /metrics` requires (open when unset).
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// How long a client may take to send a request's headers.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub http_header_timeout: Duration,
    /// How long a resumable room slot is held after its socket drops, e.g. `15s`.
    #[arg(long, env = "RESUME_WINDOW", default_value = "15s", value_parser = parse_duration)]
    pub resume_window: Duration,
    /// How long a call invitation rings before it times out, e.g. `30s`.
    #[arg(long, env = "CALL_RING_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub call_ring_timeout: Duration,
    /// Lifetime of tokens issued by /auth/login and /auth/register, e.g. `24h`, `30m`.
    #[arg(long, env = "TOKEN_TTL", default_value = "24h", value_parser = parse_duration)]
    pub token_ttl: Duration,
    /// How often the server pings each Socket.IO client, e.g. `25s`, `500ms`.
    #[arg(long, env = "PING_INTERVAL", default_value = "25s", value_parser = parse_heartbeat)]
    pub ping_interval: Duration,
    /// How long a client has to answer a ping before it is disconnected.
    #[arg(long, env = "PING_TIMEOUT", default_value = "20s", value_parser = parse_heartbeat)]
    pub ping_timeout: Duration,
    /// Directory with the built web client (served at `/`); ignored when missing.
    #[arg(long, env = "WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
    /// Mark the auth cookie `Secure` (set behind HTTPS).
    #[arg(long, env = "COOKIE_SECURE", default_value_t = false)]
    pub cookie_secure: bool,
    #[command(flatten)]
    pub ice: IceArgs,
}

/// The JWT signing secret, shared by `serve` and `token`.
#[derive(Debug, Clone, Args)]
pub struct SecretArgs {
    /// HS256 secret for JWTs. When unset a random one is generated (dev only).
    #[arg(long = "jwt-secret", env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
}

/// Webhook receivers.
#[derive(Debug, Clone, Args, Default)]
pub struct WebhookArgs {
    /// Comma-separated URLs that get every webhook event (none: webhooks off).
    #[arg(long = "webhook-urls", env = "WEBHOOK_URLS", value_delimiter = ',')]
    pub urls: Vec<String>,
    /// HMAC-SHA256 key the deliveries are signed with (required with URLs).
    #[arg(
        long = "webhook-secret",
        env = "WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// How long a receiver has to answer before the delivery is retried.
    #[arg(long = "webhook-timeout", env = "WEBHOOK_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Delay before the first retry of a failed delivery; each next one
    /// doubles, up to 5 minutes, for up to an hour.
    #[arg(long = "webhook-backoff", env = "WEBHOOK_BACKOFF", default_value = "1s", value_parser = parse_duration)]
    pub backoff: Duration,
    /// Most deliveries queued (over all receivers); newer events are dropped.
    #[arg(
        long = "webhook-queue-max",
        env = "WEBHOOK_QUEUE_MAX",
        default_value_t = 100_000
    )]
    pub queue_max: u64,
}

/// ICE servers handed to clients, and the embedded TURN server.
#[derive(Debug, Clone, Args)]
pub struct IceArgs {
    /// Comma-separated STUN URLs handed to clients (empty for none).
    #[arg(
        long,
        env = "STUN_URLS",
        default_value = "stun:stun.l.google.com:19302",
        value_delimiter = ','
    )]
    pub stun_urls: Vec<String>,
    /// Comma-separated TURN URLs handed to clients with time-limited credentials.
    /// With `--turn` and no URLs, the embedded server's URL is used.
    #[arg(long, env = "TURN_URLS", value_delimiter = ',')]
    pub turn_urls: Vec<String>,
    /// TURN REST shared secret (coturn `static-auth-secret`).
    #[arg(long, env = "TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,
    /// Lifetime of TURN credentials, e.g. `1h`.
    #[arg(long, env = "TURN_TTL", default_value = "1h", value_parser = parse_duration)]
    pub turn_ttl: Duration,
    /// Start the embedded TURN server.
    #[arg(long, env = "TURN_ENABLED", default_value_t = false)]
    pub turn: bool,
    /// UDP address the embedded TURN server listens on.
    #[arg(long, env = "TURN_LISTEN", default_value = "0.0.0.0:3478")]
    pub turn_listen: std::net::SocketAddr,
    /// Public IP the embedded TURN server advertises for relayed candidates.
    #[arg(long, env = "TURN_RELAY_IP", default_value = "127.0.0.1")]
    pub turn_relay_ip: IpAddr,
    /// TURN realm.
    #[arg(long, env = "TURN_REALM", default_value = "switchboard")]
    pub turn_realm: String,
}

impl IceArgs {
    /// Drop empty entries that `A=""` style environment values produce.
    pub fn normalized(mut self) -> Self {
        self.stun_urls.retain(|u| !u.trim().is_empty());
        self.turn_urls.retain(|u| !u.trim().is_empty());
        self
    }
}

/// An address or a CIDR range (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `a.b.c.d`, `a.b.c.d/n`, or the IPv6 forms.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{raw}` is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{raw}`: the prefix must be 0-{max}"))?,
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u32) {
            match ip {
                IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
                IpAddr::V6(v) => match v.to_ipv4_mapped() {
                    Some(v4) => (u128::from(u32::from(v4)), 32),
                    None => (u128::from(v), 128),
                },
            }
        }
        let (net, width) = bits(self.addr);
        let (ip, ip_width) = bits(ip);
        if width != ip_width {
            return false;
        }
        let host = width - u32::from(self.prefix.min(width as u8));
        if host >= 128 {
            return true;
        }
        (net >> host) == (ip >> host)
    }
}

/// A token-bucket rate: `count` per `period`, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens per period.
    pub count: u32,
    /// The period.
    pub period: Duration,
    /// Bucket size.
    pub burst: u32,
}

impl Rate {
    /// `count` per second with a bucket of `burst`.
    pub fn per_second(count: u32, burst: u32) -> Self {
        Self {
            count,
            period: Duration::from_secs(1),
            burst,
        }
    }

    /// This rate as the token buckets of [`crate::ports::Buckets`] take it.
    pub fn bucket(&self) -> crate::ports::BucketRate {
        crate::ports::BucketRate::new(self.count, self.period, self.burst)
    }

    /// The governor quota of this rate (one token every `period / count`,
    /// a bucket of `burst`).
    pub fn quota(&self) -> governor::Quota {
        crate::memory::buckets::quota(self.bucket())
    }

    /// Parse `200/s`, `10/min`, `1000/h`, optionally `:<burst>` (`200/s:400`).
    /// Without a burst it is twice the count per second for `/s` and the
    /// count itself otherwise.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid rate `{s}` (use e.g. 200/s, 200/s:400, 10/min)");
        let (rate, burst) = match s.trim().split_once(':') {
            Some((r, b)) => (r, Some(b.trim().parse::<u32>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let (count, unit) = rate.split_once('/').ok_or_else(bad)?;
        let count = count.trim().parse::<u32>().map_err(|_| bad())?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if count == 0 || burst == Some(0) {
            return Err(format!("`{s}`: a rate must allow at least one"));
        }
        let burst = burst.unwrap_or(if period.as_secs() == 1 {
            count.saturating_mul(2)
        } else {
            count
        });
        Ok(Self {
            count,
            period,
            burst,
        })
    }
}

/// Parse `90s`, `30m`, `1h`, `7d` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| format!("invalid duration `{s}` (use e.g. 500ms, 90s, 30m, 1h, 7d)"));
    }
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86_400),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .map(|n| Duration::from_secs(n * mult))
        .map_err(|_| format!("invalid duration `{s}` (use e.g. 500ms, 90s, 30m, 1h, 7d)"))
}

/// A heartbeat period: a duration from 100ms to 1h.
pub fn parse_heartbeat(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(100) || d > Duration::from_secs(3600) {
        return Err(format!("`{s}` is out of range (100ms to 1h)"));
    }
    Ok(d)
}

impl Config {
    /// A configuration for tests and embedding: loopback, port 0, in-memory
    /// database, the given secret, no STUN/TURN, defaults elsewhere.
    pub fn local(jwt_secret: &str) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            secret: SecretArgs {
                jwt_secret: Some(jwt_secret.to_owned()),
            },
            webhooks: WebhookArgs {
                urls: Vec::new(),
                secret: None,
                timeout: Duration::from_secs(5),
                backoff: Duration::from_secs(1),
                queue_max: 100_000,
            },
            database_url: "sqlite::memory:".into(),
            redis_url: None,
            redis_prefix: "sb:".into(),
            node_ttl: Duration::from_secs(15),
            cors_origins: DEFAULT_CORS_ORIGINS.split(',').map(str::to_owned).collect(),
            room_max_peers: 16,
            call_ring_timeout: Duration::from_secs(30),
            resume_window: Duration::from_secs(15),
            max_rooms_per_socket: 32,
            max_sockets_per_user: 32,
            rate_limit_events: Rate::per_second(200, 400),
            // Tests register many users from one address; the limit's own
            // test sets the production default.
            auth_rate_limit: Rate {
                count: 100_000,
                period: Duration::from_secs(60),
                burst: 100_000,
            },
            trusted_proxies: Vec::new(),
            metrics_token: None,
            http_header_timeout: Duration::from_secs(10),
            token_ttl: Duration::from_secs(86_400),
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            web_dir: PathBuf::from("web/dist"),
            cookie_secure: false,
            ice: IceArgs {
                stun_urls: Vec::new(),
                turn_urls: Vec::new(),
                turn_secret: None,
                turn_ttl: Duration::from_secs(3600),
                turn: false,
                turn_listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                turn_relay_ip: IpAddr::from([127, 0, 0, 1]),
                turn_realm: "switchboard".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("5xms").is_err());
        assert_eq!(parse_heartbeat("300ms"), Ok(Duration::from_millis(300)));
        assert!(parse_heartbeat("10ms").is_err());
        assert!(parse_heartbeat("2h").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(Rate::parse("200/s"), Ok(Rate::per_second(200, 400)));
        assert_eq!(Rate::parse("200/s:250"), Ok(Rate::per_second(200, 250)));
        let min = Rate::parse("10/min").expect("rate");
        assert_eq!(
            (min.count, min.period, min.burst),
            (10, Duration::from_secs(60), 10)
        );
        for bad in ["", "10", "0/s", "10/week", "x/s", "10/s:0", "10/s:x"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }
}
