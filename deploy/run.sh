#!/usr/bin/env bash
# Runs sklad locally with the keyCRM simulator and a demo account wired to it.
# Safe to run again: previous instances are stopped and the demo account is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh

RUN_DIR=.run
PROFILE="${SKLAD_PROFILE:-debug}"
SIM_PORT="${KEYCRM_SIM_PORT:-8090}"
SIM_KEY="demo-keycrm-api-key-0001"
mkdir -p "$RUN_DIR"

log "building (profile: $PROFILE)"
if [ "$PROFILE" = release ]; then cargo build -q --release -p sklad-cli -p keycrm-sim; else cargo build -q -p sklad-cli -p keycrm-sim; fi
BIN="target/$PROFILE"

deploy/stop.sh >/dev/null 2>&1 || true

# One master key per checkout, kept out of git: it encrypts the stored keyCRM key.
[ -s "$RUN_DIR/master.key" ] || head -c 32 /dev/urandom | base64 > "$RUN_DIR/master.key"
chmod 600 "$RUN_DIR/master.key"
export SKLAD__SECURITY__MASTER_KEY="$(cat "$RUN_DIR/master.key")"
export SKLAD__LOG__FORMAT="${SKLAD__LOG__FORMAT:-json}"
# keyCRM itself and the demo's simulator are the hosts accounts may send their key to.
export SKLAD__KEYCRM__ALLOWED_BASE_URLS="${SKLAD__KEYCRM__ALLOWED_BASE_URLS:-https://openapi.keycrm.app/v1,http://127.0.0.1:$SIM_PORT/v1}"

log "starting the keyCRM simulator on :$SIM_PORT"
"$BIN/keycrm-sim" --bind "127.0.0.1:$SIM_PORT" --api-key "$SIM_KEY" --demo-orders 25 \
  >"$RUN_DIR/keycrm-sim.log" 2>&1 &
echo $! > "$RUN_DIR/keycrm-sim.pid"
wait_port "$SIM_PORT" keycrm-sim 30

"$BIN/sklad" migrate

if [ -s "$RUN_DIR/demo-account.env" ] && source "$RUN_DIR/demo-account.env" \
   && "$BIN/sklad" account show --account "$SKLAD_ACCOUNT_ID" >/dev/null 2>&1; then
  log "reusing demo account $SKLAD_ACCOUNT_ID"
else
  "$BIN/sklad" account create --name "Demo shop" --keycrm-api-key "$SIM_KEY" \
    --keycrm-base-url "http://127.0.0.1:$SIM_PORT/v1" --enable --format env > "$RUN_DIR/demo-account.env"
  chmod 600 "$RUN_DIR/demo-account.env"
  source "$RUN_DIR/demo-account.env"
fi
# The link may have been rotated since: ask for the current one.
SKLAD_WEBHOOK_URL=$("$BIN/sklad" account show --account "$SKLAD_ACCOUNT_ID" --format env | sed -n "s/^SKLAD_WEBHOOK_URL='\(.*\)'$/\1/p")

# keyCRM's automation ("Send Webhook") in the simulator posts to the account's link.
curl -fsS -X PUT "http://127.0.0.1:$SIM_PORT/_sim/config" -H 'content-type: application/json' \
  -d "{\"webhook_urls\": [\"$SKLAD_WEBHOOK_URL\"]}" >/dev/null

log "starting sklad (all roles in one process)"
"$BIN/sklad" run >"$RUN_DIR/sklad.log" 2>&1 &
echo $! > "$RUN_DIR/sklad.pid"
wait_port 8081 "sklad api" 60
for _ in $(seq 60); do curl -fsS http://127.0.0.1:8085/health/ready >/dev/null 2>&1 && break; sleep 1; done

cat <<INFO

sklad is running.

  web console    http://127.0.0.1:8081/   sign in with the admin token below
  webhook link   $SKLAD_WEBHOOK_URL
  admin token    $SKLAD_ADMIN_TOKEN
  admin API      http://127.0.0.1:8081/api/v1   (OpenAPI: /api/v1/openapi.json)
  health         http://127.0.0.1:{8085,8081,8082,8083,8084}/health/ready  (ingress ops, api, order-sync, stock-publisher, relay)
  metrics        http://127.0.0.1:8085/metrics  (the webhook port :8080 serves only the webhook route)
  keyCRM sim     http://127.0.0.1:$SIM_PORT/v1 (API)   http://127.0.0.1:$SIM_PORT/_sim (control)
  logs           $RUN_DIR/sklad.log   $RUN_DIR/keycrm-sim.log
  stop           deploy/stop.sh

Try it:
  curl -H "Authorization: Bearer $SKLAD_ADMIN_TOKEN" http://127.0.0.1:8081/api/v1/integrations/keycrm
  curl -H "Authorization: Bearer $SKLAD_ADMIN_TOKEN" http://127.0.0.1:8081/api/v1/keycrm/statuses
  # change an order's status in "keyCRM": the simulator fires the webhook, sklad fetches the order
  curl -X PUT http://127.0.0.1:$SIM_PORT/_sim/orders/1/status -H 'content-type: application/json' -d '{"status_id": 2}'
  curl -H "Authorization: Bearer $SKLAD_ADMIN_TOKEN" http://127.0.0.1:8081/api/v1/orders/1
  # pull every demo order in statuses 1-4 ("Synchronize orders"), with a progress bar
  $BIN/sklad sync orders --account $SKLAD_ACCOUNT_ID --status 1,2,3,4
  # stock: see README "Stock" (warehouses, movements, mapping, stock_push_enabled)
  $BIN/sklad status
INFO
