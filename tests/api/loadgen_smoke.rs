//! The load generator's smoke run against the real server: every scenario (ping, idle, storm,
//! relay, fanout) at tiny size must finish without errors and with deliveries.
//! The generator's code is the example's own modules, compiled into this test.

#[allow(dead_code)]
#[path = "../../examples/loadgen/report.rs"]
mod report;
#[allow(dead_code)]
#[path = "../../examples/loadgen/scen.rs"]
mod scen;
#[allow(dead_code)]
#[path = "../../examples/loadgen/sio.rs"]
mod sio;
#[allow(dead_code)]
#[path = "../../examples/loadgen/sys.rs"]
mod sys;

use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_smoke_runs_every_scenario_cleanly() {
    let app = crate::helpers::spawn_app().await;
    let target = sio::Target {
        addr: app.addr,
        host: app.addr.to_string(),
        path: "/socket.io/".into(),
        nsp: "/webrtc".into(),
        sources: sys::parse_sources("8").expect("sources"),
        connect_timeout: Duration::from_secs(10),
    };
    let ctx = Arc::new(scen::Ctx::new(target, app.secret.clone(), 600, None));
    let reports = tokio::time::timeout(Duration::from_secs(120), scen::smoke(&ctx, 10))
        .await
        .expect("smoke run finishes");
    let names: Vec<&str> = reports.iter().map(|r| r.scenario.as_str()).collect();
    assert_eq!(names, ["ping", "idle", "storm", "relay", "fanout"]);
    for r in &reports {
        r.print();
        assert!(r.ok(), "{} reported problems: {:?}", r.scenario, r.problems);
        let j = r.json();
        assert_eq!(j["errors"], 0, "{}: {j}", r.scenario);
    }
    let j: Vec<_> = reports.iter().map(|r| r.json()).collect();
    assert_eq!(j[0]["acks_ok"], 30, "every ping acked: {}", j[0]);
    assert_eq!(j[1]["alive_at_end"], 10, "idle sockets stay up: {}", j[1]);
    assert_eq!(j[2]["connected"], 10, "storm connects: {}", j[2]);
    assert!(
        j[3]["delivered"].as_u64().unwrap_or(0) > 0,
        "relay delivers: {}",
        j[3]
    );
    assert_eq!(j[3]["undelivered"], 0, "relay loses nothing: {}", j[3]);
    assert_eq!(
        j[4]["total_deliveries"], 18,
        "peer:joined reaches 9 members twice: {}",
        j[4]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_reports_a_wrong_secret_as_connect_errors() {
    let app = crate::helpers::spawn_app().await;
    let target = sio::Target {
        addr: app.addr,
        host: app.addr.to_string(),
        path: "/socket.io/".into(),
        nsp: "/webrtc".into(),
        sources: Vec::new(),
        connect_timeout: Duration::from_secs(10),
    };
    let ctx = Arc::new(scen::Ctx::new(target, "not-the-secret".into(), 600, None));
    let r = scen::storm(
        &ctx,
        &scen::StormOpts {
            total: 5,
            concurrency: 5,
            close: true,
        },
    )
    .await;
    let j = r.json();
    assert!(!r.ok());
    assert_eq!(j["connected"], 0, "{j}");
    assert_eq!(j["error_kinds"]["connect_error"], 5, "{j}");
    let first = j["first_errors"]["connect_error"].as_str().unwrap_or("");
    assert!(first.contains("unauthorized"), "{first}");
    app.stop().await;
}
