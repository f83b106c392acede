#!/usr/bin/env bash
# Conformance of the real server to its own OpenAPI document, checked by schemathesis:
#   1. start `hookline` (debug build) on a free loopback port with a throw-away SQLite
#      database, a WEBHOOK_SECRET, a WHATSAPP_APP_SECRET, a WHATSAPP_VERIFY_TOKEN and a
#      READ_TOKEN;
#   2. `schemathesis run` against its /openapi.json: every operation, positive and negative
#      data, bounded in examples and time, with deploy/tests/schemathesis_hooks.py signing
#      every POST /webhook body (HMAC-SHA256 of the exact bytes sent, X-Signature) and every
#      POST /webhook/whatsapp body (X-Hub-Signature-256 under the app secret) so both are
#      exercised past the 401, and sending the READ_TOKEN bearer to the reads;
#   3. any failure fails this script; so does a server that died or a non-JSON stdout line.
#
# schemathesis comes from PyPI (`make tools` installs the pinned version). Missing, the
# check FAILS; HOOKLINE_SKIP_SCHEMATHESIS=1 skips it explicitly.
# Knobs: HOOKLINE_BIN=path (another server build), SCHEMATHESIS_MAX_EXAMPLES (default 100),
# SCHEMATHESIS_SEED (default fixed, for a reproducible CI run; "random" for a fresh one).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

if [ "${HOOKLINE_SKIP_SCHEMATHESIS:-}" = 1 ]; then
  echo "schemathesis conformance: SKIPPED (HOOKLINE_SKIP_SCHEMATHESIS=1)"
  exit 0
fi
need cargo
need curl
need python3
need schemathesis

SECRET=schemathesis-check-secret
WHATSAPP_SECRET=schemathesis-check-whatsapp-secret
READ_TOKEN=schemathesis-check-read-token
VERIFY_TOKEN=schemathesis-check-verify-token
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
SEED="${SCHEMATHESIS_SEED:-20250115}"
# The checks that follow from the contract (SPEC.md): no 5xx but the documented 503s, only
# documented status codes, content types, headers and bodies, a 422 for data the schema
# rules out, 405 with `Allow` for other methods. Not `positive_data_acceptance`: a value the
# schema allows can still be refused on purpose (a `cursor` that does not decode, a
# `cursor` with an `offset`, a 31 February) — those are documented 422s.
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,unsupported_method,allow_header_conformance

work="$(mktemp -d)"
server_pid=""
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ]; then
    echo "---- last lines of the server's output ($work/server.log)" >&2
    tail -n 20 "$work/server.log" 2>/dev/null >&2 || true
    tail -n 20 "$work/server.err" 2>/dev/null >&2 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${HOOKLINE_BIN:-}" ]; then
  hookline="$HOOKLINE_BIN"
else
  step "build hookline (debug)"
  cargo build --quiet -p hookline
  hookline="$(target_dir)/debug/hookline"
fi
[ -x "$hookline" ] || die "no server binary at $hookline"
ok "server: $hookline; $(schemathesis --version)"

start_hookline "$hookline" "$work" WARN WEBHOOK_SECRET="$SECRET" \
  WHATSAPP_APP_SECRET="$WHATSAPP_SECRET" READ_TOKEN="$READ_TOKEN" WHATSAPP_VERIFY_TOKEN="$VERIFY_TOKEN"
ok "ready"

seed_args=(--seed "$SEED")
[ "$SEED" = random ] && seed_args=()
step "schemathesis run $base/openapi.json (checks: $CHECKS; at most $MAX_EXAMPLES examples per operation)"
started=$SECONDS
rc=0
# Run from the temporary folder: schemathesis keeps a cache (.schemathesis/) in its
# working directory, which has no place in the repository.
(cd "$work" && SCHEMATHESIS_HOOKS="$ROOT/deploy/tests/schemathesis_hooks.py" \
  HOOKLINE_SCHEMATHESIS_SECRET="$SECRET" \
  HOOKLINE_SCHEMATHESIS_WHATSAPP_SECRET="$WHATSAPP_SECRET" \
  HOOKLINE_SCHEMATHESIS_READ_TOKEN="$READ_TOKEN" \
  HOOKLINE_SCHEMATHESIS_VERIFY_TOKEN="$VERIFY_TOKEN" \
  schemathesis run "$base/openapi.json" \
  --checks "$CHECKS" \
  --mode all \
  --max-examples "$MAX_EXAMPLES" \
  "${seed_args[@]}" \
  --workers 2 \
  --request-timeout 10 \
  --generation-database none \
  --no-color) \
  >"$work/schemathesis.out" 2>&1 || rc=$?
sed 's/^/    /' "$work/schemathesis.out"
elapsed=$((SECONDS - started))
[ "$rc" -eq 0 ] || die "schemathesis found problems (exit $rc, ${elapsed}s): see above"
ok "schemathesis: no failures in ${elapsed}s"

kill -0 "$server_pid" 2>/dev/null || die "hookline died during the run"
python3 - "$work/server.log" <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1]).read().splitlines(), 1):
    try:
        assert isinstance(json.loads(line), dict)
    except Exception:
        raise SystemExit(f"FAIL: stdout line {i} is not a JSON object: {line[:200]}")
PY
ok "the server is still up; its stdout was JSON lines only"

echo
echo "schemathesis conformance: passed"
