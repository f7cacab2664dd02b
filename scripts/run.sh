#!/usr/bin/env bash
# The run command: builds s2s-proxy and starts it with the example TCP-mode config.
# Ctrl-C stops it (the proxy drains calls in flight first).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${S2S_BUILD_DIR:-$root/build}
"$root/scripts/build.sh"
cd "$root"
exec "$build/src/app/s2s-proxy" start --config "${1:-config/example-tcp.yaml}" --level info
