#!/usr/bin/env bash
# The Node matrix: runs the unit and integration suites (test/run.mjs) on the newest release of each
# Node line in scripts/node-versions.json "matrix" (installed by scripts/install-node.sh), then an
# attested chat for every (server Node, client Node) pair (test/integration/cross-node.test.ts).
# Usage: scripts/test-matrix.sh [--skip-current] [LINE...]
#   --skip-current  do not rerun the suites on a line whose newest release is this shell's `node`
#                   (npm test has just run them there); the cross-version pairs still include it
# Exit: 0 all passed, 1 a suite failed, 2 usage. A per-line summary goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_CURRENT=0
LINES=()
for arg in "$@"; do
  case "$arg" in
    --skip-current) SKIP_CURRENT=1 ;;
    -h | --help)
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    [0-9]*) LINES+=("$arg") ;;
    *)
      echo "test-matrix: unknown argument $arg" >&2
      exit 2
      ;;
  esac
done
[ ${#LINES[@]} -gt 0 ] || read -r -a LINES <<<"$(node -p "require('./scripts/node-versions.json').matrix.join(' ')")"
current="$(node --version)"
bins=()
summary=()
failed=0
for line in "${LINES[@]}"; do
  bin="$(scripts/install-node.sh "$line")"
  bins+=("$bin")
  v="$("$bin" --version)"
  if [ "$SKIP_CURRENT" = 1 ] && [ "$v" = "$current" ]; then
    summary+=("node $v: suites already run by npm test (skipped here)")
    continue
  fi
  echo "== test-matrix: unit + integration suites on node $v" >&2
  t0=$(date +%s)
  if PATH="$(dirname "$bin"):$PATH" "$bin" test/run.mjs; then r=passed; else r=FAILED; failed=1; fi
  summary+=("node $v: suites $r in $(($(date +%s) - t0)) s")
done
echo "== test-matrix: attested chat for every (server, client) Node pair" >&2
t0=$(date +%s)
matrix="$(IFS=:; echo "${bins[*]}")"
if TEECHAT_NODE_MATRIX="$matrix" node --import tsx --test --test-timeout=600000 \
  test/integration/cross-node.test.ts; then r=passed; else r=FAILED; failed=1; fi
summary+=("cross-version pairs (${#bins[@]}x${#bins[@]}): $r in $(($(date +%s) - t0)) s")
echo "== test-matrix summary" >&2
printf '  %s\n' "${summary[@]}" >&2
exit "$failed"
