#!/usr/bin/env bash
# make demo: on a fresh machine, migrate, start the Recruit simulator with the bundled demo data and the
# services, create a connection and a sync, run it, print its summary and the console's address with a
# user to sign in as. Run from a terminal, it keeps everything running until Ctrl-C (DEMO_STAY=0: stop
# at once); otherwise it stops what it started. The demo uses its own database (recruit_sync_demo) and
# RabbitMQ vhost, recreated on each run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
SERVER_DB=${DEMO_DATABASE_SERVER:-postgresql://postgres@127.0.0.1:5432}
export DATABASE_URL="${SERVER_DB}/recruit_sync_demo"
VHOST=recruit_sync_demo
export AMQP_URL="amqp://guest:guest@127.0.0.1:5672/${VHOST}"
export RECRUIT_SYNC_API=http://127.0.0.1:${DEMO_API_PORT:-8000}
SIM_PORT=${DEMO_SIM_PORT:-8700}
SIM_URL=http://127.0.0.1:${SIM_PORT}
LOGS=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_for() { # url what
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.4
  done
  echo "demo: the $2 did not start; logs in $LOGS" >&2
  tail -n 40 "$LOGS"/*.log >&2
  exit 1
}

echo "==> fresh demo database and vhost"
psql "${SERVER_DB}/postgres" -qc "DROP DATABASE IF EXISTS recruit_sync_demo WITH (FORCE)" >/dev/null
rabbitmqctl -q delete_vhost "$VHOST" >/dev/null 2>&1 || true
rabbitmqctl -q add_vhost "$VHOST" >/dev/null
rabbitmqctl -q set_permissions -p "$VHOST" guest ".*" ".*" ".*" >/dev/null

echo "==> recruit-sync migrate"
$BIN/recruit-sync migrate

DEMO_EMAIL=${DEMO_EMAIL:-admin@demo.example}
DEMO_PASSWORD=$($BIN/python -c "import secrets; print(secrets.token_urlsafe(12))")
echo "==> recruit-sync user add $DEMO_EMAIL --role admin --password-stdin"
echo "$DEMO_PASSWORD" | $BIN/recruit-sync user add "$DEMO_EMAIL" --role admin --password-stdin
echo "==> recruit-sync token create --name demo-cli --role admin   (the CLI's RECRUIT_SYNC_TOKEN)"
RECRUIT_SYNC_TOKEN=$($BIN/recruit-sync token create --name demo-cli --role admin 2>/dev/null)
export RECRUIT_SYNC_TOKEN

DATA=$($BIN/python -c "import recruit_sync.sim as s; print(s.demo_data_path())")
echo "==> recruit-sync sim --data $(basename "$DATA") --port $SIM_PORT   (logs: $LOGS)"
$BIN/recruit-sync sim --data "$DATA" --port "$SIM_PORT" >"$LOGS/sim.log" 2>&1 &
PIDS+=($!)
echo "==> recruit-sync services up"
$BIN/recruit-sync services up >"$LOGS/services.log" 2>&1 &
PIDS+=($!)
wait_for "$SIM_URL/_sim/stats" simulator
wait_for "$RECRUIT_SYNC_API/health" "HTTP API"

echo "==> recruit-sync connection add --name demo-recruit"
$BIN/recruit-sync connection add --name demo-recruit --base-url "$SIM_URL" --accounts-url "$SIM_URL" \
  --client-id cid --client-secret secret --refresh-token rt
cat >"$LOGS/sync.json" <<JSON
{
  "name": "Demo: all candidates",
  "connection": "demo-recruit",
  "module": "Candidates",
  "list": "Candidate newsletter",
  "options": {"exclude_opt_out": true, "exclude_converted": true},
  "schedule": {"kind": "daily", "at": "$(date -u -d '-2 min' +%H:%M)", "timezone": "UTC"},
  "mapping": [{"from": "Current_Employer", "to": "company"}, {"from": "Skill_Set", "to": "skills"},
              {"from": "City", "to": "city"}]
}
JSON
echo "==> recruit-sync sync create --file sync.json"
SYNC_ID=$($BIN/recruit-sync sync create --file "$LOGS/sync.json")
echo "$SYNC_ID"
echo "==> recruit-sync sync run $SYNC_ID --wait"
$BIN/recruit-sync sync run "$SYNC_ID" --wait
echo "==> recruit-sync list members 'Candidate newsletter' (first 5)"
$BIN/recruit-sync list members "Candidate newsletter" --json | $BIN/python -c \
  "import json,sys; m=json.load(sys.stdin); print(f'{len(m)} members'); [print(' ', x['email'], x.get('first_name'), x.get('last_name'), x.get('company')) for x in m[:5]]"
cat <<TEXT

==> the console: $RECRUIT_SYNC_API/
    sign in as $DEMO_EMAIL with the password $DEMO_PASSWORD
TEXT
if [ -t 0 ] && [ "${DEMO_STAY:-1}" != 0 ]; then
  echo "==> the services keep running; press Ctrl-C to stop them"
  wait "${PIDS[@]}" || true
fi
echo "==> done; stopping the services"
