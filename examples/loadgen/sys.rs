//! OS helpers: fd limits, /proc readings of the server process, source-bound TCP connects.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Instant;

use tokio::net::{TcpSocket, TcpStream};

/// Result of trying to make room for `need` file descriptors.
pub struct FdLimit {
    pub need: u64,
    pub soft: u64,
    pub hard: u64,
}

impl FdLimit {
    pub fn enough(&self) -> bool {
        self.soft >= self.need
    }
}

/// Raise RLIMIT_NOFILE so that `need` descriptors fit, and say what happened on stderr.
pub fn raise_nofile(need: u64) -> FdLimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        eprintln!(
            "loadgen: getrlimit(RLIMIT_NOFILE) failed: {}",
            io::Error::last_os_error()
        );
        return FdLimit {
            need,
            soft: 0,
            hard: 0,
        };
    }
    let (old_soft, old_hard) = (lim.rlim_cur, lim.rlim_max);
    if lim.rlim_cur >= need {
        eprintln!(
            "loadgen: needs {need} fds; RLIMIT_NOFILE soft={old_soft} hard={old_hard} is enough"
        );
        return FdLimit {
            need,
            soft: old_soft,
            hard: old_hard,
        };
    }
    // First try to lift both limits (works with CAP_SYS_RESOURCE), then fall back to soft = hard.
    let want = libc::rlimit {
        rlim_cur: need,
        rlim_max: need.max(old_hard),
    };
    // SAFETY: setrlimit only reads the struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } == 0 {
        eprintln!(
            "loadgen: needs {need} fds; raised RLIMIT_NOFILE soft {old_soft} -> {need} (hard {})",
            want.rlim_max
        );
        return FdLimit {
            need,
            soft: need,
            hard: want.rlim_max,
        };
    }
    let capped = libc::rlimit {
        rlim_cur: old_hard,
        rlim_max: old_hard,
    };
    // SAFETY: as above.
    let ok = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &capped) } == 0;
    let soft = if ok { old_hard } else { old_soft };
    eprintln!(
        "loadgen: needs {need} fds; could not raise RLIMIT_NOFILE hard limit {old_hard} (needs root with \
         CAP_SYS_RESOURCE: `ulimit -Hn {need}; ulimit -n {need}` or `prlimit --nofile={need} -p <pid>`); \
         soft limit now {soft}"
    );
    FdLimit {
        need,
        soft,
        hard: old_hard,
    }
}

/// Max open files (soft) of another process, from /proc/<pid>/limits.
pub fn proc_nofile(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = s.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// One reading of a process: resident set and cumulated CPU time.
#[derive(Clone, Copy, Debug)]
pub struct ProcSample {
    pub rss_kib: u64,
    pub cpu_s: f64,
    /// Time the process's threads spent runnable but waiting for a CPU (schedstat), seconds.
    /// On a shared machine this shows how much other load distorted the figures.
    pub runq_s: f64,
    pub at: Instant,
}

fn runq_wait_s(pid: u32) -> f64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum::<u64>() as f64
        / 1e9
}

pub fn sample(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(ProcSample {
        rss_kib,
        cpu_s: (utime + stime) as f64 / clk_tck(),
        runq_s: runq_wait_s(pid),
        at: Instant::now(),
    })
}

pub fn self_rss_kib() -> u64 {
    sample(std::process::id()).map(|s| s.rss_kib).unwrap_or(0)
}

/// Find the pid of the process that listens on TCP `port` (loopback servers started by the user).
pub fn find_listener_pid(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(s) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in s.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                continue;
            }
            let Some(port_hex) = f[1].rsplit(':').next() else {
                continue;
            };
            if u16::from_str_radix(port_hex, 16).ok() == Some(port) {
                inodes.push(format!("socket:[{}]", f[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = std::fs::read_link(fd.path())
                && inodes.iter().any(|i| link.as_os_str() == i.as_str())
            {
                return Some(pid);
            }
        }
    }
    None
}

/// Parse `--source-ips`: a count N (127.0.0.1..=127.0.0.N) or a comma list of IPv4 addresses.
pub fn parse_sources(spec: &str) -> anyhow::Result<Vec<Ipv4Addr>> {
    if let Ok(n) = spec.trim().parse::<u8>() {
        anyhow::ensure!((1..=254).contains(&n), "--source-ips count must be 1..=254");
        return Ok((1..=n).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect());
    }
    let mut v = Vec::new();
    for part in spec.split(',') {
        let ip: Ipv4Addr = part
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("--source-ips: bad address {part:?}: {e}"))?;
        anyhow::ensure!(
            ip.is_loopback(),
            "--source-ips: {ip} is not a loopback address"
        );
        v.push(ip);
    }
    anyhow::ensure!(!v.is_empty(), "--source-ips: empty list");
    Ok(v)
}

/// TCP connect from `src:0` to `dst`, with IP_BIND_ADDRESS_NO_PORT so the kernel picks the port
/// at connect time (4-tuple aware) and TCP_NODELAY for latency.
pub async fn connect_from(src: Option<Ipv4Addr>, dst: SocketAddr) -> io::Result<TcpStream> {
    let stream = match (src, dst) {
        (Some(src), SocketAddr::V4(_)) => {
            let sock = TcpSocket::new_v4()?;
            let one: libc::c_int = 1;
            // SAFETY: valid fd owned by `sock`, pointer/len describe a live c_int.
            unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::IPPROTO_IP,
                    libc::IP_BIND_ADDRESS_NO_PORT,
                    &one as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
            sock.bind(SocketAddr::new(src.into(), 0))?;
            sock.connect(dst).await?
        }
        _ => TcpStream::connect(dst).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}
