#!/bin/sh
# The DC-09 receiver at load: 1,000 devices on 1,000 TCP connections, in one process with
# the receiver (bench/dc09_bench.c). Prints the saturation throughput with a durable commit
# before every ACK, the ACK latency at a fixed rate, and both again against the same
# receiver answering without storage. The database is a temporary SQLite file in DIR.
# Builds an optimised binary in $BUILD (default build-bench/).
#
#   bench/dc09.sh [DIR] [SATURATION_SECONDS] [RATE] [RATE_SECONDS]
#                                        (defaults: $TMPDIR or /tmp, 10, 10000, 20)
set -eu
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build-bench}"
./scripts/bootstrap
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target na_dc09_bench >/dev/null
echo "DC-09 receiver: $(nproc) cores, database on $(df -T "${1:-${TMPDIR:-/tmp}}" |
    awk 'NR == 2 {print $2}')"
exec "$BUILD/na_dc09_bench" "$@"
