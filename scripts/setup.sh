#!/usr/bin/env bash
# Installs the Debian packages s2s-proxy builds and tests with; does nothing when they are there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libcaf-dev libyaml-cpp-dev libssl-dev prometheus-cpp-dev libnghttp2-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  nghttp2-client curl
  nghttp2-proxy  # nghttpx: the bench's reference relay (S2S_BENCH_NGHTTPX)
  systemd  # systemd-analyze, which the tests run on the unit in config/systemd
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The conformance peer, the Temporal schema and the end-to-end clusters are Go programs.
if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go (1.22 or newer) must be on PATH; it builds the test peers and the Temporal schema" >&2
  exit 1
fi
