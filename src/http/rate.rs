//! Login and registration attempts (`AUTH_RATE_LIMIT`, default 10 a minute)
//! per client IP and per e-mail, with governor's keyed limiters. A refused
//! attempt is answered 429 with `Retry-After` before any password is
//! hashed or checked.

use std::net::IpAddr;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use super::error::ApiError;
use crate::config::Rate;

/// The client's address as the server saw it (a proxy's address behind
/// one: see the README on deployment).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            crate::serve::peer_addr(&parts.extensions).map(|a| a.ip()),
        ))
    }
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
