#!/usr/bin/env bash
# The run command.
#
#   scripts/run.sh                        the demo: two Temporal clusters, each behind its own
#                                         proxy, joined by a mux connection with mutual TLS; a
#                                         sample workflow runs on A and shows on B under the
#                                         mapped names. Ctrl-C stops everything it started.
#   scripts/run.sh --proxy-only [CONFIG]  just the proxy, with CONFIG (default
#                                         config/example-tcp.yaml). Ctrl-C stops it.
#
# Builds what it needs into build/ (or $S2S_BUILD_DIR): the proxy, and for the demo the Go
# programs that run the clusters (the first build of the Temporal server takes minutes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${S2S_BUILD_DIR:-$root/build}

build_proxy() {
  "$root/scripts/setup.sh"
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${S2S_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
  fi
  cmake --build "$build" --target s2s-proxy -j "$(nproc)"
}

if [ "${1:-}" = --proxy-only ]; then
  shift
  build_proxy
  cd "$root"
  exec "$build/src/app/s2s-proxy" start --config "${1:-config/example-tcp.yaml}" --level info
fi
if [ $# -gt 0 ]; then
  echo "usage: $0 [--proxy-only [CONFIG]]" >&2
  exit 2
fi

build_proxy
bin=$build/tests/e2e/bin
bash "$root/tests/e2e/run-scenario.sh" build go "$bin"
echo
echo "demo: starting cluster A and cluster B (Temporal, SQLite), proxy A (mux-client) and proxy B"
echo "demo: (mux-server); namespace \"orders\" on A is \"orders-b\" on B; logs in $build/demo"
exec bash "$root/tests/e2e/run-scenario.sh" demo "$build/src/app/s2s-proxy" "$bin" "$build/demo" --fixed-ports
