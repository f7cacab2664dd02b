#!/usr/bin/env bash
# Builds one libFuzzer target with clang and runs it for a number of seconds on its seed corpus.
# Usage: scripts/fuzz.sh TARGET SECONDS    e.g. scripts/fuzz.sh yamux_session_fuzz 300
# Findings are written to build-fuzz/findings/TARGET/; the committed seeds are never modified.
set -euo pipefail

target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${S2S_FUZZ_BUILD_DIR:-$root/build-fuzz}

if [[ ! -f $build/CMakeCache.txt ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
    -DS2S_FUZZ=ON -DS2S_BUILD_TESTS=OFF -DS2S_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" --target "$target" -j "${S2S_FUZZ_JOBS:-2}"
binary=$(find "$build" -type f -name "$target" -perm -u+x | head -n 1)
[[ -n $binary ]] || { echo "fuzz.sh: no binary named $target under $build" >&2; exit 1; }

# The corpus directory is named after the target without its _fuzz suffix.
seeds=$root/tests/fuzz/corpus/${target%_fuzz}
work=$build/findings/$target
mkdir -p "$work/corpus"
corpora=("$work/corpus")
[[ -d $seeds ]] && corpora+=("$seeds")

cd "$work"
# New inputs go to the first corpus directory only, so the committed seeds stay as they are.
exec "$binary" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" "${corpora[@]}"
