#!/usr/bin/env bash
# Makes sure the real servers the integration tests use are installed and running on loopback:
# NATS with JetStream (4222), Redis (6379), RabbitMQ (5672), and the etcd binary (the tests start
# etcd themselves on free loopback ports). Idempotent; safe to run when everything is up.
set -u
log() { echo "services: $*"; }
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port seconds name
  for _ in $(seq 1 $(( $2 * 4 ))); do up "$1" && return 0; sleep 0.25; done
  log "$3 did not come up on 127.0.0.1:$1 within $2 s"; return 1
}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=0
apt_install() {
  [ $apt_updated = 1 ] || { $SUDO apt-get update -qq >/dev/null 2>&1 || true; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null 2>&1
}

if ! command -v etcd >/dev/null 2>&1; then
  log "installing etcd-server from Debian"; apt_install etcd-server || log "could not install etcd-server"
fi
command -v etcd >/dev/null 2>&1 && log "etcd: $(etcd --version 2>/dev/null | head -1)"

if ! up 4222; then
  command -v nats-server >/dev/null 2>&1 || apt_install nats-server
  mkdir -p /tmp/tsmicro-nats
  log "starting nats-server"
  nohup nats-server -a 127.0.0.1 -p 4222 -js -sd /tmp/tsmicro-nats >/tmp/tsmicro-nats.log 2>&1 &
  wait_port 4222 20 nats-server
fi

if ! up 6379; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  log "starting redis-server"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" >/dev/null
  wait_port 6379 20 redis-server
fi

if ! up 5672; then
  command -v rabbitmq-server >/dev/null 2>&1 || apt_install rabbitmq-server
  log "starting rabbitmq-server"
  rabbitmq-server -detached >/dev/null 2>&1
  wait_port 5672 90 rabbitmq-server
fi
for p in 4222 6379 5672; do up $p && log "127.0.0.1:$p is up" || log "127.0.0.1:$p is DOWN"; done
exit 0
