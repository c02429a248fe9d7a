#!/usr/bin/env bash
# Installs what the interop tests need, every package pinned:
#
#   component       what                                   where
#   sse-starlette   sse-starlette + uvicorn (PyPI), a venv  $dir/venv
#   better-sse      better-sse + Express (npm), npm ci      $dir/node/node_modules
#   websockets      websockets (PyPI), a venv of its own    $dir/websockets-venv
#   ws              ws (npm), npm ci                        $dir/ws-node/node_modules
#   nginx           Debian's nginx-light 1.22.1 (apt)       /usr/sbin/nginx
#   eventsource-node  eventsource (npm), an SSE client      $dir/sse-clients/eventsource-node
#   httpx-sse       httpx-sse + httpx (PyPI), a venv         $dir/sse-clients/httpx-sse-venv
#   reqwest-eventsource  the driver crate (crates.io), built $dir/sse-clients/reqwest-eventsource
#   chromium        Debian's chromium (apt), not pinned     /usr/bin/chromium
#
# The SSE clients' drivers are in sse_clients/ (pinned by its package-lock.json,
# requirements.txt, Cargo.lock); `pulsecheck host sse` runs them.
#
# The pins: sse_starlette/requirements.txt, better_sse/package-lock.json,
# websockets_py/requirements.txt, ws_node/package-lock.json, and NGINX_PIN below.
# Chromium is the one exception: Debian ships its security updates as new
# upstream versions and keeps no old ones, so whatever version the archive has is
# installed, and the tests print the version they ran. The client drivers
# (clients/) reuse the websockets and ws installs.
#
#   setup.sh                 installs every component
#   setup.sh nginx ws ...    installs only the ones named
#
# The interop tests run it themselves, for the component each test needs, on
# first use (conformance/tests/interop/harness.rs, `ensure`); running it by hand
# first is never needed.
#
# $dir is $PULSECHECK_INTEROP_DIR, by default target/interop at the workspace root;
# the tests read the same variable. Idempotent: a stamp records the pins each
# install was made from, and a run with unchanged pins only checks the stamps
# (nginx: dpkg's record of the installed version). Runs hold a lock
# ($dir/.setup.lock, flock) so that test binaries starting at once never install
# the same thing together. Exits non-zero, naming the missing tool or the step
# that failed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
dir="${PULSECHECK_INTEROP_DIR:-$root/target/interop}"

# Debian 12's nginx-light: upstream 1.22.1, Debian revision 9, with whatever
# security update the archive carries (deb12uN).
NGINX_PIN="1.22.1-9*"

fail() {
  echo "interop setup: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed; $2"
}

mkdir -p "$dir" || fail "cannot create $dir"
need flock "the install lock needs flock (util-linux)"
exec 9>"$dir/.setup.lock"
flock 9

# A stamp holds the checksum of the files that pin an install.
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

python="${PYTHON:-python3}"

python_version() {
  need "$python" "the $1 server needs Python 3.9 or later with venv and pip"
  "$python" -c 'import sys; print(sys.version.split()[0])' \
    || fail "$python does not run"
}

# venv_install NAME VENV REQUIREMENTS IMPORT-CHECK
venv_install() {
  local name="$1" venv="$2" requirements="$3" check="$4" want
  # A venv belongs to the Python that made it: a new Python means a new venv.
  want="$(stamp_of "$requirements") python $(python_version "$name")"
  if [[ -x "$venv/bin/python" && "$(cat "$venv/.pulsecheck-stamp" 2>/dev/null)" == "$want" ]]; then
    echo "interop setup: $venv is up to date"
    return
  fi
  echo "interop setup: installing $name into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv" \
    || fail "cannot create a venv with $python -m venv (is Python's venv module installed?)"
  "$venv/bin/python" -m pip --version >/dev/null 2>&1 \
    || fail "the venv at $venv has no pip (is Python's ensurepip installed?)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$requirements" \
    || fail "pip could not install $requirements into $venv"
  "$venv/bin/python" -c "$check" \
    || fail "the venv at $venv cannot run: $check"
  echo "$want" >"$venv/.pulsecheck-stamp"
}

node_tools() {
  need node "the $1 server needs Node.js 20 or later"
  need npm "the $1 server is installed with npm"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  (( major >= 20 )) || fail "$1 needs Node.js 20 or later (found $(node --version))"
}

# npm_install NAME SOURCE-DIR TARGET-DIR IMPORT-CHECK
npm_install() {
  local name="$1" source="$2" target="$3" check="$4" want
  node_tools "$name"
  want="$(stamp_of "$source/package.json" "$source/package-lock.json") node $(node --version)"
  if [[ -d "$target/node_modules" && "$(cat "$target/.pulsecheck-stamp" 2>/dev/null)" == "$want" ]]; then
    echo "interop setup: $target/node_modules is up to date"
    return
  fi
  echo "interop setup: installing $name into $target"
  rm -rf "$target"
  mkdir -p "$target"
  cp "$source/package.json" "$source/package-lock.json" "$target/"
  npm ci --prefix "$target" --no-audit --no-fund --omit=dev --loglevel=error \
    || fail "npm ci could not install $source/package-lock.json into $target"
  NODE_PATH="$target/node_modules" node -e "$check" \
    || fail "node cannot load $name from $target/node_modules"
  echo "$want" >"$target/.pulsecheck-stamp"
}

install_sse_starlette() {
  venv_install "sse-starlette and uvicorn" "$dir/venv" \
    "$here/sse_starlette/requirements.txt" 'import sse_starlette, uvicorn, starlette'
}

install_better_sse() {
  npm_install "better-sse and express" "$here/better_sse" "$dir/node" \
    'require("better-sse"); require("express")'
}

install_websockets() {
  # Its own venv: the WebSocket servers' pins move independently of the SSE ones.
  venv_install "websockets" "$dir/websockets-venv" \
    "$here/websockets_py/requirements.txt" 'from websockets.asyncio.server import serve'
}

install_ws() {
  npm_install "ws" "$here/ws_node" "$dir/ws-node" 'require("ws").WebSocketServer'
}

install_eventsource_node() {
  npm_install "eventsource" "$here/sse_clients/eventsource_node" \
    "$dir/sse-clients/eventsource-node" 'require("eventsource").EventSource'
}

install_httpx_sse() {
  venv_install "httpx-sse" "$dir/sse-clients/httpx-sse-venv" \
    "$here/sse_clients/httpx_sse/requirements.txt" 'import httpx, httpx_sse'
}

# cargo_driver NAME SOURCE-DIR BINARY: builds a driver crate (its own workspace,
# its Cargo.lock) in release (a debug build parses a 5 MB event too slowly to be
# judged fairly) in a target dir of its own, keeps the binary, drops the rest.
cargo_driver() {
  local name="$1" source="$2" bin="$3" want target
  need cargo "the $name driver is built with cargo"
  want="$(stamp_of "$source/Cargo.toml" "$source/Cargo.lock" "$source"/src/*.rs) $(rustc --version)"
  if [[ -x "$bin" && "$(cat "$bin.pulsecheck-stamp" 2>/dev/null)" == "$want" ]]; then
    echo "interop setup: $bin is up to date"
    return
  fi
  echo "interop setup: building the $name driver into $bin"
  target="$dir/cargo-target-$name"
  rm -f "$bin"
  mkdir -p "$(dirname "$bin")"
  cargo build --quiet --release --locked --manifest-path "$source/Cargo.toml" --target-dir "$target" \
    || fail "cargo could not build $source (its Cargo.lock pins every crate)"
  cp "$target/release/pulsecheck-driver-$name" "$bin" || fail "the $name driver was not built"
  rm -rf "$target"
  echo "$want" >"$bin.pulsecheck-stamp"
}

install_reqwest_eventsource() {
  cargo_driver reqwest-eventsource "$here/sse_clients/reqwest_eventsource" \
    "$dir/sse-clients/reqwest-eventsource"
}

# nginx is a system package: dpkg's record is the stamp.
install_nginx() {
  local installed
  nginx_version() { dpkg-query -W -f='${Version}' nginx-light 2>/dev/null || true; }
  installed="$(nginx_version)"
  # shellcheck disable=SC2053 # NGINX_PIN is a glob on purpose
  if [[ -n "$installed" && "$installed" == $NGINX_PIN && -x /usr/sbin/nginx ]]; then
    echo "interop setup: nginx-light $installed is installed"
    return
  fi
  need apt-get "nginx comes from Debian's nginx-light package (install nginx-light=$NGINX_PIN)"
  if [[ "$(id -u)" != 0 ]]; then
    fail "nginx-light=$NGINX_PIN is not installed (found: ${installed:-none}), and apt-get needs root: run apt-get install nginx-light='$NGINX_PIN' as root"
  fi
  echo "interop setup: installing nginx-light=$NGINX_PIN with apt-get"
  apt-get update -qq -o DPkg::Lock::Timeout=300 \
    || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "nginx-light=$NGINX_PIN" >/dev/null \
    || fail "apt-get could not install nginx-light=$NGINX_PIN"
  installed="$(nginx_version)"
  # shellcheck disable=SC2053
  [[ "$installed" == $NGINX_PIN && -x /usr/sbin/nginx ]] \
    || fail "after apt-get, nginx-light is ${installed:-missing}, not $NGINX_PIN"
  /usr/sbin/nginx -v 2>&1 || fail "/usr/sbin/nginx does not run"
}

# Chromium is a system package too, and not pinned (see the top): any version
# that runs will do, and dpkg's record says whether it is there.
install_chromium() {
  local installed
  chromium_version() { dpkg-query -W -f='${Version}' chromium 2>/dev/null || true; }
  installed="$(chromium_version)"
  if [[ -n "$installed" && -x /usr/bin/chromium ]]; then
    echo "interop setup: chromium $installed is installed"
    return
  fi
  need apt-get "Chromium comes from Debian's chromium package (apt-get install chromium)"
  if [[ "$(id -u)" != 0 ]]; then
    fail "chromium is not installed, and apt-get needs root: run apt-get install chromium as root"
  fi
  echo "interop setup: installing chromium with apt-get"
  apt-get update -qq -o DPkg::Lock::Timeout=300 \
    || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 chromium >/dev/null \
    || fail "apt-get could not install chromium"
  installed="$(chromium_version)"
  [[ -n "$installed" && -x /usr/bin/chromium ]] \
    || fail "after apt-get, chromium is still missing"
  /usr/bin/chromium --version 2>/dev/null || fail "/usr/bin/chromium does not run"
}

components=("$@")
if (( ${#components[@]} == 0 )); then
  components=(sse-starlette better-sse websockets ws nginx eventsource-node httpx-sse reqwest-eventsource chromium)
fi
for component in "${components[@]}"; do
  case "$component" in
    sse-starlette) install_sse_starlette ;;
    better-sse) install_better_sse ;;
    websockets) install_websockets ;;
    ws) install_ws ;;
    nginx) install_nginx ;;
    eventsource-node) install_eventsource_node ;;
    httpx-sse) install_httpx_sse ;;
    reqwest-eventsource) install_reqwest_eventsource ;;
    chromium) install_chromium ;;
    *) fail "unknown component '$component' (known: sse-starlette better-sse websockets ws nginx eventsource-node httpx-sse reqwest-eventsource chromium)" ;;
  esac
done
echo "interop setup: done (${components[*]}; $dir)"
