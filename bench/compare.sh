#!/usr/bin/env bash
# Side-by-side benchmark (issue 15): Switchboard (release build) against the
# Node socket.io reference (examples/loadgen/node-reference), each started
# fresh for every scenario on the same core, the load generator on another
# core. Every scenario runs RUNS times per server, interleaved (run 1:
# Switchboard then Node, run 2: Node then Switchboard, ...). Prints one table:
# the median of each figure, its spread (min-max) and the ratio, with the
# machine, its load while measuring and the command.
#
#   bash bench/compare.sh                 # full size, 3 runs (about 20 min)
#   RUNS=5 bash bench/compare.sh
#   SCENARIOS=relay,storm bash bench/compare.sh
#   bash bench/compare.sh --smoke         # tiny sizes, 1 run, debug build: CI
#
# Scenarios: relay (20k msgs/s for 10 s), relaycpu (3k msgs/s: CPU per relayed
# message below saturation, where both servers keep up), sweep (highest rate
# with p99 <= 5 ms), storm (10 000 authenticated connects kept open), idle
# (10 000 idle authenticated sockets in rooms of 2: RSS per socket), fanout
# (peer:joined and peer:left to a 1 000-member room, 20 rounds).
#
# Environment: RUNS (3), SCENARIOS (all), SERVER_CORE (0), GEN_CORE (1),
# GEN_THREADS (1: the generator's runtime threads; fanout runs one thread on
# each core the server does not use), PORT (3930), OUT (results file, default under /tmp),
# COMPARE_BIN (another Switchboard binary, e.g. an older build, for a before/after).
# The raw JSON lines of every run are kept in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-relay,relaycpu,sweep,storm,idle,fanout}
SERVER_CORE=${SERVER_CORE:-0}
GEN_CORE=${GEN_CORE:-1}
PORT=${PORT:-3930}
SECRET=bench-compare-secret
OUT=${OUT:-$(mktemp /tmp/sb-compare.XXXXXX.jsonl)}
: >"$OUT"

if [ "$SMOKE" = 1 ]; then
  RUNS=1
  PROFILE=debug
  cargo build --quiet --bin switchboard --example loadgen
else
  PROFILE=release
  cargo build --release --quiet --bin switchboard --example loadgen
fi
BIN=${COMPARE_BIN:-$ROOT/target/$PROFILE/switchboard}
LG=$ROOT/target/$PROFILE/examples/loadgen
REF=$ROOT/examples/loadgen/node-reference
[ -d "$REF/node_modules" ] || npm ci --prefix "$REF" --no-audit --no-fund --loglevel=error

NCPU=$(nproc)
if [ "$NCPU" -lt 2 ]; then
  echo "compare.sh: needs 2 cores (server and generator on their own); this machine has $NCPU" >&2
  exit 1
fi
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

start_server() { # $1 = switchboard | node
  case "$1" in
    switchboard)
      JWT_SECRET=$SECRET DATABASE_URL=sqlite::memory: RUST_LOG=warn ROOM_MAX_PEERS=1000 \
        RATE_LIMIT_EVENTS=1000000/s \
        taskset -c "$SERVER_CORE" "$BIN" serve --host 127.0.0.1 --port "$PORT" \
        >>"$OUT.server.log" 2>&1 &
      ;;
    node)
      JWT_SECRET=$SECRET PORT=$PORT ROOM_MAX_PEERS=1000 \
        taskset -c "$SERVER_CORE" node "$REF/server.js" >>"$OUT.server.log" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "compare.sh: $1 did not start on port $PORT (see $OUT.server.log)" >&2
  exit 1
}

# Scenario arguments: full size and smoke size.
args_for() { # $1 = scenario
  if [ "$SMOKE" = 1 ]; then
    case "$1" in
      relay) echo "relay --pairs 5 --rate 200 --duration 1 --warmup 0.2" ;;
      relaycpu) echo "relay --pairs 5 --rate 100 --duration 1 --warmup 0.2" ;;
      sweep) echo "relay --pairs 5 --sweep --sweep-start 100 --sweep-max 400 --duration 0.5 --warmup 0.1" ;;
      storm) echo "storm --total 50 --concurrency 8" ;;
      idle) echo "idle --sockets 40 --hold 1 --concurrency 8" ;;
      fanout) echo "fanout --members 20 --rounds 2 --concurrency 8" ;;
    esac
  else
    case "$1" in
      relay) echo "relay --rate 20000 --duration 10" ;;
      relaycpu) echo "relay --rate 3000 --duration 10" ;;
      sweep) echo "relay --sweep --duration 3 --sweep-max 80000" ;;
      storm) echo "storm --total 10000 --concurrency 64" ;;
      idle) echo "idle --sockets 10000 --hold 5 --concurrency 64" ;;
      fanout) echo "fanout --members 1000 --rounds 20 --concurrency 64" ;;
    esac
  fi
}

gen_cpus() { # the generator's cores: GEN_CORE, plus every core but the server's for fanout
  if [ "$1" = fanout ]; then
    seq 0 $((NCPU - 1)) | grep -vx "$SERVER_CORE" | paste -sd, -
  else
    echo "$GEN_CORE"
  fi
}

run_one() { # $1 = server, $2 = scenario, $3 = run
  local server=$1 scen=$2 run=$3 line load0 load1 threads
  start_server "$server"
  threads=${GEN_THREADS:-1}
  [ "$scen" = fanout ] && threads=$(gen_cpus fanout | tr ',' '\n' | wc -l)
  load0=$(cut -d' ' -f1 /proc/loadavg)
  # shellcheck disable=SC2046
  line=$(taskset -c "$(gen_cpus "$scen")" "$LG" $(args_for "$scen") \
    --url "http://127.0.0.1:$PORT" --secret "$SECRET" --server-pid "$SERVER_PID" \
    --threads "$threads" 2>>"$OUT.gen.log" | grep '^{' | tail -1) || true
  load1=$(cut -d' ' -f1 /proc/loadavg)
  stop_server
  if [ -z "$line" ]; then
    echo "compare.sh: $scen against $server (run $run) printed no result (see $OUT.gen.log)" >&2
    exit 1
  fi
  printf '{"server":"%s","bench":"%s","run":%d,"load_before":%s,"load_after":%s,"result":%s}\n' \
    "$server" "$scen" "$run" "$load0" "$load1" "$line" >>"$OUT"
  echo "  $scen / $server / run $run done" >&2
}

IFS=, read -r -a SCEN <<<"$SCENARIOS"
for run in $(seq 1 "$RUNS"); do
  if [ $((run % 2)) = 1 ]; then order="switchboard node"; else order="node switchboard"; fi
  for scen in "${SCEN[@]}"; do
    for server in $order; do
      run_one "$server" "$scen" "$run"
    done
  done
done

MACHINE="$(lscpu | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print $2; exit}'), $NCPU cores"
[ -r /etc/debian_version ] && MACHINE="$MACHINE, Debian $(cat /etc/debian_version)"
MACHINE="$MACHINE, kernel $(uname -r)"
SB_VER="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo +dirty)"
NODE_VER="node $(node --version), socket.io $(node -p "require('$REF/node_modules/socket.io/package.json').version")"
node bench/table.mjs "$OUT" "$MACHINE" "$SB_VER" "$NODE_VER" "$SMOKE" \
  "server on core $SERVER_CORE, generator on core $GEN_CORE (fanout: $(gen_cpus fanout)), $RUNS runs interleaved"
echo "raw results: $OUT" >&2
