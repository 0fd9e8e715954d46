#!/usr/bin/env bash
# Start Debian's pebble ACME test CA (and its fake DNS server) on loopback, for the ACME
# integration test. Deterministic: no nonce rejection, no validation sleeps.
#
# Usage:  eval "$(tests/pebble/start.sh)"      # exports PEBBLE_TEST* variables
#         tests/pebble/stop.sh                  # uses PEBBLE_TEST_WORKDIR (or pass the dir)
#
# stdout carries only `export` lines; progress and errors go to stderr.
# Env: PEBBLE_TEST_TLS_PORT (default 5001) is the port the test's Hearth listens on for TLS;
#      pebble's validator dials it for TLS-ALPN-01.
set -euo pipefail

tls_port="${PEBBLE_TEST_TLS_PORT:-5001}"
http_port="${PEBBLE_TEST_HTTP_PORT:-5002}"
api_addr=127.0.0.1:14000
mgmt_addr=127.0.0.1:15000
dns_addr=127.0.0.1:8053
chall_mgmt_addr=127.0.0.1:8055

log() { printf 'pebble: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# A process that has exited but is not reaped yet (a zombie) still answers kill -0.
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

for tool in pebble pebble-challtestsrv openssl curl; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (apt-get install -y pebble openssl curl)"
done

# Refuse to start on top of something else (a leftover pebble would serve a different CA).
if curl -s -o /dev/null --max-time 1 -k "https://$api_addr/dir"; then
  die "something already answers on $api_addr (a leftover pebble? stop it first)"
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/hearth-pebble.XXXXXX")"
log "work dir $workdir"

# --- throwaway CA + localhost certificate for pebble's own HTTPS API -----------------------
(
  cd "$workdir"
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout ca.key -out ca.pem -days 7 -subj "/CN=Hearth test pebble API CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout key.pem -out cert.csr -subj "/CN=localhost" 2>/dev/null
  cat > cert.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
  openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out cert.pem -days 7 -extfile cert.ext 2>/dev/null
) || die "openssl failed to make the test certificates"

cat > "$workdir/pebble-config.json" <<JSON
{
  "pebble": {
    "listenAddress": "$api_addr",
    "managementListenAddress": "$mgmt_addr",
    "certificate": "$workdir/cert.pem",
    "privateKey": "$workdir/key.pem",
    "httpPort": $http_port,
    "tlsPort": $tls_port,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON

# --- start the fake DNS server, then pebble -------------------------------------------------
# Background processes get their own session (setsid) and never hold our stdout, so
# `eval "$(start.sh)"` returns as soon as this script exits.
setsid pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "$dns_addr" \
  -http01 "" -https01 "" -tlsalpn01 "" -management "$chall_mgmt_addr" \
  </dev/null >"$workdir/challtestsrv.log" 2>&1 &
echo $! >"$workdir/challtestsrv.pid"

PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
  setsid pebble -config "$workdir/pebble-config.json" -dnsserver "$dns_addr" -strict=false \
  </dev/null >"$workdir/pebble.log" 2>&1 &
echo $! >"$workdir/pebble.pid"

fail_start() {
  log "pebble did not become ready: $*"
  for f in challtestsrv.log pebble.log; do
    log "---- $f"; sed 's/^/  /' "$workdir/$f" >&2 || true
  done
  "$(dirname "$0")/stop.sh" "$workdir" >&2 || true
  exit 1
}

# --- wait (bounded, ~20 s) until the directory answers over verified TLS ----------------------
ready=0
for _ in $(seq 1 200); do
  alive "$(cat "$workdir/pebble.pid")" || fail_start "pebble exited"
  alive "$(cat "$workdir/challtestsrv.pid")" || fail_start "pebble-challtestsrv exited"
  if curl -sf -o /dev/null --max-time 1 --cacert "$workdir/ca.pem" "https://$api_addr/dir"; then
    ready=1; break
  fi
  sleep 0.1
done
[ "$ready" = 1 ] || fail_start "no answer from https://$api_addr/dir within 20 s"
# pebble-challtestsrv keeps running when one of its listeners fails to bind: check it too.
for _ in $(seq 1 50); do
  curl -s -o /dev/null --max-time 1 "http://$chall_mgmt_addr/" && break
  sleep 0.1
done
curl -s -o /dev/null --max-time 1 "http://$chall_mgmt_addr/" ||
  fail_start "pebble-challtestsrv management API $chall_mgmt_addr does not answer"
if grep -qE 'address already in use|bind:' "$workdir/challtestsrv.log"; then
  fail_start "pebble-challtestsrv could not bind all its ports"
fi
log "ready: https://$api_addr/dir (TLS-ALPN-01 validation dials 127.0.0.1:$tls_port)"

cat <<OUT
export PEBBLE_TEST=1
export PEBBLE_TEST_DIR_URL=https://$api_addr/dir
export PEBBLE_TEST_API_CA=$workdir/ca.pem
export PEBBLE_TEST_ROOTS_URL=https://$mgmt_addr/roots/0
export PEBBLE_TEST_TLS_PORT=$tls_port
export PEBBLE_TEST_WORKDIR=$workdir
OUT
