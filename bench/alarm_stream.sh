#!/bin/sh
# Red alert to the operator's live stream, on SQLite and on PostgreSQL: the latency from
# a worker's POST /api/v1/alerts/red to the alarm.opened event on an operator's
# GET /api/v1/events at a fixed rate, and the red alerts a second taken at saturation.
# Builds an optimised binary in build-bench/, starts a private PostgreSQL cluster
# (scripts/test-pg) in a temporary folder, and drives each setup with bench/alarm_stream.c.
#
#   bench/alarm_stream.sh [RATE] [SECONDS] [SATURATION_SECONDS] [WORKERS] [RATE_PG]
#                                                  (defaults: 500 20 10 8 250)
#
# PostgreSQL runs at its own RATE_PG: one node there takes fewer red alerts a second on
# this machine than RATE, and past its capacity the queue only grows.
set -eu
cd "$(dirname "$0")/.."
RATE="${1:-500}"
SECONDS_="${2:-20}"
SAT="${3:-10}"
WORKERS="${4:-8}"
RATE_PG="${5:-250}"
./scripts/bootstrap
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" --target notaloned na_alarm_stream >/dev/null

. bench/nodes.sh

# setup DATA_DIR URL: an operator and WORKERS workers; prints the operator's token and
# the workers' tokens, comma-separated.
setup() {
    /usr/bin/python3 - "$1" "$2" "$WORKERS" <<'PY'
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, "bench")
from bench_api import admin_token, new_user

data_dir, url, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
admin = admin_token(url, data_dir)
operator = new_user(url, admin, "bench-operator", "operator", "benchmark password 2")
tokens = [new_user(url, admin, "bench-worker-%d" % i, "worker", "benchmark password 3")
          for i in range(workers)]
print(operator, ",".join(tokens))
PY
}

run() { # NAME RATE [notaloned options]
    name=$1
    rate=$2
    shift 2
    url=$(start_node "$name" "$@")
    set -- $(setup "$WORK/$name" "$url")
    echo "== $name"
    ./build-bench/na_alarm_stream "$url" "$1" "$2" "$rate" "$SECONDS_" "$SAT"
    echo "  resident memory of notaloned: $(awk '/VmHWM/{print $2, $3}' \
        /proc/$(tail -n 1 "$WORK/pids")/status) peak"
    stop_nodes
}

echo "red alert to operator's stream: $RATE/s (PostgreSQL $RATE_PG/s) for $SECONDS_ s, then" \
    "$SAT s flat out, $WORKERS workers, $(nproc) cores"
run sqlite "$RATE"
./scripts/test-pg start "$WORK/pg" >/dev/null
run postgresql "$RATE_PG" --database "$(./scripts/test-pg createdb "$WORK/pg" bench_alarms)"
