#!/bin/sh
# Red alert to the operator's live stream, on SQLite and on PostgreSQL: the latency from
# a worker's POST /api/v1/alerts/red to the alarm.opened event on an operator's
# GET /api/v1/events at a fixed rate, and the red alerts a second taken at saturation.
# Builds an optimised binary in build-bench/, starts a private PostgreSQL cluster
# (scripts/test-pg) in a temporary folder, and drives each setup with bench/alarm_stream.c.
#
#   bench/alarm_stream.sh [RATE] [SECONDS] [SATURATION_SECONDS] [WORKERS]
#                                                  (defaults: 500 20 10 8)
set -eu
cd "$(dirname "$0")/.."
RATE="${1:-500}"
SECONDS_="${2:-20}"
SAT="${3:-10}"
WORKERS="${4:-8}"
./scripts/bootstrap
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" --target notaloned na_alarm_stream >/dev/null

WORK=$(mktemp -d)
# PostgreSQL runs as its own user when this runs as root: it must reach the cluster.
chmod 755 "$WORK"
cleanup() {
    if [ -f "$WORK/pids" ]; then
        for p in $(cat "$WORK/pids"); do kill "$p" 2>/dev/null || true; done
        for p in $(cat "$WORK/pids"); do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
    fi
    ./scripts/test-pg stop "$WORK/pg" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_node NAME [notaloned options]: starts a node, prints its URL once it is ready.
start_node() {
    name=$1
    shift
    port=$(free_port)
    mkdir -p "$WORK/$name"
    ./build-bench/notaloned --listen "127.0.0.1:$port" --data-dir "$WORK/$name" \
        --log-level warn "$@" >"$WORK/$name.log" 2>&1 &
    echo $! >>"$WORK/pids"
    for _ in $(seq 200); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
        sleep 0.05
    done
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || {
        echo "node $name did not start:" >&2
        cat "$WORK/$name.log" >&2
        exit 1
    }
    echo "http://127.0.0.1:$port"
}

# setup DATA_DIR URL: an operator and WORKERS workers; prints the operator's token and
# the workers' tokens, comma-separated.
setup() {
    /usr/bin/python3 - "$1" "$2" "$WORKERS" <<'PY'
import json, sys, urllib.request

data_dir, url, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])

def call(method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as r:
        raw = r.read()
    return json.loads(raw) if raw else None

def user(admin, name, role):
    made = call("POST", "/api/v1/users", admin,
                {"username": name, "display_name": name, "roles": [role]})
    otp = made["one_time_password"]
    token = call("POST", "/api/v1/login", body={"username": name, "password": otp})["token"]
    call("POST", "/api/v1/me/password", token,
         {"current_password": otp, "new_password": "benchmark password " + name})
    return token

otp = open(data_dir + "/initial-admin-password").read().strip()
admin = call("POST", "/api/v1/login", body={"username": "admin", "password": otp})["token"]
call("POST", "/api/v1/me/password", admin,
     {"current_password": otp, "new_password": "benchmark password 1"})
operator = user(admin, "bench-operator", "operator")
tokens = [user(admin, "bench-worker-%d" % i, "worker") for i in range(workers)]
print(operator, ",".join(tokens))
PY
}

run() { # NAME [notaloned options]
    name=$1
    shift
    url=$(start_node "$name" "$@")
    set -- $(setup "$WORK/$name" "$url")
    echo "== $name"
    ./build-bench/na_alarm_stream "$url" "$1" "$2" "$RATE" "$SECONDS_" "$SAT"
    echo "  resident memory of notaloned: $(awk '/VmHWM/{print $2, $3}' \
        /proc/$(tail -n 1 "$WORK/pids")/status) peak"
    kill "$(tail -n 1 "$WORK/pids")"
}

echo "red alert to operator's stream: $RATE/s for $SECONDS_ s, then $SAT s flat out," \
    "$WORKERS workers, $(nproc) cores"
run sqlite
./scripts/test-pg start "$WORK/pg" >/dev/null
run postgresql --database "$(./scripts/test-pg createdb "$WORK/pg" bench_alarms)"
