//! A real PostgreSQL server for the tests (Debian's `postgresql` package):
//! one per test process, started on a free loopback port in a temporary
//! directory, as the `postgres` user (the tests run as root in CI). Each
//! test gets a database of its own ([`database`]). The server dies with the
//! test process (parent-death signal).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use tokio::sync::OnceCell;

static SERVER: OnceCell<String> = OnceCell::const_new();

fn bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    dirs.retain(|d| d.join("postgres").is_file() && d.join("initdb").is_file());
    dirs.sort();
    dirs.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (apt-get install -y postgresql); \
             these tests need it and fail without it"
        )
    })
}

/// uid and gid of the `postgres` user.
fn postgres_user() -> (u32, u32) {
    let name = std::ffi::CString::new("postgres").expect("name");
    // SAFETY: getpwnam returns a pointer into static storage or null; it is
    // read at once, before any other call could overwrite it.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !pw.is_null(),
        "no `postgres` user (is the postgresql package installed?)"
    );
    // SAFETY: checked non-null just above.
    unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
}

/// `cmd` runs as the postgres user and is killed when this process exits.
fn as_postgres(cmd: &mut Command, (uid, gid): (u32, u32)) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn start() -> String {
    let bin = bin_dir();
    let user = postgres_user();
    let root = std::env::temp_dir().join(format!(
        "sb-pg-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&root).expect("temp dir");
    let c = std::ffi::CString::new(root.as_os_str().to_string_lossy().as_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::chown(c.as_ptr(), user.0, user.1) },
        0,
        "chown {}",
        root.display()
    );
    let data = root.join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "switchboard",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ])
        .stdout(std::process::Stdio::null());
    as_postgres(&mut initdb, user);
    let out = initdb.output().expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let log = std::fs::File::create(root.join("postgres.log")).expect("log");
    let mut server = Command::new(bin.join("postgres"));
    server
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
        .arg("-k")
        .arg(&root)
        .args([
            "-c",
            "fsync=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=32MB",
        ])
        .stderr(log);
    as_postgres(&mut server, user);
    // The parent-death signal fires when the spawning *thread* ends, so a
    // thread that lives as long as the process spawns the server.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let spawned = server.spawn().map(|_child| ());
        let _ = tx.send(spawned);
        loop {
            std::thread::park();
        }
    });
    rx.recv().expect("spawner").expect("start postgres");
    wait_ready(port, &root);
    format!("postgres://switchboard@127.0.0.1:{port}")
}

fn wait_ready(port: u16, root: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(root.join("postgres.log")).unwrap_or_default();
            panic!("postgres did not start within 30 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The URL of a fresh, empty database on the test server.
pub async fn database() -> String {
    let base = SERVER
        .get_or_init(|| async { tokio::task::spawn_blocking(start).await.expect("start") })
        .await;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut admin = loop {
        match sqlx::PgConnection::connect(&format!("{base}/postgres")).await {
            Ok(c) => break c,
            // Accepting TCP before it accepts logins (still starting up).
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot reach the test postgres: {e}"),
        }
    };
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let _ = admin.close().await;
    format!("{base}/{name}")
}
