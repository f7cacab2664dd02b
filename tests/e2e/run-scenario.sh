#!/usr/bin/env bash
# End-to-end scenarios against real Temporal clusters.
#   run-scenario.sh build GO BIN_DIR
#       builds the cluster and scenario programs into BIN_DIR (Go's caches make rebuilds quick)
#   run-scenario.sh build-old GO BIN_DIR
#       builds the older Temporal releases' programs of module cluster-old into BIN_DIR: the v1.22
#       cluster and schema programs, and the v1.23 cluster program
#   run-scenario.sh MODE PROXY_BINARY BIN_DIR WORK_DIR [scenario flags...]
#       runs one scenario (tcp, mux, acl, faults, fidelity, sdk, demo, soak or crossversion); WORK_DIR is emptied first and keeps
#       the configs, the logs of every process and the scenario's own output (scenario.log)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = build ] || [ "${1:-}" = build-old ]; then
  if [ $# -ne 3 ]; then
    echo "usage: $0 $1 GO BIN_DIR" >&2
    exit 2
  fi
  what=$1 go=$2 bin=$3
  mkdir -p "$bin"
  start=$(date +%s)
  flags=(-mod=readonly -buildvcs=false -ldflags="-s -w")
  if [ "$what" = build ]; then
    echo "e2e: go build of the cluster and scenario programs into $bin"
    (cd "$here" && "$go" build "${flags[@]}" -o "$bin/" ./cmd/cluster ./cmd/scenario)
  else
    echo "e2e: go build of the Temporal v1.22 and v1.23 programs into $bin"
    (cd "$here/cluster-old" && "$go" build "${flags[@]}" -o "$bin/cluster-v1.22" ./cmd/cluster &&
      "$go" build "${flags[@]}" -o "$bin/schema-v1.22" ./cmd/schema &&
      "$go" build -modfile=v1.23.mod "${flags[@]}" -o "$bin/cluster-v1.23" ./cmd/cluster)
  fi
  echo "e2e: go build took $(( $(date +%s) - start ))s"
  exit 0
fi
if [ $# -lt 4 ]; then
  echo "usage: $0 build|build-old GO BIN_DIR | $0 MODE PROXY_BINARY BIN_DIR WORK_DIR [scenario flags...]" >&2
  exit 2
fi
mode=$1 proxy=$2 bin=$3 work=$4
shift 4
rm -rf "$work"
mkdir -p "$work"
args=(--mode "$mode" --proxy "$proxy" --bin "$bin" --work "$work" "$@")
if [ "$mode" = demo ]; then
  # The demo owns the terminal: Ctrl-C must reach it alone, and it stops what it started.
  exec "$bin/scenario" "${args[@]}"
fi
# A copy of the scenario's own output stays with the process logs in WORK_DIR.
"$bin/scenario" "${args[@]}" 2>&1 | tee "$work/scenario.log"
