#!/usr/bin/env bash
# Drills against real infrastructure.
#
#   deploy/drill.sh cluster
#
# Starts a 3-node RabbitMQ cluster on this machine (node names sklad-drill-{1,2,3}@localhost,
# AMQP ports 5701-5703, no Docker), runs two processes of every sklad role against it
# (quorum queues replicated over the three nodes) and floods them with 5 000 webhooks over
# 200 orders and 5 000 movements while one process of each role is SIGKILLed and one broker
# node is stopped; then checks that every acknowledged webhook's order is stored once, every
# balance is right and keyCRM (the simulator) holds sklad's sums. The cluster is removed
# afterwards. The last line says it: `cluster drill: webhooks 5000/5000, lost 0, ...`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != cluster ]; then
  echo "usage: deploy/drill.sh cluster" >&2
  exit 2
fi

source deploy/setup.sh

RMQ_BIN=/usr/lib/rabbitmq/bin
[ -x "$RMQ_BIN/rabbitmq-server" ] || apt_install rabbitmq-server
DRILL_DIR="$PWD/target/drill"
# A node that fails to start leaves its crash dump here, not in the working tree.
export ERL_CRASH_DUMP="$PWD/target/drill-erl_crash.dump"
NODES=(1 2 3)

node_name() { echo "sklad-drill-$1@localhost"; }
amqp_port() { echo $((5700 + $1)); }
ctl() { local n=$1; shift; "$RMQ_BIN/rabbitmqctl" -q -n "$(node_name "$n")" "$@"; }

start_node() {
  local n=$1 dir="$DRILL_DIR/rabbit-$1"
  mkdir -p "$dir"
  printf 'listeners.tcp.local = 127.0.0.1:%s\nloopback_users = none\n' "$(amqp_port "$n")" >"$dir/rabbitmq.conf"
  echo '[].' >"$dir/enabled_plugins"
  env RABBITMQ_NODENAME="$(node_name "$n")" \
    RABBITMQ_NODE_PORT="$(amqp_port "$n")" \
    RABBITMQ_DIST_PORT=$((25700 + n)) \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" \
    RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_PID_FILE="$dir/rabbit.pid" \
    "$RMQ_BIN/rabbitmq-server" -detached >/dev/null 2>&1
  # The node registers with epmd a few seconds after it is started.
  for _ in $(seq 60); do ctl "$n" ping >/dev/null 2>&1 && break; sleep 1; done
  timeout 120 "$RMQ_BIN/rabbitmqctl" -q -n "$(node_name "$n")" await_startup
}

stop_cluster() {
  for n in "${NODES[@]}"; do
    if [ -s "$DRILL_DIR/rabbit-$n/rabbit.pid" ]; then
      ctl "$n" stop >/dev/null 2>&1 || kill "$(cat "$DRILL_DIR/rabbit-$n/rabbit.pid")" 2>/dev/null || true
    fi
  done
  rm -rf "$DRILL_DIR"
}

stop_cluster
trap stop_cluster EXIT

log "starting a 3-node RabbitMQ cluster"
for n in "${NODES[@]}"; do start_node "$n"; done
for n in 2 3; do
  # join_cluster prints passing errors while the node rejoins; the check below is the verdict.
  if ! { ctl "$n" stop_app && ctl "$n" join_cluster "$(node_name 1)" && ctl "$n" start_app; } \
    >"$DRILL_DIR/join-$n.log" 2>&1; then
    cat "$DRILL_DIR/join-$n.log" >&2
    exit 1
  fi
done
running=$(ctl 1 eval 'length(rabbit_nodes:all_running()).')
[ "$running" = 3 ] || { log "the cluster has $running running nodes, not 3"; exit 1; }

urls=""
for n in "${NODES[@]}"; do urls="${urls:+$urls,}amqp://guest:guest@127.0.0.1:$(amqp_port "$n")/%2f"; done
nodes=""
for n in "${NODES[@]}"; do nodes="${nodes:+$nodes,}$(node_name "$n")"; done

run_drill() {
  local test=cluster::two_of_every_role_over_a_three_node_cluster
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run -p sklad-tests --locked --run-ignored only --no-capture -E "test($test)"
  else
    cargo test -p sklad-tests --locked --test e2e -- --ignored --exact "$test" --nocapture
  fi
}

log "the drill"
out="$PWD/target/drill-cluster.log"
status=0
# The test's own broker clean-up talks to a node that stays up.
SKLAD_CLUSTER_URLS="$urls" SKLAD_CLUSTER_NODES="$nodes" SKLAD_RABBITMQCTL="$RMQ_BIN/rabbitmqctl" \
SKLAD_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:$(amqp_port 2)/%2f" \
  run_drill >"$out" 2>&1 || status=$?
line=$(grep -a '^cluster drill:' "$out" | tail -n 1 || true)
if [ "$status" != 0 ] || [ -z "$line" ]; then
  tail -n 60 "$out" >&2
  echo "cluster drill: failed (see above)"
  exit 1
fi
echo "$line"
