#!/usr/bin/env bash
# The test command. On a fresh machine (as root) it installs what the suites
# need from Debian and npm, builds the server and the web client, and runs:
#   1. Rust unit and integration tests (cargo test: in-process app on port 0,
#      webrtc-rs peers, embedded TURN and coturn relays, the store on SQLite
#      and on a PostgreSQL server the tests start themselves),
#   2. the socket.io-client compatibility suite (tests/compat, node --test;
#      with deploy/nginx.conf run by nginx in front of two nodes on one Redis),
#   3. the browser end-to-end suite (web/e2e: Debian Chromium + playwright-core,
#      run inside a network namespace that has only `lo`),
#   4. the patched engineioxide's own tests (and a check that the patch is applied),
#      then bench/compare.sh at smoke sizes (every scenario against Switchboard and
#      the Node reference),
#   5. a Chromium page and the headless webrtc-rs peer (examples/peer.rs)
#      calling each other through the server (tests/webrtc-browser, same netns setup).
# Usage: bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# --- system packages -------------------------------------------------------
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v turnserver >/dev/null || missing+=(coturn)
command -v ip >/dev/null || missing+=(iproute2)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests/run.sh: missing ${missing[*]}; install them or run as root" >&2
    exit 1
  fi
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The coturn package starts a system turnserver on install on some setups;
# the tests start their own on loopback with their own config.
systemctl disable --now coturn >/dev/null 2>&1 || true
# Likewise the tests start their own PostgreSQL (tests/api/postgres.rs) on a
# free loopback port; the package's own cluster is not used.
systemctl disable --now postgresql >/dev/null 2>&1 || true
# And their own nginx (tests/compat/nginx.test.mjs runs deploy/nginx.conf).
systemctl disable --now nginx >/dev/null 2>&1 || true
# And their own redis-server (tests/api/redis_server.rs).
systemctl disable --now redis-server >/dev/null 2>&1 || true

# --- builds ----------------------------------------------------------------
echo "== cargo build"
cargo build --all-targets
echo "== npm ci (tests/compat, web)"
npm ci --prefix tests/compat --no-audit --no-fund --loglevel=error
npm ci --prefix web --no-audit --no-fund --loglevel=error
echo "== web build"
npm run build --prefix web

export SWITCHBOARD_BIN="$ROOT/target/debug/switchboard"

# --- suites ----------------------------------------------------------------
echo "== cargo test"
cargo test --workspace --all-targets

echo "== patched engineioxide: applied, and its own test suite (vendor/README.md)"
if ! cargo tree -i engineioxide --depth 0 | grep -q "($ROOT/vendor/engineioxide)"; then
  echo "tests/run.sh: socketioxide no longer uses vendor/engineioxide (the [patch.crates-io] is not applied):" >&2
  cargo tree -i engineioxide --depth 0 >&2 || true
  exit 1
fi
# The crate is not a workspace member: test a copy, pinned to this lockfile.
VT=$(mktemp -d)
cp -r vendor/engineioxide "$VT/" && cp Cargo.lock "$VT/engineioxide/"
(cd "$VT/engineioxide" && CARGO_TARGET_DIR="$ROOT/target/vendor-tests" \
  cargo test --quiet --features __test_harness,v3 --lib --tests)
rm -rf "$VT"

echo "== side-by-side benchmark, smoke sizes (bench/compare.sh --smoke; figures come from full runs)"
bash bench/compare.sh --smoke

echo "== socket.io-client compatibility suite"
npm test --prefix tests/compat

echo "== browser end-to-end suite: web client (netns with only lo)"
bash web/e2e/run.sh

echo "== Chromium <-> webrtc-rs peer through Switchboard (netns with only lo)"
cargo build --example peer
PEER_BIN="$ROOT/target/debug/examples/peer" bash tests/webrtc-browser/run.sh

echo "== all suites passed"
