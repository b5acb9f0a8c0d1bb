//! The built web client is served at `/` with an index.html fallback for
//! client routes, and a real 404 for missing assets.

mod common;

#[tokio::test]
async fn serves_the_client_and_404s_missing_assets() {
    let dir = std::env::temp_dir().join(format!("sb-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    let web = dir.clone();
    let app = common::spawn_app_with(move |c| c.web_dir = web).await;
    let get = |path: &str| {
        let url = format!("{}{path}", app.base);
        async move { reqwest::get(url).await.unwrap() }
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
    // API routes still win over the client.
    assert_eq!(get("/health").await.status(), 200);
    let _ = std::fs::remove_dir_all(dir);
}
