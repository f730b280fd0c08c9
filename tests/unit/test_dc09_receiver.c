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
#include <time.h>
#include <unistd.h>

#include "dc09/frame.h"
#include "dc09/receiver.h"
#include "store/store_devices.h"
#include "util/clock.h"
#include "util/error.h"

#include "store_test_db.h"

#define T0      INT64_C(1795424400000) /* 2026-11-23T09:00:00Z */
#define WAIT_MS 5000

struct fixture {
    struct clock clock;
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

/* A plain message of token t with sequence seq from account 1234. */
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

/*
 * Reads from fd until `want` answers have come (or the peer closed, or WAIT_MS passed),
 * and writes each one's token and sequence into tokens/seqs. Returns the answers read.
 */
static size_t read_answers(int fd, size_t want, enum dc09_token *tokens, unsigned *seqs)
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
                tokens[got] = f.token;
                seqs[got] = f.seq;
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
    enum dc09_token tokens[3];
    unsigned seqs[3];
    assert_int_equal(read_answers(fd, 3, tokens, seqs), 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(tokens[i], DC09_TOKEN_ACK);
        assert_int_equal(seqs[i], i + 1);
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
    enum dc09_token tokens[2];
    unsigned seqs[2];
    assert_int_equal(read_answers(fd, 1, tokens, seqs), 1);
    assert_int_equal(tokens[0], DC09_TOKEN_ACK);
    assert_int_equal(seqs[0], 42);
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
    enum dc09_token tokens[3];
    unsigned seqs[3];
    assert_int_equal(read_answers(fd, 3, tokens, seqs), 3);
    assert_int_equal(tokens[0], DC09_TOKEN_NAK);
    assert_int_equal(tokens[1], DC09_TOKEN_DUH);
    assert_int_equal(seqs[1], 6);
    assert_int_equal(tokens[2], DC09_TOKEN_ACK);
    assert_int_equal(seqs[2], 7);
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
    enum dc09_token tokens[50];
    unsigned seqs[50];
    assert_int_equal(read_answers(fd, 50, tokens, seqs), 50);
    for (unsigned i = 0; i < 50; i++) {
        assert_int_equal(tokens[i], DC09_TOKEN_ACK);
        assert_int_equal(seqs[i], 100 + i);
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
        enum dc09_token tok;
        unsigned seq;
        assert_int_equal(read_answers(fd, 1, &tok, &seq), 1);
        assert_int_equal(tok, DC09_TOKEN_ACK);
        seen |= 1u << (seq - 8);
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
    enum dc09_token tok;
    unsigned seq;
    assert_int_equal(read_answers(b, 1, &tok, &seq), 1);
    assert_int_equal(tok, DC09_TOKEN_ACK);
    /* A place freed is a place taken again. */
    close(a);
    wait_stats(fx, 1, &s);
    assert_int_equal(s.connections, 1);
    int d = tcp_connect(fx);
    send_all(d, buf, n);
    assert_int_equal(read_answers(d, 1, &tok, &seq), 1);
    close(b);
    close(d);
}

/* A silent connection is closed after the idle timeout; a busy one is not. */
static void test_idle_timeout(void **state)
{
    struct fixture *fx = *state;
    fx->cfg.idle_timeout_ms = 100;
    start(fx);
    int fd = tcp_connect(fx);
    int64_t t0 = mono_ms();
    assert_true(closed_by_peer(fd));
    assert_true(mono_ms() - t0 >= 90);
    close(fd);
    struct dc09_receiver_stats s;
    wait_stats(fx, 0, &s);
    assert_int_equal(s.connections, 0);
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
    enum dc09_token tok;
    unsigned seq;
    assert_int_equal(read_answers(fd, 1, &tok, &seq), 1);
    assert_int_equal(tok, DC09_TOKEN_ACK);
    assert_int_equal(seq, 11);
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

/* A frame the database refuses (a trigger aborts its insert) is NAKed alone: the frames
 * of its batch before and after it are stored and ACKed, in order. */
static void test_refused_frame_alone_is_naked(void **state)
{
    struct fixture *fx = *state;
    if (test_db_is_pg())
        skip(); /* the trigger is SQLite's */
    struct test_db db;
    test_db_init(&db, "test_dc09_receiver");
    struct store_config sc = test_db_config(&db, 2000);
    sc.node = "test";
    struct store *st;
    int64_t org, dev;
    assert_int_equal(store_open(&sc, &st), 0);
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
    test_db_exec(&db, "CREATE TRIGGER refuse BEFORE INSERT ON dc09_events WHEN NEW.seq = 13 "
                      "BEGIN SELECT RAISE(ABORT, 'refused'); END");
    fx->cfg.store = &sc;
    start(fx);
    int fd = tcp_connect(fx);
    char buf[4096];
    size_t n = 0;
    for (unsigned seq = 11; seq <= 15; seq++)
        n += frame(DC09_TOKEN_ADM_CID, seq, "1602 00 000", buf + n, sizeof buf - n);
    send_all(fd, buf, n);
    enum dc09_token tokens[5];
    unsigned seqs[5];
    assert_int_equal(read_answers(fd, 5, tokens, seqs), 5);
    const unsigned want_seq[5] = {11, 12, 0, 14, 15};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tokens[i], i == 2 ? DC09_TOKEN_NAK : DC09_TOKEN_ACK);
        assert_int_equal(seqs[i], want_seq[i]);
    }
    close(fd);
    struct dc09_receiver_stats s;
    dc09_receiver_get_stats(fx->r, &s);
    assert_int_equal(s.acks, 4);
    assert_int_equal(s.naks, 1);
    dc09_receiver_free(fx->r);
    fx->r = NULL;
    assert_int_equal(test_db_int(&db, "SELECT COUNT(*) FROM dc09_events"), 4);
    assert_int_equal(test_db_int(&db, "SELECT COUNT(*) FROM dc09_events WHERE seq = 13"), 0);
    test_db_fini(&db);
}

/* Bad settings and an address in use are refused. */
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
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
