# Sourced by the benchmarks that start notaloned nodes (bench/cluster.sh,
# bench/alarm_stream.sh): a work folder removed on exit with every node started and the
# private PostgreSQL cluster, a free port, and starting a node. Run from the project root
# after building build-bench/.

WORK=$(mktemp -d)
# PostgreSQL runs as its own user when this runs as root: it must reach the cluster.
chmod 755 "$WORK"

# stop_nodes: stops every node started so far and waits for them to exit.
stop_nodes() {
    if [ -f "$WORK/pids" ]; then
        for p in $(cat "$WORK/pids"); do kill "$p" 2>/dev/null || true; done
        for p in $(cat "$WORK/pids"); do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
    fi
    : >"$WORK/pids"
}

cleanup() {
    stop_nodes
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
