#!/usr/bin/env bash
# The dependency layering of the workspace, checked with `cargo tree` (STYLE.md):
#   - the pure crates (domain, signature, query, store) pull in no actix, tokio, rusqlite
#     or r2d2, not even transitively;
#   - only hookline-sqlite depends directly on rusqlite / r2d2 / r2d2_sqlite, and only
#     hookline-postgres on tokio-postgres / deadpool / postgres crates;
#   - only the server binary (hookline) depends on actix-web (directly or not); hookctl
#     reaches storage only through the store crates (for `copy`);
#   - internal dependencies point one way: domain <- signature, query <- store <- sqlite <- bins;
#   - test-only crates (proptest, hookline-store-conformance) stay out of the server's tree.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
need cargo
need python3

step "dependency layering (cargo tree -e normal)"

# Package names in the normal-dependency tree of a crate ($2 = extra cargo tree flags).
tree_names() {
  cargo tree -p "$1" -e normal --prefix none $2 | awk '{print $1}' | sort -u
}

members="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json,sys; print("\n".join(sorted(p["name"] for p in json.load(sys.stdin)["packages"])))')"

failures=0
fail() { printf '    FAIL: %s\n' "$*"; failures=$((failures + 1)); }

# 1. The pure crates: nothing of the runtime, HTTP or SQL worlds anywhere in their tree.
forbidden='^(actix.*|tokio.*|rusqlite|r2d2|r2d2_sqlite|libsqlite3-sys|hyper.*|reqwest|postgres.*|deadpool.*)$'
for crate in hookline-domain hookline-signature hookline-query hookline-store; do
  bad="$(tree_names "$crate" "" | grep -E "$forbidden" || true)"
  if [ -n "$bad" ]; then
    fail "$crate depends on: $(echo "$bad" | tr '\n' ' ')"
  else
    ok "$crate: no actix/tokio/rusqlite/r2d2/postgres in its whole tree"
  fi
done

# 2. Direct dependencies: who may name SQL and HTTP crates, and which internal crates.
allowed_internal() {
  case "$1" in
    hookline-domain) echo "" ;;
    hookline-signature) echo "hookline-domain" ;;
    hookline-query) echo "hookline-domain" ;;
    hookline-store) echo "hookline-domain hookline-query" ;;
    hookline-store-conformance) echo "hookline-domain hookline-query hookline-store" ;;
    hookline-sqlite) echo "hookline-domain hookline-query hookline-store" ;;
    hookline-postgres) echo "hookline-domain hookline-query hookline-store" ;;
    hookline-backend) echo "hookline-store hookline-sqlite hookline-postgres" ;;
    # `hookctl copy` opens stores through MessageStore; it names no SQL crate itself.
    hookctl) echo "hookline-domain hookline-signature hookline-query hookline-store hookline-backend" ;;
    *) echo "*" ;;
  esac
}
before=$failures
for crate in $members; do
  direct="$(tree_names "$crate" "--depth 1" | grep -vx "$crate" || true)"
  sql="$(echo "$direct" | grep -E '^(rusqlite|r2d2|r2d2_sqlite|libsqlite3-sys)$' || true)"
  if [ -n "$sql" ] && [ "$crate" != hookline-sqlite ]; then
    fail "$crate depends directly on $(echo "$sql" | tr '\n' ' ')(only hookline-sqlite may)"
  fi
  pg="$(echo "$direct" | grep -E '^(tokio-postgres|postgres.*|deadpool.*|r2d2_postgres)$' || true)"
  if [ -n "$pg" ] && [ "$crate" != hookline-postgres ]; then
    fail "$crate depends directly on $(echo "$pg" | tr '\n' ' ')(only hookline-postgres may)"
  fi
  web="$(echo "$direct" | grep -E '^actix' || true)"
  if [ -n "$web" ] && [ "$crate" != hookline ]; then
    fail "$crate depends directly on $(echo "$web" | tr '\n' ' ')(only the hookline binary may)"
  fi
  allowed="$(allowed_internal "$crate")"
  if [ "$allowed" != "*" ]; then
    for dep in $(echo "$direct" | grep -E '^hookline-' || true); do
      case " $allowed " in
        *" $dep "*) ;;
        *) fail "$crate depends on $dep (allowed internal deps: ${allowed:-none})" ;;
      esac
    done
  fi
done
[ "$failures" -ne "$before" ] ||
  ok "direct deps of $(echo $members | wc -w) members: SQLite crates only in hookline-sqlite, PostgreSQL crates only in hookline-postgres, actix only in hookline, internal deps point one way"

# 3. Transitively, nothing but the server reaches actix, and the CLI reaches no SQL.
before=$failures
for crate in hookline-sqlite hookline-postgres hookctl; do
  bad="$(tree_names "$crate" "" | grep -E '^actix' || true)"
  [ -z "$bad" ] || fail "$crate reaches actix: $(echo "$bad" | tr '\n' ' ')"
done
[ "$failures" -ne "$before" ] || ok "hookline-sqlite, hookline-postgres and hookctl reach no actix"

# 4. Test-only crates stay out of the server: the conformance suite and proptest are
#    dev-dependencies of the backends, never in the binary's normal tree.
bad="$(tree_names hookline "" | grep -E '^(proptest|hookline-store-conformance)$' || true)"
if [ -n "$bad" ]; then
  fail "the server's normal tree has test-only crates: $(echo "$bad" | tr '\n' ' ')"
else
  ok "hookline (the server) reaches neither proptest nor the conformance suite"
fi

[ "$failures" -eq 0 ] || die "$failures layering violation(s)"
echo "layering: all checks passed"
