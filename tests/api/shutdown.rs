//! The binary shuts down gracefully on SIGTERM: sockets are closed, every
//! disconnect is logged, no token is logged, and the process exits 0.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::sio::connect_ok;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test]
async fn sigterm_closes_sockets_logs_disconnects_and_exits_zero() {
    let port = free_port();
    let bin = env!("CARGO_BIN_EXE_switchboard");
    let secret = "shutdown-test-secret";
    let mut child = Command::new(bin)
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .env("JWT_SECRET", secret)
        .env("DATABASE_URL", "sqlite::memory:")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn switchboard");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while reqwest::get(format!("{base}/health")).await.is_err() {
        assert!(Instant::now() < deadline, "server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = Command::new(bin)
        .args([
            "token",
            "--user-id",
            "u-1",
            "--username",
            "ann",
            "--email",
            "a@x.io",
        ])
        .env("JWT_SECRET", secret)
        .output()
        .expect("token");
    let token = String::from_utf8(token.stdout)
        .expect("utf8")
        .trim()
        .to_owned();
    let mut a = connect_ok(&base, "/webrtc", &token).await;
    let pong = a.call("ping", serde_json::json!(1)).await;
    assert_eq!(pong["message"], "pong");

    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no exit within 10 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    let mut log = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut log)
        .expect("read log");
    assert!(log.contains("socket connected"), "{log}");
    assert!(
        log.lines().any(|l| l.contains("socket disconnected")
            && l.contains(a.sid.as_str())
            && l.contains("ClosingServer")),
        "{log}"
    );
    assert!(!log.contains(&token), "token leaked into the log");
}
