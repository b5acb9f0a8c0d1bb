//! How many sockets each user has open per namespace on this node, and the
//! cap on it (`MAX_SOCKETS_PER_USER`): a handshake over the cap is refused
//! with `connect_error` `too_many_connections: …`.
//!
//! An admitted socket carries a [`Seat`] in its extensions; the seat is
//! given back when the socket disconnects (and, should that never run, when
//! the socket is dropped).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::wire::UserId;

/// Open sockets per (namespace, user) on this node.
#[derive(Debug)]
pub struct Admission {
    max: usize,
    open: Mutex<HashMap<(String, UserId), usize>>,
}

/// One admitted socket's place; [`Seat::release`] (or drop) gives it back.
#[derive(Debug)]
pub struct Seat {
    admission: Arc<Admission>,
    key: (String, UserId),
    released: AtomicBool,
}

/// The user already has the most sockets allowed in this namespace.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too_many_connections: at most {0} sockets per user")]
pub struct TooMany(pub usize);

impl Admission {
    /// At most `max` sockets per user and namespace.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<(String, UserId), usize>) -> R) -> R {
        let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Take a seat for a socket of `user` in `ns`, unless they have `max`.
    pub fn admit(self: &Arc<Self>, ns: &str, user: &UserId) -> Result<Seat, TooMany> {
        let key = (ns.to_owned(), user.clone());
        self.with(|m| {
            let n = m.entry(key.clone()).or_default();
            if *n >= self.max {
                return Err(TooMany(self.max));
            }
            *n += 1;
            Ok(())
        })?;
        crate::telemetry::socket_opened(ns);
        Ok(Seat {
            admission: self.clone(),
            key,
            released: AtomicBool::new(false),
        })
    }

    /// Sockets of `user` open in `ns`.
    pub fn open(&self, ns: &str, user: &UserId) -> usize {
        self.with(|m| m.get(&(ns.to_owned(), user.clone())).copied().unwrap_or(0))
    }
}

impl Seat {
    /// Give the seat back (once; later calls do nothing).
    pub fn release(&self) {
        if self.released.swap(true, Ordering::SeqCst) {
            return;
        }
        crate::telemetry::socket_closed(&self.key.0);
        self.admission.with(|m| {
            if let Some(n) = m.get_mut(&self.key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.key);
                }
            }
        });
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_capped_per_user_and_namespace_and_given_back() {
        let adm = Admission::new(2);
        let u = UserId::from("u");
        let a = adm.admit("/", &u).expect("first");
        let _b = adm.admit("/", &u).expect("second");
        assert!(adm.admit("/", &u).is_err(), "third refused");
        assert!(adm.admit("/webrtc", &u).is_ok(), "other namespace");
        assert!(adm.admit("/", &UserId::from("v")).is_ok(), "other user");
        a.release();
        a.release();
        assert_eq!(adm.open("/", &u), 1, "released once");
        let c = adm.admit("/", &u).expect("seat free again");
        drop(c);
        assert_eq!(adm.open("/", &u), 1);
    }
}
