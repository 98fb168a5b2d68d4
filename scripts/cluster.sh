#!/usr/bin/env bash
# A local TaskServer cluster without Docker: a throwaway database under .cluster/, two standalone
# nodes (alpha, the primary, on :5080; beta, the backup, on :5081) and N workers (w1.. on :5090..).
#   scripts/cluster.sh up [--storage postgres|mongo] [--workers N] [--policy RoundRobin|LeastLoad] [--tls]
#                         [--port-base P (5080)] [--db-port P (25440)] [--faults]
#   scripts/cluster.sh status          (taskserver-drill cluster status)
#   scripts/cluster.sh restart NAME    start one node again with the same settings (after a drill killed it)
#   scripts/cluster.sh db stop|start   stop or start the cluster's database alone (the drill's database-restart)
#   scripts/cluster.sh down            stop the nodes and the database; logs and .cluster/env stay
# .cluster/env is sourceable and is what clients and the drill CLI read: GATEWAYS (primary first),
# WORKERS (their internal listeners, client port + 1000), NODES (the gateways' names in GATEWAYS order, then the
# workers' in WORKERS order), API_KEY, API_KEY_2 (a second client), ADMIN_KEY, CLUSTER_SECRET, STORAGE_PROVIDER,
# STORAGE_CONNECTION_STRING, PIDS_DIR, POLICY, PORT_BASE, DB_PORT, FAULTS, CLUSTER_SCRIPT, TLS, and with --tls
# CA_CERT (a throwaway CA under .cluster/tls that signed every node's certificate; all URLs are https). On
# PostgreSQL each node logs in as the role named after it (alpha, w1, ...), so a drill can cut one node off the
# database. --faults enables POST /admin/faults on every node (for the drill's experiment). Works as root or as a
# normal user.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=$root/.cluster
env_file=$state/env
pids_dir=$state/pids
tls_dir=$state/tls
logs_dir=$state/logs
# The nodes run a copy of the build: a rebuild of src/Host (the test suite does one) must not
# rewrite the assemblies under running processes.
app_dir=$state/app
build_dir=$root/src/Host/bin/Release/net10.0
host=127.0.0.1
# Another cluster (another checkout) may hold the defaults: `up --port-base/--db-port` move this one.
PORT_BASE=5080
# Below the ephemeral range (32768-60999): a client connection there could hold the port and PostgreSQL would not start.
DB_PORT=25440
FAULTS=0
policies="RoundRobin LeastLoad LeastRequests PowerOfTwoChoices Random FirstAlphabetical"

die() { echo "cluster.sh: $*" >&2; exit 1; }

need() { command -v "$1" >/dev/null || die "$1 is not on PATH ($2)"; }

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

node_role() {
  case $1 in
    alpha | beta) echo Standalone ;;
    w[1-9] | w[1-9][0-9]) echo Worker ;;
    *) die "no node named '$1' (alpha, beta, w1..wN)" ;;
  esac
}

node_port() {
  case $1 in
    alpha) echo "$PORT_BASE" ;;
    beta) echo $((PORT_BASE + 1)) ;;
    *) echo $((PORT_BASE + 9 + ${1#w})) ;;
  esac
}

# The internal listener (Node:InternalUrl): the worker intake, which gateways reach and clients never see.
node_internal_port() { echo $(($(node_port "$1") + 1000)); }

scheme() { if [ "${TLS:-0}" = 1 ]; then echo https; else echo http; fi; }

node_url() { echo "$(scheme)://$host:$(node_port "$1")"; }

node_internal_url() { echo "$(scheme)://$host:$(node_internal_port "$1")"; }

# True only for a TaskServer node: a PID file may outlive its process, and the PID may be reused.
node_pid_alive() {
  local args
  args=$(ps -o args= -p "$1" 2>/dev/null) || return 1
  [[ $args == *TaskServer.Host.dll* ]]
}

node_pid() {
  local file=$pids_dir/$1.pid
  [ -f "$file" ] && cat "$file"
}

node_alive() {
  local pid
  pid=$(node_pid "$1") && node_pid_alive "$pid"
}

curl_tls() { if [ "${TLS:-0}" = 1 ]; then curl --cacert "$CA_CERT" "$@"; else curl "$@"; fi; }

http_code() { curl_tls -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }

port_in_use() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

load_env() {
  [ -f "$env_file" ] || die "no $env_file: run scripts/cluster.sh up first"
  # shellcheck source=/dev/null
  . "$env_file"
}

# Single-quoted so the file stays sourceable whatever a value holds (';' in a connection string, a space in a path).
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

secret() { head -c 48 /dev/urandom | base64 | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c1-32; }

# Keys survive a down/up, so clients and dashboards configured once keep working.
existing_secret() {
  local value=""
  # shellcheck source=/dev/null
  [ -f "$env_file" ] && value=$(. "$env_file" && printf '%s' "${!1:-}")
  if [ ${#value} -ge 24 ]; then printf '%s' "$value"; else secret; fi
}

build_host() {
  local dll=$build_dir/TaskServer.Host.dll changed=""
  if [ -f "$dll" ]; then
    changed=$(find "$root/src/Host" "$root/src/StorageManager" "$root/src/StorageManager.PostgreSql" "$root/src/StorageManager.Mongo" "$root/src/LoadManager" "$root/src/Health" \
      "$root/src/Failover" "$root"/Directory.*.props "$root/global.json" \
      \( -name bin -o -name obj \) -prune -o -type f -newer "$dll" -print -quit)
  fi
  if [ ! -f "$dll" ] || [ -n "$changed" ]; then
    echo "Building the host (dotnet build src/Host -c Release)..."
    # A one-off build: no MSBuild or compiler server is left running beside the cluster.
    dotnet build "$root/src/Host" -c Release --nologo -v quiet --disable-build-servers
  fi
  rm -rf "$app_dir"
  cp -R "$build_dir" "$app_dir"
}

start_postgres() {
  local admin name psql_conn="host=$host port=$DB_PORT user=taskserver dbname=postgres"
  need psql "the PostgreSQL client, apt-get install postgresql"
  admin=$("$root/scripts/postgres.sh" start "$state/pg" "$DB_PORT")
  if [ "$(psql -X "$psql_conn" -tAc "SELECT 1 FROM pg_database WHERE datname = 'taskserver'")" != 1 ]; then
    psql -X -q "$psql_conn" -c "CREATE DATABASE taskserver"
  fi
  # One role per node (superuser: the first node creates the schema the others use), so that a drill can
  # refuse one node's logins and end its sessions while the others carry on.
  for name in ${NODES//,/ }; do
    psql -X -q "$psql_conn" -c "DO \$\$ BEGIN CREATE ROLE \"$name\" LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN ALTER ROLE \"$name\" LOGIN; END \$\$"
  done
  STORAGE_PROVIDER=PostgreSql
  STORAGE_CONNECTION_STRING=${admin/Database=postgres/Database=taskserver}
}

mongo_port() { echo $((DB_PORT + 1)); }

mongo_eval() { mongosh --quiet --host "$host" --port "$(mongo_port)" --eval "$1" 2>/dev/null; }

start_mongo() {
  local dir=$state/mongo deadline
  mkdir -p "$dir/data"
  if ! { [ -f "$dir/mongod.pid" ] && kill -0 "$(cat "$dir/mongod.pid")" 2>/dev/null; }; then
    # A primary killed inside a fenced write leaves its transaction (and the lease document's lock) to the server's
    # reaper: 5 s instead of 60 s bounds how long that can hold a takeover back.
    mongod --replSet rs0 --bind_ip "$host" --port "$(mongo_port)" --dbpath "$dir/data" \
      --setParameter transactionLifetimeLimitSeconds=5 \
      --logpath "$dir/mongod.log" --logappend --pidfilepath "$dir/mongod.pid" --fork >/dev/null
  fi
  deadline=$((SECONDS + 60))
  until [ "$(mongo_eval 'db.runCommand({ ping: 1 }).ok')" = 1 ]; do
    [ $SECONDS -lt $deadline ] || die "mongod did not answer on port $(mongo_port) (see $dir/mongod.log)"
    sleep 0.5
  done
  # The member's host is the loopback address clients use: the default would be this machine's hostname.
  mongo_eval "try { rs.status().ok } catch (e) { rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: '$host:$(mongo_port)' }] }).ok }" >/dev/null
  until [ "$(mongo_eval 'db.hello().isWritablePrimary')" = true ]; do
    [ $SECONDS -lt $deadline ] || die "the replica set rs0 elected no primary (see $dir/mongod.log)"
    sleep 0.5
  done
  STORAGE_PROVIDER=Mongo
  STORAGE_CONNECTION_STRING="mongodb://$host:$(mongo_port)/?replicaSet=rs0"
}

stop_databases() {
  local pid deadline
  if [ -f "$state/pg/PG_VERSION" ]; then "$root/scripts/postgres.sh" stop "$state/pg"; fi
  if [ -f "$state/mongo/mongod.pid" ]; then
    pid=$(cat "$state/mongo/mongod.pid")
    if kill "$pid" 2>/dev/null; then
      deadline=$((SECONDS + 30))
      while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    fi
    rm -f "$state/mongo/mongod.pid"
  fi
}

write_env() {
  local tmp=$env_file.tmp
  {
    echo "# Written by scripts/cluster.sh up; read by clients and the drill CLI."
    echo "GATEWAYS=$GATEWAYS"
    echo "WORKERS=$WORKERS"
    echo "NODES=$NODES"
    echo "POLICY=$POLICY"
    echo "PORT_BASE=$PORT_BASE"
    echo "DB_PORT=$DB_PORT"
    echo "FAULTS=$FAULTS"
    echo "API_KEY=$API_KEY"
    echo "API_KEY_2=$API_KEY_2"
    echo "ADMIN_KEY=$ADMIN_KEY"
    echo "CLUSTER_SECRET=$CLUSTER_SECRET"
    echo "STORAGE_PROVIDER=$STORAGE_PROVIDER"
    echo "STORAGE_CONNECTION_STRING=$(quote "$STORAGE_CONNECTION_STRING")"
    echo "PIDS_DIR=$(quote "$pids_dir")"
    echo "LOGS_DIR=$(quote "$logs_dir")"
    echo "HOST_DLL=$(quote "$app_dir/TaskServer.Host.dll")"
    echo "TLS=$TLS"
    if [ "$TLS" = 1 ]; then echo "CA_CERT=$(quote "$CA_CERT")"; fi
    echo "CLUSTER_SCRIPT=$(quote "$root/scripts/cluster.sh")"
  } >"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "$env_file"
}

# The node's PID is the dotnet process itself (setsid and env exec it), so kill -9 on it is a crash.
# setsid detaches it from this terminal: closing the shell that ran `up` leaves the cluster running.
start_node() {
  local name=$1 role url internal_url port log
  role=$(node_role "$name")
  port=$(node_port "$name")
  url=$(node_url "$name")
  internal_url=$(node_internal_url "$name")
  log=$logs_dir/$name.log
  ! port_in_use "$port" || die "port $port, for node $name, is already in use by another process"
  ! port_in_use "$(node_internal_port "$name")" || die "port $(node_internal_port "$name"), for node $name, is already in use by another process"
  local connection=$STORAGE_CONNECTION_STRING
  if [ "$STORAGE_PROVIDER" = PostgreSql ]; then connection=${connection/Username=taskserver/Username=$name}; fi
  local settings=(
    DOTNET_ENVIRONMENT=Production
    "Node__Role=$role" "Node__Name=$name" "Node__Url=$url" "Node__InternalUrl=$internal_url" "Node__ClusterSecret=$CLUSTER_SECRET"
    "Storage__Provider=$STORAGE_PROVIDER" "Storage__ConnectionString=$connection"
    "LoadBalancing__Policy=$POLICY"
    "Auth__AdminKeys__0=$ADMIN_KEY"
  )
  # The throwaway cluster runs as Production; its drills need faults there, hence the second switch.
  if [ "$FAULTS" = 1 ]; then settings+=(Faults__Enabled=true Faults__AllowInProduction=true); fi
  if [ "$role" != Worker ]; then
    settings+=("Auth__ApiKeys__0=$API_KEY" "Auth__ApiKeys__1=$API_KEY_2")
  fi
  if [ "$TLS" = 1 ]; then
    settings+=(
      "Kestrel__Certificates__Default__Path=$tls_dir/node.pem" "Kestrel__Certificates__Default__KeyPath=$tls_dir/node-key.pem"
      "Tls__CaCertificate=$CA_CERT"
    )
  fi
  printf '=== %s: %s (%s) at %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$name" "$role" "$url" >>"$log"
  setsid env "${settings[@]}" dotnet "$app_dir/TaskServer.Host.dll" --urls "$url;$internal_url" </dev/null >>"$log" 2>&1 &
  echo $! >"$pids_dir/$name.pid"
}

# wait_for NAME SECONDS WHAT CHECK...: polls CHECK; stops early, with the node's log, if the node died.
wait_for() {
  local name=$1 limit=$2 what=$3 deadline
  shift 3
  deadline=$((SECONDS + limit))
  until "$@"; do
    if ! node_alive "$name"; then
      tail -n 30 "$logs_dir/$name.log" >&2
      die "$name exited while waiting for $what (log: $logs_dir/$name.log)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$logs_dir/$name.log" >&2
      die "gave up after $limit s waiting for $what (log: $logs_dir/$name.log)"
    fi
    sleep 0.5
  done
}

is_primary() { [ "$(http_code "$1/health/primary")" = 200 ]; }

is_live() { [ "$(http_code "$1/health/live")" = 200 ]; }

healthy_workers() { dotnet "$drill_dll" cluster healthy-workers --cluster "$env_file" --gateway "$1" 2>/dev/null || echo 0; }

# At least, not exactly: a node restarted seconds ago still counts under its old identity until that heartbeat ages out.
has_workers() { [ "$(healthy_workers "$1")" -ge "$2" ]; }

abort_up() {
  local status=$?
  if [ $status -ne 0 ]; then
    echo "cluster.sh: up failed; stopping what it started" >&2
    cmd_down >/dev/null 2>&1 || true
  fi
}

# A throwaway CA and one certificate for every node on this host (127.0.0.1 and localhost), under .cluster/tls.
make_certificates() {
  need openssl "apt-get install openssl"
  mkdir -p "$tls_dir"
  if [ ! -f "$tls_dir/ca.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=TaskServer local CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$tls_dir/ca-key.pem" -out "$tls_dir/ca.pem" 2>/dev/null
  fi
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" \
    -keyout "$tls_dir/node-key.pem" -out "$tls_dir/node.csr" 2>/dev/null
  openssl x509 -req -in "$tls_dir/node.csr" -CA "$tls_dir/ca.pem" -CAkey "$tls_dir/ca-key.pem" -CAcreateserial -days 30 \
    -extfile <(printf 'subjectAltName=IP:%s,DNS:localhost\nextendedKeyUsage=serverAuth\n' "$host") -out "$tls_dir/node.pem" 2>/dev/null
  chmod 600 "$tls_dir"/*-key.pem
  CA_CERT=$tls_dir/ca.pem
}

cmd_up() {
  local storage=postgres workers=2 name file i
  POLICY=RoundRobin
  TLS=0
  while [ $# -gt 0 ]; do
    case $1 in
      --storage) storage=${2:-}; shift 2 || usage ;;
      --workers) workers=${2:-}; shift 2 || usage ;;
      --policy) POLICY=${2:-}; shift 2 || usage ;;
      --tls) TLS=1; shift ;;
      --port-base) PORT_BASE=${2:-}; shift 2 || usage ;;
      --db-port) DB_PORT=${2:-}; shift 2 || usage ;;
      --faults) FAULTS=1; shift ;;
      -h | --help) usage ;;
      *) echo "cluster.sh: unknown option $1" >&2; usage ;;
    esac
  done
  case $storage in postgres | mongo) ;; *) die "--storage must be postgres or mongo (was '$storage')" ;; esac
  if ! [[ $workers =~ ^[0-9]+$ ]] || [ "$workers" -lt 1 ] || [ "$workers" -gt 10 ]; then
    die "--workers must be 1..10 (was '$workers')"
  fi
  [[ " $policies " == *" $POLICY "* ]] || die "--policy must be one of: $policies (was '$POLICY')"
  if ! [[ $PORT_BASE =~ ^[0-9]+$ ]] || [ "$PORT_BASE" -lt 1024 ] || [ "$PORT_BASE" -gt 65000 ]; then
    die "--port-base must be 1024..65000 (was '$PORT_BASE')"
  fi
  if ! [[ $DB_PORT =~ ^[0-9]+$ ]] || [ "$DB_PORT" -lt 1024 ] || [ "$DB_PORT" -gt 65000 ]; then
    die "--db-port must be 1024..65000 (was '$DB_PORT')"
  fi
  need dotnet "install the .NET 10 SDK"
  need curl "apt-get install curl"
  if [ "$storage" = mongo ]; then
    command -v mongod >/dev/null || die "mongod is not installed (not on PATH); install MongoDB, or use --storage postgres"
    need mongosh "the MongoDB shell, needed to initiate the replica set"
  fi

  NODES=alpha,beta
  for ((i = 1; i <= workers; i++)); do NODES+=",w$i"; done
  mkdir -p "$pids_dir" "$logs_dir"
  # Every PID file, not only this cluster's names: the build copy is replaced under whatever still runs.
  for file in "$pids_dir"/*.pid; do
    [ -f "$file" ] || continue
    name=$(basename "$file" .pid)
    ! node_alive "$name" || die "$name is already running (pid $(node_pid "$name")): scripts/cluster.sh down first"
  done

  # From here on a failure stops what was started; the logs stay for the post-mortem.
  trap abort_up EXIT

  build_host
  if [ "$TLS" = 1 ]; then make_certificates; fi
  build_drill
  if [ "$storage" = postgres ]; then start_postgres; else start_mongo; fi
  API_KEY=$(existing_secret API_KEY)
  API_KEY_2=$(existing_secret API_KEY_2)
  ADMIN_KEY=$(existing_secret ADMIN_KEY)
  CLUSTER_SECRET=$(existing_secret CLUSTER_SECRET)
  GATEWAYS="$(node_url alpha),$(node_url beta)"
  WORKERS=""
  for ((i = 1; i <= workers; i++)); do WORKERS+="${WORKERS:+,}$(node_internal_url "w$i")"; done
  write_env

  # alpha alone first, so that it takes the lease and the primary is the node the docs name.
  start_node alpha
  wait_for alpha 90 "alpha to become primary" is_primary "$(node_url alpha)"
  start_node beta
  for ((i = 1; i <= workers; i++)); do start_node "w$i"; done
  wait_for beta 60 "beta to answer" is_live "$(node_url beta)"
  for ((i = 1; i <= workers; i++)); do wait_for "w$i" 60 "w$i to answer" is_live "$(node_url "w$i")"; done
  wait_for alpha 60 "alpha to see $((workers + 2)) healthy workers" has_workers "$(node_url alpha)" $((workers + 2))
  trap - EXIT

  local primary
  primary=$(node_url alpha)
  cat <<EOF
TaskServer cluster is up: $STORAGE_PROVIDER, alpha + beta standalone, $workers worker(s), $POLICY.

  API (primary)   $primary
  API (backup)    $(node_url beta)
  workers         ${WORKERS//,/ }
  dashboard       $primary/hangfire   user: admin   password: ADMIN_KEY from $env_file
  cluster view    curl -s -u "admin:\$ADMIN_KEY" $primary/cluster   (ADMIN_KEY is in $env_file)
  metrics         $primary/metrics
  settings        $env_file   (. .cluster/env)
  logs            $logs_dir/<node>.log

Submit a task:
  . $env_file; curl -s ${CA_CERT:+--cacert "$CA_CERT"} -X POST $primary/tasks -H "Authorization: Bearer \$API_KEY" -H "Content-Type: application/json" -d '{"type":"echo","payload":{"hello":"world"}}'
EOF
}

cmd_down() {
  local file pid deadline pids=()
  if [ -d "$pids_dir" ]; then
    for file in "$pids_dir"/*.pid; do
      [ -f "$file" ] || continue
      pid=$(cat "$file")
      if node_pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
      fi
    done
  fi
  # All at once, so the whole cluster gets its five seconds of graceful shutdown in parallel.
  deadline=$((SECONDS + 5))
  for pid in ${pids[@]+"${pids[@]}"}; do
    while node_pid_alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if node_pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -f "$pids_dir"/*.pid
  stop_databases
  echo "Stopped ${#pids[@]} node(s) and the database; logs are in $logs_dir."
}

# The drill CLI reads .cluster/env, GET /cluster and /health/ready for `up` and `status`: one parser of each, in C#.
drill_dll=$root/src/Drill/bin/Release/net10.0/taskserver-drill.dll

build_drill() {
  local changed=""
  if [ -f "$drill_dll" ]; then
    changed=$(find "$root/src/Drill" "$root/src/Client" "$root/src/StorageManager" "$root"/Directory.*.props \( -name bin -o -name obj \) -prune -o -type f -newer "$drill_dll" -print -quit)
  fi
  if [ ! -f "$drill_dll" ] || [ -n "$changed" ]; then
    echo "Building the drill CLI (dotnet build src/Drill -c Release)..." >&2
    dotnet build "$root/src/Drill" -c Release --nologo -v quiet --disable-build-servers >&2
  fi
}

drill() { build_drill && dotnet "$drill_dll" "$@"; }

cmd_status() {
  [ -f "$env_file" ] || die "no $env_file: run scripts/cluster.sh up first"
  drill cluster status --cluster "$env_file"
}

cmd_db() {
  load_env
  case ${1:-} in
    stop)
      if [ "$STORAGE_PROVIDER" = PostgreSql ]; then "$root/scripts/postgres.sh" stop "$state/pg"; else stop_databases; fi
      echo "database stopped" ;;
    start)
      if [ "$STORAGE_PROVIDER" = PostgreSql ]; then "$root/scripts/postgres.sh" start "$state/pg" "$DB_PORT" >/dev/null; else start_mongo; fi
      echo "database started" ;;
    *) usage ;;
  esac
}

cmd_restart() {
  local name=${1:-}
  [ -n "$name" ] || usage
  load_env
  [[ ",$NODES," == *",$name,"* ]] || die "no node named '$name' in this cluster ($NODES)"
  [ -f "$app_dir/TaskServer.Host.dll" ] || die "no build in $app_dir: run scripts/cluster.sh up first"
  ! node_alive "$name" || die "$name is running (pid $(node_pid "$name"))"
  start_node "$name"
  wait_for "$name" 60 "$name to answer" is_live "$(node_url "$name")"
  echo "$name restarted: pid $(node_pid "$name"), $(node_url "$name")"
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  restart) shift; cmd_restart "$@" ;;
  db) shift; cmd_db "$@" ;;
  *) usage ;;
esac
