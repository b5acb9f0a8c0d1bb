//! Parsing and encoding of the text packets (Engine.IO v4 carrying
//! Socket.IO v5), in one place.

use serde_json::Value;

/// One text frame as it concerns a client of one namespace.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Engine.IO open, with its JSON (`{"sid", "pingInterval", ...}`).
    Open(&'a str),
    /// Engine.IO close.
    Close,
    /// Engine.IO ping (answer with [`PONG`]).
    Ping,
    /// Socket.IO connect accepted, with its JSON (`{"sid"}`).
    Connect(&'a str),
    /// Socket.IO connect refused, with its JSON (`{"message"}`).
    ConnectError(&'a str),
    /// Socket.IO disconnect of the namespace.
    Disconnect,
    /// Socket.IO event: the ack id it asks for, and the JSON array text.
    Event(Option<u64>, &'a str),
    /// Socket.IO ack: its id and the JSON array text.
    Ack(u64, &'a str),
    /// Something else (another namespace, pong, noop, binary packets).
    Other,
}

/// The Engine.IO pong.
pub const PONG: &str = "3";

/// The namespace part of a packet: "" for `/`, "/nsp," otherwise.
pub fn nsp_prefix(nsp: &str) -> String {
    if nsp == "/" || nsp.is_empty() {
        String::new()
    } else {
        format!("{nsp},")
    }
}

/// Classify `text` for the namespace whose prefix is `prefix` (see [`nsp_prefix`]).
pub fn parse<'a>(text: &'a str, prefix: &str) -> Frame<'a> {
    match text.as_bytes().first() {
        Some(b'0') => return Frame::Open(&text[1..]),
        Some(b'1') => return Frame::Close,
        Some(b'2') if text.len() == 1 => return Frame::Ping,
        Some(b'4') => {}
        _ => return Frame::Other,
    }
    let b = text.as_bytes();
    if b.len() < 2 {
        return Frame::Other;
    }
    let ty = b[1];
    let Some(rest) = text[2..].strip_prefix(prefix) else {
        return Frame::Other;
    };
    // The main namespace has no prefix: a packet of another one starts with '/'.
    if prefix.is_empty() && rest.starts_with('/') {
        return Frame::Other;
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = rest[..digits].parse::<u64>().ok();
    let json = &rest[digits..];
    match (ty, id) {
        (b'0', _) => Frame::Connect(json),
        (b'1', _) => Frame::Disconnect,
        (b'2', id) => Frame::Event(id, json),
        (b'3', Some(id)) => Frame::Ack(id, json),
        (b'4', _) => Frame::ConnectError(json),
        _ => Frame::Other,
    }
}

/// The event name of an event's JSON array text `["name", ...]` (fast path:
/// names without escapes).
pub fn event_name(json: &str) -> Option<&str> {
    let r = json.strip_prefix("[\"")?;
    let end = r.find('"')?;
    Some(&r[..end])
}

/// Name and first argument of an event's JSON array text.
pub fn event_parts(json: &str) -> Option<(String, Value)> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(json) else {
        return None;
    };
    let mut items = items.into_iter();
    let name = items.next()?.as_str()?.to_owned();
    Some((name, items.next().unwrap_or(Value::Null)))
}

/// The first argument of an ack's JSON array text `[data, ...]`.
pub fn ack_data(json: &str) -> Value {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) => items.into_iter().next().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// A string field of a JSON object text (`sid` of a connect, `message` of an error).
pub fn field(json: &str, name: &str) -> Option<String> {
    serde_json::from_str::<Value>(json)
        .ok()?
        .get(name)?
        .as_str()
        .map(str::to_owned)
}

/// `40<prefix><auth>`: connect to the namespace.
pub fn connect(prefix: &str, auth: Option<&Value>) -> String {
    match auth {
        Some(a) => format!("40{prefix}{a}"),
        None => format!("40{prefix}"),
    }
}

/// `41<prefix>`: leave the namespace.
pub fn disconnect(prefix: &str) -> String {
    format!("41{prefix}")
}

/// `42<prefix><ack id>["event",data]` from the JSON array text `body`.
pub fn event(prefix: &str, ack: Option<u64>, body: &str) -> String {
    match ack {
        Some(id) => format!("42{prefix}{id}{body}"),
        None => format!("42{prefix}{body}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let p = nsp_prefix("/webrtc");
        assert_eq!(
            parse("0{\"sid\":\"x\"}", &p),
            Frame::Open("{\"sid\":\"x\"}")
        );
        assert_eq!(parse("2", &p), Frame::Ping);
        assert_eq!(parse("1", &p), Frame::Close);
        assert_eq!(
            parse("40/webrtc,{\"sid\":\"s\"}", &p),
            Frame::Connect("{\"sid\":\"s\"}")
        );
        assert_eq!(
            parse("44/webrtc,{\"message\":\"no\"}", &p),
            Frame::ConnectError("{\"message\":\"no\"}")
        );
        assert_eq!(
            parse("42/webrtc,[\"pong\",{}]", &p),
            Frame::Event(None, "[\"pong\",{}]")
        );
        assert_eq!(
            parse("42/webrtc,7[\"e\"]", &p),
            Frame::Event(Some(7), "[\"e\"]")
        );
        assert_eq!(
            parse("43/webrtc,12[{\"ok\":1}]", &p),
            Frame::Ack(12, "[{\"ok\":1}]")
        );
        assert_eq!(parse("42[\"x\"]", &p), Frame::Other, "another namespace");
        assert_eq!(
            parse("42/webrtc,[\"x\"]", ""),
            Frame::Other,
            "not the main namespace"
        );
        assert_eq!(parse("42[\"x\",1]", ""), Frame::Event(None, "[\"x\",1]"));
        assert_eq!(event_name("[\"peer:joined\",{}]"), Some("peer:joined"));
        assert_eq!(
            event_parts("[\"e\",{\"a\":1}]"),
            Some(("e".into(), serde_json::json!({"a":1})))
        );
        assert_eq!(ack_data("[true]"), serde_json::json!(true));
        assert_eq!(event(&p, Some(3), "[\"x\"]"), "42/webrtc,3[\"x\"]");
        assert_eq!(connect("", None), "40");
    }
}
