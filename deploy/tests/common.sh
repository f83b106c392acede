# Shared helpers for the deploy checks. Sourced, not run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT

# Console scripts installed by pip (kubernetes-validate, hadolint, docker-compose) live in
# the interpreter's scripts folder, which is not always on PATH (pyenv shims, ~/.local).
if py_scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)"; then
  PATH="$py_scripts:$PATH"
fi
PATH="$PATH:$HOME/.local/bin"
export PATH

step() { printf '\n==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() { printf '\nFAIL: %s\n' "$*" >&2; exit 1; }

# need TOOL: fail with a hint when a tool is missing (`make tools` installs them all).
need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: run 'make tools' (or 'bash .ci/run --install-only') first"
}

# The compose CLI: the docker plugin when present, else the standalone binary from PyPI.
compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose "$@"
  else
    need docker-compose
    docker-compose "$@"
  fi
}

# A free TCP port on the loopback interface.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The cargo target directory (honours CARGO_TARGET_DIR and .cargo/config).
target_dir() {
  cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# start_hookline BIN WORK LOG_LEVEL [VAR=VALUE ...]: starts the server binary BIN on a free
# loopback port with its database in WORK/db, its stdout in WORK/server.log and its stderr in
# WORK/server.err, the extra variables in its environment; waits up to 30 s for
# /health/ready. Sets `port`, `base` and `server_pid` for the caller (which stops it).
start_hookline() {
  local bin="$1" work="$2" level="$3"
  shift 3
  port="$(free_port)"
  base="http://127.0.0.1:$port"
  step "start hookline on $base (database in a temporary folder)"
  env "$@" DATABASE_URL="sqlite:///$work/db/app.db" HOST=127.0.0.1 PORT="$port" \
    LOG_LEVEL="$level" "$bin" >"$work/server.log" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 150); do
    curl -sf "$base/health/ready" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || die "hookline exited during start-up: $(cat "$work/server.err")"
    sleep 0.2
  done
  curl -sf "$base/health/ready" >/dev/null || die "/health/ready did not answer 200 within 30 s"
}
