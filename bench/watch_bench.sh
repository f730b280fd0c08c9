#!/bin/sh
# End-to-end benchmark of the watch: notaloned with VISITS active visits whose deadlines
# are spread over the next 8 hours, except a burst of BURST_S seconds in which 1,000
# deadlines fall due each second. Reports the time to rebuild the timetable at start, the
# lateness of every escalation opened in the burst (opened_at - missed deadline, both
# stored by the server) and the server's peak resident memory.
#
#   bench/watch_bench.sh [VISITS] [BURST_S]        (defaults: 1000000 20)
set -eu
cd "$(dirname "$0")/.."
VISITS="${1:-1000000}"
BURST_S="${2:-20}"
RATE=1000
BURST=$((RATE * BURST_S))
./scripts/bootstrap
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" --target notaloned >/dev/null

DATA=$(mktemp -d)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$DATA"' EXIT
start_server() {
    ./build-bench/notaloned --listen "127.0.0.1:$PORT" --data-dir "$DATA" 2>>"$DATA/log" &
    PID=$!
    for _ in $(seq 600); do curl -sf "$URL/readyz" >/dev/null && return 0; sleep 0.05; done
    echo "server did not start" >&2; exit 1
}

start_server # creates the schema and the first administrator
kill -TERM $PID; wait $PID; PID=""

NOW=$(($(date +%s) * 1000))
FIRST=$((NOW + 20000 + VISITS / 50)) # after the restart and rebuild below
SPREAD=$(((8 * 3600 * 1000) / (VISITS - BURST + 1)))
sqlite3 "$DATA/notalone.db" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
INSERT INTO users (organisation_id, username, display_name, roles, created_at, updated_at)
    VALUES (1, 'bench-manager', 'Manager', 2, $NOW, $NOW);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99)
INSERT INTO users (organisation_id, username, display_name, roles, phone, created_at, updated_at)
    SELECT 1, 'bench-worker-' || i, 'Worker ' || i, 1, '+44 7700 900' || i, $NOW, $NOW FROM n;
INSERT INTO teams (organisation_id, name, line_manager_id, created_at)
    SELECT 1, 'bench', id, $NOW FROM users WHERE username = 'bench-manager';
INSERT INTO team_members (team_id, user_id)
    SELECT t.id, u.id FROM teams t, users u WHERE u.username LIKE 'bench-worker-%';
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $VISITS - 1),
     w(first) AS (SELECT MIN(id) FROM users WHERE username LIKE 'bench-worker-%'),
     d(i, at) AS (SELECT i, CASE WHEN i < $BURST THEN $FIRST + i * 1000 / $RATE
                                 ELSE $FIRST + $BURST_S * 1000 + (i - $BURST) * $SPREAD END
                  FROM n)
INSERT INTO visits (organisation_id, worker_id, kind, state, expected_arrival,
                    expected_departure, checkin_interval, started_at, deadline_at, outcome,
                    address, created_by, created_at, updated_at)
    SELECT 1, w.first + d.i % 100, 'visit', 2, $NOW, d.at, 0, $NOW, d.at, 0,
           'Flat ' || d.i || ', Bench Street', 1, $NOW, $NOW FROM d, w;
COMMIT;
SQL

T0=$(date +%s%3N)
start_server
T1=$(date +%s%3N)
echo "visits=$VISITS start_to_ready_ms=$((T1 - T0)) $(grep -o 'rebuild_ms=[0-9]*' "$DATA/log" | tail -1)"
# Wait for the burst to pass, then let the last escalations commit.
while [ "$(date +%s%3N)" -lt $((FIRST + BURST_S * 1000 + 3000)) ]; do sleep 1; done
echo "peak_rss_kb=$(awk '/VmHWM/{print $2}' /proc/$PID/status)"
kill -TERM $PID; wait $PID; PID=""
sqlite3 "$DATA/notalone.db" \
    "SELECT opened_at - missed_deadline_at FROM escalations ORDER BY 1;" >"$DATA/lateness"
/usr/bin/python3 - "$DATA/lateness" "$BURST" <<'PY'
import sys
v = [int(x) for x in open(sys.argv[1]) if x.strip()]
want = int(sys.argv[2])
if not v:
    sys.exit("no escalation was opened")
pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]
print("escalations_opened=%d of %d lateness_ms p50=%d p99=%d max=%d" %
      (len(v), want, pick(0.5), pick(0.99), v[-1]))
PY
