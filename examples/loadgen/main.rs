//! Switchboard load generator: a raw Engine.IO v4 / Socket.IO v5 websocket client that measures
//! any socket.io server implementing the `/webrtc` subset of the wire contract (JWT auth in the
//! handshake, `room:join`, relayed `offer`/`answer`/`ice-candidate` with acks, `ping`).
//!
//! ```text
//! cargo build --release --example loadgen
//! target/release/examples/loadgen --help
//! target/release/examples/loadgen <scenario> --url http://127.0.0.1:3000 --secret s [options]
//! ```
//!
//! Scenarios (each prints a table, then one JSON line with a `scenario` field):
//! - `idle`   ramp to `--sockets` authenticated sockets joined to rooms of `--room-size`, hold for
//!   `--hold` s; server RSS per socket (VmRSS before/after) and idle CPU over the hold.
//! - `storm`  `--total` authenticated connects with `--concurrency` in flight: connects/s,
//!   p50/p99 from TCP connect to the namespace connect ack, errors.
//! - `relay`  `--pairs` peer pairs in rooms exchanging offer/answer/ICE (2-4 KiB SDP) at an
//!   open-loop `--rate` msgs/s for `--duration` s; one-way latency p50/p99/p99.9 (the send
//!   timestamp rides in the SDP origin line / candidate foundation), server CPU per 1k messages.
//!   `--sweep` searches the highest rate with p99 <= `--p99-target-ms` (default 5).
//! - `fanout` rooms of `--members` (default 10,100,1000); a publisher joins, the server fans
//!   `peer:joined` out to the room: deliveries/s, join-to-last-receiver latency.
//!   Rooms above the server's cap need the server started with `ROOM_MAX_PEERS=1000`.
//! - `ping`   `ping` events with ack: ack round trip and `pong` events.
//! - `smoke`  every scenario at tiny size (about 20 sockets, 1 s); exit status 1 on any error or
//!   zero deliveries. Meant for CI.
//!
//! Only loopback targets are accepted. Client sockets are spread over 127.0.0.1..=127.0.0.250
//! (`--source-ips`) so 100k connections do not exhaust ephemeral ports. The tool raises
//! RLIMIT_NOFILE itself as far as the hard limit allows and says how many fds it needs; the
//! server needs as many (check `/proc/<pid>/limits`). It always stops by itself (`--max-time`).
//!
//! Tokens are HS256 JWTs minted from `--secret` (or `JWT_SECRET`) with claims sub, username,
//! email, iat, exp; every socket is a distinct user.
//!
//! Pin the server and the generator to one core each on a 2-core machine:
//!
//! ```text
//! JWT_SECRET=s DATABASE_URL=sqlite::memory: ROOM_MAX_PEERS=1000 \
//!   taskset -c 0 target/release/switchboard serve --host 127.0.0.1 --port 3000 &
//! taskset -c 1 target/release/examples/loadgen relay --secret s --rate 20000 --duration 10
//! taskset -c 1 target/release/examples/loadgen idle --secret s --sockets 100000 --hold 30
//! ```
//!
//! The server pid (for /proc RSS/CPU figures) is found from the listening port, or given with
//! `--server-pid`. Figures measured on the project machine are in `examples/loadgen/README.md`.

mod report;
mod scen;
mod sio;
mod sys;

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use report::Report;
use scen::{Ctx, FanoutOpts, IdleOpts, PingOpts, RelayOpts, Stage, StormOpts};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Socket.IO load generator for Switchboard's /webrtc contract"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args)]
struct Common {
    /// Server base URL (loopback only): http://127.0.0.1:3000
    #[arg(long, global = true, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// JWT HS256 secret shared with the server (default: $JWT_SECRET)
    #[arg(long, global = true)]
    secret: Option<String>,
    /// Socket.IO namespace
    #[arg(long, global = true, default_value = "/webrtc")]
    namespace: String,
    /// Socket.IO path
    #[arg(long, global = true, default_value = "/socket.io/")]
    path: String,
    /// Source addresses: a count N (127.0.0.1..=127.0.0.N) or a comma list of loopback IPv4s
    #[arg(long, global = true, default_value = "250")]
    source_ips: String,
    /// Relay only: the second peer of each pair connects here (another cluster node)
    #[arg(long, global = true)]
    peer_url: Option<String>,
    /// Server pid for /proc RSS/CPU figures (default: the process listening on the URL's port)
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Runtime worker threads (default: CPUs in this process's affinity mask; 1 = current-thread)
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Per-connection handshake timeout, seconds
    #[arg(long, global = true, default_value_t = 10.0)]
    connect_timeout: f64,
    /// Hard stop for the whole run, seconds
    #[arg(long, global = true, default_value_t = 900)]
    max_time: u64,
    /// Token lifetime, seconds
    #[arg(long, global = true, default_value_t = 3600)]
    token_ttl: u64,
}

#[derive(Subcommand)]
enum Cmd {
    /// Hold many authenticated sockets in rooms; server RSS per socket and idle CPU
    Idle {
        #[arg(long, default_value_t = 1000)]
        sockets: usize,
        /// How far each socket goes: engineio (open only), namespace (authenticated), room (+ room:join)
        #[arg(long, value_enum, default_value = "room")]
        stage: StageArg,
        #[arg(long, default_value_t = 2)]
        room_size: usize,
        /// Seconds to hold after the ramp (engine.io pings every 25 s by default)
        #[arg(long, default_value_t = 30.0)]
        hold: f64,
        /// Connects in flight during the ramp
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
        /// Name rooms `<prefix>-<n>` (default: per run), so generators pointed at different
        /// nodes of a cluster fill the same rooms
        #[arg(long)]
        room_prefix: Option<String>,
    },
    /// Authenticated connects per second and connect latency
    Storm {
        #[arg(long, default_value_t = 10000)]
        total: usize,
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
        /// Close each socket right after its connect ack (default: keep all open until the end)
        #[arg(long)]
        close: bool,
    },
    /// Offer/answer/ICE relay between peer pairs at a fixed open-loop rate
    Relay {
        #[arg(long, default_value_t = 100)]
        pairs: usize,
        /// Messages per second, all pairs together
        #[arg(long, default_value_t = 20000.0)]
        rate: f64,
        /// Measured seconds (per sweep step)
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Unmeasured seconds at the same rate before each measurement
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        #[arg(long, default_value_t = 2048)]
        sdp_min: usize,
        #[arg(long, default_value_t = 4096)]
        sdp_max: usize,
        /// ICE candidates per offer/answer round
        #[arg(long, default_value_t = 2)]
        ice_per_round: usize,
        /// Search the highest rate whose p99 stays under --p99-target-ms
        #[arg(long)]
        sweep: bool,
        #[arg(long, default_value_t = 2000.0)]
        sweep_start: f64,
        #[arg(long, default_value_t = 200000.0)]
        sweep_max: f64,
        #[arg(long, default_value_t = 5.0)]
        p99_target_ms: f64,
    },
    /// peer:joined fan-out to rooms of 10/100/1000 members
    Fanout {
        #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
        members: Vec<usize>,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// ping events with ack
    Ping {
        #[arg(long, default_value_t = 20)]
        sockets: usize,
        #[arg(long, default_value_t = 10)]
        count: usize,
    },
    /// Every scenario at tiny size; non-zero exit on errors or zero deliveries (CI)
    Smoke {
        #[arg(long, default_value_t = 20)]
        sockets: usize,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StageArg {
    Engineio,
    Namespace,
    Room,
}

impl Cmd {
    fn fds_needed(&self) -> u64 {
        let n = match self {
            Cmd::Idle { sockets, .. } => *sockets,
            Cmd::Storm {
                total,
                concurrency,
                close,
            } => {
                if *close {
                    *concurrency
                } else {
                    *total
                }
            }
            Cmd::Relay { pairs, .. } => pairs * 2,
            Cmd::Fanout { members, .. } => members.iter().max().copied().unwrap_or(0) + 1,
            Cmd::Ping { sockets, .. } => *sockets,
            Cmd::Smoke { sockets } => sockets * 2,
        };
        n as u64 + 64
    }
}

fn resolve(url: &str) -> Result<(SocketAddr, String)> {
    let rest = url
        .split_once("://")
        .map(|(scheme, rest)| {
            if matches!(scheme, "http" | "ws") {
                Ok(rest)
            } else {
                bail!("--url: only http:// or ws:// (plain loopback) is supported, got {scheme}://")
            }
        })
        .transpose()?
        .unwrap_or(url);
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = if hostport.contains(':') && !hostport.ends_with(']') {
        hostport.to_owned()
    } else {
        format!("{hostport}:80")
    };
    let addrs: Vec<SocketAddr> = hostport
        .to_socket_addrs()
        .with_context(|| format!("--url: cannot resolve {hostport}"))?
        .collect();
    let Some(addr) = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
    else {
        bail!("--url: {hostport} resolves to nothing");
    };
    if !addrs.iter().all(|a| a.ip().is_loopback()) {
        bail!("--url: {hostport} is not a loopback address; load tests only target loopback");
    }
    Ok((addr, hostport))
}

async fn run(cmd: Cmd, ctx: Arc<Ctx>) -> Vec<Report> {
    match cmd {
        Cmd::Idle {
            sockets,
            stage,
            room_size,
            hold,
            concurrency,
            room_prefix,
        } => vec![
            scen::idle(
                &ctx,
                &IdleOpts {
                    stage: match stage {
                        StageArg::Engineio => Stage::Engineio,
                        StageArg::Namespace => Stage::Namespace,
                        StageArg::Room => Stage::Room,
                    },
                    sockets,
                    room_size,
                    hold,
                    concurrency,
                    room_prefix,
                },
            )
            .await,
        ],
        Cmd::Storm {
            total,
            concurrency,
            close,
        } => vec![
            scen::storm(
                &ctx,
                &StormOpts {
                    total,
                    concurrency,
                    close,
                },
            )
            .await,
        ],
        Cmd::Relay {
            pairs,
            rate,
            duration,
            warmup,
            sdp_min,
            sdp_max,
            ice_per_round,
            sweep,
            sweep_start,
            sweep_max,
            p99_target_ms,
        } => vec![
            scen::relay(
                &ctx,
                &RelayOpts {
                    pairs,
                    rate,
                    duration,
                    warmup,
                    sdp_min,
                    sdp_max,
                    ice_per_round,
                    sweep,
                    sweep_start,
                    sweep_max,
                    p99_target_ms,
                },
            )
            .await,
        ],
        Cmd::Fanout {
            members,
            rounds,
            concurrency,
        } => vec![
            scen::fanout(
                &ctx,
                &FanoutOpts {
                    members,
                    rounds,
                    concurrency,
                },
            )
            .await,
        ],
        Cmd::Ping { sockets, count } => vec![scen::ping(&ctx, &PingOpts { sockets, count }).await],
        Cmd::Smoke { sockets } => scen::smoke(&ctx, sockets).await,
    }
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let c = cli.common;
    let secret = match c.secret.or_else(|| std::env::var("JWT_SECRET").ok()) {
        Some(s) if !s.is_empty() => s,
        _ => bail!("--secret (or JWT_SECRET) is required: the server's JWT secret"),
    };
    let (addr, host) = resolve(&c.url)?;
    let sources = sys::parse_sources(&c.source_ips)?;
    let is_smoke = matches!(cli.cmd, Cmd::Smoke { .. });

    let limit = sys::raise_nofile(cli.cmd.fds_needed());
    if !limit.enough() {
        bail!(
            "this run needs {} open files but RLIMIT_NOFILE is {} (hard {}); lower the size or raise the limit",
            limit.need,
            limit.soft,
            limit.hard
        );
    }
    let server_pid = c.server_pid.or_else(|| sys::find_listener_pid(addr.port()));
    match server_pid {
        Some(pid) => {
            eprintln!("loadgen: server pid {pid} (for /proc figures)");
            if let Some(n) = sys::proc_nofile(pid)
                && n < limit.need
            {
                eprintln!(
                    "loadgen: warning: server pid {pid} may open only {n} files; this run needs about {}",
                    limit.need
                );
            }
        }
        None => eprintln!(
            "loadgen: server pid unknown (pass --server-pid); RSS/CPU figures will be null"
        ),
    }

    let max_time = c.max_time;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(max_time));
        eprintln!("loadgen: --max-time {max_time}s reached, stopping");
        std::process::exit(3);
    });

    let target = sio::Target {
        addr,
        host,
        path: c.path,
        nsp: c.namespace,
        sources: if addr.is_ipv4() { sources } else { Vec::new() },
        connect_timeout: Duration::from_secs_f64(c.connect_timeout),
    };
    let peer_target = match &c.peer_url {
        Some(url) => {
            let (addr, host) = resolve(url)?;
            Some(sio::Target {
                addr,
                host,
                path: target.path.clone(),
                nsp: target.nsp.clone(),
                sources: target.sources.clone(),
                connect_timeout: target.connect_timeout,
            })
        }
        None => None,
    };
    let mut ctx = Ctx::new(target, secret, c.token_ttl, server_pid);
    ctx.peer_target = peer_target;
    let ctx = Arc::new(ctx);
    let threads = c.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    let reports = rt.block_on(run(cli.cmd, ctx));
    let mut failed = Vec::new();
    for r in &reports {
        r.print();
        if !r.ok() {
            failed.push(r.scenario.clone());
        }
    }
    if is_smoke {
        let summary =
            serde_json::json!({ "scenario": "smoke", "ok": failed.is_empty(), "failed": failed });
        println!("{summary}");
    }
    // Do not wait for thousands of connection tasks to wind down.
    rt.shutdown_timeout(Duration::from_millis(500));
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
