#!/usr/bin/env bash
# Installs (from Debian) and starts on loopback every server the integration tests use, because a
# fresh machine has none of them running: NATS with JetStream (4222), Redis (6379), RabbitMQ
# (5672), PostgreSQL (5432, role and database "tsmicro"), the etcd binary (tests start their own
# etcd on free loopback ports), and chromium for the browser tests. Idempotent: a server that is
# already up is left alone. Exits non-zero, naming the server, when one cannot be brought up, so a
# missing install step fails loudly here instead of as a timeout deep inside a test.
set -u
log() { echo "services: $*"; }
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port seconds name
  for _ in $(seq 1 $(($2 * 4))); do up "$1" && return 0; sleep 0.25; done
  log "$3 did not come up on 127.0.0.1:$1 within $2 s"
  return 1
}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Waits for dpkg's lock instead of failing when another apt-get is running.
APT=(apt-get -o DPkg::Lock::Timeout=300 -y -qq)
STATE=${TSMICRO_SERVICES_DIR:-/tmp/tsmicro-services}
mkdir -p "$STATE"

# One apt-get for everything missing: one index update, one dependency resolution.
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium fonts-dejavu-core)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# @tsmicro/gomicro's tests build go-micro v4.10.2 programs (the Go module proxy supplies newer toolchains).
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || need+=(golang-go)
if [ ${#need[@]} -gt 0 ]; then
  log "installing from Debian: ${need[*]}"
  $SUDO "${APT[@]}" update >/dev/null 2>&1 || log "apt-get update failed"
  if ! $SUDO "${APT[@]}" install --no-install-recommends "${need[@]}" >"$STATE/apt.log" 2>&1; then
    log "apt-get install failed; last lines of $STATE/apt.log:"
    tail -20 "$STATE/apt.log"
  fi
fi
failed=()

if command -v etcd >/dev/null 2>&1; then
  log "etcd: $(etcd --version 2>/dev/null | head -1)"
else
  failed+=(etcd)
fi
[ -x /usr/bin/chromium ] && log "chromium: $(/usr/bin/chromium --version 2>/dev/null)" || failed+=(chromium)
go_bin=$(command -v go 2>/dev/null || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; })
[ -n "$go_bin" ] && log "go: $("$go_bin" version 2>/dev/null)" || failed+=(go)

if ! up 4222; then
  mkdir -p "$STATE/nats"
  log "starting nats-server with JetStream"
  nohup nats-server -a 127.0.0.1 -p 4222 -js -sd "$STATE/nats" >"$STATE/nats.log" 2>&1 &
  wait_port 4222 20 nats-server || failed+=(nats)
fi

if ! up 6379; then
  log "starting redis-server"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --dir "$STATE" \
    --logfile "$STATE/redis.log" >/dev/null
  wait_port 6379 20 redis-server || failed+=(redis)
fi

if ! up 5672; then
  log "starting rabbitmq-server"
  # Loopback only, for the broker itself and for Erlang's port mapper.
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1
  rabbitmq-server -detached >"$STATE/rabbitmq.log" 2>&1
  wait_port 5672 120 rabbitmq-server || failed+=(rabbitmq)
fi

if ! up 5432; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  data="$STATE/pg"
  if [ -z "$bin" ]; then
    failed+=(postgresql)
  else
    # postgres refuses to run as root: the cluster belongs to the postgres user.
    as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
    mkdir -p "$data" "$STATE/pg-run"
    chown postgres:postgres "$data" "$STATE/pg-run" 2>/dev/null || true
    chmod 700 "$data"
    if [ ! -f "$data/PG_VERSION" ]; then
      log "creating a PostgreSQL cluster in $data"
      as_pg "$bin/initdb" -D "$data" -U postgres -A trust >"$STATE/pg-init.log" 2>&1 || log "initdb failed (see $STATE/pg-init.log)"
    fi
    log "starting postgres"
    as_pg "$bin/pg_ctl" -D "$data" -l "$STATE/pg-run/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p 5432 -k $STATE/pg-run" start >/dev/null 2>&1
    wait_port 5432 60 postgres || failed+=(postgresql)
  fi
fi
if up 5432; then
  # The test role and database (idempotent).
  psql_pg() { psql -h 127.0.0.1 -p 5432 -U postgres -v ON_ERROR_STOP=1 -qtAc "$1" 2>&1; }
  [ "$(psql_pg "select 1 from pg_roles where rolname='tsmicro'")" = 1 ] ||
    psql_pg "create role tsmicro login password 'tsmicro' createdb" >/dev/null
  [ "$(psql_pg "select 1 from pg_database where datname='tsmicro'")" = 1 ] ||
    psql_pg "create database tsmicro owner tsmicro" >/dev/null
  [ "$(psql_pg "select 1 from pg_database where datname='tsmicro'")" = 1 ] || failed+=(postgresql-database)
fi

for p in 4222 6379 5672 5432; do up $p && log "127.0.0.1:$p is up" || log "127.0.0.1:$p is DOWN"; done
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED to provide: ${failed[*]}"
  exit 1
fi
exit 0
