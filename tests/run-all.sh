#!/usr/bin/env bash
# The project's single test command (CI runs it through .ci/run):
#
#   ./tests/run-all.sh
#
# 1. installs what is missing (idempotent, quiet): chromium + pebble (apt), cargo-nextest,
#    the browser-test npm packages, python aiosmtpd and schemathesis;
# 2. cargo fmt --check;  3. cargo clippy -D warnings;
# 4. cargo nextest (with Debian's pebble ACME CA running for the ACME integration test);
# 5. API contract: schemathesis checks every response against /api/openapi.json;
# 6. browser test: cargo build, then node --test tests/e2e/*.test.mjs (Playwright + Chromium).
#
# Steps 2-6 all run even if one fails; the summary lists each, and the exit code is non-zero
# if any failed. Needs: cargo (Rust), node >= 20 + npm, python3; apt-get (root or sudo) for
# what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

header() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf '\nrun-all: ERROR: %s\n' "$*" >&2
  exit 1
}
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}
have() { command -v "$1" >/dev/null 2>&1; }

# A non-login shell may not have rustup's bin dir on PATH.
if ! have cargo && [ -x "$HOME/.cargo/bin/cargo" ]; then
  PATH="$HOME/.cargo/bin:$PATH"
fi

total_start=$SECONDS

# ------------------------------------------------------------------------------------------
header "[1/6] Install missing tools"

have cargo || die "cargo not found: install Rust first (rustup, stable toolchain)"

apt_pkgs=()
have chromium || apt_pkgs+=(chromium)
{ have pebble && have pebble-challtestsrv; } || apt_pkgs+=(pebble)
have curl || apt_pkgs+=(curl)
have openssl || apt_pkgs+=(openssl)
have cc || apt_pkgs+=(gcc libc6-dev)
have python3 || apt_pkgs+=(python3 python3-aiosmtpd)
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  have apt-get || die "missing ${apt_pkgs[*]} and no apt-get to install them"
  note "apt-get install ${apt_pkgs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi
for tool in chromium pebble pebble-challtestsrv curl openssl python3; do
  have "$tool" || die "'$tool' still missing after apt-get install"
done

if ! cargo fmt --version >/dev/null 2>&1; then
  have rustup || die "cargo fmt missing and no rustup to add the rustfmt component"
  note "rustup component add rustfmt"
  rustup component add rustfmt >/dev/null
fi
if ! cargo clippy --version >/dev/null 2>&1; then
  have rustup || die "cargo clippy missing and no rustup to add the clippy component"
  note "rustup component add clippy"
  rustup component add clippy >/dev/null
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  note "cargo install cargo-nextest --locked (a few minutes, once)"
  cargo install cargo-nextest --locked --quiet
fi

{ have node && have npm; } || die "node (>= 20) and npm are needed for the browser test"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node >= 20 is needed (found $(node --version)); Debian 12's nodejs is 18"
# shellcheck disable=SC2016 # JavaScript template literal, not shell
e2e_versions="$(node -e '
  const fs = require("fs");
  const read = (p) => { try { return JSON.parse(fs.readFileSync(p, "utf8")); } catch { return null; } };
  const lock = read("tests/e2e/package-lock.json");
  const inst = read("tests/e2e/node_modules/playwright-core/package.json");
  console.log(`${lock?.packages?.["node_modules/playwright-core"]?.version ?? "none"} ${inst?.version ?? "none"}`);
')"
if [ "${e2e_versions% *}" != "${e2e_versions#* }" ]; then
  note "npm ci in tests/e2e (playwright-core ${e2e_versions% *})"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  if python3 -m pip --version >/dev/null 2>&1; then
    note "pip install aiosmtpd"
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
      --root-user-action=ignore aiosmtpd
  else
    note "apt-get install python3-aiosmtpd"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd >/dev/null
  fi
  python3 -c 'import aiosmtpd' || die "python3 cannot import aiosmtpd after installing it"
fi
# tests/api/schemathesis.toml is written for schemathesis 4 (its config file and check names).
if ! schemathesis --version 2>/dev/null | grep -q ' 4\.'; then
  note "pip install 'schemathesis>=4.32,<5'"
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
    --root-user-action=ignore 'schemathesis>=4.32,<5'
  command -v schemathesis >/dev/null 2>&1 || die "schemathesis not on PATH after installing it"
fi
note "tools ready ($((SECONDS - total_start)) s)"

# ------------------------------------------------------------------------------------------
results=()
failed=0
run_step() {
  local title=$1
  shift
  header "$title"
  local start=$SECONDS
  if "$@"; then
    results+=("PASS  $title ($((SECONDS - start)) s)")
  else
    results+=("FAIL  $title ($((SECONDS - start)) s)")
    failed=$((failed + 1))
  fi
}

stop_pebble() {
  if [ -n "${PEBBLE_TEST_WORKDIR:-}" ]; then
    tests/pebble/stop.sh "$PEBBLE_TEST_WORKDIR" || true
    unset PEBBLE_TEST PEBBLE_TEST_DIR_URL PEBBLE_TEST_API_CA \
      PEBBLE_TEST_ROOTS_URL PEBBLE_TEST_WORKDIR PEBBLE_TEST_TLS_PORT
  fi
}
trap stop_pebble EXIT
# Pebble runs in its own session, so Ctrl-C does not reach it: exit through the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

step_nextest() {
  local pebble_env rc=0
  pebble_env="$(tests/pebble/start.sh)" || {
    echo "run-all: could not start pebble (the ACME test needs it)" >&2
    return 1
  }
  eval "$pebble_env"
  note "pebble ACME CA at $PEBBLE_TEST_DIR_URL (TLS port $PEBBLE_TEST_TLS_PORT)"
  cargo nextest run --no-fail-fast || rc=$?
  stop_pebble
  return "$rc"
}

step_api() {
  cargo build || return 1
  tests/api/schemathesis.sh "${CARGO_TARGET_DIR:-target}/debug/hearth"
}

step_e2e() {
  cargo build || return 1
  # CARGO_TARGET_DIR moves the binary; HEARTH_BIN overrides it altogether.
  # Files named explicitly: node 20 also accepts the directory, node >= 21 wants files/globs.
  HEARTH_BIN="${HEARTH_BIN:-${CARGO_TARGET_DIR:-target}/debug/hearth}" \
    node --test tests/e2e/*.test.mjs || return 1
}

run_step "[2/6] cargo fmt --check" cargo fmt --check
run_step "[3/6] cargo clippy --all-targets -- -D warnings" cargo clippy --all-targets -- -D warnings
run_step "[4/6] cargo nextest run (unit + integration, pebble ACME)" step_nextest
run_step "[5/6] API contract (schemathesis against /api/openapi.json)" step_api
run_step "[6/6] browser test (cargo build; node --test tests/e2e/*.test.mjs)" step_e2e

# ------------------------------------------------------------------------------------------
header "Summary"
for line in "${results[@]}"; do
  note "$line"
done
if [ "$failed" -gt 0 ]; then
  printf '\nrun-all: FAILED — %d of %d steps failed (%d s)\n' "$failed" "${#results[@]}" "$((SECONDS - total_start))"
  exit 1
fi
printf '\nrun-all: OK — all %d steps passed (%d s)\n' "${#results[@]}" "$((SECONDS - total_start))"
