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
