//! ICE servers for clients: STUN URLs and TURN URLs with time-limited
//! credentials in the TURN REST scheme (coturn `use-auth-secret`):
//! username `<expiry-unix>:<userId>`, credential
//! `base64(HMAC-SHA1(secret, username))`.

pub mod server;

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::config::IceArgs;
pub use crate::wire::http::{IceServer, IceServers};

/// Hands out ICE server lists.
#[derive(Debug, Clone)]
pub struct IceConfig {
    stun_urls: Vec<String>,
    turn_urls: Vec<String>,
    turn_secret: Option<String>,
    ttl: Duration,
}

impl IceConfig {
    /// From the configuration. `embedded_turn_url` is the embedded TURN
    /// server's URL when it runs and no TURN URLs were configured.
    pub fn new(args: &IceArgs, embedded_turn_url: Option<String>) -> Self {
        let mut turn_urls = args.turn_urls.clone();
        if turn_urls.is_empty() {
            turn_urls.extend(embedded_turn_url);
        }
        Self {
            stun_urls: args.stun_urls.clone(),
            turn_urls,
            turn_secret: args.turn_secret.clone(),
            ttl: args.turn_ttl,
        }
    }

    /// ICE servers for `user_id`, with TURN credentials when TURN is configured.
    pub fn for_user(&self, user_id: &str) -> IceServers {
        let mut ice_servers = Vec::new();
        if !self.stun_urls.is_empty() {
            ice_servers.push(IceServer {
                urls: self.stun_urls.clone(),
                username: None,
                credential: None,
            });
        }
        if let (Some(secret), false) = (&self.turn_secret, self.turn_urls.is_empty()) {
            let expiry = chrono::Utc::now().timestamp() + self.ttl.as_secs() as i64;
            let (username, credential) = turn_credentials(secret, expiry, user_id);
            ice_servers.push(IceServer {
                urls: self.turn_urls.clone(),
                username: Some(username),
                credential: Some(credential),
            });
        }
        IceServers {
            ice_servers,
            ttl: self.ttl.as_secs(),
        }
    }
}

/// TURN REST credentials valid until `expiry` (unix seconds).
pub fn turn_credentials(secret: &str, expiry: i64, user_id: &str) -> (String, String) {
    let username = format!("{expiry}:{user_id}");
    (username.clone(), turn_password(secret, &username))
}

/// `base64(HMAC-SHA1(secret, username))`.
pub fn turn_password(secret: &str, username: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_style_credentials() {
        // Reference value computed with coturn's documented recipe:
        // echo -n "1700000000:alice" | openssl dgst -binary -sha1 -hmac secret | base64
        let (u, c) = turn_credentials("secret", 1_700_000_000, "alice");
        assert_eq!(u, "1700000000:alice");
        assert_eq!(c, "d8soP47RbdIKLDUOpnJPVQyq5Ts=");
        assert_ne!(c, turn_password("other", "1700000000:alice"));
    }
}
