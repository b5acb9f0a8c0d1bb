#!/usr/bin/env bash
# End-to-end tests of the web client: the real server binary and headless
# Debian Chromium, both inside a fresh network namespace that has only `lo`,
# so no test traffic (ICE included) can leave the machine.
#
#   bash web/e2e/run.sh            (from anywhere; needs root for `ip netns`)
#
# Expects: `npm ci` and `npm run build` done in web/, the server built
# (SWITCHBOARD_BIN, default ../target/debug/switchboard relative to web/),
# and /usr/bin/chromium (installed here from Debian if missing).
set -euo pipefail

web_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$web_dir"

if [[ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]]; then
  echo "e2e: chromium not found, installing Debian's package" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v ip >/dev/null; then
  echo "e2e: 'ip' (iproute2) not found, installing" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi
if [[ ! -f dist/index.html ]]; then
  echo "e2e: web/dist is missing: run 'npm run build' in web/ first" >&2
  exit 1
fi
if [[ ! -d node_modules/playwright-core ]]; then
  echo "e2e: web/node_modules is missing: run 'npm ci' in web/ first" >&2
  exit 1
fi

ns="sb-e2e-$$-${RANDOM}"
cleanup() {
  # Whatever is still running in our namespace (a server or browser left by a
  # crashed test) was started by this run: end it, then drop the namespace.
  local pids
  pids="$(ip netns pids "$ns" 2>/dev/null || true)"
  if [[ -n "$pids" ]]; then kill -9 $pids 2>/dev/null || true; fi
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
echo "e2e: network namespace $ns:" >&2
ip netns exec "$ns" ip -brief addr >&2

mkdir -p e2e/artifacts
ip netns exec "$ns" node --test --test-concurrency=1 e2e/ "$@"
