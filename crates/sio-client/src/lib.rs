//! A lean Socket.IO v5 / Engine.IO v4 client over a websocket: text
//! packets only (no polling, no binary attachments). One task per
//! connection; events and acks are delivered to callbacks, so a load
//! generator can hold tens of thousands of sockets in one process, and
//! [`connect_channel`] wraps it in a channel for tests and tools.
//!
//! Wire format ([`packet`]):
//! - Engine.IO: `0{open json}` from the server, ping `2` -> pong `3`, close `1`;
//! - Socket.IO: connect `40/nsp,{auth}` -> `40/nsp,{"sid":..}` or
//!   `44/nsp,{"message":..}`, event `42/nsp,<ackid>["event",data]`, ack
//!   `43/nsp,<ackid>[data]`, disconnect `41/nsp,`.

pub mod client;
pub mod packet;

pub use client::{
    AckFn, CallError, Client, ConnErr, Counters, Event, EventFn, Incoming, Target, connect,
    connect_channel, connect_stream, ignore_events, now_ns, ns_at, ws_url,
};
