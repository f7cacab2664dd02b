#!/bin/sh
# Certificates for docker-compose.yml: a CA, a server certificate for proxy B (name proxy-b)
# and a client certificate for proxy A, written to $1 unless they are there already.
set -eu
dir=${1:-/certs}
[ -f "$dir/proxy-a.pem" ] && exit 0
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=s2s-proxy demo CA" -keyout ca.key -out ca.pem
issue() { # name, extendedKeyUsage, extra extensions
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr"
  printf 'extendedKeyUsage=%s\n%s\n' "$2" "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.pem"
  rm -f "$1.csr" "$1.ext"
}
issue proxy-b serverAuth "subjectAltName=DNS:proxy-b"
issue proxy-a clientAuth ""
chmod 644 ./*.pem ./*.key
