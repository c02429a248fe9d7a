#!/usr/bin/env bash
# Installs the third-party servers that the interop tests probe:
#   conformance/tests/interop_sse.rs (SSE):
#   - sse-starlette + uvicorn (PyPI), in a venv:   $dir/venv
#   - better-sse + Express (npm), with npm ci:     $dir/node/node_modules
#   conformance/tests/interop_ws.rs (WebSocket):
#   - websockets (PyPI), in a venv of its own:     $dir/websockets-venv
#   - ws (npm), with npm ci:                       $dir/ws-node/node_modules
# every package pinned (sse_starlette/requirements.txt, better_sse/package-lock.json,
# websockets_py/requirements.txt, ws_node/package-lock.json).
#
# $dir is $PULSECHECK_INTEROP_DIR, by default target/interop at the workspace root;
# the test reads the same variable. Idempotent: a stamp records the pins that
# were installed, and a second run with unchanged pins only checks the stamps.
# Exits non-zero, saying what failed, if an install fails.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
dir="${PULSECHECK_INTEROP_DIR:-$root/target/interop}"
mkdir -p "$dir"

fail() {
  echo "interop setup: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed; $2"
}

# A stamp holds the checksum of the files that pin an install.
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Python: sse-starlette under uvicorn --------------------------------------
python="${PYTHON:-python3}"
need "$python" "the sse-starlette server needs Python 3.9 or later with venv"
venv="$dir/venv"
requirements="$here/sse_starlette/requirements.txt"
# A venv belongs to the Python that made it: a new Python means a new venv.
want="$(stamp_of "$requirements") python $("$python" -c 'import sys; print(sys.version.split()[0])')"
if [[ -x "$venv/bin/python" && "$(cat "$venv/.pulsecheck-stamp" 2>/dev/null)" == "$want" ]]; then
  echo "interop setup: $venv is up to date"
else
  echo "interop setup: installing sse-starlette and uvicorn into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv" || fail "cannot create a venv with $python -m venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$requirements" \
    || fail "pip could not install $requirements into $venv"
  "$venv/bin/python" -c 'import sse_starlette, uvicorn, starlette' \
    || fail "the venv at $venv cannot import sse_starlette and uvicorn"
  echo "$want" >"$venv/.pulsecheck-stamp"
fi

# --- Node: better-sse on Express ----------------------------------------------
need node "the better-sse server needs Node.js 20 or later"
need npm "the better-sse server is installed with npm"
major="$(node -p 'process.versions.node.split(".")[0]')"
(( major >= 20 )) || fail "better-sse 0.16 needs Node.js 20 or later (found $(node --version))"
node_dir="$dir/node"
want="$(stamp_of "$here/better_sse/package.json" "$here/better_sse/package-lock.json") node $(node --version)"
if [[ -d "$node_dir/node_modules/better-sse" && "$(cat "$node_dir/.pulsecheck-stamp" 2>/dev/null)" == "$want" ]]; then
  echo "interop setup: $node_dir/node_modules is up to date"
else
  echo "interop setup: installing better-sse and express into $node_dir"
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  cp "$here/better_sse/package.json" "$here/better_sse/package-lock.json" "$node_dir/"
  npm ci --prefix "$node_dir" --no-audit --no-fund --omit=dev --loglevel=error \
    || fail "npm ci could not install $here/better_sse/package-lock.json into $node_dir"
  NODE_PATH="$node_dir/node_modules" node -e 'require("better-sse"); require("express")' \
    || fail "node cannot load better-sse and express from $node_dir/node_modules"
  echo "$want" >"$node_dir/.pulsecheck-stamp"
fi

# --- Python: websockets ------------------------------------------------------
# Its own venv: the WebSocket servers' pins move independently of the SSE ones.
ws_venv="$dir/websockets-venv"
requirements="$here/websockets_py/requirements.txt"
want="$(stamp_of "$requirements") python $("$python" -c 'import sys; print(sys.version.split()[0])')"
if [[ -x "$ws_venv/bin/python" && "$(cat "$ws_venv/.pulsecheck-stamp" 2>/dev/null)" == "$want" ]]; then
  echo "interop setup: $ws_venv is up to date"
else
  echo "interop setup: installing websockets into $ws_venv"
  rm -rf "$ws_venv"
  "$python" -m venv "$ws_venv" || fail "cannot create a venv with $python -m venv"
  "$ws_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$requirements" \
    || fail "pip could not install $requirements into $ws_venv"
  "$ws_venv/bin/python" -c 'from websockets.asyncio.server import serve' \
    || fail "the venv at $ws_venv cannot import websockets.asyncio.server"
  echo "$want" >"$ws_venv/.pulsecheck-stamp"
fi

# --- Node: ws -----------------------------------------------------------------
ws_node="$dir/ws-node"
want="$(stamp_of "$here/ws_node/package.json" "$here/ws_node/package-lock.json") node $(node --version)"
if [[ -d "$ws_node/node_modules/ws" && "$(cat "$ws_node/.pulsecheck-stamp" 2>/dev/null)" == "$want" ]]; then
  echo "interop setup: $ws_node/node_modules is up to date"
else
  echo "interop setup: installing ws into $ws_node"
  rm -rf "$ws_node"
  mkdir -p "$ws_node"
  cp "$here/ws_node/package.json" "$here/ws_node/package-lock.json" "$ws_node/"
  npm ci --prefix "$ws_node" --no-audit --no-fund --omit=dev --loglevel=error \
    || fail "npm ci could not install $here/ws_node/package-lock.json into $ws_node"
  NODE_PATH="$ws_node/node_modules" node -e 'require("ws").WebSocketServer' \
    || fail "node cannot load ws from $ws_node/node_modules"
  echo "$want" >"$ws_node/.pulsecheck-stamp"
fi

echo "interop setup: done ($dir)"
