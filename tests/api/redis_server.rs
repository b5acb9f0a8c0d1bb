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
    let port = free_port();
    spawn(port);
    format!("redis://127.0.0.1:{port}")
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Start a redis-server on `port` and wait until it accepts connections;
/// returns its pid.
fn spawn(port: u16) -> u32 {
    let bin = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .unwrap_or_else(|| {
            panic!(
                "redis-server is not installed (apt-get install -y redis-server); \
                 these tests need it and fail without it"
            )
        });
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
        let _ = tx.send(cmd.spawn().map(|child| child.id()));
        loop {
            std::thread::park();
        }
    });
    let pid = rx.recv().expect("spawner").expect("start redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    pid
}

/// A redis-server of one test's own, which it can restart (with an empty
/// dataset, as a Redis without persistence comes back).
pub struct OwnRedis {
    /// Its URL.
    pub url: String,
    port: u16,
    pid: u32,
}

impl OwnRedis {
    /// Start one on a free port.
    pub async fn start() -> Self {
        let port = free_port();
        let pid = tokio::task::spawn_blocking(move || spawn(port))
            .await
            .expect("start");
        Self {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            pid,
        }
    }

    /// Kill it (SIGKILL), wait until the port is free, and start it again.
    pub async fn restart(&mut self, down_for: Duration) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGKILL);
        }
        let port = self.port;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(Instant::now() < deadline, "redis-server did not stop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(down_for).await;
        self.pid = tokio::task::spawn_blocking(move || spawn(port))
            .await
            .expect("restart");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGKILL);
        }
    }
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
