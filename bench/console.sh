#!/bin/sh
# The web console: what a first visit downloads, how fast notaloned serves the console's
# files next to its cheapest API answer (/healthz), and the time from a red alert to its
# row on the operator's board in headless Chromium.
# Builds an optimised notaloned and the console in build-bench/.
#
#   bench/console.sh [REQUESTS_PER_THREAD] [THREADS] [ALERTS] [GAP_MS]
#                                          (defaults: 20000 2 150 100)
set -eu
cd "$(dirname "$0")/.."
REQUESTS="${1:-20000}"
THREADS="${2:-2}"
ALERTS="${3:-150}"
GAP_MS="${4:-100}"
./scripts/bootstrap
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" --target notaloned na_http_load >/dev/null
./scripts/build-web build-bench/web >/dev/null

. bench/nodes.sh

echo "== what a first visit downloads (bytes, gzip as sent)"
for f in build-bench/web/index.html build-bench/web/assets/app-*.js build-bench/web/assets/app-*.css \
         build-bench/web/assets/chunk-*.js; do
    [ -f "$f" ] || continue
    printf '  %-40s %8d raw %8d gzip\n' "${f#build-bench/web/}" "$(wc -c <"$f")" "$(wc -c <"$f.gz")"
done

url=$(start_node console --console-dir build-bench/web)
script=$(cd build-bench/web && ls assets/app-*.js)
echo "== $THREADS keep-alive clients x $REQUESTS requests each, $(nproc) cores"
for path in /healthz / "/$script" /board; do
    printf '  GET %-28s ' "$path"
    ./build-bench/na_http_load "$url" GET "$path" "$THREADS" "$REQUESTS"
done

set -- $(/usr/bin/python3 - "$WORK/console" "$url" <<'PY'
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, "bench")
from bench_api import admin_token, new_user

data_dir, url = sys.argv[1], sys.argv[2]
admin = admin_token(url, data_dir)
new_user(url, admin, "bench-operator", "operator", "benchmark password 2")
print("benchmark password 2", new_user(url, admin, "bench-worker", "worker", "benchmark password 3"))
PY
)
echo "== red alert to the operator's board (Chromium)"
node bench/console_board.mjs "$url" "$1 $2 $3" "$4" "$ALERTS" "$GAP_MS"
echo "  resident memory of notaloned: $(awk '/VmHWM/{print $2, $3}' /proc/$(tail -n 1 "$WORK/pids")/status) peak"
