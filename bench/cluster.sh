#!/usr/bin/env bash
# Cluster benchmark (issue 11): N release nodes on one Redis, idle sockets
# spread over them by one load generator per node, then relay latency
# between peers on one node against peers on two nodes.
#
#   bash bench/cluster.sh                       # 6 nodes, 100 000 sockets
#   NODES=3 SOCKETS=6000 bash bench/cluster.sh  # a quick run
#
# Environment: NODES (6), SOCKETS (100000, split evenly), HOLD_MEASURE
# (seconds of idle CPU measured, 20), RELAY_RATE (2000 msgs/s), RELAY_PAIRS
# (100), RELAY_RUNS (3 of each, interleaved), RELAY_SECONDS (10),
# DATABASE_URL (default sqlite::memory: per node: idle sockets and relays
# never touch the database), BASE_PORT (3920), REDIS_PORT (6391).
# Everything listens on loopback and is stopped on exit. Prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."

NODES=${NODES:-6}
SOCKETS=${SOCKETS:-100000}
HOLD_MEASURE=${HOLD_MEASURE:-20}
RELAY_RATE=${RELAY_RATE:-2000}
RELAY_PAIRS=${RELAY_PAIRS:-100}
RELAY_RUNS=${RELAY_RUNS:-3}
RELAY_SECONDS=${RELAY_SECONDS:-10}
BASE_PORT=${BASE_PORT:-3920}
REDIS_PORT=${REDIS_PORT:-6391}
DB=${DATABASE_URL:-sqlite::memory:}
SECRET=bench-cluster-secret
PER_NODE=$(( (SOCKETS + NODES - 1) / NODES ))
WORK=$(mktemp -d /tmp/sb-cluster.XXXXXX)
BIN=target/release/switchboard
LG=target/release/examples/loadgen

ulimit -n 20000
cargo build --release --quiet --bin switchboard --example loadgen

PIDS=()
NODE_PIDS=()
cleanup() {
  for p in "${PIDS[@]}" "${NODE_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "${REDIS_PID:-}" ] && kill -9 "$REDIS_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# utime + stime of a process, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
redis_mem() { redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ {print $2+0}'; }

start_nodes() {
  NODE_PIDS=()
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  for i in $(seq 1 "$NODES"); do
    JWT_SECRET=$SECRET DATABASE_URL=$DB REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
      RUST_LOG=warn ROOM_MAX_PEERS=1000 RATE_LIMIT_EVENTS=1000000/s \
      "$BIN" serve --host 127.0.0.1 --port $((BASE_PORT + i)) >"$WORK/node$i.log" 2>&1 &
    NODE_PIDS+=($!)
  done
  for i in $(seq 1 "$NODES"); do
    for _ in $(seq 200); do
      curl -sf "http://127.0.0.1:$((BASE_PORT + i))/ready" >/dev/null && break
      sleep 0.1
    done
  done
}

stop_nodes() {
  for p in "${NODE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  NODE_PIDS=()
}

# ---------------------------------------------------------------- idle
start_nodes
sleep 1
RSS0=(); for p in "${NODE_PIDS[@]}"; do RSS0+=("$(rss_kib "$p")"); done
MEM0=$(redis_mem)
T0=$(date +%s.%N)
for i in $(seq 1 "$NODES"); do
  # Rooms shared-<n>: one member per node in each (NODES members a room).
  "$LG" idle --url "http://127.0.0.1:$((BASE_PORT + i))" --secret "$SECRET" \
    --server-pid "${NODE_PIDS[$((i - 1))]}" \
    --threads 1 --sockets "$PER_NODE" --room-size 1 --room-prefix "shared" \
    --concurrency 64 --hold 3600 --max-time 3600 >"$WORK/idle$i.out" 2>"$WORK/idle$i.err" &
  PIDS+=($!)
done
for i in $(seq 1 "$NODES"); do
  until grep -q "sockets up in" "$WORK/idle$i.err"; do
    if ! kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null; then
      echo "load generator $i died:"; cat "$WORK/idle$i.err"; exit 1
    fi
    sleep 0.5
  done
done
T1=$(date +%s.%N)
UP=0
RAMPS=()
for i in $(seq 1 "$NODES"); do
  n=$(sed -n 's/.*idle: \([0-9]*\) sockets up.*/\1/p' "$WORK/idle$i.err")
  RAMPS+=("$(sed -n 's/.*sockets up in \([0-9.]*\)s.*/\1/p' "$WORK/idle$i.err")")
  UP=$((UP + n))
done
sleep 5 # let the last peer:joined broadcasts land
C0=(); for p in "${NODE_PIDS[@]}"; do C0+=("$(cpu_ticks "$p")"); done
sleep "$HOLD_MEASURE"
C1=(); RSS1=(); for p in "${NODE_PIDS[@]}"; do C1+=("$(cpu_ticks "$p")"); RSS1+=("$(rss_kib "$p")"); done
MEM1=$(redis_mem)
KEYS=$(redis-cli -p "$REDIS_PORT" dbsize)
TICK=$(getconf CLK_TCK)
ALIVE=0
for p in "${NODE_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && ALIVE=$((ALIVE + 1)); done
for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
PIDS=()
stop_nodes

python3 - "$UP" "$SOCKETS" "$T0" "$T1" "$MEM0" "$MEM1" "$KEYS" "$TICK" "$HOLD_MEASURE" "$ALIVE" "$NODES" \
  "${RSS0[*]}" "${RSS1[*]}" "${C0[*]}" "${C1[*]}" "${RAMPS[*]}" >"$WORK/idle.txt" <<'EOF'
import sys
up, want, t0, t1, m0, m1, keys, tick, hold, alive, nodes = sys.argv[1:12]
rss0, rss1, c0, c1 = (list(map(int, a.split())) for a in sys.argv[12:16])
ramps = list(map(float, sys.argv[16].split()))
up, want, keys, tick, hold = int(up), int(want), int(keys), int(tick), float(hold)
rss = sum(rss1) - sum(rss0)
cpu = [(b - a) / tick / hold * 100 for a, b in zip(c0, c1)]
print(f"| idle sockets connected, authenticated and in a room | {up:,} of {want:,} over {nodes} nodes ({alive} nodes alive at the end) |")
print(f"| join rate across nodes (connect + JWT + room:join, generators' ramps: slowest {max(ramps):.1f} s) | {up / max(ramps):,.0f} sockets/s |")
print(f"| the same from the script's clock (generator start-up included) | {up / (float(t1) - float(t0)):,.0f} sockets/s |")
print(f"| server RSS per socket, summed over the nodes | {rss * 1024 / up / 1024:.1f} KiB ({rss / 1024:,.0f} MiB in all) |")
print(f"| Redis used_memory per socket | {(int(m1) - int(m0)) / up:,.0f} bytes ({keys:,} keys) |")
print(f"| idle CPU per node over {hold:.0f} s (median, max) | {sorted(cpu)[len(cpu) // 2]:.1f} % / {max(cpu):.1f} % of a core |")
EOF

# ---------------------------------------------------------------- relay
start_nodes
sleep 1
N1="http://127.0.0.1:$((BASE_PORT + 1))"
N2="http://127.0.0.1:$((BASE_PORT + 2))"
: >"$WORK/relay.jsonl"
for run in $(seq 1 "$RELAY_RUNS"); do
  for mode in same cross; do
    extra=()
    [ "$mode" = cross ] && extra=(--peer-url "$N2")
    "$LG" relay --url "$N1" "${extra[@]}" --secret "$SECRET" --pairs "$RELAY_PAIRS" \
      --rate "$RELAY_RATE" --duration "$RELAY_SECONDS" 2>"$WORK/relay-$mode-$run.err" \
      | grep '^{' | sed "s/^{/{\"mode\":\"$mode\",/" >>"$WORK/relay.jsonl"
  done
done
stop_nodes

python3 - "$WORK/relay.jsonl" >"$WORK/relay.txt" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def fig(mode, key):
    v = [r[key] for r in runs if r["mode"] == mode and r.get(key) is not None]
    return v
for mode, label in (("same", "both peers on node 1"), ("cross", "peers on nodes 1 and 2")):
    p50, p99 = fig(mode, "oneway_p50_ms"), fig(mode, "oneway_p99_ms")
    rate, lost = fig(mode, "achieved_rate"), fig(mode, "undelivered")
    if not p50:
        print(f"| relay, {label} | no run finished |"); continue
    print(f"| relay one-way p50 / p99, {label} (median of {len(p50)} runs; p99 range) "
          f"| {statistics.median(p50):.2f} / {statistics.median(p99):.2f} ms "
          f"({min(p99):.2f}-{max(p99):.2f}); {statistics.median(rate):,.0f} msgs/s, {sum(lost)} undelivered |")
EOF

MODEL=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')
echo
echo "Switchboard cluster benchmark, $(date -u +%F), $(nproc) CPUs: $MODEL, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$NODES nodes + 1 Redis ($(redis-server --version | awk '{print $3}')) + $NODES load generators on one machine, unpinned; DATABASE_URL=$DB"
echo
echo "| figure | measured |"
echo "| --- | --- |"
cat "$WORK/idle.txt" "$WORK/relay.txt"
echo
echo "(raw output in $WORK)"
