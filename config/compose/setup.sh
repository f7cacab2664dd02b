#!/bin/sh
# One-shot setup for docker-compose.yml, run with the Temporal CLI: each cluster learns the other
# at its own proxy's address, then the global namespace "orders" is created on cluster A and
# replicated to cluster B, where proxy A's rename makes it "orders-b".
set -eu
retry() { # up to 60 tries, 2 seconds apart
  n=0
  until "$@"; do
    n=$((n + 1))
    [ "$n" -lt 60 ] || { echo "setup: gave up on: $*" >&2; exit 1; }
    sleep 2
  done
}
retry temporal operator cluster upsert --address cluster-a:7233 --frontend-address proxy-a:6233 --enable-connection
retry temporal operator cluster upsert --address cluster-b:7233 --frontend-address proxy-b:6233 --enable-connection
retry temporal operator namespace create --address cluster-a:7233 --global \
  --active-cluster cluster-a --cluster cluster-a --cluster cluster-b --retention 24h --namespace orders
retry temporal operator namespace describe --address cluster-b:7233 --namespace orders-b
echo "setup: namespace orders on cluster A is replicated to cluster B as orders-b"
