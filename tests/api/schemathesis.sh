#!/usr/bin/env bash
# Checks that the API does what its OpenAPI document says: schemathesis generates requests from
# /api/openapi.json and checks every response (status documented, body matching its schema,
# 405 with Allow, …), first anonymously, then signed in as the owner.
#
#   tests/api/schemathesis.sh [path/to/hearth]     (default: target/debug/hearth)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin="${1:-target/debug/hearth}"
command -v schemathesis >/dev/null 2>&1 || { echo "schemathesis missing: pip install schemathesis" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-api.XXXXXX")"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The server prints its address and the setup link on stdout once it listens: wait on that.
mkfifo "$work/out"
env -u HEARTH_CONFIG "$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
pid=$!
exec 3<"$work/out"
base="" link=""
while IFS= read -r -t 30 line <&3; do
  case "$line" in
    "Hearth is listening on "*) base="${line#Hearth is listening on }" ;;
    *"create the owner account: "*) link="${line##* }"; break ;;
  esac
done
[ -n "$base" ] && [ -n "$link" ] || { echo "server did not start" >&2; cat "$work/log" >&2; exit 1; }

password='a long and unusual passphrase'
jar="$work/jar"
csrf="$(curl -fsS -c "$jar" -b "$jar" "$link" | grep -o 'name="csrf" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')"
curl -fsS -o /dev/null -c "$jar" -b "$jar" -X POST "$link" \
  --data-urlencode "csrf=$csrf" --data-urlencode username=owner --data-urlencode email=owner@example.test \
  --data-urlencode "password=$password" --data-urlencode "password_confirm=$password"
me="$(curl -fsS -c "$jar" -b "$jar" -H 'content-type: application/json' \
  -d "{\"login\":\"owner\",\"password\":\"$password\"}" "$base/api/v1/session")"
token="$(printf '%s' "$me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["csrfToken"])')"
cookie="$(awk '$6 == "hearth_session" {print $7}' "$jar")"

# Every check, positive_data_acceptance included: a request valid by the document must be
# accepted. tests/api/schemathesis.toml lists, per operation, the refusals no schema can state
# (a wrong current password, a taken username) and why.
config=(--config-file tests/api/schemathesis.toml)
common=(--checks all --max-examples 25 --rate-limit 15/s --seed 1 --no-color)
echo "schemathesis: anonymous" >&2
schemathesis "${config[@]}" run "$base/api/openapi.json" "${common[@]}"
echo "schemathesis: signed in as the owner (sign-out excluded so the session survives)" >&2
# Replacing the site settings with generated values would rate-limit the rest of the run.
schemathesis "${config[@]}" run "$base/api/openapi.json" "${common[@]}" --exclude-method DELETE \
  --exclude-operation-id putSettings --exclude-operation-id patchSettings \
  -H "Cookie: hearth_session=$cookie" -H "X-CSRF-Token: $token"
