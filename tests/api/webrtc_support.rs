//! Shared by `tests/webrtc_peers.rs` and `tests/turn_relay.rs`: the headless
//! peer from `examples/peer.rs` and an observer that merges the events of
//! several peers and waits for a condition, with a readable log on failure.
#![allow(dead_code)]

#[path = "../../examples/peer.rs"]
pub mod peer;

use std::fmt::Write as _;
use std::time::Duration;

use tokio::sync::mpsc;

pub use peer::{Peer, PeerEvent, PeerOptions, candidate_address, candidate_type};

/// Options for a loopback-only peer with `send` as its greeting.
pub fn options(base: &str, token: &str, room: &str, send: &str) -> PeerOptions {
    PeerOptions {
        url: base.to_owned(),
        token: token.to_owned(),
        room: room.to_owned(),
        send: Some(send.to_owned()),
        relay_only: false,
        loopback_only: true,
        ice_servers: None,
    }
}

/// Events of several peers, tagged with the index they were attached under.
pub struct Observer {
    tx: mpsc::UnboundedSender<(usize, PeerEvent)>,
    rx: mpsc::UnboundedReceiver<(usize, PeerEvent)>,
    pub log: Vec<(usize, PeerEvent)>,
}

impl Default for Observer {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx,
            log: Vec::new(),
        }
    }
}

impl Observer {
    /// Takes over the event stream of `peer` as party `index`.
    pub fn attach(&mut self, index: usize, peer: &mut Peer) {
        let (_, closed) = mpsc::unbounded_channel();
        let mut events = std::mem::replace(&mut peer.events, closed);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                if tx.send((index, ev)).is_err() {
                    break;
                }
            }
        });
    }

    /// Collects events until `done(log)` holds; panics with the log after `limit`.
    pub async fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[(usize, PeerEvent)]) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(&self.log) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => self.log.push(ev),
                Ok(None) => panic!(
                    "event streams closed while waiting for {what}\n{}",
                    self.dump()
                ),
                Err(_) => panic!(
                    "timed out after {limit:?} waiting for {what}\n{}",
                    self.dump()
                ),
            }
        }
    }

    /// The log, one event a line.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        for (i, ev) in &self.log {
            let _ = writeln!(s, "  [{i}] {ev:?}");
        }
        s
    }

    /// Texts party `index` received on data channels.
    pub fn messages(&self, index: usize) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|(i, ev)| match ev {
                PeerEvent::Message { text, .. } if *i == index => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every candidate line seen: (party, local?, line).
    pub fn candidates(&self) -> Vec<(usize, bool, String)> {
        self.log
            .iter()
            .filter_map(|(i, ev)| match ev {
                PeerEvent::Candidate {
                    local, candidate, ..
                } => Some((*i, *local, candidate.clone())),
                _ => None,
            })
            .collect()
    }

    /// Errors reported by any party.
    pub fn errors(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|(i, ev)| match ev {
                PeerEvent::Error { remote, error } => Some(format!("[{i}] {remote}: {error}")),
                _ => None,
            })
            .collect()
    }

    /// Call setup times of the data channels party `index` opened as offerer.
    pub fn offerer_setups(&self, index: usize) -> Vec<Duration> {
        self.log
            .iter()
            .filter_map(|(i, ev)| match ev {
                PeerEvent::ChannelOpen {
                    offerer: true,
                    setup,
                    ..
                } if *i == index => Some(*setup),
                _ => None,
            })
            .collect()
    }
}

/// True when party `index` received exactly `text` at least once.
pub fn got(log: &[(usize, PeerEvent)], index: usize, text: &str) -> bool {
    log.iter()
        .any(|(i, ev)| *i == index && matches!(ev, PeerEvent::Message { text: t, .. } if t == text))
}

/// Asserts every candidate line names a loopback IPv4 address (and, when
/// `relay` is set, that every candidate is a relay candidate). Returns how many.
pub fn assert_loopback_candidates(obs: &Observer, relay: bool) -> usize {
    let cands = obs.candidates();
    assert!(!cands.is_empty(), "no candidates seen\n{}", obs.dump());
    for (i, local, line) in &cands {
        let addr = candidate_address(line).unwrap_or_default();
        let ip: std::net::IpAddr = addr
            .parse()
            .unwrap_or_else(|_| panic!("[{i}] candidate without an IP address: {line}"));
        assert!(
            ip.is_loopback(),
            "[{i}] {} candidate off loopback: {line}",
            if *local { "local" } else { "remote" }
        );
        if relay {
            assert_eq!(
                candidate_type(line).as_deref(),
                Some("relay"),
                "[{i}] non-relay candidate under relay-only policy: {line}"
            );
        }
    }
    cands.len()
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// `min/median/max` of a non-empty list, in ms.
pub fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    format!(
        "min={} median={} max={} n={}",
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        v.len()
    )
}
