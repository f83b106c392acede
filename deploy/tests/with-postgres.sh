#!/usr/bin/env bash
# Runs a command with HOOKLINE_TEST_POSTGRES_URL naming a real PostgreSQL:
#
#   bash deploy/tests/with-postgres.sh cargo test --workspace
#
# - HOOKLINE_TEST_POSTGRES_URL already set: runs the command against that server;
# - HOOKLINE_SKIP_POSTGRES=1: runs the command as is (the PostgreSQL tests print SKIPPED);
# - otherwise: installs Debian's `postgresql` if initdb/pg_ctl are missing, creates a
#   throw-away cluster in a temporary folder (owned by the `postgres` user when run as
#   root, since PostgreSQL refuses to run as root), starts it on a free loopback port with
#   its socket in that folder, runs the command, then stops the cluster and removes the
#   folder whatever happens.
#
# The cluster runs with fsync=off: it is thrown away, and what the tests check of durability
# is hookline's (a killed hookline process), not the disk's. HOOKLINE_PG_FSYNC=on keeps
# PostgreSQL's durable defaults (what `make bench` measures). Trust authentication on
# 127.0.0.1 only.
#
# TLS: the cluster has ssl=on with a server certificate for DNS name `localhost` (not for
# 127.0.0.1), signed by a throw-away CA made with `openssl req -x509` at creation; the CA's
# PEM file is exported as HOOKLINE_TEST_POSTGRES_SSLROOTCERT for the sslmode tests. (A CA
# and a leaf rather than one self-signed certificate: rustls/webpki refuse a CA
# certificate as the server's own, and `verify-full` against 127.0.0.1 has to fail.)
# HOOKLINE_PG_SSL=off starts it without TLS (what `make bench` measures: the URL's default
# sslmode=prefer would otherwise encrypt every benchmark connection); the sslmode tests are
# then skipped. With HOOKLINE_TEST_POSTGRES_URL given, set HOOKLINE_TEST_POSTGRES_SSLROOTCERT
# and HOOKLINE_TEST_POSTGRES_SOCKET yourself (or to `skip`).
# The socket folder is exported as HOOKLINE_TEST_POSTGRES_SOCKET (for host=/dir URLs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

if [ -n "${HOOKLINE_TEST_POSTGRES_URL:-}" ]; then
  echo "with-postgres: using HOOKLINE_TEST_POSTGRES_URL"
  exec "$@"
fi
if [ "${HOOKLINE_SKIP_POSTGRES:-}" = 1 ]; then
  echo "with-postgres: HOOKLINE_SKIP_POSTGRES=1: no PostgreSQL started"
  exec "$@"
fi

# The newest installed server's binaries (Debian keeps them off PATH).
pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  return 1
}

if ! bin="$(pg_bin)"; then
  echo "with-postgres: installing Debian's postgresql"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  bin="$(pg_bin)" || die "postgresql installed but initdb not found"
fi
need python3
ssl="${HOOKLINE_PG_SSL:-on}"
[ "$ssl" = off ] || need openssl

dir="$(mktemp -d "${TMPDIR:-/tmp}/hookline-pg.XXXXXX")"
chmod 755 "$dir"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  as_pg=(runuser -u postgres --)
fi
port="$(free_port)"

cleanup() {
  "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
# In the configuration file rather than on the command line, so that a test may stop and
# start the cluster with a plain `pg_ctl start`.
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
CONF
if [ "$ssl" != off ]; then
  # A throw-away CA, and the server's certificate for `localhost` signed by it.
  mkdir "$dir/tls"
  (
    cd "$dir/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=hookline test CA" -keyout ca.key -out ca.pem
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=localhost" -keyout server.key -out server.csr
    printf 'subjectAltName = DNS:localhost\nbasicConstraints = critical, CA:FALSE\nextendedKeyUsage = serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.pem
  ) >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; die "openssl could not make the test certificates"; }
  chmod 600 "$dir/tls/server.key"
  chmod 644 "$dir/tls/ca.pem" "$dir/tls/server.pem"
  [ "${#as_pg[@]}" -eq 0 ] || chown postgres: "$dir/tls/server.key" "$dir/tls/server.pem"
  cat >>"$dir/data/postgresql.conf" <<CONF
ssl = on
ssl_cert_file = '$dir/tls/server.pem'
ssl_key_file = '$dir/tls/server.key'
CONF
fi
if [ "${HOOKLINE_PG_FSYNC:-off}" != on ]; then
  cat >>"$dir/data/postgresql.conf" <<CONF
fsync = off
full_page_writes = off
CONF
fi
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null ||
  { cat "$dir/server.log" >&2; die "PostgreSQL did not start"; }
"${as_pg[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt \
  -c "CREATE DATABASE hookline_test" >/dev/null

export HOOKLINE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/hookline_test"
# For tests that restart the server (pg_ctl restart under load).
export HOOKLINE_TEST_POSTGRES_DATA="$dir/data"
export HOOKLINE_TEST_POSTGRES_BIN="$bin"
export HOOKLINE_TEST_POSTGRES_SOCKET="$dir"
tls_note="no TLS"
if [ "$ssl" = off ]; then
  export HOOKLINE_TEST_POSTGRES_SSLROOTCERT=skip   # the sslmode tests print SKIPPED
else
  export HOOKLINE_TEST_POSTGRES_SSLROOTCERT="$dir/tls/ca.pem"
  tls_note="TLS, CA $dir/tls/ca.pem"
fi
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port and $dir/.s.PGSQL.$port ($tls_note; data in $dir)"
set +e
"$@"
status=$?
set -e
exit "$status"
