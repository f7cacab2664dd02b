#!/usr/bin/env bash
# End-to-end scenarios against real Temporal clusters.
#   run-scenario.sh build GO BIN_DIR
#       builds the cluster and scenario programs into BIN_DIR (Go's caches make rebuilds quick)
#   run-scenario.sh build-old GO BIN_DIR
#       builds the older Temporal releases' programs of module cluster-old into BIN_DIR: the v1.22
#       cluster and schema programs, and the v1.23 cluster program
#   run-scenario.sh MODE PROXY_BINARY BIN_DIR WORK_DIR [scenario flags...]
#       runs one scenario (tcp, mux, acl, faults, fidelity, sdk, demo, soak, lcm, lcm-tcp, routing, routing-tcp,
#       replicas, replicas-routing or crossversion); WORK_DIR is emptied first and keeps
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
rm -rf "$work" "$work".attempt-*
mkdir -p "$work"
args=(--mode "$mode" --proxy "$proxy" --bin "$bin" --work "$work" "$@")
if [ "$mode" = demo ]; then
  # The demo owns the terminal: Ctrl-C must reach it alone, and it stops what it started.
  exec "$bin/scenario" "${args[@]}"
fi
# E2E_ATTEMPTS (default 1) runs a scenario with a known, open flake again after a failure; the
# failed attempt's directory is kept beside WORK_DIR as WORK_DIR.attempt-N and its failure is
# printed, so a retry never hides that it happened.
attempts=${E2E_ATTEMPTS:-1}
for attempt in $(seq 1 "$attempts"); do
  # A copy of the scenario's own output stays with the process logs in WORK_DIR.
  set +e
  "$bin/scenario" "${args[@]}" 2>&1 | tee "$work/scenario.log"
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -eq 0 ] || [ "$attempt" -eq "$attempts" ]; then
    exit "$status"
  fi
  echo "e2e: $mode: attempt $attempt of $attempts FAILED (exit $status); kept in $work.attempt-$attempt; running again" >&2
  mv "$work" "$work.attempt-$attempt"
  mkdir -p "$work"
done
