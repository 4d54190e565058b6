#!/bin/sh
# Fetches Debian's `ovmf` package (pinned version and SHA-256) into the git-ignored cache and
# extracts the OVMF images the measurement tests use (test/unit/measure-snp.test.ts):
#   .cache/ovmf/OVMF.fd          OvmfPkgX64 build (2 MiB, with SEV metadata, no SNP_KERNEL_HASHES)
#   .cache/ovmf/OVMF_CODE.fd     the same build's code volume
#   .cache/ovmf/OVMF_CODE_4M.fd  4 MiB code volume (no SEV metadata)
# Usage: scripts/fetch-ovmf.sh   (idempotent; prints the cache directory on stdout)
# Needs apt-get (Debian bookworm sources) and dpkg-deb. Exit 1 when it cannot fetch or a hash differs.
set -eu

VERSION='2022.11-6+deb12u2'
DEB_SHA256='e73d3d1a8799f7f6fc16b73501d913edcdd86237556fbff30693e747e6dc262e'
# name sha256 (of the files inside that .deb)
FILES='OVMF.fd 7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773
OVMF_CODE.fd d9b568def24088c92f34b5479e0ed7e44d0a4d4cea8a0f5716719180bba48106
OVMF_CODE_4M.fd b157d97b1f69729514feb7f201d2cbe4957f23ab77920e361fe9f822ba49ca4c'

root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/ovmf"
mkdir -p "$cache"

check_all() {
  echo "$FILES" | while read -r name sum; do
    [ -f "$cache/$name" ] || return 1
    echo "$sum  $cache/$name" | sha256sum -c --status - || return 1
  done
}

if check_all; then
  echo "$cache"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# A fresh machine has no package lists yet: refresh them once and retry.
if ! apt-get download "ovmf=$VERSION" >"$tmp/apt.log" 2>&1 &&
  ! { [ "$(id -u)" = 0 ] && apt-get update -qq >&2 && apt-get download "ovmf=$VERSION" >"$tmp/apt.log" 2>&1; }; then
  echo "fetch-ovmf: apt-get download ovmf=$VERSION failed:" >&2
  cat "$tmp/apt.log" >&2
  exit 1
fi
deb=$(ls ovmf_*.deb)
if ! echo "$DEB_SHA256  $deb" | sha256sum -c --status -; then
  echo "fetch-ovmf: $deb: expected sha256 $DEB_SHA256, got $(sha256sum "$deb" | cut -d' ' -f1)" >&2
  exit 1
fi
dpkg-deb -x "$deb" x
echo "$FILES" | while read -r name sum; do
  src=$(find x -name "$name" -type f | head -n 1)
  if [ -z "$src" ] || ! echo "$sum  $src" | sha256sum -c --status -; then
    echo "fetch-ovmf: $name: expected sha256 $sum inside $deb, got ${src:+$(sha256sum "$src" | cut -d' ' -f1)}" >&2
    exit 1
  fi
  cp "$src" "$cache/$name"
done
check_all
echo "$cache"
