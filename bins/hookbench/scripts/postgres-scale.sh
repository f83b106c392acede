#!/usr/bin/env bash
# PostgreSQL at scale, with the release binaries (`make bench-postgres`; run it inside
# deploy/tests/with-postgres.sh, which starts a throw-away cluster, with HOOKLINE_PG_FSYNC=on):
#
#   1. durable ingest through one replica and through three replicas sharing one database
#      (64 connections in all, `hookbench load`), each on an empty database;
#   2. `hookctl copy` of a SQLite database (default: a fresh 1,000,000-row `hookbench seed`)
#      into PostgreSQL: time, and the counts on both sides;
#   3. every read shape of `make bench` against one replica on that copy, each as a ratio
#      to `/health/live` measured right before it (p50, 8 connections).
#
#   bash bins/hookbench/scripts/postgres-scale.sh [SQLITE_DB]
#
# Prints one line per figure; nothing is written into the repository.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../../deploy/tests/common.sh"
cd "$ROOT"
need python3
need curl
[ -n "${HOOKLINE_TEST_POSTGRES_URL:-}" ] || die "HOOKLINE_TEST_POSTGRES_URL is not set (run inside deploy/tests/with-postgres.sh)"
[ -n "${HOOKLINE_TEST_POSTGRES_BIN:-}" ] || die "HOOKLINE_TEST_POSTGRES_BIN is not set (run inside deploy/tests/with-postgres.sh)"

release="$(target_dir)/release"
for b in hookline hookbench hookctl; do
  [ -x "$release/$b" ] || die "no $release/$b: cargo build --release -p hookline -p hookbench -p hookctl"
done
SECRET=bench-secret
SECONDS_EACH="${BENCH_SECONDS:-10}"
READ_SECONDS="${BENCH_READ_SECONDS:-5}"
work="$(mktemp -d "$(target_dir)/bench-postgres.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

base_url="${HOOKLINE_TEST_POSTGRES_URL%/*}"
psql() { "$HOOKLINE_TEST_POSTGRES_BIN/psql" "$HOOKLINE_TEST_POSTGRES_URL" -qAt "$@"; }
# count_rows DATABASE: the rows of its messages table.
count_rows() { "$HOOKLINE_TEST_POSTGRES_BIN/psql" "$base_url/$1" -qAt -c 'SELECT count(*) FROM messages'; }
fresh_db() { psql -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; echo "$base_url/$1"; }

# start_replica URL NAME: a release hookline on URL; sets `replica` to its base URL. Not
# called in a subshell, so its pid reaches `pids` and the cleanup stops it.
start_replica() {
  local url="$1" name="$2" port
  port="$(free_port)"
  WEBHOOK_SECRET="$SECRET" DATABASE_URL="$url" HOST=127.0.0.1 PORT="$port" LOG_LEVEL=WARN \
    "$release/hookline" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null || die "$name never became ready: $(tail -n 3 "$work/$name.log")"
  replica="http://127.0.0.1:$port"
}

field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

step "ingest, one replica, 64 connections, ${SECONDS_EACH}s, empty database"
start_replica "$(fresh_db bench_one)" one
one="$replica"
"$release/hookbench" load --url "$one" --secret "$SECRET" -c 64 -d "${SECONDS_EACH}s" --json >"$work/one.json"
python3 - "$work/one.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"    one replica: {r['rps']:.0f} messages/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, statuses {r['statuses']}")
PY

step "ingest, three replicas on one database, 3 x 22 connections, ${SECONDS_EACH}s, empty database"
url3="$(fresh_db bench_three)"
replicas=()
for i in 1 2 3; do
  start_replica "$url3" "three-$i"
  replicas+=("$replica")
done
load_pids=()
for i in 0 1 2; do
  "$release/hookbench" load --url "${replicas[$i]}" --secret "$SECRET" -c 22 -d "${SECONDS_EACH}s" \
    --prefix "r$i" --json >"$work/three-$i.json" &
  load_pids+=($!)
done
for pid in "${load_pids[@]}"; do wait "$pid"; done
python3 - "$work"/three-*.json <<'PY'
import json, sys
rs = [json.load(open(p)) for p in sys.argv[1:]]
total = sum(r["rps"] for r in rs)
print(f"    three replicas: {total:.0f} messages/s in all ("
      + ", ".join(f"{r['rps']:.0f}" for r in rs)
      + f"), worst p50 {max(r['p50_ms'] for r in rs):.2f} ms, worst p99 {max(r['p99_ms'] for r in rs):.2f} ms")
PY
ok "rows in the shared database: $(count_rows bench_three)"

sqlite_db="${1:-}"
if [ -z "$sqlite_db" ]; then
  sqlite_db="$work/seed/app.db"
  step "seed a 1,000,000-row SQLite database (hookbench seed)"
  "$release/hookbench" seed --database "$sqlite_db" --rows 1000000 >/dev/null
fi
step "hookctl copy --from sqlite:///$sqlite_db --to PostgreSQL"
url_big="$(fresh_db bench_big)"
started=$(date +%s.%N)
"$release/hookctl" copy --from "sqlite:///$sqlite_db" --to "$url_big" --quiet | tail -n 3
ended=$(date +%s.%N)
python3 -c "print(f'    copy took {$ended - $started:.1f} s')"
source_rows="$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from messages').fetchone()[0])" "$sqlite_db")"
dest_rows="$(count_rows bench_big)"
ok "rows: SQLite $source_rows, PostgreSQL $dest_rows"

step "reads at $dest_rows rows, one replica, p50 at 8 connections, ${READ_SECONDS}s each, as ratios to /health/live"
start_replica "$url_big" big
big="$replica"
cursor="$(curl -sf "$big/messages?since=2025-07-01T00:00:00Z&limit=100" | field "['next_cursor']")"
sender="$(curl -sf "$big/stats" | field "['messages_per_sender'][0]['from']")"
sender="${sender/+/%2B}"
p50() {
  "$release/hookbench" load --url "$big" --get "$1" -c 8 -d "${READ_SECONDS}s" --json | field "['p50_ms']"
}
for path in "/stats" "/messages" "/messages?offset=100000" "/messages?cursor=$cursor" \
            "/messages?from=$sender" "/messages?since=2025-07-01T00:00:00Z" "/messages?q=invoice"; do
  live="$(p50 /health/live)"
  shape="$(p50 "$path")"
  python3 -c "print(f'    {\"$path\"[:60]:<60} p50 {$shape:.3f} ms, /health/live {$live:.3f} ms, ratio {$shape / $live:.2f}')"
done
