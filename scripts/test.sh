#!/usr/bin/env bash
# The test command: builds the solution and runs every test project (dotnet test), then prints
# one closing line "N passed, N failed, N skipped" and exits non-zero on any failure.
# PostgreSQL: TASKSERVER_TEST_PG names a server (a connection string whose user may create databases);
# without it a throwaway cluster is started from the installed binaries and removed afterwards.
# MongoDB: its contract tests run when TASKSERVER_TEST_MONGO is set or a Docker engine is reachable,
# and are reported as skipped, with the reason, otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
pgdir=""
cleanup() {
  rm -f "$log"
  if [ -n "$pgdir" ]; then scripts/postgres.sh stop "$pgdir"; rm -rf "$pgdir"; fi
}
trap cleanup EXIT
if [ -z "${TASKSERVER_TEST_PG:-}" ]; then
  pgdir=$(mktemp -d /tmp/taskserver-test-pg.XXXXXX)
  TASKSERVER_TEST_PG=$(scripts/postgres.sh start "$pgdir" "${TASKSERVER_TEST_PG_PORT:-25432}") || exit 1
  export TASKSERVER_TEST_PG
  echo "PostgreSQL for the tests: $TASKSERVER_TEST_PG ($pgdir)"
fi
# The chaos minute (a whole cluster under random faults) runs alone, after the rest: run beside the end-to-end
# projects' own clusters on two cores, its load barely ran and its timeouts fired on a starved machine.
chaos="FullyQualifiedName~ChaosEndToEndTests"
dotnet test TaskServer.sln -c Release --logger "console;verbosity=detailed" --filter "FullyQualifiedName!~ChaosEndToEndTests" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
dotnet test tests/TaskServer.Drill.Tests -c Release --no-build --logger "console;verbosity=detailed" --filter "$chaos" 2>&1 | tee -a "$log"
chaos_status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] && status=$chaos_status
# With detailed verbosity (it prints skip reasons) dotnet test ends each test assembly's run with a block of
# "Total tests: N" / "Passed: N" / "Failed: N" / "Skipped: N" lines; add them up.
read -r passed failed skipped < <(awk '
  /^[[:space:]]*Passed:[[:space:]]*[0-9]+[[:space:]]*$/  { p += $2 }
  /^[[:space:]]*Failed:[[:space:]]*[0-9]+[[:space:]]*$/  { f += $2 }
  /^[[:space:]]*Skipped:[[:space:]]*[0-9]+[[:space:]]*$/ { s += $2 }
  END { print p + 0, f + 0, s + 0 }' "$log")
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
  echo "No test ran: treating this as a failure."
elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the build or a test host failed before any test could report
  echo "dotnet test exited with $status before reporting a failed test (build error or crashed test host)."
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
