#!/usr/bin/env bash
# Builds and runs the benchmark programs; each compares against a baseline in the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${S2S_BUILD_DIR:-$root/build}
"$root/scripts/build.sh"
# nghttpx, when installed (setup.sh installs it), joins proxy_bench's TCP-mode rounds as a reference.
if [[ -z ${S2S_BENCH_NGHTTPX:-} ]] && command -v nghttpx >/dev/null; then
  export S2S_BENCH_NGHTTPX=$(command -v nghttpx)
fi
for bench in proxy_bench translation_bench mux_bench; do
  program=$(find "$build/tests/bench" -maxdepth 1 -type f -name "$bench" | head -n 1)
  [[ -n $program ]] || continue
  echo "== $bench"
  "$program"
done
