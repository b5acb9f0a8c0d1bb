//! Login and registration attempts (`AUTH_RATE_LIMIT`, default 10 a minute)
//! per client IP and per e-mail, in token buckets ([`Buckets`]: governor's
//! keyed limiter on one node, a Lua script in Redis shared by a cluster). A refused
//! attempt is answered 429 with `Retry-After` before any password is
//! hashed or checked.

use std::net::IpAddr;

use std::sync::Arc;

use super::error::ApiError;
use crate::config::{Config, IpNet};
use crate::ports::Buckets;

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

/// Login and registration attempts per IP and per e-mail, in buckets that
/// every node shares in cluster mode.
#[derive(Debug, Clone)]
pub struct AuthLimits {
    buckets: Arc<dyn Buckets>,
}

impl AuthLimits {
    /// One bucket per IP (`ip:<address>`) and one per e-mail
    /// (`email:<folded address>`) in `buckets`.
    pub fn new(buckets: Arc<dyn Buckets>) -> Self {
        Self { buckets }
    }

    /// Count one attempt from `ip` for `email`; `RateLimited` when either
    /// is over its limit. (The IP's token is spent even when the e-mail is
    /// refused, so spraying many e-mails from one IP is limited too.)
    pub async fn attempt(&self, ip: Option<IpAddr>, email: &str) -> Result<(), ApiError> {
        if let Some(ip) = ip {
            self.take(&format!("ip:{ip}")).await?;
        }
        self.take(&format!("email:{}", email.trim().to_lowercase()))
            .await
    }

    async fn take(&self, key: &str) -> Result<(), ApiError> {
        match self.buckets.take(key).await {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(ApiError::RateLimited(
                wait.as_secs_f64().ceil().max(1.0) as u64
            )),
            Err(e) => Err(ApiError::Internal(format!("auth rate limit: {e}"))),
        }
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

    #[tokio::test]
    async fn ip_and_email_are_limited_apart() {
        let rate = crate::config::Rate::parse("2/min").expect("rate");
        let limits = AuthLimits::new(Arc::new(crate::memory::MemoryBuckets::new(rate.bucket())));
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        assert!(limits.attempt(Some(ip), "a@x.io").await.is_ok());
        assert!(limits.attempt(Some(ip), "b@x.io").await.is_ok());
        assert!(matches!(
            limits.attempt(Some(ip), "c@x.io").await,
            Err(ApiError::RateLimited(s)) if s >= 1
        ));
        assert!(
            limits.attempt(Some(other), "A@x.io ").await.is_ok(),
            "same e-mail, folded"
        );
        assert!(
            limits.attempt(Some(other), "a@x.io").await.is_err(),
            "e-mail over"
        );
    }
}
