#!/usr/bin/env bash
# Runs COMMAND with a Node.js of at least major version MIN first on PATH: the current `node` when
# it is new enough, otherwise the newest MIN.x installed by scripts/install-node.sh. For tools that
# declare a newer Node than the project's runtime floor (@vscode/vsce, @vscode/test-electron: >= 22).
# Usage: scripts/with-node.sh MIN COMMAND [ARGS...]
set -euo pipefail
case "${1:-}" in
  -h | --help)
    sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
if [ "$#" -lt 2 ]; then
  echo "usage: scripts/with-node.sh MIN COMMAND [ARGS...]" >&2
  exit 2
fi
MIN="$1"
shift
major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -lt "$MIN" ]; then
  bin="$("$(dirname "$0")/install-node.sh" "$MIN")"
  echo "with-node: running '$1' on Node $("$bin" --version) (this shell's node is v$major)" >&2
  export PATH="$(dirname "$bin"):$PATH"
  # npm run exports the outer node's path; tools that re-spawn node must not pick it up.
  unset npm_node_execpath NODE
fi
exec "$@"
