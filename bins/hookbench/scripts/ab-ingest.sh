#!/usr/bin/env bash
# Alternating A/B of durable ingest on a fresh empty SQLite database (64 connections, 8 s
# each, LOG_LEVEL=INFO), for two builds side by side:
#
#   bash bins/hookbench/scripts/ab-ingest.sh DIR_A DIR_B [ROUNDS]
#
# DIR_A and DIR_B each hold a release `hookline` and `hookbench` (copy them out of
# target/release for each build). Prints one `hookbench load` line per run, A then B.
set -euo pipefail
[ "$#" -ge 2 ] || { echo "usage: $0 DIR_A DIR_B [ROUNDS]" >&2; exit 2; }
a="$1" b="$2" rounds="${3:-3}"
round() {
  local bin="$1" dir port pid
  dir="$(mktemp -d "${TMPDIR:-/tmp}/hookline-ab.XXXXXX")"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  WEBHOOK_SECRET=ab DATABASE_URL="sqlite:///$dir/app.db" HOST=127.0.0.1 PORT="$port" LOG_LEVEL=INFO \
    "$bin/hookline" >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
  printf '%s: ' "$bin"
  "$bin/hookbench" load --url "http://127.0.0.1:$port" --secret ab -c 64 -d 8s
  kill -TERM "$pid"
  wait "$pid" || true
  rm -rf "$dir"
}
for _ in $(seq "$rounds"); do
  round "$a"
  round "$b"
done
