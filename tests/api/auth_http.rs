//! REST auth as a browser or script sees it.

use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn register_login_me_logout() {
    let app = spawn_app().await;
    let http = app.http();
    let res = http
        .post(format!("{}/auth/register", app.base))
        .json(&json!({"email": "Ann@Example.com", "username": "ann", "password": "12345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("access_token="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ann@example.com");

    // The cookie alone authenticates /auth/me.
    let me: serde_json::Value = http
        .get(format!("{}/auth/me", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["username"], "ann");

    // Duplicate e-mail, invalid input, bad password.
    let dup = http
        .post(format!("{}/auth/register", app.base))
        .json(&json!({"email": "ann@example.com", "username": "ann2", "password": "12345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);
    for bad in [
        json!({"email": "nope", "username": "ann3", "password": "12345678"}),
        json!({"email": "b@example.com", "username": "ab", "password": "12345678"}),
        json!({"email": "b@example.com", "username": "abc", "password": "short"}),
        json!({"email": "b@example.com"}),
    ] {
        let res = http
            .post(format!("{}/auth/register", app.base))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["error"], "bad_request");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let wrong = reqwest::Client::new()
        .post(format!("{}/auth/login", app.base))
        .json(&json!({"email": "ann@example.com", "password": "wrongwrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // Bearer header works; logout clears the cookie.
    let token = body["accessToken"].as_str().unwrap();
    let res = reqwest::Client::new()
        .get(format!("{}/auth/me", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let out = http
        .post(format!("{}/auth/logout", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let res = http
        .get(format!("{}/auth/me", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn foreign_origin_is_refused_before_a_session_exists() {
    let app = spawn_app().await;
    let url = format!("{}/socket.io/?EIO=4&transport=polling", app.base);
    let c = reqwest::Client::new();
    let res = c
        .get(&url)
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = c
        .get(&url)
        .header("Origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    assert!(res.text().await.unwrap().starts_with("0{\"sid\""));
}

#[tokio::test]
async fn user_search_needs_auth_and_answers_bad_queries_in_the_error_format() {
    let app = spawn_app().await;
    let (token, _) = app.register("alice").await;
    app.register("bobby").await;
    let c = reqwest::Client::new();
    let url = format!("{}/users", app.base);
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
    let found: serde_json::Value = c
        .get(format!("{url}?search=BOB"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["username"], "bobby");
    assert!(found[0].get("password_hash").is_none());
    let bad = c
        .get(format!("{url}?search=a&search=b"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let err: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(err["error"], "bad_request");
}
