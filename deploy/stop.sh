#!/usr/bin/env bash
# Stops what deploy/run.sh started (SIGTERM: sklad drains in-flight work first).
set -uo pipefail
cd "$(dirname "$0")/.."
for name in sklad keycrm-sim; do
  pidfile=".run/$name.pid"
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "stopped $name ($pid)"
  fi
  rm -f "$pidfile"
done
