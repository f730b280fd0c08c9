/*
 * Benchmark of the DC-09 receiver (src/dc09/receiver.h), in one process: the receiver on a
 * temporary SQLite database (WAL, synchronous=FULL: every ACK waits for its commit) with
 * 1,000 registered devices, and a load generator on a thread and libuv loop of its own with
 * 1,000 concurrent TCP connections, one device each. Each connection sends plain messages
 * with a timestamp, in a fixed mix: 70% NULL link tests, 20% Contact ID periodic tests
 * (1602), 5% low battery (1302) and 5% battery restores (3302).
 *
 * Two measurements, each against the receiver storing events and against the same receiver
 * answering without storage (parse and ACK only: what durability costs):
 *   1. saturation: every connection keeps WINDOW messages awaiting their ACK (closed
 *      loop); ACKs per second over the measured seconds;
 *   2. latency at a fixed rate (open loop, RATE messages a second spread over the
 *      connections): ACK latency from each message's planned send time, p50/p99/max.
 * The first second of each run is a warm-up left out of the figures. One key=value figure
 * per line.
 *
 *   na_dc09_bench [DIR] [SATURATION_SECONDS] [RATE] [RATE_SECONDS]
 *                 (defaults: $TMPDIR or /tmp, 10, 10000, 20)
 */
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "dc09/frame.h"
#include "dc09/receiver.h"
#include "store/store.h"
#include "store/store_devices.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

#define DEVICES     1000
#define WINDOW      16  /* saturation: messages of a connection awaiting their ACK */
#define RING        128 /* send times kept per connection (> WINDOW, > max_in_flight) */
#define WARMUP_NS   INT64_C(1000000000)
#define DRAIN_NS    INT64_C(10000000000) /* after the run: time for the last ACKs */
#define SEQ_MAX     9999
#define ACCOUNT_FMT "B%05X"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ---- the load generator ---- */

struct gen;

struct gconn {
    uv_tcp_t tcp; /* first: the handle's address is the connection's */
    uv_connect_t connect;
    struct gen *g;
    unsigned device;
    unsigned counter; /* messages sent: picks the mix */
    struct {
        unsigned seq;
        int64_t at_ns;
    } sent[RING];
    uint8_t rbuf[8192];
    size_t rlen;
    unsigned outstanding;
};

struct gen {
    uv_loop_t loop;
    uv_timer_t tick;
    struct gconn *conns;
    size_t n, connected, closed;
    int port;
    bool open_loop;
    double rate; /* open loop: messages a second */
    int64_t seconds;
    int64_t t0, measure_from, end; /* CLOCK_MONOTONIC ns */
    bool sending, failed;
    uint64_t planned, rr;
    unsigned *seq; /* next sequence number of each device, kept across runs */
    /* results */
    uint64_t acks, naks, others, answers_measured, outstanding;
    int64_t *lat_us;
    size_t n_lat, cap_lat;
};

static const char *const mix_data[20] = {
    NULL,          NULL,          NULL,          NULL,          NULL,          NULL,         NULL,
    NULL,          NULL,          NULL,          NULL,          NULL,          NULL,         NULL,
    "1602 00 000", "1602 00 000", "1602 00 000", "1602 00 000", "1302 00 000", "3302 00 000"};

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* Sends c's next message, planned for at_ns. */
static void gen_send(struct gconn *c, int64_t at_ns)
{
    struct gen *g = c->g;
    char account[17], buf[512];
    snprintf(account, sizeof account, ACCOUNT_FMT, c->device);
    const char *data = mix_data[c->counter++ % 20];
    unsigned seq = g->seq[c->device];
    g->seq[c->device] = seq >= SEQ_MAX ? 1 : seq + 1;
    struct dc09_build b = {.token = data ? DC09_TOKEN_ADM_CID : DC09_TOKEN_NULL,
                           .seq = seq,
                           .receiver = "1",
                           .prefix = "0",
                           .account = account,
                           .data = data ? data : "",
                           .timestamp = true,
                           .now = clock_system_ms()};
    size_t len;
    if (dc09_build(&b, buf, sizeof buf, &len)) {
        g->failed = true;
        return;
    }
    c->sent[seq % RING].seq = seq;
    c->sent[seq % RING].at_ns = at_ns;
    c->outstanding++;
    g->outstanding++;
    uv_buf_t ub = uv_buf_init(buf, (unsigned)len);
    int w = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
    if (w == (int)len)
        return;
    size_t done = w > 0 ? (size_t)w : 0;
    uv_write_t *req = xmalloc(sizeof *req + len - done);
    memcpy(req + 1, buf + done, len - done);
    ub = uv_buf_init((char *)(req + 1), (unsigned)(len - done));
    if (uv_write(req, (uv_stream_t *)&c->tcp, &ub, 1, on_written)) {
        free(req);
        g->failed = true;
    }
}

static void record(struct gen *g, struct gconn *c, const struct dc09_frame *f, int64_t now)
{
    if (f->token == DC09_TOKEN_ACK)
        g->acks++;
    else if (f->token == DC09_TOKEN_NAK)
        g->naks++;
    else
        g->others++;
    c->outstanding--;
    g->outstanding--;
    int64_t at = c->sent[f->seq % RING].at_ns;
    bool known = f->token == DC09_TOKEN_ACK && c->sent[f->seq % RING].seq == f->seq;
    /* Saturation counts answers within the window; the fixed rate, messages planned in it. */
    int64_t when = g->open_loop ? at : now;
    if (!known || when < g->measure_from || when >= g->end)
        return;
    g->answers_measured++;
    if (g->n_lat == g->cap_lat) {
        g->cap_lat = g->cap_lat ? g->cap_lat * 2 : 65536;
        g->lat_us = xrealloc(g->lat_us, g->cap_lat, sizeof *g->lat_us);
    }
    g->lat_us[g->n_lat++] = (now - at) / 1000;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct gconn *c = h->data;
    (void)suggested;
    *out = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(sizeof c->rbuf - c->rlen));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct gconn *c = s->data;
    struct gen *g = c->g;
    (void)b;
    if (nread < 0) {
        g->failed = true;
        uv_read_stop(s);
        return;
    }
    c->rlen += (size_t)nread;
    int64_t now = mono_ns();
    size_t off = 0;
    for (;;) {
        struct dc09_span sp;
        struct dc09_frame f;
        dc09_frame_next(c->rbuf + off, c->rlen - off, DC09_FRAME_MAX, &sp);
        off += sp.skip;
        if (!sp.len)
            break;
        if (dc09_frame_parse(c->rbuf + off, sp.len, &f) == DC09_OK)
            record(g, c, &f, now);
        else
            g->others++;
        off += sp.len;
        if (!g->open_loop && g->sending)
            gen_send(c, mono_ns());
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

static void gen_begin(struct gen *g)
{
    g->t0 = mono_ns();
    g->measure_from = g->t0 + WARMUP_NS;
    g->end = g->measure_from + g->seconds * 1000000000;
    g->sending = true;
    if (!g->open_loop)
        for (size_t i = 0; i < g->n; i++)
            for (int k = 0; k < WINDOW; k++)
                gen_send(&g->conns[i], g->t0);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct gconn *c = req->data;
    struct gen *g = c->g;
    if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
        fprintf(stderr, "connect failed: %s\n", uv_err_name(status));
        g->failed = true;
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (++g->connected == g->n)
        gen_begin(g);
}

static void on_closed(uv_handle_t *h)
{
    struct gconn *c = h->data;
    c->g->closed++;
}

static void gen_finish(struct gen *g)
{
    uv_timer_stop(&g->tick);
    uv_close((uv_handle_t *)&g->tick, NULL);
    for (size_t i = 0; i < g->n; i++)
        uv_close((uv_handle_t *)&g->conns[i].tcp, on_closed);
}

static void on_tick(uv_timer_t *t)
{
    struct gen *g = t->data;
    int64_t now = mono_ns();
    if (g->failed && !g->t0) {
        gen_finish(g);
        return;
    }
    if (g->failed || (g->sending && now >= g->end))
        g->sending = false;
    if (!g->sending && g->t0 && (g->outstanding == 0 || now >= g->end + DRAIN_NS)) {
        gen_finish(g);
        return;
    }
    if (!g->sending || !g->open_loop)
        return;
    /* Open loop: whatever is due by now goes out, each stamped with its planned time. */
    double due = (double)(now - g->t0) / 1e9 * g->rate;
    while ((double)g->planned < due) {
        int64_t at = g->t0 + (int64_t)((double)g->planned / g->rate * 1e9);
        gen_send(&g->conns[g->rr++ % g->n], at);
        g->planned++;
    }
}

static void *gen_main(void *arg)
{
    struct gen *g = arg;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", g->port, &a);
    for (size_t i = 0; i < g->n; i++) {
        struct gconn *c = &g->conns[i];
        c->g = g;
        c->device = (unsigned)i;
        uv_tcp_init(&g->loop, &c->tcp);
        c->tcp.data = c;
        c->connect.data = c;
        if (uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&a, on_connect))
            g->failed = true;
    }
    uv_timer_init(&g->loop, &g->tick);
    g->tick.data = g;
    uv_timer_start(&g->tick, on_tick, 1, 1);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Runs one measurement against the receiver on port. */
static int gen_run(struct gen *g)
{
    pthread_t t;
    g->conns = xcalloc(g->n, sizeof *g->conns);
    if (uv_loop_init(&g->loop) || pthread_create(&t, NULL, gen_main, g))
        return -1;
    pthread_join(t, NULL);
    int rc = uv_loop_close(&g->loop);
    free(g->conns);
    return rc || g->failed || g->closed != g->n ? -1 : 0;
}

/* ---- set-up and figures ---- */

static int add_devices(struct store *st, int64_t now)
{
    int64_t org;
    int rc = store_org_create(st, "Benchmark", true, now, &org);
    if (!rc)
        rc = store_begin(st);
    for (unsigned i = 0; !rc && i < DEVICES; i++) {
        char ident[32], account[17];
        snprintf(ident, sizeof ident, "bench-%u", i);
        snprintf(account, sizeof account, ACCOUNT_FMT, i);
        struct device_row d = {.organisation_id = org,
                               .kind = "lone_worker_device",
                               .identifier = ident,
                               .dc09_account = account,
                               .supervision_ms = 3600 * 1000,
                               .silent_due_at = now + 3600 * 1000,
                               .created_at = now,
                               .updated_at = now};
        int64_t id;
        rc = store_device_create(st, &d, &id);
    }
    if (!rc)
        rc = store_commit(st);
    if (rc)
        store_rollback(st);
    return rc;
}

static int64_t count_events(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *s = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM dc09_events", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

struct figures {
    double per_s;
    int64_t p50_us, p99_us, max_us;
    uint64_t acks, naks, others, batches;
};

/* One measurement against a receiver started with store (NULL: without storage). */
static int measure(const struct store_config *store, unsigned *seq, bool open_loop, double rate,
                   int64_t seconds, struct figures *out)
{
    struct clock clk = clock_system();
    struct dc09_receiver_config cfg;
    dc09_receiver_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.store = store;
    cfg.clock = &clk;
    cfg.max_per_source = 2 * DEVICES; /* every connection comes from 127.0.0.1 */
    struct dc09_receiver *r;
    if (dc09_receiver_start(&cfg, &r))
        return -1;
    struct gen g = {.n = DEVICES,
                    .port = dc09_receiver_port(r),
                    .open_loop = open_loop,
                    .rate = rate,
                    .seconds = seconds,
                    .seq = seq};
    int rc = gen_run(&g);
    struct dc09_receiver_stats s;
    dc09_receiver_get_stats(r, &s);
    dc09_receiver_free(r);
    memset(out, 0, sizeof *out);
    out->acks = g.acks;
    out->naks = g.naks;
    out->others = g.others;
    out->batches = s.batches;
    out->per_s = (double)g.answers_measured / (double)seconds;
    if (g.n_lat) {
        qsort(g.lat_us, g.n_lat, sizeof *g.lat_us, cmp_i64);
        out->p50_us = g.lat_us[g.n_lat / 2];
        out->p99_us = g.lat_us[g.n_lat * 99 / 100];
        out->max_us = g.lat_us[g.n_lat - 1];
    }
    free(g.lat_us);
    return rc;
}

static void print_figures(const char *name, const struct figures *f, bool latency)
{
    printf("%s_acks_per_s=%.0f\n", name, f->per_s);
    if (latency)
        printf("%s_ack_ms_p50=%.2f\n%s_ack_ms_p99=%.2f\n%s_ack_ms_max=%.2f\n", name,
               (double)f->p50_us / 1e3, name, (double)f->p99_us / 1e3, name,
               (double)f->max_us / 1e3);
    printf("%s_acks=%" PRIu64 " %s_naks=%" PRIu64 " %s_other_answers=%" PRIu64
           " %s_batches=%" PRIu64 "\n",
           name, f->acks, name, f->naks, name, f->others, name, f->batches);
}

struct bench_args {
    const char *dir;
    int64_t sat_s, rate_s;
    double rate;
};

static int parse_args(int argc, char **argv, struct bench_args *a)
{
    const char *tmp = getenv("TMPDIR");
    a->dir = argc > 1 ? argv[1] : tmp && *tmp ? tmp : "/tmp";
    a->sat_s = 10;
    a->rate = 10000;
    a->rate_s = 20;
    int64_t v;
    if (argc > 2 && parse_int64(slice_of(argv[2]), 1, 3600, &a->sat_s))
        return -1;
    if (argc > 3) {
        if (parse_int64(slice_of(argv[3]), 1, 1000000, &v))
            return -1;
        a->rate = (double)v;
    }
    if (argc > 4 && parse_int64(slice_of(argv[4]), 1, 3600, &a->rate_s))
        return -1;
    return 0;
}

/* Room for 1,000 connections at both ends. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4 * DEVICES + 64) {
        rl.rlim_cur = rl.rlim_max < 4 * DEVICES + 64 ? rl.rlim_max : 4 * DEVICES + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int prepare(const char *path, struct store_config *sc)
{
    struct store *st;
    memset(sc, 0, sizeof *sc);
    sc->path = path;
    sc->busy_timeout_ms = 5000;
    sc->node = "bench";
    sc->lease_ms = 10000;
    if (store_open(sc, &st))
        return -1;
    int rc = store_migrate(st, NULL);
    if (!rc)
        rc = add_devices(st, clock_system_ms());
    store_close(st);
    return rc;
}

int main(int argc, char **argv)
{
    struct bench_args a;
    if (parse_args(argc, argv, &a)) {
        fprintf(stderr, "usage: na_dc09_bench [DIR] [SATURATION_SECONDS] [RATE] "
                        "[RATE_SECONDS]\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    raise_fd_limit();
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/na_dc09_bench.XXXXXX", a.dir);
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/bench.db", dir);
    struct store_config sc;
    unsigned *seq = xcalloc(DEVICES, sizeof *seq);
    for (size_t i = 0; i < DEVICES; i++)
        seq[i] = 1;
    struct figures sat, lat, sat0, lat0;
    int rc = prepare(path, &sc);
    printf("devices=%d connections=%d window=%d rate=%.0f saturation_s=%" PRId64 " rate_s=%" PRId64
           " mix=\"70%% NULL, 20%% 1602 test, 5%% 1302 battery, 5%% 3302 "
           "restore\"\n",
           DEVICES, DEVICES, WINDOW, a.rate, a.sat_s, a.rate_s);
    if (!rc)
        rc = measure(&sc, seq, false, 0, a.sat_s, &sat);
    if (!rc)
        rc = measure(&sc, seq, true, a.rate, a.rate_s, &lat);
    if (!rc)
        rc = measure(NULL, seq, false, 0, a.sat_s, &sat0);
    if (!rc)
        rc = measure(NULL, seq, true, a.rate, a.rate_s, &lat0);
    if (rc) {
        fprintf(stderr, "benchmark failed (database in %s)\n", dir);
        free(seq);
        return 1;
    }
    print_figures("stored_saturation", &sat, false);
    print_figures("stored_rate", &lat, true);
    print_figures("nostore_saturation", &sat0, false);
    print_figures("nostore_rate", &lat0, true);
    printf("stored_events=%" PRId64 " stored_acks=%" PRIu64 "\n", count_events(path),
           sat.acks + lat.acks);
    printf("saturation_stored_over_nostore=%.3f\n", sat0.per_s > 0 ? sat.per_s / sat0.per_s : 0);
    printf("p99_stored_over_nostore=%.2f\n",
           lat0.p99_us > 0 ? (double)lat.p99_us / (double)lat0.p99_us : 0);
    free(seq);
    char wal[4300], shm[4300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(path);
    unlink(wal);
    unlink(shm);
    rmdir(dir);
    return 0;
}
