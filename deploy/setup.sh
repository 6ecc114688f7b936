#!/usr/bin/env bash
# Prepares a machine for sklad: PostgreSQL and RabbitMQ running (started if installed,
# installed with apt-get if absent), the database created, the Rust toolchain checked.
# Idempotent: every step checks first. Sourced by deploy/run.sh and deploy/test.sh.
set -euo pipefail

SKLAD_DB_NAME="${SKLAD_DB_NAME:-sklad}"
PG_URL_BASE="${PG_URL_BASE:-postgres://postgres:postgres@127.0.0.1:5432}"
export SKLAD__DATABASE__URL="${SKLAD__DATABASE__URL:-$PG_URL_BASE/$SKLAD_DB_NAME}"
export SKLAD__BROKER__URL="${SKLAD__BROKER__URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export SKLAD_TEST_DATABASE_URL="${SKLAD_TEST_DATABASE_URL:-$PG_URL_BASE/postgres}"
export SKLAD_TEST_AMQP_URL="${SKLAD_TEST_AMQP_URL:-$SKLAD__BROKER__URL}"

log() { printf '\033[1m[setup %s]\033[0m %s\n' "$(date +%T)" "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  log "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

wait_port() {
  local port=$1 what=$2 tries=${3:-60}
  for _ in $(seq "$tries"); do port_open "$port" && return 0; sleep 1; done
  log "$what did not open port $port"; return 1
}

ensure_tools() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  command -v cc >/dev/null || missing+=(gcc libc6-dev)
  [ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}" ca-certificates
  if ! command -v cargo >/dev/null; then
    log "cargo is missing: install Rust 1.88 or newer (https://rustup.rs) and run again"; return 1
  fi
}

ensure_postgres() {
  if ! port_open 5432; then
    if ! compgen -G "/etc/postgresql/*/main" >/dev/null; then
      apt_install postgresql postgresql-client
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
      || as_root service postgresql start
    wait_port 5432 PostgreSQL
  fi
  command -v psql >/dev/null || apt_install postgresql-client
  # Fresh Debian installs want a password over TCP; trust-auth machines ignore it.
  if ! psql "$PG_URL_BASE/postgres" -qtAc 'SELECT 1' >/dev/null 2>&1; then
    log "setting the postgres role's password for TCP logins"
    as_root runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
  fi
  for _ in $(seq 30); do psql "$PG_URL_BASE/postgres" -qtAc 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
  if [ "$(psql "$PG_URL_BASE/postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$SKLAD_DB_NAME'")" != 1 ]; then
    log "creating database $SKLAD_DB_NAME"
    psql "$PG_URL_BASE/postgres" -qc "CREATE DATABASE \"$SKLAD_DB_NAME\""
  fi
}

ensure_rabbitmq() {
  if port_open 5672; then return 0; fi
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  log "starting RabbitMQ"
  as_root rabbitmq-server -detached 2>/dev/null || as_root service rabbitmq-server start
  wait_port 5672 RabbitMQ 120
  # The port opens before the broker accepts logins; give it a moment to finish booting.
  as_root rabbitmqctl await_startup >/dev/null 2>&1 || sleep 5
}

# `sklad migrate` sets the delivery-limit policy through RabbitMQ's management API. A local
# broker gets the plugin (it ships with rabbitmq-server); a remote one must have it already.
ensure_rabbitmq_management() {
  if port_open 15672 || ! command -v rabbitmq-plugins >/dev/null; then return 0; fi
  log "enabling RabbitMQ's management plugin"
  as_root rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_port 15672 "RabbitMQ's management API" 60
}

ensure_tools
ensure_postgres
ensure_rabbitmq
ensure_rabbitmq_management
log "PostgreSQL and RabbitMQ are up; database '$SKLAD_DB_NAME' exists"
