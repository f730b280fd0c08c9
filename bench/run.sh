#!/bin/sh
# Benchmarks notaloned's HTTP API on this machine and prints the figures that
# docs/performance.md reports. Builds an optimised binary in build-bench/, starts it on a
# free loopback port with a fresh database, and drives it with bench/http_load.c.
#
#   bench/run.sh [REQUESTS_PER_THREAD]     (default 5000)
set -eu
cd "$(dirname "$0")/.."
N="${1:-5000}"
./scripts/bootstrap
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" --target notaloned na_http_load >/dev/null

DATA=$(mktemp -d)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
./build-bench/notaloned --listen "127.0.0.1:$PORT" --data-dir "$DATA" --log-level warn 2>"$DATA/log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done

json() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
OTP=$(cat "$DATA/initial-admin-password")
TOKEN=$(curl -sf "$URL/api/v1/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$OTP\"}" | json "['token']")
curl -sf "$URL/api/v1/me/password" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"current_password\":\"$OTP\",\"new_password\":\"benchmark password 1\"}"

run() { # NAME THREADS METHOD PATH [BODY]
    printf '%-34s ' "$1"
    ./build-bench/na_http_load "$URL" "$3" "$4" "$2" "$N" "$TOKEN" "${5:-}"
}
echo "notaloned benchmark: $N requests per client thread, $(nproc) cores"
for T in 1 4; do
    run "GET /healthz (no storage)" $T GET /healthz
    run "GET /api/v1/me (auth + 3 reads)" $T GET /api/v1/me
    run "POST /api/v1/teams (durable write)" $T POST /api/v1/teams "{\"name\":\"team $T-{n}\"}"
done
printf '%-34s ' "POST /api/v1/login (Argon2id)"
./build-bench/na_http_load "$URL" POST /api/v1/login 2 20 "" \
    '{"username":"admin","password":"benchmark password 1"}'
echo "resident memory of notaloned: $(awk '/VmHWM/{print $2, $3}' /proc/$PID/status) peak"
