#!/usr/bin/env bash
# Chromium <-> webrtc-rs peer through Switchboard, inside a network namespace
# that has only `lo`, so no ICE traffic can leave the machine.
#
#   bash tests/webrtc-browser/run.sh          (root needed for `ip netns`)
#
# Builds the server and the headless peer example (debug) unless
# SWITCHBOARD_BIN / PEER_BIN point at built binaries. Needs Debian's
# chromium (installed here if missing) and playwright-core from web/node_modules
# (`npm ci` in web/, installed here if missing).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if [[ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]]; then
  echo "webrtc-browser: installing Debian's chromium" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v ip >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi
if [[ ! -d web/node_modules/playwright-core ]]; then
  echo "webrtc-browser: npm ci in web/ (for playwright-core)" >&2
  (cd web && npm ci --no-audit --no-fund)
fi
if [[ -z "${SWITCHBOARD_BIN:-}" || -z "${PEER_BIN:-}" ]]; then
  cargo build --bin switchboard --example peer
fi
export SWITCHBOARD_BIN="${SWITCHBOARD_BIN:-$root/target/debug/switchboard}"
export PEER_BIN="${PEER_BIN:-$root/target/debug/examples/peer}"

ns="sb-webrtc-$$-${RANDOM}"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
echo "webrtc-browser: network namespace $ns:" >&2
ip netns exec "$ns" ip -brief addr >&2

mkdir -p tests/webrtc-browser/artifacts
ip netns exec "$ns" node --test --test-concurrency=1 tests/webrtc-browser/ "$@"
