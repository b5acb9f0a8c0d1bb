//! The signature on every delivery: `X-Switchboard-Signature:
//! sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with the unix
//! timestamp of `X-Switchboard-Timestamp`. Signing the timestamp with the
//! body lets a receiver refuse old deliveries replayed by someone else.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";
/// The header carrying the unix timestamp (seconds) that was signed.
pub const TIMESTAMP_HEADER: &str = "x-switchboard-timestamp";

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Switchboard-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let bytes = mac(secret, timestamp, body).finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// What a receiver does: true when `signature` is `body`'s at `timestamp`
/// (compared in constant time) and `timestamp` is within `tolerance_secs`
/// of `now`.
pub fn verify(
    secret: &str,
    timestamp: i64,
    body: &[u8],
    signature: &str,
    now: i64,
    tolerance_secs: i64,
) -> bool {
    if (now - timestamp).abs() > tolerance_secs {
        return false;
    }
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    if hex.len() != 64 {
        return false;
    }
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        match u8::from_str_radix(&hex[2 * i..2 * i + 2], 16) {
            Ok(v) => *b = v,
            Err(_) => return false,
        }
    }
    mac(secret, timestamp, body).verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let sig = sign("s3cret", 1_700_000_000, b"{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 71, "{sig}");
        assert!(verify(
            "s3cret",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "other",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "s3cret",
            1_700_000_001,
            b"{\"a\":1}",
            &sig,
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "s3cret",
            1_700_000_000,
            b"{\"a\":2}",
            &sig,
            1_700_000_010,
            300
        ));
        assert!(
            !verify(
                "s3cret",
                1_700_000_000,
                b"{\"a\":1}",
                &sig,
                1_700_009_000,
                300
            ),
            "too old"
        );
        assert!(!verify(
            "s3cret",
            1_700_000_000,
            b"{\"a\":1}",
            "sha256=zz",
            1_700_000_000,
            300
        ));
    }

    #[test]
    fn matches_a_known_vector() {
        // printf '1700000000.hello' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign("key", 1_700_000_000, b"hello"),
            "sha256=4d583a269f4f276a3fa80ff31b5a01879a848096983222a17893d198418939aa"
        );
    }
}
