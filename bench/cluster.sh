#!/bin/sh
# Check-ins per second through the HTTP API on the three ways notaloned stores its data:
# SQLite, one node on PostgreSQL, and two nodes on one PostgreSQL database with the load
# split between them; with GET /healthz (no storage) and GET /api/v1/me (authentication
# and reads) beside them, to tell the cost of HTTP from the cost of the database. Builds
# an optimised binary in build-bench/, starts a private PostgreSQL cluster
# (scripts/test-pg) in a temporary folder, and drives every setup with bench/http_load.c:
# THREADS client threads, each with its own keep-alive connection and its own visit.
#
#   bench/cluster.sh [REQUESTS_PER_THREAD] [THREADS]      (defaults: 2000 4)
set -eu
cd "$(dirname "$0")/.."
N="${1:-2000}"
T="${2:-4}"
./scripts/bootstrap
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" --target notaloned na_http_load >/dev/null

. bench/nodes.sh

./scripts/test-pg start "$WORK/pg"
CONN=$(cat "$WORK/pg/conninfo")
PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql"
psql_admin() { "$PSQL" -X -q -t -A -v ON_ERROR_STOP=1 "$CONN dbname=postgres" -c "$1"; }
# Statement statistics, to see where a check-in's time goes inside PostgreSQL.
psql_admin "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
./scripts/test-pg restart "$WORK/pg"
psql_admin "CREATE EXTENSION pg_stat_statements" >/dev/null

# setup DATA_DIR URLS: the administrator and a worker with THREADS visits, visit i
# started through node i mod n (so that node owns it); prints the worker's token and
# the check-in paths, thread i's the ith.
setup() {
    /usr/bin/python3 - "$1" "$2" "$T" <<'PY'
import sys, time

sys.dont_write_bytecode = True
sys.path.insert(0, "bench")
from bench_api import admin_token, call, new_user

data_dir, urls, threads = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
admin = admin_token(urls[0], data_dir)
worker = new_user(urls[0], admin, "bench-worker", "worker", "benchmark password 2")
until = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 8 * 3600))
paths = []
for t in range(threads):
    visit = call(urls[t % len(urls)], "POST", "/api/v1/visits", worker,
                 {"address": "%d Bench Street" % t, "expected_departure": until, "start": True})
    paths.append("/api/v1/visits/%d/checkin" % visit["id"])
print(worker, ",".join(paths))
PY
}

# server_mean_us URLS ROUTE METHOD: the nodes' own mean handling time of the route (all
# requests so far), from their /metrics.
server_mean_us() {
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import re, sys, urllib.request
total = count = 0.0
for url in sys.argv[1].split(","):
    text = urllib.request.urlopen(url + "/metrics", timeout=30).read().decode()
    for name in ("sum", "count"):
        pat = r'^notalone_http_request_duration_seconds_%s\{route="%s",method="%s"\} (\S+)$' % (
            name, re.escape(sys.argv[2]), sys.argv[3])
        v = sum(float(m) for m in re.findall(pat, text, re.M))
        if name == "sum":
            total += v
        else:
            count += v
print("%.0f" % (1e6 * total / count if count else 0))
PY
}

RESULTS="$WORK/results"
: >"$RESULTS"
# measure SETUP URLS TOKEN PATHS [DBNAME]: the three routes, one after another.
measure() {
    label=$1 urls=$2 token=$3 paths=$4 db=${5:-}
    for route in healthz me checkin; do
        case $route in
        healthz) method=GET path=/healthz tok="" body="" pattern=/healthz ;;
        me) method=GET path=/api/v1/me tok=$token body="" pattern=/api/v1/me ;;
        checkin) method=POST path=$paths tok=$token body='{"note":"bench {n}"}'
            pattern='/api/v1/visits/{id}/checkin' ;;
        esac
        if [ -n "$db" ] && [ $route = checkin ]; then
            psql_admin "SELECT pg_stat_statements_reset()" >/dev/null
            commits0=$(psql_admin "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'")
        fi
        line=$(./build-bench/na_http_load "$urls" $method "$path" "$T" "$N" "$tok" "$body")
        mean=$(server_mean_us "$urls" "$pattern" $method)
        echo "$label $route $line server_mean_us=$mean" >>"$RESULTS"
        if [ -n "$db" ] && [ $route = checkin ]; then
            sleep 1 # pg_stat_database is updated by each backend after its transaction
            commits1=$(psql_admin "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'")
            stats=$(psql_admin "SELECT sum(calls)::bigint || '/' ||
                    coalesce(sum(calls) FILTER (WHERE query ~* '^(SAVEPOINT|RELEASE)'), 0)::bigint
                    || '/' || round(sum(total_exec_time)::numeric, 1)
                FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname = '$db'")
            echo "$label pg commits=$((commits1 - commits0)) statements=$stats" >>"$RESULTS"
            psql_admin "SELECT round(s.total_exec_time::numeric, 1) || ' ms ' || s.calls || ' calls: '
                || left(regexp_replace(s.query, '\s+', ' ', 'g'), 90)
                FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname = '$db' ORDER BY s.total_exec_time DESC LIMIT 6" >"$WORK/top.$label"
        fi
    done
}

echo "notaloned check-in benchmark: $T client threads x $N requests each, $(nproc) cores"

URL=$(start_node sqlite)
set -- $(setup "$WORK/sqlite" "$URL")
measure sqlite "$URL" "$1" "$2"
stop_nodes

PG1=$(./scripts/test-pg createdb "$WORK/pg" bench_one)
URL=$(start_node pg1 --database "$PG1" --node-name pg1)
set -- $(setup "$WORK/pg1" "$URL")
measure pg1 "$URL" "$1" "$2" bench_one
stop_nodes

PG2=$(./scripts/test-pg createdb "$WORK/pg" bench_two)
URL_A=$(start_node pg2a --database "$PG2" --node-name pg2a)
URL_B=$(start_node pg2b --database "$PG2" --node-name pg2b)
set -- $(setup "$WORK/pg2a" "$URL_A,$URL_B")
measure pg2 "$URL_A,$URL_B" "$1" "$2" bench_two
stop_nodes

/usr/bin/python3 - "$RESULTS" "$T" "$N" <<'PY'
import sys

rows = {}
pg = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if parts[1] == "pg":
        kv = dict(p.split("=", 1) for p in parts[2:])
        calls, savepoints, ms = kv["statements"].split("/")
        pg[parts[0]] = (int(kv["commits"]), int(calls), float(ms), int(savepoints))
        continue
    kv = dict(p.split("=", 1) for p in parts[2:])
    rows[(parts[0], parts[1])] = kv

setups = [("sqlite", "SQLite"), ("pg1", "PG, 1 node"), ("pg2", "PG, 2 nodes")]
routes = [("healthz", "GET /healthz (no storage)"), ("me", "GET /api/v1/me (auth + reads)"),
          ("checkin", "POST .../checkin (write)")]
rps = lambda s, r: float(rows[(s, r)]["rps"])
print()
print("%-31s %9s %11s %12s %10s %10s" % ("requests per second", "SQLite", "PG, 1 node",
                                         "PG, 2 nodes", "PG1/SQLite", "PG2/PG1"))
for r, label in routes:
    print("%-31s %9.0f %11.0f %12.0f %10.2f %10.2f" % (
        label, rps("sqlite", r), rps("pg1", r), rps("pg2", r),
        rps("pg1", r) / rps("sqlite", r), rps("pg2", r) / rps("pg1", r)))
print()
print("%-31s %9s %11s %12s" % ("latency p50 / p99 (ms)", "SQLite", "PG, 1 node", "PG, 2 nodes"))
for r, label in routes:
    cells = ["%.2f/%.2f" % (int(rows[(s, r)]["p50_us"]) / 1000, int(rows[(s, r)]["p99_us"]) / 1000)
             for s, _ in setups]
    print("%-31s %9s %11s %12s" % (label, *cells))
print()
print("where a check-in's time goes (means per request, microseconds):")
print("%-31s %9s %11s %12s" % ("", "SQLite", "PG, 1 node", "PG, 2 nodes"))
def line(label, f):
    print("%-31s %9s %11s %12s" % (label, *[f(s) for s, _ in setups]))
threads = int(sys.argv[2])
line("client round trip", lambda s: "%.0f" % (threads * 1e6 / rps(s, "checkin")))
line("inside the server (handler)", lambda s: rows[(s, "checkin")]["server_mean_us"])
line("  GET /api/v1/me, same", lambda s: rows[(s, "me")]["server_mean_us"])
line("  GET /healthz, same", lambda s: rows[(s, "healthz")]["server_mean_us"])
n = threads * int(sys.argv[3])
line("statements run by PostgreSQL", lambda s: "%.1f" % (pg[s][1] / n) if s in pg else "-")
line("  of them SAVEPOINT/RELEASE", lambda s: "%.1f" % (pg[s][3] / n) if s in pg else "-")
line("their time in PostgreSQL", lambda s: "%.0f" % (pg[s][2] * 1000 / n) if s in pg else "-")
line("transactions (a lone read is one)", lambda s: "%.1f" % (pg[s][0] / n) if s in pg else "-")
PY
echo
echo "PostgreSQL's busiest statements during the check-ins (one node):"
sed 's/^/  /' "$WORK/top.pg1"
