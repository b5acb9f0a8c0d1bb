//! The scenarios: idle, storm, relay (+ sweep), fanout, ping, and the tiny smoke run.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::report::{Report, new_hist};
use super::sio::{self, Client, ConnErr, Counters, EventFn, Incoming, Target, now_ns, ns_at};
use super::sys::{self, ProcSample};

/// Everything a scenario needs.
pub struct Ctx {
    pub target: Target,
    pub secret: String,
    pub token_ttl: u64,
    pub counters: Arc<Counters>,
    pub server_pid: Option<u32>,
    pub run_id: String,
    pub call_timeout: Duration,
    /// Where the second peer of each relay pair connects (`--peer-url`):
    /// another node of a cluster, so relays cross nodes.
    pub peer_target: Option<Target>,
    next_user: AtomicUsize,
}

pub type Shared = Arc<Ctx>;

impl Ctx {
    pub fn new(target: Target, secret: String, token_ttl: u64, server_pid: Option<u32>) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let run_id = format!(
            "{:08x}",
            (nanos ^ u64::from(std::process::id()) << 20) as u32
        );
        Ctx {
            target,
            secret,
            token_ttl,
            counters: Arc::new(Counters::default()),
            server_pid,
            run_id,
            call_timeout: Duration::from_secs(10),
            peer_target: None,
            next_user: AtomicUsize::new(0),
        }
    }

    /// Reserve `n` distinct user indexes (each socket is its own user).
    fn alloc_users(&self, n: usize) -> usize {
        self.next_user.fetch_add(n, Ordering::Relaxed)
    }

    fn sample(&self) -> Option<ProcSample> {
        self.server_pid.and_then(sys::sample)
    }

    fn user_id(&self, user: usize) -> String {
        format!("{}-0000-4000-8000-{:012x}", self.run_id, user)
    }

    fn username(&self, user: usize) -> String {
        format!("lg{}u{user}", self.run_id)
    }

    /// HS256 JWT with the contract's claims: sub, username, email, iat, exp.
    pub fn mint(&self, user: usize) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = json!({
            "sub": self.user_id(user),
            "username": self.username(user),
            "email": format!("{}@loadgen.test", self.username(user)),
            "iat": now,
            "exp": now + self.token_ttl,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(self.secret.as_bytes()),
        )
        .unwrap_or_default()
    }

    async fn connect_user(
        &self,
        user: usize,
        on_event: EventFn,
    ) -> Result<(Client, Duration), ConnErr> {
        self.connect_user_to(&self.target, user, on_event).await
    }

    async fn connect_user_to(
        &self,
        target: &Target,
        user: usize,
        on_event: EventFn,
    ) -> Result<(Client, Duration), ConnErr> {
        let token = self.mint(user);
        sio::connect(target, user, &token, on_event, self.counters.clone()).await
    }
}

/// Run `f(0..n)` with at most `conc` in flight; results in index order.
pub async fn par_map<T, F, Fut>(n: usize, conc: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..conc.clamp(1, n.max(1)) {
        let f = f.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                out.push((i, f(i).await));
            }
            out
        }));
    }
    let mut all = Vec::with_capacity(n);
    for h in handles {
        if let Ok(v) = h.await {
            all.extend(v);
        }
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

/// Errors by kind, plus the first message of each kind.
#[derive(Default)]
struct Tally {
    kinds: BTreeMap<String, u64>,
    first: BTreeMap<String, String>,
}

impl Tally {
    fn add(&mut self, kind: &str, msg: &str) {
        *self.kinds.entry(kind.to_owned()).or_default() += 1;
        self.first
            .entry(kind.to_owned())
            .or_insert_with(|| msg.chars().take(200).collect());
    }
    fn total(&self) -> u64 {
        self.kinds.values().sum()
    }
    fn put(&self, r: &mut Report) {
        r.add("errors", self.total());
        r.add("error_kinds", json!(self.kinds));
        if !self.first.is_empty() {
            r.add("first_errors", json!(self.first));
        }
    }
}

struct JoinAck {
    peer_id: String,
}

async fn join_room(ctx: &Ctx, c: &Client, room: &str) -> anyhow::Result<JoinAck> {
    let v = c
        .call("room:join", &json!({ "roomId": room }), ctx.call_timeout)
        .await?;
    if v.get("success") != Some(&Value::Bool(true)) {
        anyhow::bail!("room:join {room} refused: {v}");
    }
    let peer_id = v
        .get("peerId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| c.sid.clone());
    Ok(JoinAck { peer_id })
}

fn server_fields(r: &mut Report, ctx: &Ctx) {
    r.add(
        "server_pid",
        ctx.server_pid.map(Value::from).unwrap_or(Value::Null),
    );
}

/// Percent of the interval the process's threads waited for a CPU while runnable.
fn runq_pct(a: Option<ProcSample>, b: Option<ProcSample>) -> Value {
    match (a, b) {
        (Some(a), Some(b)) => {
            let wall = b.at.duration_since(a.at).as_secs_f64();
            opt_f(Some((b.runq_s - a.runq_s) / wall.max(1e-9) * 100.0))
        }
        _ => Value::Null,
    }
}

fn load_avg() -> Value {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map(Value::from)
        .unwrap_or(Value::Null)
}

fn cpu_between(a: Option<ProcSample>, b: Option<ProcSample>) -> Option<(f64, f64)> {
    let (a, b) = (a?, b?);
    let wall = b.at.duration_since(a.at).as_secs_f64();
    Some((b.cpu_s - a.cpu_s, wall))
}

fn opt_f(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite())
        .map(|x| Value::from((x * 1000.0).round() / 1000.0))
        .unwrap_or(Value::Null)
}

// ---------------------------------------------------------------- idle

/// How far each idle socket goes: engine.io only, namespace connect, or also a room join.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    Engineio,
    Namespace,
    Room,
}

pub struct IdleOpts {
    pub stage: Stage,
    pub sockets: usize,
    pub room_size: usize,
    pub hold: f64,
    pub concurrency: usize,
    /// Room names `{prefix}-{n}` instead of this run's own, so generators
    /// on different nodes of a cluster fill the same rooms.
    pub room_prefix: Option<String>,
}

pub async fn idle(ctx: &Shared, o: &IdleOpts) -> Report {
    let mut r = Report::new("idle");
    let base = ctx.alloc_users(o.sockets);
    let room_size = o.room_size.max(1);
    let before = ctx.sample();
    let disc0 = ctx.counters.disconnects.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let c2 = ctx.clone();
    let stage = o.stage;
    let prefix = o.room_prefix.clone();
    let results = par_map(o.sockets, o.concurrency, move |i| {
        let ctx = c2.clone();
        let prefix = prefix.clone();
        async move {
            let token = (stage != Stage::Engineio).then(|| ctx.mint(base + i));
            let (c, _) = sio::connect_opt(
                &ctx.target,
                base + i,
                token.as_deref(),
                sio::ignore_events(),
                ctx.counters.clone(),
            )
            .await
            .map_err(|e| (e.kind().to_owned(), e.to_string()))?;
            if stage == Stage::Room {
                let room = match &prefix {
                    Some(p) => format!("{p}-{}", i / room_size),
                    None => format!("idle-{}-{}", ctx.run_id, i / room_size),
                };
                join_room(&ctx, &c, &room)
                    .await
                    .map_err(|e| ("room_join".to_owned(), e.to_string()))?;
            }
            Ok::<Client, (String, String)>(c)
        }
    })
    .await;
    let ramp = t0.elapsed().as_secs_f64();
    let mut tally = Tally::default();
    let mut clients = Vec::with_capacity(results.len());
    for res in results {
        match res {
            Ok(c) => clients.push(c),
            Err((k, m)) => tally.add(&k, &m),
        }
    }
    let connected = clients.len();
    eprintln!(
        "loadgen idle: {connected} sockets up in {ramp:.1}s, holding {}s",
        o.hold
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = ctx.sample();
    let pings0 = ctx.counters.pings.load(Ordering::Relaxed);
    let disc1 = ctx.counters.disconnects.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(o.hold)).await;
    let end = ctx.sample();
    let alive = clients.iter().filter(|c| c.is_alive()).count();
    let disc2 = ctx.counters.disconnects.load(Ordering::Relaxed);

    r.add("stage", format!("{:?}", o.stage).to_lowercase());
    r.add("sockets", o.sockets as u64);
    r.add("connected", connected as u64);
    tally.put(&mut r);
    r.add("room_size", room_size as u64);
    r.add("rooms", connected.div_ceil(room_size) as u64);
    r.addf("ramp_s", ramp, 2);
    r.addf("ramp_sockets_per_s", connected as f64 / ramp.max(1e-9), 0);
    r.addf("hold_s", o.hold, 1);
    server_fields(&mut r, ctx);
    r.add("server_rss_before_kib", before.map(|s| s.rss_kib));
    r.add("server_rss_after_ramp_kib", after.map(|s| s.rss_kib));
    r.add("server_rss_end_kib", end.map(|s| s.rss_kib));
    let per = match (before, end) {
        (Some(b), Some(e)) if connected > 0 => {
            Some((e.rss_kib as f64 - b.rss_kib as f64) * 1024.0 / connected as f64)
        }
        _ => None,
    };
    r.add("server_rss_per_socket_bytes", opt_f(per.map(f64::round)));
    r.add("server_rss_per_socket_kib", opt_f(per.map(|b| b / 1024.0)));
    let cpu = cpu_between(after, end);
    r.add(
        "server_cpu_hold_pct",
        opt_f(cpu.map(|(c, w)| c / w * 100.0)),
    );
    r.add("server_cpu_hold_s", opt_f(cpu.map(|(c, _)| c)));
    r.add("server_runq_wait_pct", runq_pct(after, end));
    r.add("loadavg_1m", load_avg());
    r.add(
        "engineio_pings_answered",
        ctx.counters.pings.load(Ordering::Relaxed) - pings0,
    );
    r.add("disconnects_during_ramp", disc1 - disc0);
    r.add("disconnects_during_hold", disc2 - disc1);
    r.add("alive_at_end", alive as u64);
    r.add("generator_rss_kib", sys::self_rss_kib());
    if tally.total() > 0 {
        r.problem(format!("{} sockets failed to connect/join", tally.total()));
    }
    if connected == 0 {
        r.problem("no socket connected");
    }
    if alive < connected {
        r.problem(format!(
            "{} sockets dropped during the hold",
            connected - alive
        ));
    }
    drop(clients);
    tokio::time::sleep(Duration::from_millis(200)).await;
    r
}

// ---------------------------------------------------------------- storm

pub struct StormOpts {
    pub total: usize,
    pub concurrency: usize,
    pub close: bool,
}

pub async fn storm(ctx: &Shared, o: &StormOpts) -> Report {
    let mut r = Report::new("storm");
    let base = ctx.alloc_users(o.total);
    // Tokens are minted before the clock starts.
    let tokens: Arc<Vec<String>> = Arc::new((0..o.total).map(|i| ctx.mint(base + i)).collect());
    let s0 = ctx.sample();
    let g0 = sys::sample(std::process::id());
    let t0 = Instant::now();
    let c2 = ctx.clone();
    let close = o.close;
    let results = par_map(o.total, o.concurrency, move |i| {
        let ctx = c2.clone();
        let tokens = tokens.clone();
        async move {
            let (c, took) = sio::connect(
                &ctx.target,
                base + i,
                &tokens[i],
                sio::ignore_events(),
                ctx.counters.clone(),
            )
            .await?;
            Ok::<_, ConnErr>((if close { None } else { Some(c) }, took))
        }
    })
    .await;
    let wall = t0.elapsed().as_secs_f64();
    let s1 = ctx.sample();
    let g1 = sys::sample(std::process::id());
    let mut h = new_hist();
    let mut tally = Tally::default();
    let mut held = Vec::new();
    for res in results {
        match res {
            Ok((c, took)) => {
                h.saturating_record((took.as_micros() as u64).max(1));
                held.extend(c);
            }
            Err(e) => tally.add(e.kind(), &e.to_string()),
        }
    }
    let ok = h.len();
    r.add("total", o.total as u64);
    r.add("concurrency", o.concurrency as u64);
    r.add(
        "mode",
        if o.close {
            "close-after-ack"
        } else {
            "keep-open"
        },
    );
    r.add("connected", ok);
    tally.put(&mut r);
    r.addf("wall_s", wall, 3);
    r.addf("connects_per_s", ok as f64 / wall.max(1e-9), 0);
    r.add_latency("connect", &h);
    server_fields(&mut r, ctx);
    let cpu = cpu_between(s0, s1);
    r.add(
        "server_cpu_ms_per_1k_connects",
        opt_f(cpu.map(|(c, _)| c * 1000.0 / (ok.max(1) as f64 / 1000.0))),
    );
    r.add("server_cpu_pct", opt_f(cpu.map(|(c, w)| c / w * 100.0)));
    r.add(
        "generator_cpu_pct",
        opt_f(cpu_between(g0, g1).map(|(c, w)| c / w * 100.0)),
    );
    r.add("server_runq_wait_pct", runq_pct(s0, s1));
    r.add("generator_runq_wait_pct", runq_pct(g0, g1));
    r.add("loadavg_1m", load_avg());
    r.add(
        "server_rss_delta_kib",
        match (s0, s1) {
            (Some(a), Some(b)) => Value::from(b.rss_kib as i64 - a.rss_kib as i64),
            _ => Value::Null,
        },
    );
    if tally.total() > 0 {
        r.problem(format!("{} connects failed", tally.total()));
    }
    if ok == 0 {
        r.problem("no connect succeeded");
    }
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    r
}

// ---------------------------------------------------------------- relay

pub struct RelayOpts {
    pub pairs: usize,
    pub rate: f64,
    pub duration: f64,
    pub warmup: f64,
    pub sdp_min: usize,
    pub sdp_max: usize,
    pub ice_per_round: usize,
    pub sweep: bool,
    pub sweep_start: f64,
    pub sweep_max: f64,
    pub p99_target_ms: f64,
}

/// Receive-side state shared by all relay sockets.
struct RelayShared {
    hist: Mutex<Histogram<u64>>,
    ack_hist: Mutex<Histogram<u64>>,
    from_ns: AtomicU64,
    until_ns: AtomicU64,
    received_window: AtomicU64,
    received_total: AtomicU64,
    unparsed: AtomicU64,
    acks_ok: AtomicU64,
    acks_err: AtomicU64,
    first_err: Mutex<Option<String>>,
}

struct Pair {
    a: Client,
    b: Client,
    a_id: String, // JSON string literal, quotes included
    b_id: String,
    offer: (String, String),
    answer: (String, String),
}

/// Pull the send timestamp out of a relayed payload: the SDP origin line `o=- <ts> ...`
/// or the candidate foundation `candidate:<ts> ...`.
fn extract_ts(raw: &str) -> Option<u64> {
    let start = raw
        .find("o=- ")
        .map(|i| i + 4)
        .or_else(|| raw.find("candidate:").map(|i| i + 10))?;
    let s = &raw[start..];
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    s[..n].parse().ok()
}

/// A plausible SDP of about `size` bytes, JSON-escaped, split around the timestamp position.
fn make_sdp(kind: &str, size: usize, seed: u64) -> (String, String) {
    let setup = if kind == "offer" { "actpass" } else { "active" };
    let mut tail = format!(
        " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\n\
         a=msid-semantic: WMS lg{seed}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n\
         c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:lg{seed:x}\r\n\
         a=ice-pwd:loadgenloadgenloadgen{seed:08x}\r\na=ice-options:trickle\r\n\
         a=fingerprint:sha-256 3C:4E:8A:1F:22:90:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD\r\n\
         a=setup:{setup}\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n\
         a=fmtp:111 minptime=10;useinbandfec=1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101\r\n\
         c=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
    );
    let mut n = 0u64;
    while tail.len() + 10 < size {
        let line = match n % 4 {
            0 => format!("a=rtpmap:{} VP8/90000\r\n", 96 + n % 30),
            1 => format!("a=rtcp-fb:{} nack pli\r\n", 96 + n % 30),
            2 => format!(
                "a=ssrc:{} cname:loadgen{seed}\r\n",
                1_000_000 + seed * 97 + n
            ),
            _ => format!(
                "a=fmtp:{} level-asymmetry-allowed=1;packetization-mode=1\r\n",
                96 + n % 30
            ),
        };
        tail.push_str(&line);
        n += 1;
    }
    let esc = |s: &str| {
        let q = serde_json::to_string(s).unwrap_or_default();
        q[1..q.len() - 1].to_owned()
    };
    (esc("v=0\r\no=- "), esc(&tail))
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

async fn setup_pairs(
    ctx: &Shared,
    o: &RelayOpts,
    sh: &Arc<RelayShared>,
    tally: &mut Tally,
) -> Vec<Pair> {
    let base = ctx.alloc_users(o.pairs * 2);
    let s2 = sh.clone();
    let on_event: EventFn = Arc::new(move |m: &Incoming<'_>| {
        if !matches!(m.event, "offer" | "answer" | "ice-candidate") {
            return;
        }
        let Some(ts) = extract_ts(m.raw) else {
            s2.unparsed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        s2.received_total.fetch_add(1, Ordering::Relaxed);
        if ts >= s2.from_ns.load(Ordering::Relaxed) && ts < s2.until_ns.load(Ordering::Relaxed) {
            s2.received_window.fetch_add(1, Ordering::Relaxed);
            let us = ns_at(m.at).saturating_sub(ts) / 1000;
            if let Ok(mut h) = s2.hist.lock() {
                h.saturating_record(us.max(1));
            }
        }
    });
    let c2 = ctx.clone();
    let (lo, hi) = (o.sdp_min.min(o.sdp_max), o.sdp_max.max(o.sdp_min));
    let results = par_map(o.pairs, 64, move |k| {
        let ctx = c2.clone();
        let on_event = on_event.clone();
        async move {
            let err = |e: ConnErr| (e.kind().to_owned(), e.to_string());
            let (a, _) = ctx
                .connect_user(base + 2 * k, on_event.clone())
                .await
                .map_err(err)?;
            let b_target = ctx.peer_target.as_ref().unwrap_or(&ctx.target);
            let (b, _) = ctx
                .connect_user_to(b_target, base + 2 * k + 1, on_event)
                .await
                .map_err(err)?;
            let room = format!("relay-{}-{k}", ctx.run_id);
            let ja = join_room(&ctx, &a, &room)
                .await
                .map_err(|e| ("room_join".to_owned(), e.to_string()))?;
            let jb = join_room(&ctx, &b, &room)
                .await
                .map_err(|e| ("room_join".to_owned(), e.to_string()))?;
            let seed = k as u64;
            let span = (hi - lo + 1) as u64;
            let size_a = lo + ((seed.wrapping_mul(2_654_435_761) >> 3) % span) as usize;
            let size_b = lo + ((seed.wrapping_mul(40_503) >> 2) % span) as usize;
            Ok::<Pair, (String, String)>(Pair {
                a,
                b,
                a_id: json_str(&ja.peer_id),
                b_id: json_str(&jb.peer_id),
                offer: make_sdp("offer", size_a, seed),
                answer: make_sdp("answer", size_b, seed),
            })
        }
    })
    .await;
    let mut pairs = Vec::new();
    for res in results {
        match res {
            Ok(p) => pairs.push(p),
            Err((k, m)) => tally.add(&k, &m),
        }
    }
    pairs
}

struct Step {
    rate: f64,
    sent_window: u64,
    window_s: f64,
    received_window: u64,
    hist: Histogram<u64>,
    ack_hist: Histogram<u64>,
    acks_ok: u64,
    acks_err: u64,
    lag: Histogram<u64>,
    cpu: Option<(f64, f64)>,
    gen_cpu: Option<(f64, f64)>,
    runq: (Value, Value),
}

impl Step {
    fn achieved(&self) -> f64 {
        self.sent_window as f64 / self.window_s.max(1e-9)
    }
    fn lost(&self) -> u64 {
        self.sent_window.saturating_sub(self.received_window)
    }
    fn p99_ms(&self) -> f64 {
        if self.hist.is_empty() {
            f64::INFINITY
        } else {
            self.hist.value_at_quantile(0.99) as f64 / 1000.0
        }
    }
    fn cpu_ms_per_1k(&self) -> Option<f64> {
        self.cpu
            .map(|(c, _)| c * 1000.0 / (self.sent_window.max(1) as f64 / 1000.0))
    }
    fn pass(&self, target_ms: f64) -> bool {
        self.p99_ms() <= target_ms
            && self.lost() == 0
            && self.acks_err == 0
            && self.achieved() >= self.rate * 0.97
    }
}

async fn relay_step(
    ctx: &Shared,
    pairs: &[Pair],
    sh: &Arc<RelayShared>,
    o: &RelayOpts,
    rate: f64,
    duration: f64,
) -> Step {
    let steps = 2 + o.ice_per_round as u64;
    let np = pairs.len() as u64;
    let start = Instant::now();
    let warm_end = start + Duration::from_secs_f64(o.warmup);
    let end = warm_end + Duration::from_secs_f64(duration);
    sh.from_ns.store(ns_at(warm_end), Ordering::Relaxed);
    sh.until_ns.store(u64::MAX, Ordering::Relaxed);
    sh.received_window.store(0, Ordering::Relaxed);
    if let Ok(mut h) = sh.hist.lock() {
        h.reset();
    }
    if let Ok(mut h) = sh.ack_hist.lock() {
        h.reset();
    }
    let ok0 = sh.acks_ok.load(Ordering::Relaxed);
    let err0 = sh.acks_err.load(Ordering::Relaxed);
    let mut lag = new_hist();
    let mut sent: u64 = 0;
    let mut sent_window: u64 = 0;
    let mut cpu0 = if o.warmup <= 0.0 { ctx.sample() } else { None };
    let mut gen0 = if o.warmup <= 0.0 {
        sys::sample(std::process::id())
    } else {
        None
    };
    let mut window_started = o.warmup <= 0.0;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let from_ns = ns_at(warm_end);
    loop {
        ticker.tick().await;
        let now = Instant::now();
        if now >= end {
            break;
        }
        if !window_started && now >= warm_end {
            window_started = true;
            cpu0 = ctx.sample();
            gen0 = sys::sample(std::process::id());
        }
        // Message j is due at start + j/rate.
        let due = (now.duration_since(start).as_secs_f64() * rate) as u64 + 1;
        if sent >= due {
            continue;
        }
        let intended = start + Duration::from_secs_f64(sent as f64 / rate);
        lag.saturating_record((now.saturating_duration_since(intended).as_micros() as u64).max(1));
        let ts = ns_at(now);
        while sent < due {
            let j = sent;
            sent += 1;
            let p = &pairs[(j % np) as usize];
            let step = (j / np) % steps;
            let (from, body) = match step {
                0 => (
                    &p.a,
                    format!(
                        "[\"offer\",{{\"to\":{},\"sdp\":{{\"type\":\"offer\",\"sdp\":\"{}{ts}{}\"}}}}]",
                        p.b_id, p.offer.0, p.offer.1
                    ),
                ),
                1 => (
                    &p.b,
                    format!(
                        "[\"answer\",{{\"to\":{},\"sdp\":{{\"type\":\"answer\",\"sdp\":\"{}{ts}{}\"}}}}]",
                        p.a_id, p.answer.0, p.answer.1
                    ),
                ),
                k => {
                    let (c, to) = if k % 2 == 0 {
                        (&p.a, &p.b_id)
                    } else {
                        (&p.b, &p.a_id)
                    };
                    (
                        c,
                        format!(
                            "[\"ice-candidate\",{{\"to\":{to},\"candidate\":{{\"candidate\":\"candidate:{ts} 1 udp 2122260223 127.0.0.1 {} typ host generation 0\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0,\"usernameFragment\":\"lg{}\"}}}}]",
                            50000 + k,
                            j % np
                        ),
                    )
                }
            };
            let in_window = ts >= from_ns;
            if in_window {
                sent_window += 1;
            }
            let s2 = sh.clone();
            let ack: sio::AckFn = Box::new(move |raw: &str, at: Instant| {
                if raw.contains("\"success\":true") {
                    s2.acks_ok.fetch_add(1, Ordering::Relaxed);
                    if in_window && let Ok(mut h) = s2.ack_hist.lock() {
                        h.saturating_record((ns_at(at).saturating_sub(ts) / 1000).max(1));
                    }
                } else {
                    s2.acks_err.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut f) = s2.first_err.lock() {
                        f.get_or_insert_with(|| raw.chars().take(200).collect());
                    }
                }
            });
            from.emit_raw(body, Some(ack));
        }
    }
    let window_end = Instant::now();
    let cpu1 = ctx.sample();
    let gen1 = sys::sample(std::process::id());
    sh.until_ns.store(ns_at(window_end), Ordering::Relaxed);
    // Drain: wait for outstanding deliveries and acks (bounded).
    let drain_deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < drain_deadline {
        let done_acks =
            sh.acks_ok.load(Ordering::Relaxed) + sh.acks_err.load(Ordering::Relaxed) - ok0 - err0;
        if sh.received_window.load(Ordering::Relaxed) >= sent_window && done_acks >= sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let window_s = window_end
        .duration_since(warm_end.min(window_end))
        .as_secs_f64();
    Step {
        rate,
        sent_window,
        window_s,
        received_window: sh.received_window.load(Ordering::Relaxed),
        hist: sh
            .hist
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|_| new_hist()),
        ack_hist: sh
            .ack_hist
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|_| new_hist()),
        acks_ok: sh.acks_ok.load(Ordering::Relaxed) - ok0,
        acks_err: sh.acks_err.load(Ordering::Relaxed) - err0,
        lag,
        cpu: cpu_between(cpu0, cpu1),
        gen_cpu: cpu_between(gen0, gen1),
        runq: (runq_pct(cpu0, cpu1), runq_pct(gen0, gen1)),
    }
}

fn step_json(s: &Step) -> Value {
    let q = |h: &Histogram<u64>, q: f64| {
        if h.is_empty() {
            Value::Null
        } else {
            opt_f(Some(h.value_at_quantile(q) as f64 / 1000.0))
        }
    };
    json!({
        "rate": s.rate.round(),
        "achieved_rate": s.achieved().round(),
        "sent": s.sent_window,
        "delivered": s.received_window,
        "undelivered": s.lost(),
        "p50_ms": q(&s.hist, 0.5),
        "p99_ms": q(&s.hist, 0.99),
        "p999_ms": q(&s.hist, 0.999),
        "max_ms": q(&s.hist, 1.0),
        "ack_p99_ms": q(&s.ack_hist, 0.99),
        "ack_errors": s.acks_err,
        "driver_lag_p99_ms": q(&s.lag, 0.99),
        "server_cpu_pct": opt_f(s.cpu.map(|(c, w)| c / w * 100.0)),
        "server_cpu_ms_per_1k_msgs": opt_f(s.cpu_ms_per_1k()),
        "generator_cpu_pct": opt_f(s.gen_cpu.map(|(c, w)| c / w * 100.0)),
        "server_runq_wait_pct": s.runq.0,
        "generator_runq_wait_pct": s.runq.1,
        "loadavg_1m": load_avg(),
    })
}

pub async fn relay(ctx: &Shared, o: &RelayOpts) -> Report {
    let mut r = Report::new(if o.sweep { "relay-sweep" } else { "relay" });
    let sh = Arc::new(RelayShared {
        hist: Mutex::new(new_hist()),
        ack_hist: Mutex::new(new_hist()),
        from_ns: AtomicU64::new(u64::MAX),
        until_ns: AtomicU64::new(u64::MAX),
        received_window: AtomicU64::new(0),
        received_total: AtomicU64::new(0),
        unparsed: AtomicU64::new(0),
        acks_ok: AtomicU64::new(0),
        acks_err: AtomicU64::new(0),
        first_err: Mutex::new(None),
    });
    let mut tally = Tally::default();
    let pairs = setup_pairs(ctx, o, &sh, &mut tally).await;
    r.add("pairs", pairs.len() as u64);
    r.add("sdp_bytes", format!("{}-{}", o.sdp_min, o.sdp_max));
    r.add("ice_per_round", o.ice_per_round as u64);
    server_fields(&mut r, ctx);
    if pairs.is_empty() {
        tally.put(&mut r);
        r.problem("no pair could be set up");
        return r;
    }
    let _ = now_ns();
    let disc0 = ctx.counters.disconnects.load(Ordering::Relaxed);
    if !o.sweep {
        let s = relay_step(ctx, &pairs, &sh, o, o.rate, o.duration).await;
        r.addf("rate_target", o.rate, 0);
        r.addf("achieved_rate", s.achieved(), 0);
        r.addf("window_s", s.window_s, 2);
        r.add("sent", s.sent_window);
        r.add("delivered", s.received_window);
        r.add("undelivered", s.lost());
        r.add_latency("oneway", &s.hist);
        r.add_latency("ack_rtt", &s.ack_hist);
        r.add_latency("driver_lag", &s.lag);
        r.add("acks_ok", s.acks_ok);
        r.add("ack_errors", s.acks_err);
        r.add("server_cpu_pct", opt_f(s.cpu.map(|(c, w)| c / w * 100.0)));
        r.add("server_cpu_ms_per_1k_msgs", opt_f(s.cpu_ms_per_1k()));
        r.add(
            "generator_cpu_pct",
            opt_f(s.gen_cpu.map(|(c, w)| c / w * 100.0)),
        );
        r.add("server_runq_wait_pct", s.runq.0.clone());
        r.add("generator_runq_wait_pct", s.runq.1.clone());
        r.add("loadavg_1m", load_avg());
        if s.received_window == 0 {
            r.problem("zero deliveries");
        }
        if s.lost() > 0 {
            r.problem(format!(
                "{} relayed messages not delivered within the 3 s drain",
                s.lost()
            ));
        }
        if s.acks_err > 0 {
            r.problem(format!("{} relay acks were errors", s.acks_err));
        }
    } else {
        let mut steps_json = Vec::new();
        let mut good: Option<f64> = None;
        let mut bad: Option<f64> = None;
        let mut best: Option<Value> = None;
        let mut rate = o.sweep_start;
        for _ in 0..14 {
            let s = relay_step(ctx, &pairs, &sh, o, rate, o.duration).await;
            let pass = s.pass(o.p99_target_ms);
            let mut j = step_json(&s);
            j["pass"] = Value::from(pass);
            eprintln!("loadgen relay-sweep: {j}");
            if pass {
                good = Some(good.map_or(rate, |g: f64| g.max(rate)));
                best = Some(j.clone());
            } else {
                bad = Some(bad.map_or(rate, |b: f64| b.min(rate)));
            }
            steps_json.push(j);
            rate = match (good, bad) {
                (_, None) => rate * 1.5,
                (None, Some(b)) => b / 2.0,
                (Some(g), Some(b)) => {
                    if b / g < 1.08 {
                        break;
                    }
                    (g + b) / 2.0
                }
            };
            if rate > o.sweep_max || rate < 50.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        r.addf("p99_target_ms", o.p99_target_ms, 2);
        r.add("max_rate_meeting_target", good.map(|g| g.round()));
        r.add("first_failing_rate", bad.map(|b| b.round()));
        r.add("best_step", best.unwrap_or(Value::Null));
        r.add("steps", Value::from(steps_json));
        if good.is_none() {
            r.problem("no rate met the p99 target");
        }
    }
    r.add("unparsed_deliveries", sh.unparsed.load(Ordering::Relaxed));
    r.add(
        "disconnects",
        ctx.counters.disconnects.load(Ordering::Relaxed) - disc0,
    );
    if let Ok(f) = sh.first_err.lock()
        && let Some(e) = f.as_ref()
    {
        r.add("first_ack_error", e.clone());
    }
    tally.put(&mut r);
    if tally.total() > 0 {
        r.problem(format!("{} sockets failed to set up", tally.total()));
    }
    r.add("generator_rss_kib", sys::self_rss_kib());
    drop(pairs);
    tokio::time::sleep(Duration::from_millis(200)).await;
    r
}

// ---------------------------------------------------------------- fanout

pub struct FanoutOpts {
    pub members: Vec<usize>,
    pub rounds: usize,
    pub concurrency: usize,
}

#[derive(Default)]
struct FanState {
    marker: Mutex<String>,
    t0_ns: AtomicU64,
    joined: AtomicU64,
    left: AtomicU64,
    last_join_ns: AtomicU64,
    last_left_ns: AtomicU64,
    hist: Mutex<Option<Histogram<u64>>>,
}

async fn wait_count(c: &AtomicU64, want: u64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while c.load(Ordering::Relaxed) < want {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    true
}

pub async fn fanout(ctx: &Shared, o: &FanoutOpts) -> Report {
    let mut r = Report::new("fanout");
    r.add("rounds", o.rounds as u64);
    server_fields(&mut r, ctx);
    let mut tally = Tally::default();
    let mut sizes = Vec::new();
    let mut total_delivered = 0u64;
    for &m in &o.members {
        let m = m.max(2);
        let receivers = m - 1;
        let st = Arc::new(FanState::default());
        let s2 = st.clone();
        let on_event: EventFn = Arc::new(move |ev: &Incoming<'_>| {
            let is_join = ev.event == "peer:joined";
            if !is_join && ev.event != "peer:left" {
                return;
            }
            let matches = s2
                .marker
                .lock()
                .map(|mk| !mk.is_empty() && ev.raw.contains(mk.as_str()))
                .unwrap_or(false);
            if !matches {
                return;
            }
            let at = ns_at(ev.at);
            if is_join {
                s2.joined.fetch_add(1, Ordering::Relaxed);
                s2.last_join_ns.fetch_max(at, Ordering::Relaxed);
                if let Ok(mut h) = s2.hist.lock()
                    && let Some(h) = h.as_mut()
                {
                    let t0 = s2.t0_ns.load(Ordering::Relaxed);
                    h.saturating_record((at.saturating_sub(t0) / 1000).max(1));
                }
            } else {
                s2.left.fetch_add(1, Ordering::Relaxed);
                s2.last_left_ns.fetch_max(at, Ordering::Relaxed);
            }
        });
        let base = ctx.alloc_users(m);
        let room = format!("fan-{}-{m}", ctx.run_id);
        let c2 = ctx.clone();
        let room2 = room.clone();
        let oe = on_event.clone();
        let t_setup = Instant::now();
        let results = par_map(receivers, o.concurrency, move |i| {
            let ctx = c2.clone();
            let room = room2.clone();
            let oe = oe.clone();
            async move {
                let (c, _) = ctx
                    .connect_user(base + i, oe)
                    .await
                    .map_err(|e| (e.kind().to_owned(), e.to_string()))?;
                join_room(&ctx, &c, &room)
                    .await
                    .map_err(|e| ("room_join".to_owned(), e.to_string()))?;
                Ok::<Client, (String, String)>(c)
            }
        })
        .await;
        let mut members = Vec::new();
        let mut setup_errors = 0u64;
        for res in results {
            match res {
                Ok(c) => members.push(c),
                Err((k, msg)) => {
                    setup_errors += 1;
                    tally.add(&k, &msg);
                }
            }
        }
        let setup_s = t_setup.elapsed().as_secs_f64();
        let pub_user = base + receivers;
        let publisher = match ctx.connect_user(pub_user, sio::ignore_events()).await {
            Ok((c, _)) => c,
            Err(e) => {
                tally.add(e.kind(), &e.to_string());
                continue;
            }
        };
        if let Ok(mut mk) = st.marker.lock() {
            // peer:joined and peer:left both carry the publisher's userId.
            *mk = format!("\"{}\"", ctx.user_id(pub_user));
        }
        if let Ok(mut h) = st.hist.lock() {
            *h = Some(new_hist());
        }
        let expect = members.len() as u64;
        let wait_limit = Duration::from_secs(10) + Duration::from_millis(10 * m as u64);
        // Let setup fan-out settle before timing.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let s0 = ctx.sample();
        let mut join_last_ms = Vec::new();
        let mut leave_last_ms = Vec::new();
        let mut join_busy_s = 0.0;
        let mut delivered = 0u64;
        let mut left_delivered = 0u64;
        let mut incomplete = 0u64;
        for round in 0..o.rounds {
            st.joined.store(0, Ordering::Relaxed);
            st.left.store(0, Ordering::Relaxed);
            let t0 = now_ns();
            st.t0_ns.store(t0, Ordering::Relaxed);
            if let Err(e) = join_room(ctx, &publisher, &room).await {
                tally.add("publisher_join", &e.to_string());
                break;
            }
            if !wait_count(&st.joined, expect, wait_limit).await {
                incomplete += 1;
            }
            let got = st.joined.load(Ordering::Relaxed);
            delivered += got;
            let last = st.last_join_ns.load(Ordering::Relaxed).saturating_sub(t0) as f64 / 1e6;
            if got > 0 {
                join_last_ms.push(last);
                join_busy_s += last / 1000.0;
            }
            let t1 = now_ns();
            match publisher
                .call("room:leave", &json!({ "roomId": room }), ctx.call_timeout)
                .await
            {
                Ok(v) if v.get("success") == Some(&Value::Bool(true)) => {}
                Ok(v) => tally.add("publisher_leave", &v.to_string()),
                Err(e) => tally.add("publisher_leave", &e.to_string()),
            }
            if !wait_count(&st.left, expect, wait_limit).await {
                incomplete += 1;
            }
            left_delivered += st.left.load(Ordering::Relaxed);
            if st.left.load(Ordering::Relaxed) > 0 {
                leave_last_ms
                    .push(st.last_left_ns.load(Ordering::Relaxed).saturating_sub(t1) as f64 / 1e6);
            }
            eprintln!(
                "loadgen fanout: members={m} round={round} peer:joined {got}/{expect} last={last:.3}ms"
            );
        }
        let s1 = ctx.sample();
        total_delivered += delivered;
        let med = |v: &mut Vec<f64>| {
            if v.is_empty() {
                return None;
            }
            v.sort_by(|a, b| a.total_cmp(b));
            Some(v[v.len() / 2])
        };
        let maxf = |v: &[f64]| {
            v.iter()
                .cloned()
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
        };
        let h = st
            .hist
            .lock()
            .ok()
            .and_then(|h| h.clone())
            .unwrap_or_else(new_hist);
        let q = |q: f64| {
            if h.is_empty() {
                None
            } else {
                Some(h.value_at_quantile(q) as f64 / 1000.0)
            }
        };
        let cpu = cpu_between(s0, s1);
        let row = json!({
            "members": m,
            "receivers": expect,
            "setup_errors": setup_errors,
            "setup_s": opt_f(Some(setup_s)),
            "deliveries": delivered,
            "expected": expect * o.rounds as u64,
            "incomplete_rounds": incomplete,
            "deliveries_per_s": opt_f(Some(delivered as f64 / join_busy_s.max(1e-9)).filter(|_| delivered > 0)),
            "join_to_last_receiver_ms_median": opt_f(med(&mut join_last_ms.clone())),
            "join_to_last_receiver_ms_max": opt_f(maxf(&join_last_ms)),
            "delivery_p50_ms": opt_f(q(0.5)),
            "delivery_p99_ms": opt_f(q(0.99)),
            "leave_to_last_receiver_ms_median": opt_f(med(&mut leave_last_ms)),
            // The window holds both fan-outs of every round (peer:joined and peer:left).
            "left_deliveries": left_delivered,
            "server_cpu_ms_per_1k_deliveries": opt_f(cpu.map(|(c, _)| c * 1000.0 / ((delivered + left_delivered).max(1) as f64 / 1000.0))),
            "server_runq_wait_pct": runq_pct(s0, s1),
        });
        eprintln!("loadgen fanout: {row}");
        if delivered < expect * o.rounds as u64 {
            r.problem(format!(
                "members={m}: {delivered} of {} peer:joined deliveries arrived",
                expect * o.rounds as u64
            ));
        }
        sizes.push(row);
        drop(publisher);
        drop(members);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Flatten the headline figures per size for the table.
    for row in &sizes {
        let m = row["members"].as_u64().unwrap_or(0);
        r.add(
            &format!("m{m}_deliveries_per_s"),
            row["deliveries_per_s"].clone(),
        );
        r.add(
            &format!("m{m}_join_to_last_ms_median"),
            row["join_to_last_receiver_ms_median"].clone(),
        );
        r.add(
            &format!("m{m}_delivery_p99_ms"),
            row["delivery_p99_ms"].clone(),
        );
        r.add(
            &format!("m{m}_delivered"),
            format!("{}/{}", row["deliveries"], row["expected"]),
        );
    }
    r.add("sizes", Value::from(sizes));
    r.add("total_deliveries", total_delivered);
    tally.put(&mut r);
    if tally.total() > 0 {
        r.problem(format!(
            "{} setup errors (rooms above the server's cap need ROOM_MAX_PEERS >= members)",
            tally.total()
        ));
    }
    if total_delivered == 0 {
        r.problem("zero deliveries");
    }
    r
}

// ---------------------------------------------------------------- ping

pub struct PingOpts {
    pub sockets: usize,
    pub count: usize,
}

pub async fn ping(ctx: &Shared, o: &PingOpts) -> Report {
    let mut r = Report::new("ping");
    let pongs = Arc::new(AtomicU64::new(0));
    let p2 = pongs.clone();
    let on_event: EventFn = Arc::new(move |ev: &Incoming<'_>| {
        if ev.event == "pong" && ev.raw.contains("\"pong\"") {
            p2.fetch_add(1, Ordering::Relaxed);
        }
    });
    let base = ctx.alloc_users(o.sockets);
    let c2 = ctx.clone();
    let count = o.count;
    let t0 = Instant::now();
    let results = par_map(o.sockets, 64, move |i| {
        let ctx = c2.clone();
        let oe = on_event.clone();
        async move {
            let (c, _) = ctx
                .connect_user(base + i, oe)
                .await
                .map_err(|e| vec![(e.kind().to_owned(), e.to_string())])?;
            let mut rtts = Vec::new();
            let mut errs = Vec::new();
            for k in 0..count {
                let payload = json!({ "seq": k, "socket": i });
                let t = Instant::now();
                match c.call("ping", &payload, ctx.call_timeout).await {
                    Ok(v)
                        if v.get("message").and_then(Value::as_str) == Some("pong")
                            && v.get("echo") == Some(&payload) =>
                    {
                        rtts.push(t.elapsed())
                    }
                    Ok(v) => errs.push(("bad_ack".to_owned(), v.to_string())),
                    Err(e) => errs.push(("no_ack".to_owned(), e.to_string())),
                }
            }
            Ok::<_, Vec<(String, String)>>((c, rtts, errs))
        }
    })
    .await;
    let wall = t0.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut tally = Tally::default();
    let mut h = new_hist();
    let mut clients = Vec::new();
    for res in results {
        match res {
            Ok((c, rtts, errs)) => {
                clients.push(c);
                for d in rtts {
                    h.saturating_record((d.as_micros() as u64).max(1));
                }
                for (k, m) in errs {
                    tally.add(&k, &m);
                }
            }
            Err(errs) => {
                for (k, m) in errs {
                    tally.add(&k, &m);
                }
            }
        }
    }
    r.add("sockets", o.sockets as u64);
    r.add("connected", clients.len() as u64);
    r.add("pings", (clients.len() * o.count) as u64);
    r.add("acks_ok", h.len());
    r.add("pong_events", pongs.load(Ordering::Relaxed));
    r.addf("wall_s", wall, 3);
    r.add_latency("ack_rtt", &h);
    tally.put(&mut r);
    if tally.total() > 0 {
        r.problem(format!("{} ping errors", tally.total()));
    }
    if h.is_empty() {
        r.problem("zero ping acks");
    }
    drop(clients);
    r
}

// ---------------------------------------------------------------- smoke

/// Every scenario at tiny size, for CI: about `sockets` sockets and one second each.
pub async fn smoke(ctx: &Shared, sockets: usize) -> Vec<Report> {
    let n = sockets.max(2);
    vec![
        ping(
            ctx,
            &PingOpts {
                sockets: n,
                count: 3,
            },
        )
        .await,
        idle(
            ctx,
            &IdleOpts {
                stage: Stage::Room,
                sockets: n,
                room_size: 2,
                hold: 1.0,
                room_prefix: None,
                concurrency: 16,
            },
        )
        .await,
        storm(
            ctx,
            &StormOpts {
                total: n,
                concurrency: 8,
                close: true,
            },
        )
        .await,
        relay(
            ctx,
            &RelayOpts {
                pairs: (n / 2).max(1),
                rate: 200.0,
                duration: 1.0,
                warmup: 0.0,
                sdp_min: 2048,
                sdp_max: 4096,
                ice_per_round: 2,
                sweep: false,
                sweep_start: 0.0,
                sweep_max: 0.0,
                p99_target_ms: 5.0,
            },
        )
        .await,
        fanout(
            ctx,
            &FanoutOpts {
                members: vec![n.min(10)],
                rounds: 2,
                concurrency: 8,
            },
        )
        .await,
    ]
}
