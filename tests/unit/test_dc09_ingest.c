/*
 * Tests of the ingest of DC-09 frames (dc09/ingest.h) on a temporary store: the answers
 * (ACK plain and encrypted, NAK, DUH) and what is stored (the event, the device's contact,
 * supervision, battery and test state, the pending action), repeats; then the watch's
 * device jobs (watch/devices.c) run by hand in a transaction as the scheduler would, and
 * once through a started watch on a simulated clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_test_db.h"

#include <sodium.h>

#include "core/roles.h"
#include "dc09/codes.h"
#include "dc09/frame.h"
#include "dc09/frame_int.h"
#include "dc09/ingest.h"
#include "store/store.h"
#include "store/store_alarms.h"
#include "store/store_devices.h"
#include "util/clock.h"
#include "util/error.h"
#include "watch/watch.h"
#include "watch/watch_internal.h"

#define T0     1795000000000LL /* a whole second: DC-09 times have no milliseconds */
#define SEC    1000LL
#define MIN    (60 * SEC)
#define WINDOW (10 * MIN)

#define KEY_HEX   "000102030405060708090A0B0C0D0E0F"
#define OTHER_HEX "0F0E0D0C0B0A09080706050403020100"

struct fx {
    struct test_db db;
    struct store *st;
    struct store_config scfg;
    struct clock clock;
    struct watch *w;
    struct dc09_codes *codes;
    struct dc09_ingest_config cfg;
    uint8_t key[32], other[32];
    size_t key_len;
    int64_t org, worker, manager, operator;
    int64_t dev;    /* "1234AB": the worker's, supervised every 10 minutes */
    int64_t keyed;  /* "ABCDEF": the worker's, with a key */
    int64_t strict; /* "C0FFEE": a key and encryption required */
    int64_t spare;  /* "F00D": issued to nobody */
};

static int64_t user(struct store *st, int64_t org, const char *name, unsigned roles)
{
    struct user_new u = {
        .organisation_id = org, .username = name, .display_name = name, .roles = roles, .now = T0};
    int64_t id = 0;
    assert_int_equal(store_user_create(st, &u, &id), 0);
    return id;
}

static int64_t device(struct fx *f, const char *ident, const char *account, const char *key,
                      int64_t worker, int64_t supervision_ms)
{
    struct device_row d = {.organisation_id = f->org,
                           .kind = "lone_worker_device",
                           .identifier = (char *)ident,
                           .label = (char *)ident,
                           .worker_id = worker,
                           .dc09_account = (char *)account,
                           .dc09_key = (char *)key,
                           .supervision_ms = supervision_ms,
                           .silent_due_at = supervision_ms ? T0 + supervision_ms : 0,
                           .created_at = T0,
                           .updated_at = T0};
    int64_t id = 0;
    assert_int_equal(store_device_create(f->st, &d, &id), 0);
    return id;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[128];
    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    test_db_init(&f->db, "dc09ingest");
    f->scfg = test_db_config(&f->db, 2000);
    f->scfg.node = "a";
    assert_int_equal(store_open(&f->scfg, &f->st), 0);
    assert_int_equal(store_migrate(f->st, NULL), 0);
    f->clock = clock_simulated(T0);
    struct watch_config wc = {.clock = &f->clock, .store = &f->scfg, .public_url = "http://x"};
    wc.notify.timeout_ms = 1000;
    assert_int_equal(watch_new(&wc, &f->w), 0);
    assert_int_equal(
        dc09_codes_new("{\"contact_id\": {\"1999\": \"position\", \"1998\": \"amber\"}}", &f->codes,
                       err, sizeof err),
        0);
    f->cfg = (struct dc09_ingest_config){
        .codes = f->codes, .repeat_window_ms = WINDOW, .past_ms = 40 * SEC, .future_ms = 20 * SEC};
    assert_int_equal(dc09_key_parse(KEY_HEX, f->key, &f->key_len), 0);
    size_t n = 0;
    assert_int_equal(dc09_key_parse(OTHER_HEX, f->other, &n), 0);

    assert_int_equal(store_org_create(f->st, "org", false, T0, &f->org), 0);
    f->worker = user(f->st, f->org, "worker", ROLE_WORKER);
    f->manager = user(f->st, f->org, "manager", ROLE_MANAGER);
    f->operator= user(f->st, f->org, "operator", ROLE_OPERATOR);
    int64_t team = 0;
    assert_int_equal(store_team_create(f->st, f->org, "crew", f->manager, T0, &team), 0);
    assert_int_equal(store_team_add_member(f->st, f->org, team, f->worker), 0);
    f->dev = device(f, "dev", "1234AB", NULL, f->worker, 10 * MIN);
    f->keyed = device(f, "keyed", "ABCDEF", KEY_HEX, f->worker, 0);
    f->strict = device(f, "strict", "C0FFEE", KEY_HEX, f->worker, 0);
    struct device_row d = {0};
    assert_int_equal(store_device_get(f->st, f->org, f->strict, &d), 0);
    d.dc09_encryption_required = true;
    assert_int_equal(store_device_update(f->st, &d), 0);
    device_row_fini(&d);
    f->spare = device(f, "spare", "F00D", NULL, 0, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    watch_free(f->w);
    dc09_codes_free(f->codes);
    store_close(f->st);
    test_db_fini(&f->db);
    free(f);
    return 0;
}

/* ---- frames ---- */

struct frame {
    char p[DC09_FRAME_MAX];
    size_t len;
};

/* A frame built by dc09_build at `at` (encrypted with key when not NULL). */
static struct frame build(enum dc09_token t, unsigned seq, const char *account, const char *data,
                          const char *xdata, int64_t at, const uint8_t *key)
{
    struct frame fr;
    struct dc09_build b = {.token = t,
                           .seq = seq,
                           .account = account,
                           .data = data,
                           .xdata = xdata,
                           .timestamp = true,
                           .now = at,
                           .key = key,
                           .key_len = 16};
    assert_int_equal(dc09_build(&b, fr.p, sizeof fr.p, &fr.len), 0);
    return fr;
}

static struct frame cid(unsigned seq, const char *account, const char *data)
{
    return build(DC09_TOKEN_ADM_CID, seq, account, data, NULL, T0, NULL);
}

/* The message text (quote to CR, exclusive) framed with its CRC and length. */
static struct frame wrap(const char *text)
{
    struct frame fr;
    size_t n = strlen(text);
    int w = snprintf(fr.p, sizeof fr.p, "\n%04X0%03zX%s\r", dc09_crc16(text, n), n, text);
    assert_true(w > 0 && (size_t)w < sizeof fr.p);
    fr.len = (size_t)w;
    return fr;
}

/* An encrypted ADM-CID message of account whose plain text (pad '|' data ']' ...) is plain,
 * a multiple of 16 long, sealed with key. */
static struct frame sealed(const char *account, const char *plain, const uint8_t *key)
{
    uint8_t out[256];
    char hex[513], text[700];
    size_t n = strlen(plain);
    assert_int_equal(n % 16, 0);
    assert_true(n <= sizeof out);
    assert_int_equal(dc09_aes_cbc(true, key, 16, (const uint8_t *)plain, n, out), 0);
    dc09_hex_upper(out, n, hex);
    hex[2 * n] = '\0';
    snprintf(text, sizeof text, "\"*ADM-CID\"0007L0#%s[%s", account, hex);
    return wrap(text);
}

/* ---- ingest ---- */

static void ingest_at(struct fx *f, const struct frame *fr, bool bad_length, int64_t now,
                      struct dc09_ingest_result *r)
{
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(dc09_ingest(f->st, &f->cfg, (const uint8_t *)fr->p, fr->len, bad_length, "tcp",
                                 "192.0.2.7:4000", now, r),
                     0);
    assert_int_equal(store_commit(f->st), 0);
    assert_true(r->nak_len > 0);
}

static void ingest(struct fx *f, const struct frame *fr, struct dc09_ingest_result *r)
{
    ingest_at(f, fr, false, T0, r);
}

/* The answer r holds, read back as a frame: its token, and into out (may be NULL). */
static enum dc09_token answer(const struct dc09_ingest_result *r, struct dc09_frame *out)
{
    struct dc09_frame a;
    assert_true(r->reply_len > 0);
    assert_int_equal(dc09_frame_parse((const uint8_t *)r->reply, r->reply_len, &a), DC09_OK);
    assert_int_equal(a.token, r->answer);
    if (out)
        *out = a;
    return a.token;
}

static int64_t count(struct fx *f, const char *sql)
{
    return test_db_int(&f->db, sql);
}

static int64_t events(struct fx *f)
{
    return count(f, "SELECT COUNT(*) FROM dc09_events");
}

/* A refusal: answer kind and verdict, and nothing stored. */
static void assert_refused(struct fx *f, const struct dc09_ingest_result *r, enum dc09_token kind,
                           int verdict)
{
    assert_int_equal(r->answer, kind);
    assert_int_equal(r->verdict, verdict);
    assert_int_equal(r->event_id, 0);
    assert_int_equal(r->device_id, 0);
    assert_int_equal(events(f), 0);
    if (kind == DC09_TOKEN_NAK) {
        assert_int_equal(r->reply_len, r->nak_len);
        assert_memory_equal(r->reply, r->nak, r->nak_len);
    }
    answer(r, NULL);
}

static void get_event(struct fx *f, int64_t org, int64_t id, struct dc09_event_row *e)
{
    assert_int_equal(store_dc09_event_get(f->st, org, id, e), 0);
}

static void get_device(struct fx *f, int64_t id, struct device_row *d)
{
    assert_int_equal(store_device_get(f->st, f->org, id, d), 0);
}

/* A plain message: ACK echoing it, the event with every field, the device in contact. */
static void test_plain_ack(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct frame fr = build(DC09_TOKEN_SIA_DCS, 42, "1234ab", "Nri1/PA501",
                            "[XE12.5][YN55.25][Isite one]", T0 - 3 * SEC, NULL);
    ingest_at(f, &fr, false, T0 + 250, &r);
    struct dc09_frame a;
    assert_int_equal(answer(&r, &a), DC09_TOKEN_ACK);
    assert_int_equal(r.verdict, DC09_OK);
    assert_false(a.encrypted);
    assert_int_equal(a.seq, 42);
    assert_memory_equal(a.account.p, "1234ab", 6);
    assert_false(r.repeat);
    assert_true(r.event_id > 0);
    assert_int_equal(r.device_id, f->dev);
    assert_int_equal(r.pending_at, T0 + 250); /* a panic */
    assert_int_equal(r.silent_due_at, T0 + 250 + 10 * MIN);

    struct dc09_event_row e = {0};
    get_event(f, f->org, r.event_id, &e);
    assert_int_equal(e.device_id, f->dev);
    assert_int_equal(e.worker_id, f->worker);
    assert_string_equal(e.account, "1234AB");
    assert_null(e.receiver);
    assert_string_equal(e.prefix, "0");
    assert_string_equal(e.token, "SIA-DCS");
    assert_false(e.encrypted);
    assert_int_equal(e.seq, 42);
    assert_int_equal(strlen(e.digest), 64);
    assert_string_equal(e.code, "PA");
    assert_string_equal(e.zone, "501");
    assert_string_equal(e.action, "red");
    assert_string_equal(e.label, "Panic alarm");
    assert_string_equal(e.data, "Nri1/PA501");
    assert_true(e.has_position);
    assert_true(e.latitude == 55.25 && e.longitude == 12.5);
    assert_int_equal(e.sent_at, T0 - 3 * SEC); /* kept, not checked */
    assert_string_equal(e.extra, "{\"I\":\"site one\"}");
    assert_string_equal(e.transport, "tcp");
    assert_string_equal(e.peer, "192.0.2.7:4000");
    assert_int_equal(e.received_at, T0 + 250);
    assert_int_equal(e.pending_at, T0 + 250);
    dc09_event_row_fini(&e);

    struct device_row d = {0};
    get_device(f, f->dev, &d);
    assert_int_equal(d.last_contact_at, T0 + 250);
    assert_int_equal(d.silent_due_at, T0 + 250 + 10 * MIN);
    assert_int_equal(d.last_test_at, 0);
    device_row_fini(&d);

    /* A plain message without any timestamp is taken too. */
    fr = wrap("\"ADM-CID\"0043L0#1234AB[1602 00 000]");
    ingest(f, &fr, &r);
    assert_int_equal(answer(&r, NULL), DC09_TOKEN_ACK);
    get_event(f, f->org, r.event_id, &e);
    assert_int_equal(e.sent_at, 0);
    assert_null(e.extra);
    assert_false(e.has_position);
    dc09_event_row_fini(&e);
}

/* An encrypted message opens with the account's key and is answered with an encrypted ACK
 * that carries the receiver's time. */
static void test_encrypted_ack(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct frame fr = build(DC09_TOKEN_ADM_CID, 7, "ABCDEF", "1120 01 015",
                            "[H12:00:00,11-18-2026]", T0 - 30 * SEC, f->key);
    ingest(f, &fr, &r);
    struct dc09_frame a;
    assert_int_equal(answer(&r, &a), DC09_TOKEN_ACK);
    assert_true(a.encrypted);
    struct dc09_payload pl;
    assert_int_equal(dc09_payload_decrypt(&a, f->key, f->key_len, &pl), DC09_OK);
    assert_int_equal(pl.timestamp_ms, T0);
    struct dc09_event_row e = {0};
    get_event(f, f->org, r.event_id, &e);
    assert_true(e.encrypted);
    assert_string_equal(e.data, "1120 01 015");
    assert_string_equal(e.code, "1120");
    assert_string_equal(e.zone, "015");
    assert_string_equal(e.action, "red");
    assert_int_equal(e.sent_at, T0 - 30 * SEC);
    assert_int_equal(e.event_at, 1795003200000LL); /* 2026-11-18T12:00:00Z */
    dc09_event_row_fini(&e);
    /* At the window's edges: 40 s back, 20 s ahead. */
    fr = build(DC09_TOKEN_ADM_CID, 8, "ABCDEF", "1602 00 000", NULL, T0 - 40 * SEC, f->key);
    ingest(f, &fr, &r);
    assert_int_equal(r.answer, DC09_TOKEN_ACK);
    fr = build(DC09_TOKEN_ADM_CID, 9, "ABCDEF", "1602 00 000", NULL, T0 + 20 * SEC, f->key);
    ingest(f, &fr, &r);
    assert_int_equal(r.answer, DC09_TOKEN_ACK);
}

/* Encrypted and stale, early, without timestamp or under another key: NAK, nothing kept. */
static void test_encrypted_nak(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct frame fr =
        build(DC09_TOKEN_ADM_CID, 7, "ABCDEF", "1120 01 015", NULL, T0 - 41 * SEC, f->key);
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_NAK, DC09_ETIMESTAMP);
    struct dc09_frame a;
    answer(&r, &a);
    assert_true(a.has_timestamp);
    assert_int_equal(a.timestamp_ms, T0); /* the receiver's time */
    fr = build(DC09_TOKEN_ADM_CID, 7, "ABCDEF", "1120 01 015", NULL, T0 + 21 * SEC, f->key);
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_NAK, DC09_ETIMESTAMP);
    /* "|1120 01 015]" padded to 16, no timestamp. */
    fr = sealed("ABCDEF", "abc|1120 01 015]", f->key);
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_NAK, DC09_ETIMESTAMP);
    fr = build(DC09_TOKEN_ADM_CID, 7, "ABCDEF", "1120 01 015", NULL, T0, f->other);
    ingest(f, &fr, &r);
    assert_int_equal(r.answer, DC09_TOKEN_NAK);
    assert_true(r.verdict == DC09_EDECRYPT || r.verdict == DC09_EFORMAT);
    assert_int_equal(events(f), 0);
}

/* An unknown token, an encrypted message without a key (or without a device), and a plain
 * one where encryption is required: DUH, echoing the account. */
static void test_duh(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct dc09_frame a;
    struct frame fr = wrap("\"XYZ-ABC\"0001L0#1234AB[1602 00 000]");
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_DUH, DC09_ETOKEN);
    answer(&r, &a);
    assert_memory_equal(a.account.p, "1234AB", 6);
    fr = build(DC09_TOKEN_ADM_CID, 2, "1234AB", "1120 01 015", NULL, T0, f->key);
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_DUH, DC09_EDECRYPT);
    fr = build(DC09_TOKEN_ADM_CID, 2, "999999", "1120 01 015", NULL, T0, f->key);
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_DUH, DC09_EDECRYPT);
    fr = cid(3, "C0FFEE", "1120 01 015");
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_DUH, DC09_ETOKEN);
    /* Encrypted, the same account is taken. */
    fr = build(DC09_TOKEN_ADM_CID, 3, "C0FFEE", "1120 01 015", NULL, T0, f->key);
    ingest(f, &fr, &r);
    assert_int_equal(r.answer, DC09_TOKEN_ACK);
}

/* A wrong CRC, length or field: NAK. */
static void test_nak_frame(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct frame fr = cid(1, "1234AB", "1602 00 000");
    fr.p[1] = fr.p[1] == '0' ? '1' : '0';
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_NAK, DC09_ECRC);
    fr = cid(1, "1234AB", "1602 00 000");
    fr.p[8] = fr.p[8] == '0' ? '1' : '0'; /* the length's last digit */
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_NAK, DC09_ELENGTH);
    fr = cid(1, "1234AB", "1602 00 000");
    ingest_at(f, &fr, true, T0, &r); /* as the stream's reader found it */
    assert_refused(f, &r, DC09_TOKEN_NAK, DC09_ELENGTH);
    fr = wrap("\"ADM-CID\"0001L0#1234AB[1602 00 00x]");
    ingest(f, &fr, &r);
    assert_refused(f, &r, DC09_TOKEN_NAK, DC09_EFORMAT);
}

/* The same sequence and content within the window: acknowledged, stored once, the device
 * untouched; other content, or past the window: a new event. */
static void test_repeat(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct frame fr = build(DC09_TOKEN_ADM_CID, 5, "1234AB", "1602 00 000", NULL, T0, NULL);
    ingest(f, &fr, &r);
    int64_t first = r.event_id;
    /* The transmitter's retry: a new timestamp, the same message. */
    fr = build(DC09_TOKEN_ADM_CID, 5, "1234AB", "1602 00 000", NULL, T0 + 5 * SEC, NULL);
    ingest_at(f, &fr, false, T0 + 5 * SEC, &r);
    assert_int_equal(answer(&r, NULL), DC09_TOKEN_ACK);
    assert_true(r.repeat);
    assert_int_equal(r.event_id, 0);
    assert_int_equal(r.pending_at, 0);
    assert_int_equal(events(f), 1);
    /* The device is sending: in contact, its check moved; its test date stays the
     * message's first arrival. */
    assert_int_equal(r.device_id, f->dev);
    assert_int_equal(r.silent_due_at, T0 + 5 * SEC + 10 * MIN);
    struct device_row d = {0};
    get_device(f, f->dev, &d);
    assert_int_equal(d.last_contact_at, T0 + 5 * SEC);
    assert_int_equal(d.silent_due_at, T0 + 5 * SEC + 10 * MIN);
    assert_int_equal(d.last_test_at, T0);
    device_row_fini(&d);
    fr = build(DC09_TOKEN_ADM_CID, 5, "1234AB", "1602 00 001", NULL, T0, NULL);
    ingest_at(f, &fr, false, T0 + 6 * SEC, &r);
    assert_false(r.repeat);
    assert_true(r.event_id > first);
    assert_int_equal(events(f), 2);
    fr = build(DC09_TOKEN_ADM_CID, 5, "1234AB", "1602 00 000", NULL, T0 + WINDOW + SEC, NULL);
    ingest_at(f, &fr, false, T0 + WINDOW + SEC, &r);
    assert_false(r.repeat);
    assert_int_equal(events(f), 3);
    /* Two in one transaction: the second finds the first. */
    struct dc09_ingest_result r2;
    fr = cid(6, "1234AB", "1602 00 000");
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(dc09_ingest(f->st, &f->cfg, (const uint8_t *)fr.p, fr.len, false, "udp", NULL,
                                 T0 + WINDOW + SEC, &r),
                     0);
    assert_int_equal(dc09_ingest(f->st, &f->cfg, (const uint8_t *)fr.p, fr.len, false, "udp", NULL,
                                 T0 + WINDOW + SEC, &r2),
                     0);
    assert_int_equal(store_commit(f->st), 0);
    assert_false(r.repeat);
    assert_true(r2.repeat);
    assert_int_equal(events(f), 4);
}

/* An account no device has: stored for nobody; pending only when a panic or duress must
 * still reach someone. */
static void test_unassigned(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct frame fr = cid(1, "777777", "1120 01 015");
    ingest(f, &fr, &r);
    assert_int_equal(answer(&r, NULL), DC09_TOKEN_ACK);
    assert_int_equal(r.device_id, 0);
    assert_int_equal(r.pending_at, T0);
    struct dc09_event_row e = {0};
    get_event(f, 0, r.event_id, &e);
    assert_int_equal(e.organisation_id, 0);
    assert_int_equal(e.device_id, 0);
    assert_int_equal(e.worker_id, 0);
    assert_string_equal(e.action, "red");
    assert_int_equal(e.pending_at, T0);
    dc09_event_row_fini(&e);
    assert_int_equal(store_dc09_event_get(f->st, f->org, r.event_id, &e), -NA_ENOTFOUND);
    fr = cid(2, "777777", "1121 01 015");
    ingest(f, &fr, &r);
    assert_int_equal(r.pending_at, T0);
    static const char *const quiet[] = {"1601 01 000", "1602 00 000", "1302 01 000", "1998 01 000"};
    for (unsigned i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        fr = cid(3 + i, "777777", quiet[i]);
        ingest(f, &fr, &r);
        assert_int_equal(r.answer, DC09_TOKEN_ACK);
        assert_int_equal(r.pending_at, 0);
    }
}

/* New events of unknown accounts at most at the bucket's pace: beyond it DUH and nothing
 * stored; repeats of stored ones and devices' events are not held back. */
static void test_unassigned_limit(void **state)
{
    struct fx *f = *state;
    struct dc09_bucket bucket;
    dc09_bucket_init(&bucket, 1, 2);
    f->cfg.unassigned = &bucket;
    struct dc09_ingest_result r;
    struct frame fr;
    for (unsigned seq = 1; seq <= 2; seq++) {
        fr = cid(seq, "777777", "1602 00 000");
        ingest(f, &fr, &r);
        assert_int_equal(answer(&r, NULL), DC09_TOKEN_ACK);
    }
    fr = cid(3, "888888", "1120 01 015");
    ingest(f, &fr, &r);
    assert_int_equal(answer(&r, NULL), DC09_TOKEN_DUH);
    assert_int_equal(r.verdict, DC09_ELIMIT);
    assert_int_equal(r.event_id, 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dc09_events"), 2);
    /* A repeat of a stored one is acknowledged; the device's own events go on. */
    fr = cid(2, "777777", "1602 00 000");
    ingest(f, &fr, &r);
    assert_int_equal(answer(&r, NULL), DC09_TOKEN_ACK);
    assert_true(r.repeat);
    fr = cid(4, "1234AB", "1602 00 000");
    ingest(f, &fr, &r);
    assert_int_equal(answer(&r, NULL), DC09_TOKEN_ACK);
    /* A second later, one more token. */
    fr = cid(3, "888888", "1120 01 015");
    ingest_at(f, &fr, false, T0 + 1000, &r);
    assert_int_equal(answer(&r, NULL), DC09_TOKEN_ACK);
    fr = cid(5, "888888", "1602 00 000");
    ingest_at(f, &fr, false, T0 + 1000, &r);
    assert_int_equal(answer(&r, NULL), DC09_TOKEN_DUH);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dc09_events"), 4);
}

/* Answers sent to the receiver (ACK, NAK, DUH) are no messages: DUH, nothing stored. */
static void test_answer_tokens_refused(void **state)
{
    struct fx *f = *state;
    struct frame msg = cid(12, "1234AB", "1602 00 000");
    struct dc09_frame m;
    assert_int_equal(dc09_frame_parse((const uint8_t *)msg.p, msg.len, &m), DC09_OK);
    struct frame answers[3];
    assert_int_equal(dc09_answer_ack(&m, NULL, 0, T0, NULL, answers[0].p, &answers[0].len), 0);
    assert_int_equal(dc09_answer_nak(&m, T0, answers[1].p, &answers[1].len), 0);
    assert_int_equal(dc09_answer_duh(&m, answers[2].p, &answers[2].len), 0);
    static const enum dc09_token kinds[] = {DC09_TOKEN_ACK, DC09_TOKEN_NAK, DC09_TOKEN_DUH};
    for (unsigned i = 0; i < 3; i++) {
        struct dc09_ingest_result r;
        struct dc09_frame sent;
        assert_int_equal(dc09_frame_parse((const uint8_t *)answers[i].p, answers[i].len, &sent),
                         DC09_OK);
        assert_int_equal(sent.token, kinds[i]); /* a frame the parser takes */
        ingest(f, &answers[i], &r);
        assert_refused(f, &r, DC09_TOKEN_DUH, DC09_ETOKEN);
        assert_false(r.repeat);
    }
    struct device_row d = {0};
    get_device(f, f->dev, &d);
    assert_int_equal(d.last_contact_at, 0); /* no contact either */
    device_row_fini(&d);
}

/* The one hex check and upper-casing copy the API, the CLI and the builder share. */
static void test_hex_helpers(void **state)
{
    (void)state;
    assert_true(dc09_account_ok("1aB", 3));
    assert_true(dc09_account_ok("0123456789abcdef", 16));
    assert_false(dc09_account_ok("12", 2));
    assert_false(dc09_account_ok("0123456789abcdef0", 17));
    assert_false(dc09_account_ok("12G4", 4));
    assert_false(dc09_account_ok("12 4", 4));
    assert_true(dc09_account_ok("1234X", 4)); /* only the slice counts */
    assert_true(dc09_hex_ok("F", 1, 1, 6));
    assert_false(dc09_hex_ok("", 0, 1, 6));
    assert_false(dc09_hex_ok("1234567", 7, 1, 6));
    char out[8] = "zzzzzzz";
    dc09_upper("a1f-z", 5, out);
    assert_memory_equal(out, "A1F-Zzz", 7);
    char in_place[] = "abc0ef";
    dc09_upper(in_place, 6, in_place);
    assert_string_equal(in_place, "ABC0EF");
}

/* The pending action of each kind of event: only what the watch must act on. */
static void test_pending_per_action(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *data;
        bool pending;
    } cases[] = {
        {"1120 01 015", true},  /* red */
        {"1121 01 015", true},  /* duress */
        {"1601 01 000", true},  /* test */
        {"1998 01 000", true},  /* amber (configured) */
        {"1999 01 000", true},  /* position (configured) */
        {"1302 01 000", true},  /* battery low, the first */
        {"1302 01 001", false}, /* still low */
        {"3302 01 000", false}, /* battery ok */
        {"1302 01 002", true},  /* low again: a new spell */
        {"1602 00 000", false}, /* link */
        {"3120 01 015", false}, /* restore */
        {"1400 01 000", false}, /* record (unknown code) */
    };
    struct dc09_ingest_result r;
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct frame fr = cid(100 + i, "1234AB", cases[i].data);
        ingest_at(f, &fr, false, T0 + i, &r);
        assert_int_equal(r.answer, DC09_TOKEN_ACK);
        assert_int_equal(r.pending_at, cases[i].pending ? T0 + i : 0);
    }
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dc09_events WHERE pending_at IS NOT NULL"), 7);
    /* A device issued to nobody: still pending (the job marks it applied). */
    struct frame fr = cid(1, "F00D", "1120 01 015");
    ingest(f, &fr, &r);
    assert_int_equal(r.pending_at, T0);
}

/* The device's test, battery and supervision state follow its messages. */
static void test_device_state(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct device_row d = {0};
    struct frame fr = cid(1, "1234AB", "1602 00 000");
    ingest_at(f, &fr, false, T0 + 1, &r);
    fr = cid(2, "1234AB", "1302 01 000");
    ingest_at(f, &fr, false, T0 + 2, &r);
    get_device(f, f->dev, &d);
    assert_int_equal(d.last_contact_at, T0 + 2);
    assert_int_equal(d.last_test_at, T0 + 1);
    assert_true(d.battery_low);
    assert_int_equal(d.battery_at, T0 + 2);
    assert_int_equal(d.silent_due_at, T0 + 2 + 10 * MIN);
    device_row_fini(&d);
    fr = cid(3, "1234AB", "3302 01 000");
    ingest_at(f, &fr, false, T0 + 3, &r);
    fr = cid(4, "1234AB", "1601 01 000");
    ingest_at(f, &fr, false, T0 + 4, &r);
    get_device(f, f->dev, &d);
    assert_false(d.battery_low);
    assert_int_equal(d.battery_at, T0 + 3);
    assert_int_equal(d.last_test_at, T0 + 4);
    device_row_fini(&d);
    /* Unsupervised: no check; lost: every event pending, no check until the job. */
    fr = build(DC09_TOKEN_ADM_CID, 1, "ABCDEF", "1602 00 000", NULL, T0, f->key);
    ingest(f, &fr, &r);
    assert_int_equal(r.device_id, f->keyed);
    assert_int_equal(r.silent_due_at, 0);
    test_db_exec(&f->db, "UPDATE devices SET lost_at = 1, silent_due_at = NULL");
    fr = cid(5, "1234AB", "1602 00 000");
    ingest_at(f, &fr, false, T0 + 5, &r);
    assert_int_equal(r.pending_at, T0 + 5);
    assert_int_equal(r.silent_due_at, 0);
    get_device(f, f->dev, &d);
    assert_int_equal(d.silent_due_at, 0);
    assert_int_equal(d.last_contact_at, T0 + 5);
    assert_int_equal(d.lost_at, 1);
    device_row_fini(&d);
}

/* ---- the watch's jobs ---- */

/* Runs a device job in a transaction of its own, as the scheduler does; *next (may be
 * NULL) gets the job it asks for. */
static void run_job(struct fx *f, int kind, int64_t id, int64_t now, struct sched_job *next)
{
    struct sched_job got;
    struct id_list outbox = {0};
    assert_int_equal(store_begin(f->st), 0);
    int rc = kind == JOB_DC09 ? device_job_dc09(f->w, f->st, id, now, &got, &outbox)
                              : device_job_silent(f->w, f->st, id, now, &got, &outbox);
    assert_int_equal(rc, 0);
    assert_int_equal(store_commit(f->st), 0);
    id_list_fini(&outbox);
    if (next)
        *next = got;
}

/* Ingests data of account at now and applies its action; the event's id. */
static int64_t event_applied(struct fx *f, unsigned seq, const char *account, const char *data,
                             const char *xdata, int64_t now)
{
    struct dc09_ingest_result r;
    struct frame fr = build(DC09_TOKEN_ADM_CID, seq, account, data, xdata, now, NULL);
    ingest_at(f, &fr, false, now, &r);
    assert_int_equal(r.answer, DC09_TOKEN_ACK);
    assert_true(r.pending_at > 0);
    run_job(f, JOB_DC09, r.event_id, now + 10, NULL);
    struct dc09_event_row e = {0};
    get_event(f, f->org, r.event_id, &e);
    assert_int_equal(e.pending_at, 0);
    assert_int_equal(e.applied_at, now + 10);
    dc09_event_row_fini(&e);
    return r.event_id;
}

static void get_alarm(struct fx *f, int64_t id, struct alarm_row *a)
{
    assert_int_equal(store_alarm_get(f->st, f->org, id, a), 0);
}

static int64_t event_alarm_id(struct fx *f, int64_t event_id)
{
    struct dc09_event_row e = {0};
    get_event(f, f->org, event_id, &e);
    int64_t id = e.alarm_id;
    dc09_event_row_fini(&e);
    return id;
}

/* Outbox rows of event for user. */
static int64_t told(struct fx *f, const char *event, int64_t user_id)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM outbox WHERE event = '%s' AND user_id = %lld",
             event, (long long)user_id);
    return count(f, sql);
}

/* A panic opens one red alarm for the worker, however often the job runs. */
static void test_job_red(void **state)
{
    struct fx *f = *state;
    int64_t ev = event_applied(f, 1, "1234AB", "1120 01 015", "[XW1.5][YS2.25]", T0);
    int64_t alarm = event_alarm_id(f, ev);
    assert_true(alarm > 0);
    struct alarm_row a = {0};
    get_alarm(f, alarm, &a);
    assert_int_equal(a.worker_id, f->worker);
    assert_int_equal(a.clock.kind, ALARM_RED);
    assert_int_equal(a.clock.state, ALARM_OPEN);
    assert_false(a.clock.duress);
    assert_string_equal(a.source, "dc09");
    struct dc09_event_row e = {0};
    get_event(f, f->org, ev, &e);
    char want[80];
    snprintf(want, sizeof want, "dc09/1234AB/1/%.16s/%lld", e.digest,
             (long long)(T0 / (10 * 60 * INT64_C(1000))));
    dc09_event_row_fini(&e);
    assert_string_equal(a.alert_id, want);
    assert_string_equal(a.message, "Panic alarm zone 015");
    assert_true(a.position.known);
    assert_true(a.position.latitude == -2.25 && a.position.longitude == -1.5);
    assert_int_equal(a.position.at, T0);
    alarm_row_fini(&a);
    /* Run again (the event made pending once more): still one alarm. */
    test_db_exec(&f->db, "UPDATE dc09_events SET pending_at = 1");
    run_job(f, JOB_DC09, ev, T0 + 20, NULL);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 1);
    assert_int_equal(event_alarm_id(f, ev), alarm);
    /* Applied: a stale job does nothing. */
    run_job(f, JOB_DC09, ev, T0 + 30, NULL);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 1);
    /* Not due yet: the job asks to come back. */
    struct dc09_ingest_result r;
    struct frame fr = cid(2, "1234AB", "1120 01 015");
    ingest_at(f, &fr, false, T0 + 100, &r);
    struct sched_job next;
    run_job(f, JOB_DC09, r.event_id, T0 + 99, &next);
    assert_int_equal(next.kind, JOB_DC09);
    assert_int_equal(next.id, r.event_id);
    assert_int_equal(next.due_at, T0 + 100);
}

/* Duress: a silent alarm; a test: closed at once, the device's test date moved. */
static void test_job_duress_and_test(void **state)
{
    struct fx *f = *state;
    struct alarm_row a = {0};
    int64_t ev = event_applied(f, 1, "1234AB", "1121 01 015", NULL, T0);
    get_alarm(f, event_alarm_id(f, ev), &a);
    assert_int_equal(a.clock.kind, ALARM_DURESS);
    assert_true(a.clock.duress);
    alarm_row_fini(&a);
    ev = event_applied(f, 2, "1234AB", "1601 01 000", NULL, T0 + MIN);
    get_alarm(f, event_alarm_id(f, ev), &a);
    assert_int_equal(a.clock.kind, ALARM_TEST);
    assert_int_equal(a.clock.state, ALARM_CLOSED);
    alarm_row_fini(&a);
    struct alert_profile p = {0};
    assert_int_equal(store_alert_profile_get(f->st, f->org, f->worker, &p), 0);
    assert_int_equal(p.device_tested_at, T0 + MIN + 10);
    alert_profile_fini(&p);
    /* A device issued to nobody: applied, nothing opened. */
    struct dc09_ingest_result r;
    struct frame fr = cid(3, "F00D", "1120 01 015");
    ingest(f, &fr, &r);
    run_job(f, JOB_DC09, r.event_id, T0 + 2 * MIN, NULL);
    assert_int_equal(event_alarm_id(f, r.event_id), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dc09_events WHERE pending_at IS NOT NULL"), 0);
}

/* Amber: an amber alert without deadline; position: the trail, only with consent; low
 * battery: the worker and their line manager told. */
static void test_job_amber_position_battery(void **state)
{
    struct fx *f = *state;
    event_applied(f, 1, "1234AB", "1998 01 000", "[XE3.5][YN50.5]", T0);
    struct amber_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_amber_list(f->st, f->org, f->worker, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].status, "Code 1998"); /* the label */
    assert_int_equal(rows[0].state, AMBER_KEPT);
    assert_int_equal(rows[0].deadline_at, 0);
    assert_true(rows[0].position.known);
    amber_rows_free(rows, n);
    int64_t trail = count(f, "SELECT COUNT(*) FROM positions");
    assert_int_equal(trail, 1); /* the amber alert's own */

    event_applied(f, 2, "1234AB", "1999 01 000", "[XE3.5][YN50.5]", T0 + 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM positions"), trail);
    struct alert_profile p = {.user_id = f->worker, .organisation_id = f->org};
    p.battery_pct = -1;
    p.location_consent = true;
    assert_int_equal(store_alert_profile_put(f->st, &p), 0);
    event_applied(f, 3, "1234AB", "1999 01 000", "[XE3.5][YN50.75]", T0 + 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM positions WHERE source = 'dc09' "
                              "AND latitude = 50.75"),
                     1);

    event_applied(f, 4, "1234AB", "1302 01 000", NULL, T0 + 3);
    assert_int_equal(told(f, "device.low_battery", f->worker), 1);
    assert_int_equal(told(f, "device.low_battery", f->manager), 1);
    assert_int_equal(told(f, "device.low_battery", f->operator), 0);
}

/* Silent past its interval: lost, the line manager told, the alarm opened; heard again:
 * back, told, the alarm closed, supervised again. */
static void test_job_silent_and_back(void **state)
{
    struct fx *f = *state;
    struct device_row d = {0};
    struct sched_job next;
    get_device(f, f->dev, &d);
    d.supervision_alarm = true;
    assert_int_equal(store_device_update(f->st, &d), 0);
    device_row_fini(&d);
    struct dc09_ingest_result r;
    struct frame fr = cid(1, "1234AB", "1602 00 000");
    ingest_at(f, &fr, false, T0 + MIN, &r);
    /* The job scheduled for the old date finds the device heard since. */
    run_job(f, JOB_SILENT, f->dev, T0 + 10 * MIN, &next);
    assert_int_equal(next.kind, JOB_SILENT);
    assert_int_equal(next.due_at, T0 + 11 * MIN);
    assert_int_equal(told(f, "device.signal_lost", f->manager), 0);

    run_job(f, JOB_SILENT, f->dev, T0 + 11 * MIN, &next);
    get_device(f, f->dev, &d);
    assert_int_equal(d.lost_at, T0 + 11 * MIN);
    assert_int_equal(d.silent_due_at, 0);
    int64_t alarm = d.lost_alarm_id;
    assert_true(alarm > 0);
    device_row_fini(&d);
    assert_int_equal(told(f, "device.signal_lost", f->manager), 1);
    assert_int_equal(told(f, "device.signal_lost", f->worker), 0);
    struct alarm_row a = {0};
    get_alarm(f, alarm, &a);
    assert_int_equal(a.clock.kind, ALARM_OVERDUE);
    assert_string_equal(a.message, "loss of signal");
    assert_string_equal(a.source, "dc09");
    assert_int_equal(next.kind, JOB_ALARM);
    assert_int_equal(next.due_at, a.clock.renotify_at);
    alarm_row_fini(&a);
    /* Its notices say what happened: a silent device, not a missed check-in. */
    assert_true(count(f, "SELECT COUNT(*) FROM outbox WHERE event = 'alarm.notify' AND "
                         "subject LIKE 'LOSS OF SIGNAL:%device has gone silent'") > 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE subject LIKE 'OVERDUE:%'"), 0);
    /* Lost: told once. */
    run_job(f, JOB_SILENT, f->dev, T0 + 30 * MIN, NULL);
    assert_int_equal(told(f, "device.signal_lost", f->manager), 1);

    fr = cid(2, "1234AB", "1602 00 000");
    ingest_at(f, &fr, false, T0 + 40 * MIN, &r);
    assert_int_equal(r.pending_at, T0 + 40 * MIN);
    run_job(f, JOB_DC09, r.event_id, T0 + 40 * MIN, NULL);
    get_device(f, f->dev, &d);
    assert_int_equal(d.lost_at, 0);
    assert_int_equal(d.lost_alarm_id, 0);
    assert_int_equal(d.silent_due_at, T0 + 50 * MIN);
    device_row_fini(&d);
    assert_int_equal(told(f, "device.signal_restored", f->manager), 1);
    get_alarm(f, alarm, &a);
    assert_int_equal(a.clock.state, ALARM_CLOSED);
    assert_int_equal(a.clock.outcome, ALARM_OUTCOME_GENUINE);
    assert_string_equal(a.found_safe, "device back in contact");
    alarm_row_fini(&a);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarm_events WHERE kind = 'note'"), 1);
}

/* A device without a worker (or a worker without a line manager): the operators. */
static void test_job_silent_operators(void **state)
{
    struct fx *f = *state;
    struct device_row d = {0};
    get_device(f, f->spare, &d);
    d.supervision_ms = MIN;
    d.supervision_alarm = true;
    d.silent_due_at = T0 + MIN;
    assert_int_equal(store_device_update(f->st, &d), 0);
    device_row_fini(&d);
    run_job(f, JOB_SILENT, f->spare, T0 + MIN, NULL);
    assert_int_equal(told(f, "device.signal_lost", f->operator), 1);
    assert_int_equal(told(f, "device.signal_lost", f->manager), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 0); /* nobody's alarm */
}

/* The user's enabled state set to disabled. */
static void set_disabled(struct fx *f, int64_t org, int64_t user_id, bool disabled)
{
    struct user_patch p = {.set_disabled = true, .disabled = disabled, .now = T0};
    assert_int_equal(store_user_update(f->st, org, user_id, &p), 0);
}

/* Outbox rows whose subject is exactly subject. */
static int64_t with_subject(struct fx *f, const char *subject)
{
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM outbox WHERE subject = '%s'", subject);
    return count(f, sql);
}

/* Ingests data of account at T0 and runs its job twice (a retried job): the event id. */
static int64_t event_applied_twice(struct fx *f, unsigned seq, const char *account,
                                   const char *data, const char *xdata)
{
    struct dc09_ingest_result r;
    struct frame fr = build(DC09_TOKEN_ADM_CID, seq, account, data, xdata, T0, NULL);
    ingest(f, &fr, &r);
    assert_int_equal(r.answer, DC09_TOKEN_ACK);
    assert_int_equal(r.pending_at, T0);
    run_job(f, JOB_DC09, r.event_id, T0 + 10, NULL);
    char sql[100];
    snprintf(sql, sizeof sql, "UPDATE dc09_events SET pending_at = 1 WHERE id = %lld",
             (long long)r.event_id);
    test_db_exec(&f->db, sql);
    run_job(f, JOB_DC09, r.event_id, T0 + 20, NULL);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dc09_events WHERE pending_at IS NOT NULL"), 0);
    return r.event_id;
}

/* One message stored twice (two nodes took it at once, before either saw the other's row)
 * opens one alarm; another message of the device opens its own. */
static void test_job_red_stored_twice(void **state)
{
    struct fx *f = *state;
    int64_t first = event_applied(f, 7, "1234AB", "1120 01 015", NULL, T0);
    struct dc09_event_row e = {0};
    get_event(f, f->org, first, &e);
    int64_t twin;
    e.pending_at = T0 + 5;
    e.applied_at = 0;
    e.alarm_id = 0;
    e.received_at = T0 + 5;
    assert_int_equal(store_dc09_event_add(f->st, &e, &twin), 0);
    dc09_event_row_fini(&e);
    run_job(f, JOB_DC09, twin, T0 + 10, NULL);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 1);
    assert_int_equal(event_alarm_id(f, twin), event_alarm_id(f, first));
    int64_t other = event_applied(f, 8, "1234AB", "1120 01 015", NULL, T0 + 20);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 2);
    assert_true(event_alarm_id(f, other) != event_alarm_id(f, first));
}

/* A panic or duress from a device issued to nobody opens no alarm (it needs a worker) but
 * tells the organisation's operators at once, once however often the job runs. */
static void test_job_alert_unissued(void **state)
{
    struct fx *f = *state;
    /* A webhook, whose body is the notice's JSON: what the event says can be read. */
    struct channel_row hook = {.organisation_id = f->org,
                               .user_id = f->operator,
                               .name = "pager",
                               .kind = "webhook",
                               .address = "http://127.0.0.1:1/hook",
                               .created_at = T0};
    int64_t hook_id = 0;
    assert_int_equal(store_channel_create(f->st, &hook, &hook_id), 0);
    int64_t ev = event_applied_twice(f, 1, "F00D", "1120 01 015", "[XE3.5][YN50.5]");
    assert_int_equal(event_alarm_id(f, ev), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 0);
    assert_int_equal(told(f, "device.unissued_alert", f->operator), 1);
    assert_int_equal(told(f, "device.unissued_alert", f->manager), 0);
    assert_int_equal(told(f, "device.unissued_alert", f->worker), 0);
    assert_int_equal(with_subject(f, "RED ALERT from device spare (account F00D): Panic alarm "
                                     "zone 015, no worker issued"),
                     1);
    char sql[400];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM outbox WHERE event = 'device.unissued_alert' AND body LIKE "
             "'%%\"dc09_event_id\":%lld,%%\"position\":{\"latitude\":50.5,"
             "\"longitude\":3.5}%%Position: 50.500000, 3.500000 at %%DC-09 event %lld,%%'",
             (long long)ev, (long long)ev);
    assert_int_equal(count(f, sql), 1);

    ev = event_applied_twice(f, 2, "F00D", "1121 01 015", NULL);
    assert_int_equal(told(f, "device.unissued_alert", f->operator), 2);
    assert_int_equal(with_subject(f, "SILENT ALARM from device spare (account F00D): Duress "
                                     "zone 015, no worker issued, do not call openly"),
                     1);
    /* Nothing else of such a device is told: a test has nobody's alarm either. */
    event_applied_twice(f, 3, "F00D", "1601 01 000", NULL);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 0);
}

/* Without operators (disabled ones are none), the red-alert path's fallback: the senior
 * managers, else the admins. */
static void test_job_alert_unissued_fallback(void **state)
{
    struct fx *f = *state;
    int64_t senior = user(f->st, f->org, "senior", ROLE_SENIOR_MANAGER);
    int64_t admin = user(f->st, f->org, "admin", ROLE_ADMIN);
    set_disabled(f, f->org, f->operator, true);
    event_applied_twice(f, 1, "F00D", "1120 01 015", NULL);
    assert_int_equal(told(f, "device.unissued_alert", f->operator), 0);
    assert_int_equal(told(f, "device.unissued_alert", senior), 1);
    assert_int_equal(told(f, "device.unissued_alert", admin), 0);
    set_disabled(f, f->org, senior, true);
    event_applied_twice(f, 2, "F00D", "1120 01 015", NULL);
    assert_int_equal(told(f, "device.unissued_alert", senior), 1);
    assert_int_equal(told(f, "device.unissued_alert", admin), 1);
}

/* A device whose worker has left (disabled): no alarm in their name, the operators told. */
static void test_job_alert_worker_left(void **state)
{
    struct fx *f = *state;
    set_disabled(f, f->org, f->worker, true);
    int64_t ev = event_applied_twice(f, 1, "1234AB", "1120 01 015", NULL);
    assert_int_equal(event_alarm_id(f, ev), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 0);
    assert_int_equal(told(f, "device.unissued_alert", f->operator), 1);
    assert_int_equal(with_subject(f, "RED ALERT from device dev (account 1234AB): Panic alarm "
                                     "zone 015, its worker has left"),
                     1);
    /* Its low battery tells the line manager, not the disabled worker. */
    event_applied_twice(f, 2, "1234AB", "1302 01 000", NULL);
    assert_int_equal(told(f, "device.low_battery", f->manager), 1);
    assert_int_equal(told(f, "device.low_battery", f->worker), 0);
}

/* A panic from an account no device has: the host organisation's operators (else its
 * admins) told at once, once; nobody of another organisation. */
static void test_job_alert_unassigned(void **state)
{
    struct fx *f = *state;
    int64_t host = 0;
    assert_int_equal(store_org_create(f->st, "host", true, T0, &host), 0);
    int64_t host_operator = user(f->st, host, "host-operator", ROLE_OPERATOR);
    int64_t host_admin = user(f->st, host, "host-admin", ROLE_ADMIN);
    int64_t ev = event_applied_twice(f, 1, "777777", "1120 01 015", NULL);
    assert_int_equal(told(f, "dc09.unassigned_alert", host_operator), 1);
    assert_int_equal(told(f, "dc09.unassigned_alert", host_admin), 0);
    assert_int_equal(told(f, "dc09.unassigned_alert", f->operator), 0);
    assert_int_equal(
        with_subject(f, "RED ALERT from unregistered DC-09 account 777777 (peer 192.0.2.7:4000)"),
        1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 0);
    struct dc09_event_row e = {0};
    get_event(f, 0, ev, &e);
    assert_int_equal(e.applied_at, T0 + 20);
    dc09_event_row_fini(&e);
    set_disabled(f, host, host_operator, true);
    event_applied_twice(f, 2, "777777", "1121 01 015", NULL);
    assert_int_equal(told(f, "dc09.unassigned_alert", host_operator), 1);
    assert_int_equal(told(f, "dc09.unassigned_alert", host_admin), 1);
    assert_int_equal(with_subject(f, "SILENT ALARM from unregistered DC-09 account 777777 (peer "
                                     "192.0.2.7:4000), do not call openly"),
                     1);
}

/* Loss of signal of a device nobody manages: without operators, the senior managers (the
 * red-alert path's fallback), not the admins. */
static void test_job_silent_fallback(void **state)
{
    struct fx *f = *state;
    int64_t senior = user(f->st, f->org, "senior", ROLE_SENIOR_MANAGER);
    int64_t admin = user(f->st, f->org, "admin", ROLE_ADMIN);
    set_disabled(f, f->org, f->operator, true);
    struct device_row d = {0};
    get_device(f, f->spare, &d);
    d.supervision_ms = MIN;
    d.silent_due_at = T0 + MIN;
    assert_int_equal(store_device_update(f->st, &d), 0);
    device_row_fini(&d);
    run_job(f, JOB_SILENT, f->spare, T0 + MIN, NULL);
    assert_int_equal(told(f, "device.signal_lost", senior), 1);
    assert_int_equal(told(f, "device.signal_lost", admin), 0);
    assert_int_equal(told(f, "device.signal_lost", f->operator), 0);
}

/* A retransmitting device is in contact: its repeats keep the loss of signal away. */
static void test_repeat_keeps_supervision(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct frame fr = cid(1, "1234AB", "1602 00 000");
    ingest(f, &fr, &r);
    /* Our ACKs do not reach it: it sends the same message again and again. */
    for (int64_t at = T0 + 3 * MIN; at <= T0 + 9 * MIN; at += 3 * MIN) {
        ingest_at(f, &fr, false, at, &r);
        assert_true(r.repeat);
    }
    struct sched_job next;
    run_job(f, JOB_SILENT, f->dev, T0 + 10 * MIN, &next);
    assert_int_equal(next.kind, JOB_SILENT);
    assert_int_equal(next.due_at, T0 + 19 * MIN);
    struct device_row d = {0};
    get_device(f, f->dev, &d);
    assert_int_equal(d.lost_at, 0);
    device_row_fini(&d);
    assert_int_equal(told(f, "device.signal_lost", f->manager), 0);
    assert_int_equal(events(f), 1);
}

/* A panic committed and acknowledged whose alarm was not yet opened when the server died:
 * the event stays pending in the database, and the watch, started on it, opens the alarm
 * (watch_start schedules the due work it finds). */
static void test_pending_event_applied_at_start(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    struct frame fr = cid(1, "1234AB", "1120 01 015");
    ingest(f, &fr, &r); /* committed; the watch is never told (dc09_ingest_schedule) */
    assert_int_equal(r.pending_at, T0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms"), 0);
    clock_advance(&f->clock, MIN);
    assert_int_equal(watch_start(f->w), 0);
    assert_int_equal(watch_settle(f->w, 10000), 0);
    int64_t alarm = event_alarm_id(f, r.event_id);
    assert_true(alarm > 0);
    struct alarm_row a = {0};
    get_alarm(f, alarm, &a);
    assert_int_equal(a.clock.kind, ALARM_RED);
    assert_int_equal(a.worker_id, f->worker);
    alarm_row_fini(&a);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dc09_events WHERE pending_at IS NOT NULL"), 0);
}

/* Through a started watch on a simulated clock: the ingest's schedule reaches the jobs. */
static void test_watch_end_to_end(void **state)
{
    struct fx *f = *state;
    struct dc09_ingest_result r;
    assert_int_equal(watch_start(f->w), 0);
    struct frame fr = cid(1, "1234AB", "1120 01 015");
    ingest(f, &fr, &r);
    dc09_ingest_schedule(f->w, &r);
    assert_int_equal(watch_settle(f->w, 10000), 0);
    assert_true(event_alarm_id(f, r.event_id) > 0);
    clock_advance(&f->clock, 10 * MIN);
    sched_kick(f->w->sched);
    assert_int_equal(watch_settle(f->w, 10000), 0);
    struct device_row d = {0};
    get_device(f, f->dev, &d);
    assert_int_equal(d.lost_at, T0 + 10 * MIN);
    device_row_fini(&d);
    assert_int_equal(told(f, "device.signal_lost", f->manager), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_nak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nak_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unassigned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unassigned_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_tokens_refused, setup, teardown),
        cmocka_unit_test(test_hex_helpers),
        cmocka_unit_test_setup_teardown(test_pending_per_action, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_red, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_red_stored_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_duress_and_test, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_amber_position_battery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_silent_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_silent_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_alert_unissued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_alert_unissued_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_alert_worker_left, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_alert_unassigned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_silent_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeat_keeps_supervision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_event_applied_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_end_to_end, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
