# The s2s-proxy image: built on Debian bookworm by scripts/setup.sh (the Debian packages) and the
# CMake steps of scripts/build.sh; the runtime image holds the binary and its shared libraries.
# Debian bookworm with Go on PATH, as scripts/setup.sh expects (CMake's configure step looks for
# Go; only the tests use it).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
RUN scripts/setup.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# scripts/build.sh's CMake steps, for the proxy target only.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo && \
    cmake --build build --target s2s-proxy -j "$(nproc)" && \
    strip --strip-debug build/src/app/s2s-proxy

FROM debian:bookworm-slim
# The shared libraries the binary links against, and openssl for the certificates of the
# docker-compose demo.
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libcaf-core0.17 libcaf-io0.17 libcaf-openssl0.17 \
      libyaml-cpp0.7 libssl3 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libsystemd0 \
      ca-certificates curl openssl && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/src/app/s2s-proxy /usr/local/bin/s2s-proxy
COPY config /etc/s2s-proxy
WORKDIR /etc/s2s-proxy
ENTRYPOINT ["/usr/local/bin/s2s-proxy"]
CMD ["start", "--config", "/etc/s2s-proxy/example-tcp.yaml"]
