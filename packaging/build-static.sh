#!/usr/bin/env bash
# Build the release binary statically linked against glibc, and prove it is static.
#
#   packaging/build-static.sh            # build, then verify
#   packaging/build-static.sh --no-build # verify the existing binary only
#
# Output: target/x86_64-unknown-linux-gnu/release/hearth (or under $CARGO_TARGET_DIR).
# Needs: Rust with the x86_64-unknown-linux-gnu target (the host target on x86_64 Linux),
# a C compiler (gcc) for aws-lc-sys and libwebp, make for jemalloc, and `file` to check the result.
# Note: a static glibc binary still uses glibc's built-in NSS for getaddrinfo (DNS, /etc/hosts);
# it needs no shared libraries at run time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target=x86_64-unknown-linux-gnu
bin="${CARGO_TARGET_DIR:-target}/$target/release/hearth"
die() {
  printf 'build-static: ERROR: %s\n' "$*" >&2
  exit 1
}

build=1
case "${1:-}" in
  --no-build) build=0 ;;
  "") ;;
  *) die "unknown argument '$1' (usage: $0 [--no-build])" ;;
esac

command -v file >/dev/null 2>&1 || die "'file' is needed to verify the binary (apt-get install file)"
command -v ldd >/dev/null 2>&1 || die "'ldd' is needed to verify the binary (apt-get install libc-bin)"

if [ "$build" = 1 ]; then
  command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
  [ "$(uname -m)" = x86_64 ] || die "this script builds for $target; this machine is $(uname -m)"
  if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$target"; then
    die "Rust target $target is not installed (rustup target add $target)"
  fi
  command -v cc >/dev/null 2>&1 || die "a C compiler is needed for aws-lc-sys (apt-get install gcc libc6-dev)"
  command -v make >/dev/null 2>&1 || die "make is needed to build jemalloc (apt-get install make)"
  echo "build-static: cargo build --release --target $target (crt-static)" >&2
  # --target keeps build scripts and proc macros dynamic; only the final binary is static.
  RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked --target "$target" --bin hearth
fi

[ -x "$bin" ] || die "no binary at $bin (run without --no-build)"

file_out="$(file -L "$bin")"
ldd_out="$(ldd "$bin" 2>&1 || true)"
echo "file: ${file_out#"$bin": }" >&2
echo "ldd:  $(printf '%s' "$ldd_out" | tr -s '\t\n' '  ')" >&2

case "$file_out" in
  *"static-pie linked"* | *"statically linked"*) ;;
  *) die "$bin is not static according to file(1): $file_out" ;;
esac
case "$ldd_out" in
  *"not a dynamic executable"* | *"statically linked"*) ;;
  *) die "$bin loads shared libraries according to ldd: $ldd_out" ;;
esac

size="$(stat -c %s "$bin")"
echo "build-static: OK, static binary $bin" >&2
echo "build-static: size $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MiB), sha256 $(sha256sum "$bin" | cut -d' ' -f1)" >&2
echo "$bin"
