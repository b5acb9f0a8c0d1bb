//! Where a request carries its token, shared by HTTP and Socket.IO: the
//! handshake's `auth.token`, the query's `token`, the `Authorization`
//! header, the `access_token` cookie (first found wins), each with or
//! without `Bearer `.

use axum::http::HeaderMap;

/// Name of the httpOnly cookie carrying the access token.
pub const COOKIE_NAME: &str = "access_token";

/// Strip an optional `Bearer ` prefix (case-insensitive) and surrounding space.
pub fn strip_bearer(raw: &str) -> &str {
    let raw = raw.trim();
    match raw.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => raw[7..].trim(),
        _ => raw,
    }
}

/// The token from the first source that has one: handshake `auth.token`,
/// query `token`, `Authorization` header, `access_token` cookie.
pub fn find_token(
    auth: Option<&serde_json::Value>,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Option<String> {
    let non_empty = |s: &str| {
        let t = strip_bearer(s);
        (!t.is_empty()).then(|| t.to_owned())
    };
    if let Some(t) = auth
        .and_then(|a| a.get("token"))
        .and_then(|t| t.as_str())
        .and_then(non_empty)
    {
        return Some(t);
    }
    if let Some(t) = query.and_then(query_token).and_then(|t| non_empty(&t)) {
        return Some(t);
    }
    headers_token(headers)
}

/// The token from the `Authorization` header, else the `access_token` cookie.
pub fn headers_token(headers: &HeaderMap) -> Option<String> {
    let non_empty = |s: &str| {
        let t = strip_bearer(s);
        (!t.is_empty()).then(|| t.to_owned())
    };
    if let Some(t) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(non_empty)
    {
        return Some(t);
    }
    let jar = axum_extra::extract::cookie::CookieJar::from_headers(headers);
    jar.get(COOKIE_NAME).and_then(|c| non_empty(c.value()))
}

fn query_token(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "token").then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            out.push(b' ');
        } else if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi << 4 | lo);
                i += 2;
            } else {
                out.push(b);
            }
        } else {
            out.push(b);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn source_order() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer hdr"));
        h.insert("cookie", HeaderValue::from_static("a=1; access_token=cook"));
        let auth = serde_json::json!({"token": "Bearer auth"});
        assert_eq!(
            find_token(Some(&auth), Some("token=q"), &h).as_deref(),
            Some("auth")
        );
        assert_eq!(
            find_token(None, Some("x=1&token=Bearer%20q"), &h).as_deref(),
            Some("q")
        );
        assert_eq!(find_token(None, None, &h).as_deref(), Some("hdr"));
        h.remove("authorization");
        assert_eq!(find_token(None, None, &h).as_deref(), Some("cook"));
        assert_eq!(find_token(None, None, &HeaderMap::new()), None);
    }
}
