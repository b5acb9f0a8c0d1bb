//! Login and registration attempts (`AUTH_RATE_LIMIT`, default 10 a minute)
//! per client IP and per e-mail, with governor's keyed limiters. A refused
//! attempt is answered 429 with `Retry-After` before any password is
//! hashed or checked.

use std::net::IpAddr;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use std::sync::Arc;

use super::error::ApiError;
use crate::config::{Config, IpNet, Rate};

/// The client's address: the TCP peer, or, when the peer is one of
/// `TRUSTED_PROXIES`, the nearest address in `X-Forwarded-For` that is not
/// a trusted proxy (what a client writes there itself is never believed).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp
where
    Arc<Config>: axum::extract::FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let config: Arc<Config> = axum::extract::FromRef::from_ref(state);
        let peer = crate::serve::peer_addr(&parts.extensions).map(|a| a.ip());
        Ok(ClientIp(peer.map(|p| {
            client_ip(p, &parts.headers, &config.trusted_proxies)
        })))
    }
}

/// The client behind `peer` (see [`ClientIp`]).
pub fn client_ip(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    // Right to left: each trusted proxy appended the address it saw.
    hops.iter()
        .rev()
        .copied()
        .find(|ip| !is_trusted(*ip))
        .or_else(|| hops.first().copied())
        .unwrap_or(peer)
}

/// Keys kept before idle ones are swept.
const SWEEP_ABOVE: usize = 10_000;

/// The two keyed buckets.
#[derive(Debug)]
pub struct AuthLimits {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_email: DefaultKeyedRateLimiter<String>,
}

impl AuthLimits {
    /// `rate` for each IP and each e-mail.
    pub fn new(rate: Rate) -> Self {
        let quota = rate.quota();
        Self {
            by_ip: RateLimiter::keyed(quota),
            by_email: RateLimiter::keyed(quota),
        }
    }

    /// Count one attempt from `ip` for `email`; `RateLimited` when either
    /// is over its limit. (The IP's token is spent even when the e-mail is
    /// refused, so spraying many e-mails from one IP is limited too.)
    pub fn attempt(&self, ip: Option<IpAddr>, email: &str) -> Result<(), ApiError> {
        let now = DefaultClock::default().now();
        let wait = |e: governor::NotUntil<_>| {
            ApiError::RateLimited(e.wait_time_from(now).as_secs().max(1))
        };
        if self.by_ip.len() > SWEEP_ABOVE {
            self.by_ip.retain_recent();
        }
        if self.by_email.len() > SWEEP_ABOVE {
            self.by_email.retain_recent();
        }
        if let Some(ip) = ip {
            self.by_ip.check_key(&ip).map_err(wait)?;
        }
        let email = email.trim().to_lowercase();
        self.by_email.check_key(&email).map_err(wait)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = [127, 0, 0, 1].into();
        let trusted = [
            IpNet::parse("127.0.0.1").expect("net"),
            IpNet::parse("10.0.0.0/8").expect("net"),
        ];
        let client: IpAddr = [203, 0, 113, 5].into();
        assert_eq!(client_ip(proxy, &xff("203.0.113.5"), &trusted), client);
        // A client's own forged entry is left of what the proxies appended.
        assert_eq!(
            client_ip(proxy, &xff("1.2.3.4, 203.0.113.5, 10.1.2.3"), &trusted),
            client
        );
        assert_eq!(
            client_ip(client, &xff("1.2.3.4"), &trusted),
            client,
            "untrusted peer"
        );
        assert_eq!(
            client_ip(proxy, &xff("1.2.3.4"), &[]),
            proxy,
            "nothing trusted"
        );
        assert_eq!(client_ip(proxy, &xff("garbage"), &trusted), proxy);
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(
            IpNet::parse("::1")
                .expect("v6")
                .contains("::1".parse().expect("ip"))
        );
        assert!(IpNet::parse("0.0.0.0/0").expect("all").contains(client));
    }

    #[test]
    fn ip_and_email_are_limited_apart() {
        let limits = AuthLimits::new(Rate::parse("2/min").expect("rate"));
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        assert!(limits.attempt(Some(ip), "a@x.io").is_ok());
        assert!(limits.attempt(Some(ip), "b@x.io").is_ok());
        assert!(matches!(
            limits.attempt(Some(ip), "c@x.io"),
            Err(ApiError::RateLimited(s)) if s >= 1
        ));
        assert!(
            limits.attempt(Some(other), "A@x.io ").is_ok(),
            "same e-mail, folded"
        );
        assert!(
            limits.attempt(Some(other), "a@x.io").is_err(),
            "e-mail over"
        );
    }
}
