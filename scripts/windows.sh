#!/usr/bin/env bash
# Build and test aws-cred for Windows (x86_64-pc-windows-gnu) on a Debian machine.
#
#   bash scripts/windows.sh build          release aws-cred.exe (for people to use); prints its path
#   bash scripts/windows.sh build --dev    a dev (debug) build, faster
#   bash scripts/windows.sh check          cargo clippy --all-targets -D warnings for Windows
#   bash scripts/windows.sh unit           the unit tests under wine, and a dev aws-cred.exe from the
#                                          same build (its path on stdout); what CI runs
#   bash scripts/windows.sh setup          only create (or reuse) the build root and the wine prefix
#   bash scripts/windows.sh cargo SUB ARGS  any cargo subcommand for Windows (e.g. cargo check --lib)
#   bash scripts/windows.sh shell          a shell in the build root (the repo is at /src)
#
# How: rustup's prebuilt Windows targets are not reachable here, but Debian's unstable suite has
# rustc, cargo, rust-src and clippy 1.97 and the MinGW-w64 linker. They go into a separate root
# made with mmdebstrap (installing unstable's rustc on the host would replace its C library),
# entered with bubblewrap (no mounts are left behind if the build is killed). The standard
# library is built from source for the target (-Zbuild-std). wine 10, from the same root, runs
# the result (the Rust standard library needs bcryptprimitives.dll, which wine 8 lacks):
# target/windows/wine is a wrapper the tests call, with /tmp and the repo at their own paths.
# Needs root (mmdebstrap, apt-get) the first time only.
#
# Settings (environment):
#   AWS_CRED_WINDOWS_ROOT   the build root (default: ~/.cache/aws-cred/windows-root); reused while
#                           its package list is unchanged, remade otherwise
#   AWS_CRED_WINEPREFIX     the wine prefix for the tests (default: <repo>/target/windows/wineprefix)
# The build's target directory is <repo>/target/windows; the host's cargo registry is shared.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=x86_64-pc-windows-gnu
root=${AWS_CRED_WINDOWS_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/aws-cred/windows-root}
wineprefix=${AWS_CRED_WINEPREFIX:-$repo/target/windows/wineprefix}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# The host's CA bundle is used inside the root too, so crates.io is reached through the same
# (possibly corporate, TLS-inspecting) proxy the host trusts.
host_ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
# What the build root holds; a change here remakes it.
root_packages="rustc,cargo,rust-src,rust-clippy,gcc-mingw-w64-x86-64,nasm,gcc,libc6-dev,ca-certificates,wine,wine64"
root_stamp="sid 1 $root_packages"

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'scripts/windows.sh: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root to run: $* (run this script as root once, or install the packages yourself)"
  fi
}

host_packages() {
  local missing=()
  command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
  command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing on the host: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

make_root() {
  if [ -f "$root/.aws-cred-stamp" ] && [ "$(cat "$root/.aws-cred-stamp")" = "$root_stamp" ]; then
    return
  fi
  say "creating the build root at $root (Debian unstable: $root_packages); about 2 minutes"
  as_root rm -rf "$root"
  mkdir -p "$(dirname "$root")"
  # The unstable suite's Release file can be past its Valid-Until date on a mirror snapshot.
  as_root mmdebstrap --quiet --variant=apt \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$root_packages" sid "$root" http://deb.debian.org/debian
  printf '%s\n' "$root_stamp" | as_root tee "$root/.aws-cred-stamp" >/dev/null
}

# Run a command inside the build root: the repo at /src, the host's cargo registry shared.
in_root() {
  mkdir -p "$cargo_home/registry" "$cargo_home/git" "$repo/target/windows"
  bwrap --bind "$root" / \
    --proc /proc --dev /dev \
    --perms 1777 --tmpfs /tmp \
    --ro-bind /etc/resolv.conf /etc/resolv.conf \
    --ro-bind "$host_ca" /etc/ssl/certs/ca-certificates.crt \
    --bind "$repo" /src \
    --bind "$cargo_home/registry" /root/.cargo/registry \
    --bind "$cargo_home/git" /root/.cargo/git \
    --chdir /src --die-with-parent \
    /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root TERM=dumb \
    CARGO_HOME=/root/.cargo CARGO_TARGET_DIR=/src/target/windows \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt \
    CARGO_TERM_COLOR=never CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}" \
    RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
    "$@"
}

cargo_win() {
  local sub=$1
  shift
  in_root cargo "$sub" -Zbuild-std=std,panic_abort --target "$target" --locked "$@"
}

wine_wrapper=$repo/target/windows/wine

# target/windows/wine: wine from the build root, run on this machine's /tmp and repo (so the
# tests' temporary files have the same paths, Z:\tmp\...) and its loopback network.
make_wine_wrapper() {
  mkdir -p "$(dirname "$wine_wrapper")"
  # Quoted here-document: nothing expands now; @ROOT@, @REPO@ and @PREFIX@ are filled in below.
  cat >"$wine_wrapper.new" <<'WRAPPER'
#!/bin/sh
# Made by scripts/windows.sh: wine from the build root @ROOT@.
# "wine PROGRAM.exe ARGS" runs a Windows program; "wine wineserver ARGS" runs the wine server.
program=/usr/bin/wine
if [ "${1:-}" = wineserver ]; then
  program=/usr/lib/x86_64-linux-gnu/wine/wineserver
  shift
fi
exec bwrap --bind '@ROOT@' / --proc /proc --dev /dev \
  --bind /tmp /tmp --bind '@REPO@' '@REPO@' \
  --ro-bind /etc/resolv.conf /etc/resolv.conf --ro-bind /etc/hosts /etc/hosts \
  --setenv PATH /usr/bin:/bin \
  --setenv WINEPREFIX "${WINEPREFIX:-@PREFIX@}" \
  --setenv WINEDEBUG "${WINEDEBUG:--all}" \
  --setenv WINEDLLOVERRIDES "mscoree,mshtml=;winewayland.drv=d" \
  --die-with-parent "$program" "$@"
WRAPPER
  sed -i -e "s|@ROOT@|$root|g" -e "s|@REPO@|$repo|g" -e "s|@PREFIX@|$wineprefix|g" "$wine_wrapper.new"
  chmod +x "$wine_wrapper.new"
  mv "$wine_wrapper.new" "$wine_wrapper"
}

make_prefix() {
  make_wine_wrapper
  if [ -f "$wineprefix/system.reg" ] && [ -f "$wineprefix/.aws-cred-stamp" ] &&
    [ "$(cat "$wineprefix/.aws-cred-stamp")" = "$root_stamp" ]; then
    return
  fi
  say "creating the wine prefix at $wineprefix"
  rm -rf "$wineprefix"
  mkdir -p "$wineprefix"
  "$wine_wrapper" wineboot --init >/dev/null 2>&1
  "$wine_wrapper" wineserver --wait >/dev/null 2>&1 || true
  printf '%s\n' "$root_stamp" >"$wineprefix/.aws-cred-stamp"
}

setup() {
  host_packages
  make_root
  make_prefix
}

build() {
  local profile=release flags=(--release)
  if [ "${1:-}" = "--dev" ]; then
    profile=debug
    flags=()
  elif [ -n "${1:-}" ]; then
    die "usage: scripts/windows.sh build [--dev]"
  fi
  host_packages
  make_root
  say "building aws-cred.exe ($profile) for $target"
  cargo_win build "${flags[@]}" --bin aws-cred
  local exe="$repo/target/windows/$target/$profile/aws-cred.exe"
  [ -f "$exe" ] || die "the build finished but $exe is missing"
  echo "$exe"
}

check() {
  host_packages
  make_root
  say "cargo clippy --all-targets for $target"
  cargo_win clippy --all-targets -- -D warnings
}

# The library's unit tests and a dev aws-cred.exe, from one build (cargo unifies the features
# of the dev-dependencies for both, so nothing is compiled twice), then the unit tests under wine.
# Prints the path of aws-cred.exe on stdout.
unit() {
  setup
  say "building the unit tests and aws-cred.exe (dev) for $target"
  local json
  json=$(mktemp)
  # Asking for the integration tests (tests/it: on Windows only its architecture and property
  # suites compile) makes cargo link the real aws-cred.exe (CARGO_BIN_EXE_aws-cred) in the
  # same build.
  cargo_win test --lib --test it --no-run --message-format=json >"$json"
  local exe
  exe=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["lib"]:
        print(m["executable"])
' "$json")
  rm -f "$json"
  [ -n "$exe" ] || die "cargo built no unit test executable"
  exe="$repo/${exe#/src/}"
  local bin="$repo/target/windows/$target/debug/aws-cred.exe"
  [ -f "$bin" ] || die "the build finished but $bin is missing"
  say "running $(basename "$exe") under wine"
  (cd "$repo" && timeout --kill-after=10 1200 "$wine_wrapper" "$exe" "$@" >&2)
  echo "$bin"
}

# Everything runs from main, so bash has read the whole file before it starts (an edit or a
# checkout during a long build cannot change what runs).
main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    build) build "$@" ;;
    check) check ;;
    unit) unit "$@" ;;
    setup) setup ;;
    cargo)
      host_packages
      make_root
      cargo_win "$@"
      ;;
    shell) in_root bash ;;
    *)
      sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
