#!/usr/bin/env bash
# Kill-primary smoke test of the compose stack (MongoDB replica set, two standalone nodes, two workers):
# build and start it, submit tasks through the primary, SIGKILL the primary's container, and check that the backup
# became primary and that every acknowledged task finished. Needs Docker with Compose v2, curl and jq.
# Reads the variables docker-compose.yml reads (TASKSERVER_API_KEY, TASKSERVER_ADMIN_KEY, TASKSERVER_CLUSTER_SECRET
# and whatever the database's credentials need); they pass through to `docker compose` unchanged.
#   scripts/compose-smoke.sh [tasks]
set -euo pipefail

tasks=${1:-40}
api_key=${TASKSERVER_API_KEY:?set TASKSERVER_API_KEY (the compose stack needs it)}
: "${TASKSERVER_ADMIN_KEY:?set TASKSERVER_ADMIN_KEY}" "${TASKSERVER_CLUSTER_SECRET:?set TASKSERVER_CLUSTER_SECRET}"
: "${TASKSERVER_MONGO_PASSWORD:?set TASKSERVER_MONGO_PASSWORD}" "${TASKSERVER_MONGO_KEYFILE:?set TASKSERVER_MONGO_KEYFILE (openssl rand -base64 756)}"
cd "$(dirname "$0")/.."

# The ports and services docker-compose.yml publishes: alpha on 5080, beta on 5081.
declare -A port=([alpha]=5080 [beta]=5081)

die() { echo "compose-smoke: $*" >&2; exit 1; }
cleanup() { docker compose down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT

is_primary() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${port[$1]}/health/primary")" = 200 ]; }

# Waits for a condition with a deadline, never a fixed sleep.
wait_for() {
  local what=$1 seconds=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "$what did not happen within ${seconds}s"
    sleep 0.2
  done
}

primary_node() { for node in alpha beta; do if is_primary "$node"; then echo "$node"; return 0; fi; done; return 1; }
has_primary() { primary_node >/dev/null; }

docker compose up -d --build --wait
wait_for "a primary" 60 has_primary
primary=$(primary_node)
backup=$([ "$primary" = alpha ] && echo beta || echo alpha)
echo "primary: $primary, backup: $backup"

ids=()
for i in $(seq 1 "$tasks"); do
  id=$(curl -sf --max-time 10 -X POST "http://127.0.0.1:${port[$primary]}/tasks" \
    -H "Authorization: Bearer $api_key" -H "Content-Type: application/json" -H "Idempotency-Key: smoke-$i" \
    -d '{"type":"sleep","payload":{"ms":300}}' | jq -r .id) || die "submission $i was refused"
  ids+=("$id")
done
echo "${#ids[@]} tasks acknowledged"

killed_at=$SECONDS
docker compose kill -s SIGKILL "$primary"
backup_is_primary() { is_primary "$backup"; }
wait_for "the backup's promotion" 30 backup_is_primary
echo "the backup $backup is primary about $((SECONDS - killed_at))s after the kill"

# The new primary takes a task, and the failover is on record.
curl -sf --max-time 10 -X POST "http://127.0.0.1:${port[$backup]}/tasks" -H "Authorization: Bearer $api_key" \
  -H "Content-Type: application/json" -d '{"type":"echo","payload":"after"}' >/dev/null || die "the new primary refused a task"
curl -sf -u "admin:$TASKSERVER_ADMIN_KEY" "http://127.0.0.1:${port[$backup]}/cluster" | jq -e '.failovers | length >= 1' >/dev/null \
  || die "no failover recorded"

status_of() { curl -sf --max-time 5 -H "Authorization: Bearer $api_key" "http://127.0.0.1:${port[$backup]}/tasks/$1" | jq -r .status; }
all_finished() {
  local id status
  for id in "${ids[@]}"; do
    status=$(status_of "$id") || return 1
    case $status in
      Succeeded) ;;
      Failed | Cancelled) die "task $id ended $status" ;;
      *) return 1 ;;
    esac
  done
}
wait_for "every acknowledged task to succeed" 180 all_finished
echo "compose-smoke: all ${#ids[@]} acknowledged tasks succeeded after the primary was killed"
