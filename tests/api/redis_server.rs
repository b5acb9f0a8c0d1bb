//! A real Redis server for the tests (Debian's `redis-server`): one per
//! test process, on a free loopback port, with no persistence. It dies with
//! the test process (parent-death signal). Tests share it and keep apart
//! by key prefix ([`prefix`]).

use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

static SERVER: OnceCell<String> = OnceCell::const_new();

fn start() -> String {
    let bin = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .unwrap_or_else(|| {
            panic!(
                "redis-server is not installed (apt-get install -y redis-server); \
                 these tests need it and fail without it"
            )
        });
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut cmd = Command::new(bin);
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ])
    .stdout(std::process::Stdio::null());
    // SAFETY: only an async-signal-safe call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    // The parent-death signal fires when the spawning thread ends: spawn
    // from a thread that lives as long as the process.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cmd.spawn().map(|_child| ()));
        loop {
            std::thread::park();
        }
    });
    rx.recv().expect("spawner").expect("start redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    format!("redis://127.0.0.1:{port}")
}

/// The test server's URL.
pub async fn url() -> String {
    SERVER
        .get_or_init(|| async { tokio::task::spawn_blocking(start).await.expect("start") })
        .await
        .clone()
}

/// A key prefix no other test uses.
pub fn prefix() -> String {
    format!("t{}:", uuid::Uuid::new_v4().simple())
}
