#!/usr/bin/env bash
# The test command: installs what the tests need (when missing), builds,
# and runs every suite. Usage: bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

need_apt=()
command -v node >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "missing: ${need_apt[*]} (install them, or run as root)" >&2; exit 1
  fi
fi

echo "== cargo build"
cargo build --all-targets
echo "== cargo test (Rust unit and integration tests)"
cargo test --all-targets

if [ -f tests/compat/package.json ]; then
  echo "== socket.io-client compatibility suite"
  npm ci --prefix tests/compat --no-audit --no-fund
  SWITCHBOARD_BIN="$ROOT/target/debug/switchboard" npm test --prefix tests/compat
fi
echo "== all suites passed"
