#!/usr/bin/env bash
# Stop the pebble servers started by tests/pebble/start.sh and remove its work dir.
# Usage: tests/pebble/stop.sh [WORKDIR]   (default: $PEBBLE_TEST_WORKDIR)
set -euo pipefail

workdir="${1:-${PEBBLE_TEST_WORKDIR:-}}"
if [ -z "$workdir" ] || [ ! -d "$workdir" ]; then
  echo "pebble: nothing to stop (no work dir)" >&2
  exit 0
fi

# A process that has exited but is not reaped yet (a zombie) still answers kill -0.
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

for name in pebble challtestsrv; do
  pidfile="$workdir/$name.pid"
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
done

case "$workdir" in
  "${TMPDIR:-/tmp}"/hearth-pebble.*) rm -rf "$workdir" ;;
  *) echo "pebble: left $workdir in place (not a start.sh temp dir)" >&2 ;;
esac
echo "pebble: stopped" >&2
