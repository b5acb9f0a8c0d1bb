//! The built web client is served at `/` with an index.html fallback for
//! client routes, and a real 404 for missing assets.

#[tokio::test]
async fn serves_the_client_and_404s_missing_assets() {
    let dir = std::env::temp_dir().join(format!("sb-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    let web = dir.clone();
    let app = crate::helpers::spawn_app_with(move |c| c.web_dir = web).await;
    // As a browser navigates: Accept includes text/html.
    let get = |path: &str| {
        let url = format!("{}{path}", app.base);
        async move {
            reqwest::Client::new()
                .get(url)
                .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
                .send()
                .await
                .unwrap()
        }
    };

    let index = get("/").await;
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("<title>app</title>"));
    let route = get("/some/client/route").await;
    assert_eq!(route.status(), 200);
    assert!(route.text().await.unwrap().contains("<title>app</title>"));
    let js = get("/assets/app.js").await;
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(get("/assets/missing.js").await.status(), 404);
    // A non-browser client hitting an unknown path gets a JSON 404, not the page.
    let api = reqwest::get(format!("{}/chats/x/nope", app.base))
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    // API routes still win over the client.
    assert_eq!(get("/health").await.status(), 200);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn unknown_routes_are_json_404s_without_a_web_client() {
    let app = crate::helpers::spawn_app_with(|c| c.web_dir = "/nonexistent-web-dir".into()).await;
    let res = reqwest::get(format!("{}/nope", app.base)).await.unwrap();
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    assert!(body["message"].as_str().unwrap().contains("/nope"));
}
