/*
 * Tests of the DC-09 receiver's network side (dc09/receiver.h) over real loopback sockets,
 * mostly in the mode without storage (a NULL store: parsed and answered, nothing stored),
 * so that they test framing, ordering, limits and stopping alone; storage is tested end to
 * end by tests/blackbox/test_dc09.py, but for the writer's handling of a frame the database
 * refuses, injected here with a trigger.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dc09/frame.h"
#include "dc09/receiver.h"
#include "dc09/receiver_internal.h"
#include "store/store_devices.h"
#include "util/clock.h"
#include "util/error.h"

#include "store_test_db.h"

#define T0      INT64_C(1795424400000) /* 2026-11-23T09:00:00Z */
#define WAIT_MS 5000

struct fixture {
    struct clock clock;
    struct clock timeouts; /* the receiver's deadlines: moved by hand */
    struct dc09_receiver_config cfg;
    struct dc09_receiver *r;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->clock = clock_simulated(T0);
    dc09_receiver_config_init(&fx->cfg);
    fx->cfg.listen = "127.0.0.1:0";
    fx->cfg.clock = &fx->clock;
    fx->timeouts = clock_simulated(0);
    fx->cfg.timeout_clock = &fx->timeouts;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    dc09_receiver_free(fx->r);
    free(fx);
    return 0;
}

static void start(struct fixture *fx)
{
    assert_int_equal(dc09_receiver_start(&fx->cfg, &fx->r), 0);
    assert_true(dc09_receiver_port(fx->r) > 0);
}

static struct sockaddr_in addr_of(struct fixture *fx)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)dc09_receiver_port(fx->r))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int tcp_connect(struct fixture *fx)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = addr_of(fx);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        p = (const char *)p + w;
        n -= (size_t)w;
    }
}

/* A plain message of token t with sequence seq from account 1234, to receiver 1. */
static size_t frame(enum dc09_token t, unsigned seq, const char *data, char *out, size_t n)
{
    struct dc09_build b = {.token = t,
                           .seq = seq,
                           .receiver = "1",
                           .prefix = "0",
                           .account = "1234",
                           .data = data,
                           .timestamp = true,
                           .now = T0};
    size_t len = 0;
    assert_int_equal(dc09_build(&b, out, n, &len), 0);
    return len;
}

/* The same to receiver 2A with prefix 7 and the CRC as two bytes, as some panels send. */
static size_t frame_binary(unsigned seq, const char *data, char *out, size_t n)
{
    struct dc09_build b = {.token = DC09_TOKEN_ADM_CID,
                           .seq = seq,
                           .receiver = "2A",
                           .prefix = "7",
                           .account = "1234",
                           .data = data,
                           .timestamp = true,
                           .now = T0,
                           .crc_binary = true};
    size_t len = 0;
    assert_int_equal(dc09_build(&b, out, n, &len), 0);
    return len;
}

/* What an answer says. */
struct answer {
    enum dc09_token token;
    unsigned seq;
    char receiver[8], prefix[8]; /* as echoed; "" when none */
    bool crc_binary;
};

static void slice_copy(struct dc09_slice s, char *out, size_t n)
{
    size_t len = s.len < n ? s.len : n - 1;
    if (len)
        memcpy(out, s.p, len);
    out[len] = '\0';
}

/*
 * Reads from fd until `want` answers have come (or the peer closed, or WAIT_MS passed),
 * and writes what each one says into out. Returns the answers read.
 */
static size_t read_answers(int fd, size_t want, struct answer *out)
{
    uint8_t buf[8192];
    size_t len = 0, got = 0;
    int64_t deadline = mono_ms() + WAIT_MS;
    while (got < want) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - mono_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
            break;
        ssize_t r = recv(fd, buf + len, sizeof buf - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        for (;;) {
            struct dc09_span sp;
            dc09_frame_next(buf, len, DC09_FRAME_MAX, &sp);
            if (!sp.len) {
                memmove(buf, buf + sp.skip, len - sp.skip);
                len -= sp.skip;
                break;
            }
            struct dc09_frame f;
            int rc = dc09_frame_parse(buf + sp.skip, sp.len, &f);
            assert_true(rc == DC09_OK || rc == DC09_ETOKEN);
            if (got < want) {
                out[got].token = f.token;
                out[got].seq = f.seq;
                out[got].crc_binary = f.crc_binary;
                slice_copy(f.receiver, out[got].receiver, sizeof out[got].receiver);
                slice_copy(f.prefix, out[got].prefix, sizeof out[got].prefix);
            }
            got++;
            size_t used = sp.skip + sp.len;
            memmove(buf, buf + used, len - used);
            len -= used;
        }
    }
    return got;
}

/* Whether the server closes fd within WAIT_MS (recv gives 0 or a reset). */
static bool closed_by_peer(int fd)
{
    int64_t deadline = mono_ms() + WAIT_MS;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - mono_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
            return false;
        char c;
        ssize_t r = recv(fd, &c, 1, 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
        if (r < 0)
            return false;
    }
}

static void wait_stats(struct fixture *fx, uint64_t connections, struct dc09_receiver_stats *s)
{
    int64_t deadline = mono_ms() + WAIT_MS;
    do {
        dc09_receiver_get_stats(fx->r, s);
        if (s->connections == connections)
            return;
        struct timespec ts = {.tv_nsec = 5000000};
        nanosleep(&ts, NULL);
    } while (mono_ms() < deadline);
}

static void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits until the receiver has swept twice: one whole sweep has seen what came before. */
static void wait_sweeps(struct fixture *fx)
{
    uint64_t from = atomic_load(&fx->r->sweeps);
    int64_t deadline = mono_ms() + WAIT_MS;
    while (atomic_load(&fx->r->sweeps) < from + 2) {
        assert_true(mono_ms() < deadline);
        pause_ms(1);
    }
}

/* Moves the receiver's deadline clock by ms and waits until a sweep has seen it. */
static void advance_timeouts(struct fixture *fx, int64_t ms)
{
    clock_advance(&fx->timeouts, ms);
    wait_sweeps(fx);
}

static uint64_t connections_now(struct fixture *fx)
{
    struct dc09_receiver_stats s;
    dc09_receiver_get_stats(fx->r, &s);
    return s.connections;
}

/* Waits (WAIT_MS at most) until the figure at offset field of the stats reaches want;
 * returns the stats then. */
static struct dc09_receiver_stats wait_figure(struct fixture *fx, size_t field, uint64_t want)
{
    struct dc09_receiver_stats s;
    int64_t deadline = mono_ms() + WAIT_MS;
    for (;;) {
        uint64_t v;
        dc09_receiver_get_stats(fx->r, &s);
        memcpy(&v, (const char *)&s + field, sizeof v);
        if (v >= want || mono_ms() >= deadline)
            return s;
        pause_ms(1);
    }
}
#define FIGURE(name) offsetof(struct dc09_receiver_stats, name)

/* A UDP socket bound to the loopback address host, sending to the receiver. */
static int udp_from(struct fixture *fx, const char *host)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, host, &me.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
    struct sockaddr_in a = addr_of(fx);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void udp_send_frame(int fd, unsigned seq)
{
    char buf[512];
    size_t n = frame(DC09_TOKEN_NULL, seq, "", buf, sizeof buf);
    assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
}

/* A new database with the panel of account 1234; *sc gets a store configuration on it
 * (borrows db) whose busy timeout is busy_ms. */
static void db_with_panel(struct test_db *db, struct store_config *sc, int busy_ms)
{
    struct store *st;
    int64_t org, dev;
    test_db_init(db, "test_dc09_receiver");
    *sc = test_db_config(db, busy_ms);
    sc->node = "test";
    assert_int_equal(store_open(sc, &st), 0);
    assert_int_equal(store_migrate(st, NULL), 0);
    assert_int_equal(store_org_create(st, "Org", true, T0, &org), 0);
    struct device_row d = {.organisation_id = org,
                           .kind = "panel",
                           .identifier = "P1",
                           .dc09_account = "1234",
                           .created_at = T0,
                           .updated_at = T0};
    assert_int_equal(store_device_create(st, &d, &dev), 0);
    store_close(st);
}

/* A second connection to the SQLite database that holds its write lock until COMMIT: the
 * receiver's writer waits for it (or past its busy timeout, fails busy). */
static sqlite3 *db_lock(const struct test_db *db)
{
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open(db->path, &c), SQLITE_OK);
    assert_int_equal(sqlite3_exec(c, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    return c;
}

static void db_unlock(sqlite3 *c)
{
    assert_int_equal(sqlite3_exec(c, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(c);
}

/* ---- tests ---- */

/* Several frames in one segment, garbage before and between them: each answered, in order. */
static void test_several_in_one_segment(void **state)
{
    struct fixture *fx = *state;
    start(fx);
    int fd = tcp_connect(fx);
    char buf[2048];
    size_t n = 0;
    memcpy(buf, "garbage\r\n", 9);
    n = 9;
    n += frame(DC09_TOKEN_NULL, 1, "", buf + n, sizeof buf - n);
    n += frame(DC09_TOKEN_ADM_CID, 2, "1602 00 000", buf + n, sizeof buf - n);
    memcpy(buf + n, "xx", 2);
    n += 2;
    n += frame(DC09_TOKEN_SIA_DCS, 3, "Nri1/RP000", buf + n, sizeof buf - n);
    send_all(fd, buf, n);
    struct answer ans[3];
    assert_int_equal(read_answers(fd, 3, ans), 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(ans[i].token, DC09_TOKEN_ACK);
        assert_int_equal(ans[i].seq, i + 1);
    }
    struct dc09_receiver_stats s;
    dc09_receiver_get_stats(fx->r, &s);
    assert_int_equal(s.frames, 3);
    assert_int_equal(s.acks, 3);
    assert_int_equal(s.connections, 1);
    close(fd);
}

/* A frame sent one byte at a time is answered once, when whole. */
static void test_split_byte_by_byte(void **state)
{
    struct fixture *fx = *state;
    start(fx);
    int fd = tcp_connect(fx);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[512];
    size_t n = frame(DC09_TOKEN_ADM_CID, 42, "1120 01 015", buf, sizeof buf);
    for (size_t i = 0; i < n; i++) {
        send_all(fd, buf + i, 1);
        struct timespec ts = {.tv_nsec = 200000};
        nanosleep(&ts, NULL);
    }
    struct answer ans[2];
    assert_int_equal(read_answers(fd, 1, ans), 1);
    assert_int_equal(ans[0].token, DC09_TOKEN_ACK);
    assert_int_equal(ans[0].seq, 42);
    close(fd);
}

/* A wrong CRC is answered with NAK, an unknown token with DUH; the connection goes on. */
static void test_nak_and_duh(void **state)
{
    struct fixture *fx = *state;
    start(fx);
    int fd = tcp_connect(fx);
    char bad[512], good[512];
    size_t nb = frame(DC09_TOKEN_NULL, 5, "", bad, sizeof bad);
    bad[1] = bad[1] == '0' ? '1' : '0'; /* the CRC's first hex digit */
    send_all(fd, bad, nb);
    /* An unknown token with a right CRC and length. */
    char duh_frame[64];
    const char *body = "\"XYZ\"0006L0#1234[]";
    size_t blen = strlen(body);
    int w = snprintf(duh_frame, sizeof duh_frame, "\n%04X%04zX%s\r",
                     (unsigned)dc09_crc16(body, blen), blen, body);
    assert_true(w > 0 && (size_t)w < sizeof duh_frame);
    send_all(fd, duh_frame, (size_t)w);
    size_t ng = frame(DC09_TOKEN_NULL, 7, "", good, sizeof good);
    send_all(fd, good, ng);
    struct answer ans[3];
    assert_int_equal(read_answers(fd, 3, ans), 3);
    assert_int_equal(ans[0].token, DC09_TOKEN_NAK);
    assert_int_equal(ans[1].token, DC09_TOKEN_DUH);
    assert_int_equal(ans[1].seq, 6);
    assert_int_equal(ans[2].token, DC09_TOKEN_ACK);
    assert_int_equal(ans[2].seq, 7);
    close(fd);
}

/* With one frame in flight at most, a segment of many is still answered whole, in order:
 * reading pauses and the kept frames are framed as answers drain. */
static void test_in_flight_limit(void **state)
{
    struct fixture *fx = *state;
    fx->cfg.max_in_flight = 1;
    start(fx);
    int fd = tcp_connect(fx);
    char buf[16384];
    size_t n = 0;
    for (unsigned i = 0; i < 50; i++)
        n += frame(DC09_TOKEN_ADM_CID, 100 + i, "1602 00 000", buf + n, sizeof buf - n);
    send_all(fd, buf, n);
    struct answer ans[50];
    assert_int_equal(read_answers(fd, 50, ans), 50);
    for (unsigned i = 0; i < 50; i++) {
        assert_int_equal(ans[i].token, DC09_TOKEN_ACK);
        assert_int_equal(ans[i].seq, 100 + i);
    }
    close(fd);
}

/* UDP: every frame of a datagram answered to its sender. */
static void test_udp(void **state)
{
    struct fixture *fx = *state;
    start(fx);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = addr_of(fx);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char buf[1024];
    size_t n = frame(DC09_TOKEN_NULL, 8, "", buf, sizeof buf);
    n += frame(DC09_TOKEN_ADM_CID, 9, "1302 00 000", buf + n, sizeof buf - n);
    assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
    unsigned seen = 0;
    for (int i = 0; i < 2; i++) {
        struct answer ans;
        assert_int_equal(read_answers(fd, 1, &ans), 1);
        assert_int_equal(ans.token, DC09_TOKEN_ACK);
        seen |= 1u << (ans.seq - 8);
    }
    assert_int_equal(seen, 3);
    close(fd);
}

/* Past max_per_source a new connection is closed at once; the others keep working. */
static void test_max_per_source(void **state)
{
    struct fixture *fx = *state;
    fx->cfg.max_per_source = 2;
    start(fx);
    int a = tcp_connect(fx), b = tcp_connect(fx);
    struct dc09_receiver_stats s;
    wait_stats(fx, 2, &s);
    assert_int_equal(s.connections, 2);
    int c = tcp_connect(fx);
    assert_true(closed_by_peer(c));
    close(c);
    char buf[512];
    size_t n = frame(DC09_TOKEN_NULL, 1, "", buf, sizeof buf);
    send_all(b, buf, n);
    struct answer ans;
    assert_int_equal(read_answers(b, 1, &ans), 1);
    assert_int_equal(ans.token, DC09_TOKEN_ACK);
    /* A place freed is a place taken again. */
    close(a);
    wait_stats(fx, 1, &s);
    assert_int_equal(s.connections, 1);
    int d = tcp_connect(fx);
    send_all(d, buf, n);
    assert_int_equal(read_answers(d, 1, &ans), 1);
    close(b);
    close(d);
}

/* A silent connection is closed after the idle timeout; a busy one is not. */
static void test_idle_timeout(void **state)
{
    struct fixture *fx = *state;
    fx->cfg.idle_timeout_ms = 60000;
    start(fx);
    int quiet = tcp_connect(fx), chatty = tcp_connect(fx);
    struct dc09_receiver_stats s;
    wait_stats(fx, 2, &s);
    assert_int_equal(s.connections, 2);
    advance_timeouts(fx, 59999);
    assert_int_equal(connections_now(fx), 2);
    /* Bytes that are no frame do not keep a connection open. */
    send_all(chatty, "noise\r\n", 7);
    wait_sweeps(fx);
    advance_timeouts(fx, 1);
    assert_int_equal(connections_now(fx), 0);
    assert_true(closed_by_peer(quiet));
    assert_true(closed_by_peer(chatty));
    close(quiet);
    close(chatty);
}

/* An oversize frame is skipped; the next frame on the same connection is answered. */
static void test_oversize(void **state)
{
    struct fixture *fx = *state;
    fx->cfg.max_frame = 256;
    start(fx);
    int fd = tcp_connect(fx);
    char big[1024];
    memset(big, 'A', sizeof big);
    memcpy(big, "\nABCD0400\"NULL\"", 15);
    send_all(fd, big, sizeof big);
    char buf[512];
    size_t n = frame(DC09_TOKEN_NULL, 11, "", buf, sizeof buf);
    send_all(fd, buf, n);
    struct answer ans;
    assert_int_equal(read_answers(fd, 1, &ans), 1);
    assert_int_equal(ans.token, DC09_TOKEN_ACK);
    assert_int_equal(ans.seq, 11);
    close(fd);
}

/* Stopping with connections open and frames arriving is clean (the sanitizers watch). */
static void test_stop_while_busy(void **state)
{
    struct fixture *fx = *state;
    start(fx);
    int fds[8];
    char buf[4096];
    size_t n = 0;
    for (unsigned i = 0; i < 20; i++)
        n += frame(DC09_TOKEN_NULL, i, "", buf + n, sizeof buf - n);
    for (int i = 0; i < 8; i++) {
        fds[i] = tcp_connect(fx);
        send_all(fds[i], buf, n);
    }
    dc09_receiver_free(fx->r);
    fx->r = NULL;
    for (int i = 0; i < 8; i++) {
        assert_true(closed_by_peer(fds[i]));
        close(fds[i]);
    }
}

/* A frame the database refuses (a trigger aborts its insert) is NAKed alone, its NAK
 * echoing its receiver, prefix and CRC form: the frames of its batch before and after it
 * are stored and ACKed, in order, in two transactions. */
static void test_refused_frame_alone_is_naked(void **state)
{
    struct fixture *fx = *state;
    if (test_db_is_pg())
        skip(); /* the trigger is SQLite's */
    struct test_db db;
    struct store_config sc;
    db_with_panel(&db, &sc, 2000);
    test_db_exec(&db, "CREATE TRIGGER refuse BEFORE INSERT ON dc09_events WHEN NEW.seq = 13 "
                      "BEGIN SELECT RAISE(ABORT, 'refused'); END");
    fx->cfg.store = &sc;
    start(fx);
    int fd = tcp_connect(fx);
    char buf[4096];
    size_t n = 0;
    for (unsigned seq = 11; seq <= 15; seq++) {
        if (seq == 13)
            n += frame_binary(seq, "1602 00 000", buf + n, sizeof buf - n);
        else
            n += frame(DC09_TOKEN_ADM_CID, seq, "1602 00 000", buf + n, sizeof buf - n);
    }
    /* One segment, so one read and one batch of five. */
    send_all(fd, buf, n);
    struct answer ans[5];
    assert_int_equal(read_answers(fd, 5, ans), 5);
    const unsigned want_seq[5] = {11, 12, 0, 14, 15};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ans[i].token, i == 2 ? DC09_TOKEN_NAK : DC09_TOKEN_ACK);
        assert_int_equal(ans[i].seq, want_seq[i]);
    }
    assert_string_equal(ans[2].receiver, "2A");
    assert_string_equal(ans[2].prefix, "7");
    assert_true(ans[2].crc_binary);
    close(fd);
    struct dc09_receiver_stats s;
    dc09_receiver_get_stats(fx->r, &s);
    assert_int_equal(s.acks, 4);
    assert_int_equal(s.naks, 1);
    /* 11-12 and 14-15: the batch of five was split around 13 (in batches of their own,
     * the four would take four). */
    assert_int_equal(s.batches, 2);
    dc09_receiver_free(fx->r);
    fx->r = NULL;
    assert_int_equal(test_db_int(&db, "SELECT COUNT(*) FROM dc09_events"), 4);
    assert_int_equal(test_db_int(&db, "SELECT COUNT(*) FROM dc09_events WHERE seq = 13"), 0);
    test_db_fini(&db);
}

/* A busy database NAKs every frame of the batch, each NAK echoing its own frame's receiver,
 * prefix and CRC form. */
static void test_busy_naks_echo_each_frame(void **state)
{
    struct fixture *fx = *state;
    if (test_db_is_pg())
        skip(); /* the lock is SQLite's */
    struct test_db db;
    struct store_config sc;
    db_with_panel(&db, &sc, 100);
    sqlite3 *lock = db_lock(&db);
    fx->cfg.store = &sc;
    start(fx);
    int fd = tcp_connect(fx);
    char buf[2048];
    size_t n = frame_binary(41, "1602 00 000", buf, sizeof buf);
    n += frame(DC09_TOKEN_ADM_CID, 42, "1602 00 000", buf + n, sizeof buf - n);
    n += frame_binary(43, "1602 00 000", buf + n, sizeof buf - n);
    send_all(fd, buf, n);
    struct answer ans[3];
    assert_int_equal(read_answers(fd, 3, ans), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ans[i].token, DC09_TOKEN_NAK);
        assert_string_equal(ans[i].receiver, i == 1 ? "1" : "2A");
        assert_string_equal(ans[i].prefix, i == 1 ? "0" : "7");
        assert_int_equal(ans[i].crc_binary, i != 1);
    }
    close(fd);
    dc09_receiver_free(fx->r);
    fx->r = NULL;
    db_unlock(lock);
    assert_int_equal(test_db_int(&db, "SELECT COUNT(*) FROM dc09_events"), 0);
    test_db_fini(&db);
}

/* Sends identical link tests on fd (non-blocking) until the receiver takes no more: no
 * progress for a second, or 4 MiB sent. Returns the frames sent whole. */
static size_t send_until_stuck(int fd)
{
    char one[256], chunk[65536];
    size_t len = frame(DC09_TOKEN_NULL, 1, "", one, sizeof one), n = 0, sent = 0;
    while (n + len <= sizeof chunk) {
        memcpy(chunk + n, one, len);
        n += len;
    }
    size_t off = 0;
    while (sent < (size_t)4 << 20) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, 1000) != 1)
            break;
        ssize_t w = send(fd, chunk + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        assert_true(w > 0);
        sent += (size_t)w;
        off = (off + (size_t)w) % n;
    }
    return sent / len;
}

/* A connection that sends frames and never reads its answers, its receive window small. */
static int connect_never_reading(struct fixture *fx, size_t *frames_sent)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int small = 4096;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    struct sockaddr_in a = addr_of(fx);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    *frames_sent = send_until_stuck(fd);
    return fd;
}

/* The frames read, once they have stopped growing for ten sweeps. */
static uint64_t frames_when_still(struct fixture *fx)
{
    struct dc09_receiver_stats s;
    uint64_t last = UINT64_MAX;
    for (int still = 0; still < 10;) {
        wait_sweeps(fx);
        dc09_receiver_get_stats(fx->r, &s);
        still = s.frames == last ? still + 1 : 0;
        last = s.frames;
    }
    return last;
}

/* A peer that sends and never reads: once its answers have nowhere to go, the receiver
 * stops reading it (what it takes from it stays bounded, however much it sends), serves
 * another connection meanwhile, and closes it when its answers have not gone out for the
 * idle timeout. */
static void test_peer_that_never_reads(void **state)
{
    struct fixture *fx = *state;
    fx->cfg.max_in_flight = 8;
    fx->cfg.idle_timeout_ms = 60000;
    start(fx);
    size_t sent;
    int greedy = connect_never_reading(fx, &sent);
    int other = tcp_connect(fx);
    char buf[256];
    size_t n = frame(DC09_TOKEN_ADM_CID, 7, "1602 00 000", buf, sizeof buf);
    send_all(other, buf, n);
    struct answer ans;
    assert_int_equal(read_answers(other, 1, &ans), 1);
    assert_int_equal(ans.token, DC09_TOKEN_ACK);
    assert_int_equal(ans.seq, 7);
    uint64_t taken = frames_when_still(fx) - 1;
    /* What the kernel's buffers hold of its answers (the receiver's 64 KiB and the peer's
     * small window: about 3,500 here), while it sent far more (about 60,000). */
    assert_true(taken < 10000);
    assert_true(sent > 2 * taken);
    close(other);
    struct dc09_receiver_stats s;
    wait_stats(fx, 1, &s);
    assert_int_equal(s.connections, 1);
    advance_timeouts(fx, 59999);
    assert_int_equal(connections_now(fx), 1);
    advance_timeouts(fx, 1);
    assert_int_equal(connections_now(fx), 0);
    assert_true(closed_by_peer(greedy));
    close(greedy);
}

/* Stopping with a peer that does not read its answers does not wait for it long. */
static void test_stop_with_a_peer_that_never_reads(void **state)
{
    struct fixture *fx = *state;
    fx->cfg.max_in_flight = 8;
    start(fx);
    size_t sent;
    int greedy = connect_never_reading(fx, &sent);
    int64_t t0 = mono_ms();
    dc09_receiver_free(fx->r);
    fx->r = NULL;
    assert_true(mono_ms() - t0 < 3000);
    assert_true(closed_by_peer(greedy));
    close(greedy);
}

/* A transmitter that sends its frames and at once closes its side gets every answer, then
 * the close. */
static void test_answers_flushed_after_eof(void **state)
{
    struct fixture *fx = *state;
    start(fx);
    int fd = tcp_connect(fx);
    char buf[8192];
    size_t n = 0;
    for (unsigned i = 0; i < 30; i++)
        n += frame(DC09_TOKEN_NULL, 200 + i, "", buf + n, sizeof buf - n);
    send_all(fd, buf, n);
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    struct answer ans[30];
    assert_int_equal(read_answers(fd, 30, ans), 30);
    for (unsigned i = 0; i < 30; i++)
        assert_int_equal(ans[i].seq, 200 + i);
    assert_true(closed_by_peer(fd));
    close(fd);
}

/* A frame sent in pieces within the frame timeout is answered, and the next frame's time
 * starts afresh; a frame trickled slower than it closes its connection. */
static void test_partial_frame_deadline(void **state)
{
    struct fixture *fx = *state;
    fx->cfg.idle_timeout_ms = 3600000;
    start(fx);
    int one = 1;
    int fd = tcp_connect(fx);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[512];
    for (unsigned round = 0; round < 2; round++) {
        /* 20 s for each frame, 40 s for both: longer than the 30 s one frame may take. */
        size_t n = frame(DC09_TOKEN_ADM_CID, 21 + round, "1602 00 000", buf, sizeof buf);
        send_all(fd, buf, 10);
        advance_timeouts(fx, 10000);
        send_all(fd, buf + 10, 10);
        advance_timeouts(fx, 10000);
        assert_int_equal(connections_now(fx), 1);
        send_all(fd, buf + 20, n - 20);
        struct answer ans;
        assert_int_equal(read_answers(fd, 1, &ans), 1);
        assert_int_equal(ans.token, DC09_TOKEN_ACK);
        assert_int_equal(ans.seq, 21 + round);
    }
    int slow = tcp_connect(fx);
    setsockopt(slow, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    size_t n = frame(DC09_TOKEN_ADM_CID, 23, "1602 00 000", buf, sizeof buf), closed_at = 0;
    for (size_t i = 0; i + 1 < n && !closed_at; i++) {
        send_all(slow, buf + i, 1);
        advance_timeouts(fx, 5000);
        if (connections_now(fx) == 1)
            closed_at = i + 1;
    }
    assert_true(closed_at >= 6); /* not before 30 s since its first byte */
    assert_true(closed_by_peer(slow));
    close(slow);
    /* The other connection is still served. */
    n = frame(DC09_TOKEN_NULL, 24, "", buf, sizeof buf);
    send_all(fd, buf, n);
    struct answer ans;
    assert_int_equal(read_answers(fd, 1, &ans), 1);
    assert_int_equal(ans.seq, 24);
    close(fd);
}

/*
 * With the writer held up (the database locked) and max_queued 4: UDP frames past the
 * bound are dropped, a TCP connection's frames past it wait in its buffer and so does a
 * new connection's, and a UDP source beyond max_udp_sources is dropped whole. Once the
 * database frees, every TCP frame is answered, in order.
 */
static void test_queue_bound(void **state)
{
    struct fixture *fx = *state;
    if (test_db_is_pg())
        skip(); /* the lock is SQLite's */
    struct test_db db;
    struct store_config sc;
    db_with_panel(&db, &sc, 30000);
    sqlite3 *lock = db_lock(&db);
    fx->cfg.store = &sc;
    fx->cfg.max_queued = 4;
    fx->cfg.max_udp_sources = 1;
    start(fx);
    int u1 = udp_from(fx, "127.0.0.1"), u2 = udp_from(fx, "127.0.0.2");
    udp_send_frame(u1, 1); /* the writer takes it, and waits for the database */
    assert_int_equal(wait_figure(fx, FIGURE(frames), 1).frames, 1);
    udp_send_frame(u2, 2); /* a second UDP source: over max_udp_sources */
    struct dc09_receiver_stats s = wait_figure(fx, FIGURE(dropped), 1);
    assert_int_equal(s.dropped, 1);
    int a = tcp_connect(fx);
    char buf[8192];
    size_t n = 0;
    for (unsigned seq = 11; seq <= 20; seq++)
        n += frame(DC09_TOKEN_ADM_CID, seq, "1602 00 000", buf + n, sizeof buf - n);
    send_all(a, buf, n);
    assert_int_equal(wait_figure(fx, FIGURE(frames), 5).frames, 5); /* 3 of its 10 */
    udp_send_frame(u1, 3);
    assert_int_equal(wait_figure(fx, FIGURE(dropped), 2).dropped, 2);
    int b = tcp_connect(fx);
    n = frame(DC09_TOKEN_ADM_CID, 30, "1602 00 000", buf, sizeof buf);
    send_all(b, buf, n);
    wait_sweeps(fx);
    dc09_receiver_get_stats(fx->r, &s);
    assert_int_equal(s.frames, 6); /* b's frame waits */
    assert_int_equal(s.dropped, 2);
    db_unlock(lock);
    struct answer ans[10];
    assert_int_equal(read_answers(a, 10, ans), 10);
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(ans[i].token, DC09_TOKEN_ACK);
        assert_int_equal(ans[i].seq, 11 + i);
    }
    assert_int_equal(read_answers(b, 1, ans), 1);
    assert_int_equal(ans[0].seq, 30);
    assert_int_equal(read_answers(u1, 1, ans), 1);
    assert_int_equal(ans[0].seq, 1);
    dc09_receiver_free(fx->r);
    fx->r = NULL;
    assert_int_equal(test_db_int(&db, "SELECT COUNT(*) FROM dc09_events"), 12);
    close(a);
    close(b);
    close(u1);
    close(u2);
    test_db_fini(&db);
}

/* Bad settings and an address in use are refused. */
/* SQLite: the writer's commits take no checkpoint of the log; a thread of the receiver's
 * own does, so the log's pages reach the database file without the writer copying them. */
static void test_checkpoints_off_the_writer(void **state)
{
    struct fixture *fx = *state;
    if (test_db_is_pg())
        skip(); /* PostgreSQL has no such log to copy */
    struct test_db db;
    struct store_config sc;
    db_with_panel(&db, &sc, 2000);
    /* Everything so far in the database file, so that only the receiver's events can grow
     * it. */
    test_db_exec(&db, "PRAGMA wal_checkpoint(TRUNCATE)");
    struct stat before;
    assert_int_equal(stat(db.path, &before), 0);
    fx->cfg.store = &sc;
    start(fx);
    int fd = tcp_connect(fx);
    char buf[4096];
    struct answer ans[32];
    for (unsigned seq = 1; seq <= 3000; seq += 32) {
        size_t n = 0;
        for (unsigned i = 0; i < 32; i++)
            n += frame(DC09_TOKEN_ADM_CID, seq + i, "1602 00 000", buf + n, sizeof buf - n);
        send_all(fd, buf, n);
        assert_int_equal(read_answers(fd, 32, ans), 32);
    }
    close(fd);
    /* The writer checkpoints nothing (its automatic checkpoint is off): the file grows by
     * the checkpointer's rounds alone. */
    struct stat after = before;
    for (int64_t until = mono_ms() + WAIT_MS;
         after.st_size <= before.st_size && mono_ms() < until;) {
        struct timespec pause = {0, 50 * 1000000L};
        nanosleep(&pause, NULL);
        assert_int_equal(stat(db.path, &after), 0);
    }
    assert_true(after.st_size > before.st_size);
    dc09_receiver_free(fx->r);
    fx->r = NULL;
    test_db_fini(&db);
}

static void test_bad_config(void **state)
{
    struct fixture *fx = *state;
    struct dc09_receiver *r = NULL;
    struct dc09_receiver_config cfg = fx->cfg;
    cfg.listen = "nowhere";
    assert_int_equal(dc09_receiver_start(&cfg, &r), -NA_EINVAL);
    cfg.listen = "example.org:9009";
    assert_int_equal(dc09_receiver_start(&cfg, &r), -NA_EINVAL);
    cfg.listen = "127.0.0.1:0";
    cfg.batch_max = 0;
    assert_int_equal(dc09_receiver_start(&cfg, &r), -NA_EINVAL);
    start(fx);
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%d", dc09_receiver_port(fx->r));
    cfg = fx->cfg;
    cfg.listen = taken;
    assert_int_equal(dc09_receiver_start(&cfg, &r), -NA_EIO);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_several_in_one_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nak_and_duh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_flight_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_per_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_while_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_frame_alone_is_naked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_naks_echo_each_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_that_never_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_a_peer_that_never_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answers_flushed_after_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_frame_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_off_the_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
