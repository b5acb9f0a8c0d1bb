//! Operations: `GET /metrics` (series, bounded labels, `METRICS_TOKEN`, no
//! token in the output), `GET /ready`, and the landing page without a web
//! client.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};
use crate::sio::connect_ok;

async fn scrape(app: &crate::helpers::TestApp, bearer: Option<&str>) -> (u16, String) {
    let mut req = app.http().get(format!("{}/metrics", app.base));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("metrics");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

/// The value of the series line starting with `prefix` (summed when the
/// prefix matches several label sets).
fn value(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_count_sockets_events_relays_and_refusals_with_bounded_labels() {
    let app = spawn_app().await;
    let (ta, _) = app.register("alice").await;
    let (tb, _) = app.register("bobby").await;
    let (_, before) = scrape(&app, None).await;

    let mut a = connect_ok(&app.base, "/webrtc", &ta).await;
    let mut b = connect_ok(&app.base, "/webrtc", &tb).await;
    a.call("room:join", json!({"roomId": "metrics-room"})).await;
    b.call("room:join", json!({"roomId": "metrics-room"})).await;
    let ok = b
        .call(
            "offer",
            json!({"to": a.sid, "sdp": {"type": "offer", "sdp": "v=0"}}),
        )
        .await;
    assert_eq!(ok["success"], true);
    let odd = a.call("made-up-event-with-a-secret-name", json!({})).await;
    assert_eq!(odd["error"], "unknown_event");
    let _ = crate::sio::connect(
        &app.base,
        "/webrtc",
        Some(json!({"token": "not-a-real-token"})),
        &[],
    )
    .await;

    let (status, text) = scrape(&app, None).await;
    assert_eq!(status, 200);
    for series in [
        "switchboard_sockets{namespace=\"/webrtc\"}",
        "switchboard_rooms",
        "switchboard_events_total{",
        "switchboard_relay_seconds_bucket",
        "switchboard_refused_total{reason=\"auth\"}",
        "switchboard_http_requests_total{",
        "switchboard_http_request_seconds_bucket",
    ] {
        assert!(text.contains(series), "no {series} in\n{text}");
    }
    assert!(value(&text, "switchboard_sockets{namespace=\"/webrtc\"}") >= 2.0);
    assert!(value(&text, "switchboard_rooms") >= 1.0);
    let offers = "switchboard_events_total{namespace=\"/webrtc\",event=\"offer\"}";
    assert!(
        value(&text, offers) >= value(&before, offers) + 1.0,
        "{text}"
    );
    assert!(
        text.contains("event=\"unknown\""),
        "an unknown event counts as unknown"
    );
    assert!(value(&text, "switchboard_relay_seconds_count") >= 1.0);
    assert!(
        text.contains("route=\"/auth/register\""),
        "routes by template"
    );
    // Nothing a client chose becomes a label, and no token is shown.
    for secret in [
        "made-up-event",
        "metrics-room",
        "not-a-real-token",
        ta.as_str(),
        tb.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} leaked into /metrics");
    }
    assert!(!text.contains(a.sid.as_str()) && !text.contains("alice"));
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let app = spawn_app_with(|c| c.metrics_token = Some("scrape-me".into())).await;
    let (status, body) = scrape(&app, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("unauthorized"));
    assert_eq!(scrape(&app, Some("wrong")).await.0, 401);
    let (status, text) = scrape(&app, Some("scrape-me")).await;
    assert_eq!(status, 200);
    assert!(text.contains("switchboard_"));
}

#[tokio::test]
async fn ready_checks_the_database_and_health_stays_up() {
    let app = spawn_app().await;
    let res = app
        .http()
        .get(format!("{}/ready", app.base))
        .send()
        .await
        .expect("ready");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["checks"]["database"], "ok");
    // With the database closed, readiness fails and names it; liveness stays.
    app.state.db.close().await;
    let res = app
        .http()
        .get(format!("{}/ready", app.base))
        .send()
        .await
        .expect("ready");
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["failing"], json!(["database"]));
    let health = app
        .http()
        .get(format!("{}/health", app.base))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn without_a_web_client_the_root_says_what_is_running() {
    let app = spawn_app_with(|c| c.web_dir = "/nonexistent-web-dir".into()).await;
    let res = app
        .http()
        .get(format!("{}/", app.base))
        .send()
        .await
        .expect("landing");
    assert_eq!(res.status(), 200);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = res.text().await.expect("body");
    for link in ["/test-socket.html", "/health", "/ready", "npm run build"] {
        assert!(html.contains(link), "landing page lacks {link}");
    }
}
