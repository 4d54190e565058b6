#!/usr/bin/env bash
# Installs what the unit tests read besides npm packages, idempotently:
#   1. Debian's cryptsetup-bin (veritysetup: the dm-verity reference, test/unit/measure-verity.test.ts)
#   2. Debian's osslsigncode (the Authenticode reference, test/unit/measure-tdx-boot.test.ts)
#   3. Debian's ovmf images, pinned by SHA-256 (scripts/fetch-ovmf.sh; test/unit/measure-snp.test.ts)
# Without them those tests skip with a visible message. Usage: scripts/test-setup.sh [--no-apt]
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h | --help)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  '' | --no-apt) ;;
  *)
    echo "test-setup: unknown argument $1" >&2
    exit 2
    ;;
esac
missing=()
command -v veritysetup >/dev/null 2>&1 || missing+=(cryptsetup-bin)
command -v osslsigncode >/dev/null 2>&1 || missing+=(osslsigncode)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "${1:-}" = --no-apt ]; then
    echo "test-setup: ${missing[*]} missing (skipped: --no-apt)" >&2
  else
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "test-setup: installing Debian ${missing[*]}" >&2
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
  fi
fi
scripts/fetch-ovmf.sh >/dev/null
echo "test-setup: done" >&2
