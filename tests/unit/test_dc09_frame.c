/*
 * Tests of DC-09 frames (src/dc09/frame.c, crypt.c): every line of
 * tests/fixtures/dc09/frames.txt, made by an implementation apart from this code
 * (tests/support/dc09_frames.py), read as it says; then streams cut at every byte,
 * several frames at once, the timestamp window, keys, and building.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc09/frame.h"
#include "util/str.h"

#define FIXTURES   NOTALONE_SOURCE_DIR "/tests/fixtures/dc09/frames.txt"
#define MAX_FIELDS 40

/* The tests' random source: zero bytes, written by the answers as the pad character '0'
 * (the fixtures were made with that pad). */
static void zero_rnd(void *buf, size_t n)
{
    memset(buf, 0, n);
}

/* ---- the fixtures file ---- */

struct line {
    const char *kind;
    const char *key[MAX_FIELDS];
    char *val[MAX_FIELDS];
    size_t n;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX escapes in place. */
static void unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (r[0] == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
            *w++ = (char)(hexval(r[1]) << 4 | hexval(r[2]));
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* Splits a tab-separated line of key=value fields in place. */
static void split_line(char *s, struct line *l)
{
    char *save = NULL;
    l->n = 0;
    l->kind = strtok_r(s, "\t\n", &save);
    for (char *f = strtok_r(NULL, "\t\n", &save); f && l->n < MAX_FIELDS;
         f = strtok_r(NULL, "\t\n", &save)) {
        char *eq = strchr(f, '=');
        assert_non_null(eq);
        *eq = '\0';
        unescape(eq + 1);
        l->key[l->n] = f;
        l->val[l->n++] = eq + 1;
    }
}

/* A field's value; NULL when the line has none. */
static const char *get(const struct line *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->key[i], key) == 0)
            return l->val[i];
    }
    return NULL;
}

static const char *need(const struct line *l, const char *key)
{
    const char *v = get(l, key);
    if (!v)
        fail_msg("fixture line lacks %s", key);
    return v;
}

/* The bytes of a hex text (caller frees). */
static uint8_t *unhex(const char *hex, size_t *n)
{
    size_t len = strlen(hex);
    uint8_t *out = malloc(len / 2 + 1);
    assert_non_null(out);
    assert_int_equal(len % 2, 0);
    for (size_t i = 0; i < len; i += 2)
        out[i / 2] = (uint8_t)(hexval(hex[i]) << 4 | hexval(hex[i + 1]));
    *n = len / 2;
    return out;
}

static int64_t to_int64(const char *s)
{
    int64_t v = 0;
    assert_int_equal(parse_int64(slice_of(s), INT64_MIN, INT64_MAX, &v), 0);
    return v;
}

/* Fails the test naming the fixture when a slice differs from the expected text. */
static void slice_is(const char *name, const char *what, struct dc09_slice s, const char *want)
{
    if (s.len != strlen(want) || (s.len > 0 && memcmp(s.p, want, s.len) != 0))
        fail_msg("%s: %s is \"%.*s\", want \"%s\"", name, what, (int)s.len, s.p ? s.p : "", want);
}

#define CHECK(name, cond)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("%s: %s", name, #cond);                                                       \
    } while (0)

static void check_header(const struct line *l, const struct dc09_frame *f)
{
    const char *name = need(l, "name"), *v;
    if ((v = get(l, "token")))
        CHECK(name, strcmp(dc09_token_name(f->token), v) == 0);
    if ((v = get(l, "enc")))
        CHECK(name, f->encrypted == (v[0] == '1'));
    if ((v = get(l, "bin")))
        CHECK(name, f->crc_binary == (v[0] == '1'));
    if ((v = get(l, "seq"))) {
        slice_is(name, "seq", f->seq_text, v);
        CHECK(name, f->seq == (unsigned)to_int64(v));
    }
    if ((v = get(l, "rcvr")))
        slice_is(name, "receiver", f->receiver, v);
    if ((v = get(l, "prefix")))
        slice_is(name, "prefix", f->prefix, v);
    if ((v = get(l, "acct"))) {
        slice_is(name, "account", f->account, v);
        for (size_t i = 0; v[i]; i++)
            CHECK(name, f->account_norm[i] == (v[i] >= 'a' ? v[i] - 'a' + 'A' : v[i]));
        CHECK(name, f->account_norm[strlen(v)] == '\0');
    }
    if ((v = get(l, "ts"))) {
        CHECK(name, f->has_timestamp == (v[0] != '\0'));
        if (v[0])
            CHECK(name, f->timestamp_ms == to_int64(v));
    }
}

/* The codes of a payload as "code:zone:group,..." (the fixtures' form). */
static void codes_text(const struct dc09_payload *p, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < p->n_codes; i++) {
        int w = snprintf(out + len, n - len, "%s%s:%s:%s", i ? "," : "", p->codes[i].code,
                         p->codes[i].zone, p->codes[i].group);
        assert_true(w > 0 && (size_t)w < n - len);
        len += (size_t)w;
    }
}

static void check_xdata(const char *name, const struct line *l, const struct dc09_payload *p)
{
    const char *v, *lat = get(l, "lat");
    if ((v = get(l, "lon"))) {
        CHECK(name, p->x.has_position);
        CHECK(name, fabs(p->x.longitude - strtod(v, NULL)) < 1e-9);
        CHECK(name, fabs(p->x.latitude - strtod(lat, NULL)) < 1e-9);
    } else {
        CHECK(name, !p->x.has_position);
    }
    if ((v = get(l, "htime")))
        CHECK(name, p->x.has_event_time && p->x.event_time_ms == to_int64(v));
    else
        CHECK(name, !p->x.has_event_time);
    slice_is(name, "V", p->x.verification, get(l, "V") ? get(l, "V") : "");
    slice_is(name, "I", p->x.site, get(l, "I") ? get(l, "I") : "");
    slice_is(name, "P", p->x.program, get(l, "P") ? get(l, "P") : "");
    slice_is(name, "M", p->x.mac, get(l, "M") ? get(l, "M") : "");
    if ((v = get(l, "nfields")))
        CHECK(name, p->x.n_fields == (size_t)to_int64(v));
}

static void check_payload(const struct line *l, const struct dc09_frame *f)
{
    const char *name = need(l, "name"), *want = get(l, "pverdict"), *v;
    static struct dc09_payload p;
    int rc;
    if (!want)
        return;
    if (f->encrypted) {
        uint8_t key[32];
        size_t key_len;
        assert_int_equal(dc09_key_parse(need(l, "key"), key, &key_len), 0);
        rc = dc09_payload_decrypt(f, key, key_len, &p);
    } else {
        rc = dc09_payload_parse(f, &p);
    }
    if (strcmp(dc09_error_name(rc), want) != 0)
        fail_msg("%s: payload reads as %s, want %s", name, dc09_error_name(rc), want);
    if (rc != DC09_OK)
        return;
    slice_is(name, "data", p.data, need(l, "data"));
    slice_is(name, "data account", p.data_account, need(l, "dacct"));
    char codes[256];
    codes_text(&p, codes, sizeof codes);
    if (strcmp(codes, need(l, "codes")) != 0)
        fail_msg("%s: codes %s, want %s", name, codes, need(l, "codes"));
    v = need(l, "pts");
    CHECK(name, p.has_timestamp == (v[0] != '\0'));
    if (v[0])
        CHECK(name, p.timestamp_ms == to_int64(v));
    check_xdata(name, l, &p);
}

static void check_frame(const struct line *l)
{
    const char *name = need(l, "name"), *verdict = need(l, "verdict");
    size_t n;
    uint8_t *raw = unhex(need(l, "hex"), &n);
    struct dc09_span sp;
    dc09_frame_next(raw, n, DC09_FRAME_MAX, &sp);
    CHECK(name, sp.skip == 0 && sp.len == n);
    CHECK(name, sp.bad_length == (strcmp(verdict, "length") == 0));
    struct dc09_frame f;
    int rc = dc09_frame_parse(raw, n, &f);
    if (strcmp(dc09_error_name(rc), verdict) != 0)
        fail_msg("%s: reads as %s, want %s", name, dc09_error_name(rc), verdict);
    if (rc == DC09_OK || rc == DC09_ETOKEN)
        check_header(l, &f);
    if (rc == DC09_ETOKEN)
        CHECK(name, f.account.len > 0);
    if (rc == DC09_OK)
        check_payload(l, &f);
    free(raw);
}

static void check_answer(const struct line *l)
{
    const char *kind = need(l, "kind"), *fhex = need(l, "frame"), *keyhex = get(l, "key");
    uint8_t key[32];
    size_t key_len = 0, n = 0, want_len;
    char out[DC09_ANSWER_MAX];
    size_t out_len = 0;
    struct dc09_frame f;
    uint8_t *raw = fhex[0] ? unhex(fhex, &n) : NULL;
    uint8_t *want = unhex(need(l, "expect"), &want_len);
    int rc = -1;
    if (raw)
        (void)dc09_frame_parse(raw, n, &f); /* a NAK answers broken frames too */
    if (keyhex && keyhex[0])
        assert_int_equal(dc09_key_parse(keyhex, key, &key_len), 0);
    if (strcmp(kind, "ack") == 0)
        rc = dc09_answer_ack(&f, key_len ? key : NULL, key_len, to_int64(need(l, "now")), zero_rnd,
                             out, &out_len);
    else if (strcmp(kind, "nak") == 0)
        rc = dc09_answer_nak(raw ? &f : NULL, to_int64(need(l, "now")), out, &out_len);
    else if (strcmp(kind, "duh") == 0)
        rc = dc09_answer_duh(&f, out, &out_len);
    assert_int_equal(rc, 0);
    if (out_len != want_len || memcmp(out, want, want_len) != 0)
        fail_msg("%s answer to %s: \"%.*s\", want \"%.*s\"", kind, fhex, (int)out_len, out,
                 (int)want_len, (const char *)want);
    free(raw);
    free(want);
}

/* A fixture field as build takes it: "" means NULL. */
static const char *opt(const struct line *l, const char *key)
{
    const char *v = need(l, key);
    return v[0] ? v : NULL;
}

static void check_build(const struct line *l)
{
    uint8_t key[32];
    size_t key_len = 0, want_len, out_len = 0;
    char out[DC09_FRAME_MAX];
    const char *token = need(l, "token");
    struct dc09_build b = {
        .token = strcmp(token, "SIA-DCS") == 0   ? DC09_TOKEN_SIA_DCS
                 : strcmp(token, "ADM-CID") == 0 ? DC09_TOKEN_ADM_CID
                                                 : DC09_TOKEN_NULL,
        .seq = (unsigned)to_int64(need(l, "seq")),
        .receiver = opt(l, "receiver"),
        .prefix = opt(l, "prefix"),
        .account = need(l, "account"),
        .data = need(l, "data"),
        .xdata = opt(l, "xdata"),
        .timestamp = need(l, "ts")[0] == '1',
        .now = to_int64(need(l, "now")),
        .crc_binary = need(l, "bin")[0] == '1',
        .rnd = zero_rnd,
    };
    if (opt(l, "key")) {
        assert_int_equal(dc09_key_parse(need(l, "key"), key, &key_len), 0);
        b.key = key;
        b.key_len = key_len;
    }
    uint8_t *want = unhex(need(l, "expect"), &want_len);
    assert_int_equal(dc09_build(&b, out, sizeof out, &out_len), 0);
    if (out_len != want_len || memcmp(out, want, want_len) != 0)
        fail_msg("build: \"%.*s\", want \"%.*s\"", (int)out_len, out, (int)want_len,
                 (const char *)want);
    free(want);
}

static void check_crc(const struct line *l)
{
    size_t n;
    uint8_t *data = unhex(need(l, "data"), &n);
    char got[8];
    snprintf(got, sizeof got, "%04X", dc09_crc16(data, n));
    assert_string_equal(got, need(l, "crc"));
    free(data);
}

static void test_fixtures(void **state)
{
    (void)state;
    static char buf[65536];
    size_t counts[4] = {0};
    FILE *fp = fopen(FIXTURES, "r");
    assert_non_null(fp);
    while (fgets(buf, sizeof buf, fp)) {
        struct line l;
        assert_non_null(strchr(buf, '\n')); /* no line is cut */
        if (buf[0] == '#' || buf[0] == '\n')
            continue;
        split_line(buf, &l);
        if (strcmp(l.kind, "frame") == 0) {
            check_frame(&l);
            counts[0]++;
        } else if (strcmp(l.kind, "answer") == 0) {
            check_answer(&l);
            counts[1]++;
        } else if (strcmp(l.kind, "build") == 0) {
            check_build(&l);
            counts[2]++;
        } else {
            assert_string_equal(l.kind, "crc");
            check_crc(&l);
            counts[3]++;
        }
    }
    fclose(fp);
    /* The whole file was read: as many lines of each kind as make_fixtures.py writes. */
    assert_true(counts[0] >= 70);
    assert_true(counts[1] >= 20);
    assert_true(counts[2] >= 6);
    assert_true(counts[3] >= 5);
}

/* ---- hand-written cases ---- */

static void test_crc_check_value(void **state)
{
    (void)state;
    assert_int_equal(dc09_crc16("123456789", 9), 0xBB3D);
    assert_int_equal(dc09_crc16("", 0), 0);
}

/* Builds a frame into out (DC09_FRAME_MAX); returns its length. */
static size_t build(enum dc09_token t, unsigned seq, const char *receiver, const char *data,
                    const uint8_t *key, size_t key_len, bool binary, int64_t now, char *out)
{
    struct dc09_build b = {.token = t,
                           .seq = seq,
                           .receiver = receiver,
                           .prefix = "1A",
                           .account = "beef01",
                           .data = data,
                           .xdata = NULL,
                           .timestamp = true,
                           .now = now,
                           .key = key,
                           .key_len = key_len,
                           .crc_binary = binary,
                           .rnd = zero_rnd};
    size_t n = 0;
    assert_int_equal(dc09_build(&b, out, DC09_FRAME_MAX, &n), 0);
    return n;
}

/* A receiver's buffer: bytes arrive in pieces, frames are taken off the front. */
struct stream {
    uint8_t buf[4 * DC09_FRAME_MAX];
    size_t len;
    char frames[8][DC09_FRAME_MAX];
    size_t frame_len[8];
    bool bad_length[8];
    size_t n_frames;
};

static void stream_feed(struct stream *s, const uint8_t *p, size_t n, size_t max_frame)
{
    assert_true(n <= sizeof s->buf - s->len);
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    for (;;) {
        struct dc09_span sp;
        dc09_frame_next(s->buf, s->len, max_frame, &sp);
        assert_true(sp.skip + sp.len <= s->len);
        if (sp.len > 0) {
            assert_true(s->n_frames < 8);
            memcpy(s->frames[s->n_frames], s->buf + sp.skip, sp.len);
            s->frame_len[s->n_frames] = sp.len;
            s->bad_length[s->n_frames++] = sp.bad_length;
        }
        memmove(s->buf, s->buf + sp.skip + sp.len, s->len - sp.skip - sp.len);
        s->len -= sp.skip + sp.len;
        if (sp.len == 0)
            return;
    }
}

/* Three frames, one with a binary CRC holding a CR or LF, cut at every byte (and fed a
 * byte at a time), with junk before and between: the same three come out every time. */
static void test_stream_cut_everywhere(void **state)
{
    (void)state;
    static char f[3][DC09_FRAME_MAX];
    size_t n[3];
    uint8_t key[16] = {1, 2, 3};
    n[0] = build(DC09_TOKEN_SIA_DCS, 1, "1", "Nri1/PA501", NULL, 0, false, 1767225600000, f[0]);
    n[1] = build(DC09_TOKEN_ADM_CID, 2, NULL, "1120 01 015", key, 16, false, 1767225600000, f[1]);
    /* A binary CRC with a CR or LF in it: the frame must still be found by its length. */
    unsigned seq = 0;
    do {
        n[2] = build(DC09_TOKEN_NULL, ++seq, NULL, "", NULL, 0, true, 1767225600000, f[2]);
    } while (f[2][1] != '\r' && f[2][2] != '\r' && f[2][1] != '\n' && f[2][2] != '\n');
    static uint8_t all[4 * DC09_FRAME_MAX];
    size_t total = 0;
    const char *junk[3] = {"junk\r", "\r\n\n\n0", "\nxx"};
    for (size_t i = 0; i < 3; i++) {
        memcpy(all + total, junk[i], strlen(junk[i]));
        total += strlen(junk[i]);
        memcpy(all + total, f[i], n[i]);
        total += n[i];
    }
    static struct stream s;
    for (size_t cut = 0; cut <= total; cut++) {
        s.len = 0;
        s.n_frames = 0;
        stream_feed(&s, all, cut, DC09_FRAME_MAX);
        stream_feed(&s, all + cut, total - cut, DC09_FRAME_MAX);
        assert_int_equal(s.n_frames, 3);
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(s.frame_len[i], n[i]);
            assert_memory_equal(s.frames[i], f[i], n[i]);
            assert_false(s.bad_length[i]);
        }
    }
    s.len = 0;
    s.n_frames = 0;
    for (size_t i = 0; i < total; i++)
        stream_feed(&s, all + i, 1, DC09_FRAME_MAX);
    assert_int_equal(s.n_frames, 3);
    assert_memory_equal(s.frames[2], f[2], n[2]);
}

static void test_frame_next_edges(void **state)
{
    (void)state;
    struct dc09_span sp;
    char f[DC09_FRAME_MAX];
    size_t n = build(DC09_TOKEN_SIA_DCS, 1, NULL, "Nri1/PA501", NULL, 0, false, 0, f);
    /* Nothing but junk: all of it is dropped. */
    dc09_frame_next((const uint8_t *)"abc\rdef", 7, DC09_FRAME_MAX, &sp);
    assert_int_equal(sp.skip, 7);
    assert_int_equal(sp.len, 0);
    /* A header cut short waits for more; one that cannot start a frame is skipped. */
    dc09_frame_next((const uint8_t *)"xx\nA1B", 6, DC09_FRAME_MAX, &sp);
    assert_int_equal(sp.skip, 2);
    assert_int_equal(sp.len, 0);
    dc09_frame_next((const uint8_t *)"\nA1BZ", 5, DC09_FRAME_MAX, &sp);
    assert_int_equal(sp.skip, 5);
    /* A frame larger than the receiver's maximum is skipped. */
    dc09_frame_next((const uint8_t *)f, n, n - 1, &sp);
    assert_int_equal(sp.len, 0);
    assert_int_equal(sp.skip, n);
    dc09_frame_next((const uint8_t *)f, n, n, &sp);
    assert_int_equal(sp.len, n);
    /* A length field too long: the CR ends the frame at once (no wait), marked bad. */
    char g[DC09_FRAME_MAX];
    memcpy(g, f, n);
    g[8] = (char)(g[8] == 'F' ? 'E' : g[8] == '9' ? 'A' : g[8] + 1);
    dc09_frame_next((const uint8_t *)g, n, DC09_FRAME_MAX, &sp);
    assert_int_equal(sp.len, n);
    assert_true(sp.bad_length);
    struct dc09_frame fr;
    assert_int_equal(dc09_frame_parse((const uint8_t *)g, n, &fr), DC09_ELENGTH);
    /* A length field too short with no CR yet in sight: more is awaited. */
    dc09_frame_next((const uint8_t *)f, n - 1, DC09_FRAME_MAX, &sp);
    assert_int_equal(sp.skip, 0);
    assert_int_equal(sp.len, 0);
}

static void test_answers_without_receiver(void **state)
{
    (void)state;
    char f[DC09_FRAME_MAX], a[DC09_ANSWER_MAX];
    size_t n = build(DC09_TOKEN_SIA_DCS, 77, NULL, "Nri1/PA501", NULL, 0, false, 0, f), an;
    struct dc09_frame fr;
    assert_int_equal(dc09_frame_parse((const uint8_t *)f, n, &fr), DC09_OK);
    assert_int_equal(fr.receiver.len, 0);
    assert_int_equal(dc09_answer_ack(&fr, NULL, 0, 0, zero_rnd, a, &an), 0);
    assert_memory_equal(a + 9, "\"ACK\"0077L1A#beef01[]\r", an - 9);
    assert_int_equal(dc09_answer_duh(&fr, a, &an), 0);
    assert_memory_equal(a + 9, "\"DUH\"0077L1A#beef01[]\r", an - 9);
    assert_int_equal(dc09_answer_nak(&fr, 0, a, &an), 0);
    assert_memory_equal(a + 9, "\"NAK\"0000L1AA0[]_00:00:00,01-01-1970\r", an - 9);
    /* The NAK reads back: its "A0" is not taken for part of the prefix. */
    assert_int_equal(dc09_frame_parse((const uint8_t *)a, an, &fr), DC09_OK);
    assert_int_equal(fr.token, DC09_TOKEN_NAK);
    slice_is("nak", "prefix", fr.prefix, "1A");
    assert_int_equal(fr.account.len, 0);
}

static void test_encrypted_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[3] = {16, 24, 32};
    uint8_t key[32], other[32];
    for (size_t i = 0; i < 32; i++) {
        key[i] = (uint8_t)(i * 7 + 1);
        other[i] = (uint8_t)(i * 7 + 2);
    }
    for (size_t k = 0; k < 3; k++) {
        char f[DC09_FRAME_MAX], a[DC09_ANSWER_MAX];
        size_t an, n = build(DC09_TOKEN_ADM_CID, 5, "2", "1122 01 004", key, sizes[k], false,
                             1767225600000, f);
        struct dc09_frame fr;
        static struct dc09_payload p;
        assert_int_equal(dc09_frame_parse((const uint8_t *)f, n, &fr), DC09_OK);
        assert_true(fr.encrypted);
        assert_int_equal(dc09_payload_decrypt(&fr, key, sizes[k], &p), DC09_OK);
        assert_string_equal(p.codes[0].code, "1122");
        assert_int_equal(p.timestamp_ms, 1767225600000);
        assert_int_equal(dc09_payload_decrypt(&fr, other, sizes[k], &p), DC09_EDECRYPT);
        assert_int_equal(dc09_payload_decrypt(&fr, key, sizes[(k + 1) % 3], &p), DC09_EDECRYPT);
        assert_int_equal(dc09_payload_parse(&fr, &p), DC09_EFORMAT);
        /* The encrypted ACK opens with the same key and carries the receiver's time. */
        assert_int_equal(dc09_answer_ack(&fr, key, sizes[k], 1767225601000, NULL, a, &an), 0);
        assert_int_equal(dc09_frame_parse((const uint8_t *)a, an, &fr), DC09_OK);
        assert_int_equal(fr.token, DC09_TOKEN_ACK);
        assert_true(fr.encrypted);
        assert_int_equal(dc09_payload_decrypt(&fr, key, sizes[k], &p), DC09_OK);
        assert_int_equal(p.timestamp_ms, 1767225601000);
    }
}

/* Encrypted bodies that are not whole AES blocks of hex never open. */
static void test_decrypt_malformed_hex(void **state)
{
    (void)state;
    static const char *bodies[] = {"", "0", "00", "0123456789ABCDEF0123456789ABCDE",
                                   "0123456789ABCDEF0123456789ABCDEG"};
    uint8_t key[16] = {0};
    static struct dc09_payload p;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct dc09_frame f = {.token = DC09_TOKEN_SIA_DCS, .encrypted = true};
        f.body.p = bodies[i];
        f.body.len = strlen(bodies[i]);
        assert_int_equal(dc09_payload_decrypt(&f, key, 16, &p), DC09_EDECRYPT);
    }
}

static void test_timestamp_window(void **state)
{
    (void)state;
    const int64_t now = 1767225600000, past = 40000, future = 20000;
    assert_true(dc09_timestamp_ok(now, now, past, future));
    assert_true(dc09_timestamp_ok(now - 40000, now, past, future));
    assert_false(dc09_timestamp_ok(now - 40001, now, past, future));
    assert_true(dc09_timestamp_ok(now + 20000, now, past, future));
    assert_false(dc09_timestamp_ok(now + 20001, now, past, future));
    /* A message built 41 s ago reads with its own time, which is then outside. */
    char f[DC09_FRAME_MAX];
    size_t n = build(DC09_TOKEN_NULL, 1, NULL, "", NULL, 0, false, now - 41000, f);
    struct dc09_frame fr;
    assert_int_equal(dc09_frame_parse((const uint8_t *)f, n, &fr), DC09_OK);
    assert_int_equal(fr.timestamp_ms, now - 41000);
    assert_false(dc09_timestamp_ok(fr.timestamp_ms, now, past, future));
}

static void test_key_parse(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t len = 0;
    assert_int_equal(dc09_key_parse("000102030405060708090a0b0c0d0e0f", key, &len), 0);
    assert_int_equal(len, 16);
    assert_int_equal(key[15], 0x0F);
    assert_int_equal(dc09_key_parse("000102030405060708090A0B0C0D0E0F0001020304050607", key, &len),
                     0);
    assert_int_equal(len, 24);
    assert_int_equal(
        dc09_key_parse("000102030405060708090A0B0C0D0E0F000102030405060708090A0B0C0D0EFF", key,
                       &len),
        0);
    assert_int_equal(len, 32);
    assert_int_equal(key[31], 0xFF);
    assert_int_equal(dc09_key_parse("000102030405060708090a0b0c0d0e0", key, &len), -1);
    assert_int_equal(dc09_key_parse("000102030405060708090a0b0c0d0e0f0", key, &len), -1);
    assert_int_equal(dc09_key_parse("000102030405060708090a0b0c0d0e0g", key, &len), -1);
    assert_int_equal(dc09_key_parse("", key, &len), -1);
    assert_int_equal(dc09_key_parse(NULL, key, &len), -1);
}

static void test_build_refuses_malformed(void **state)
{
    (void)state;
    char out[DC09_FRAME_MAX];
    size_t n;
    uint8_t key[16] = {0};
    const struct dc09_build good = {.token = DC09_TOKEN_SIA_DCS, .account = "1234", .data = "PA1"};
    struct dc09_build b = good;
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), 0);
    assert_int_equal(dc09_build(&b, out, n - 1, &n), -1); /* does not fit */
    b.account = "12";
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), -1);
    b = good;
    b.account = "12345678901234567";
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), -1);
    b = good;
    b.receiver = "1234567";
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), -1);
    b = good;
    b.prefix = "x";
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), -1);
    b = good;
    b.seq = 10000;
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), -1);
    b = good;
    b.data = "PA1]";
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), -1);
    b = good;
    b.xdata = "XE1";
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), -1);
    b = good;
    b.token = DC09_TOKEN_ACK;
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), -1);
    b = good;
    b.key = key;
    b.key_len = 20;
    assert_int_equal(dc09_build(&b, out, sizeof out, &n), -1);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(dc09_error_name(DC09_OK), "ok");
    assert_string_equal(dc09_error_name(DC09_ECRC), "crc");
    assert_string_equal(dc09_error_name(DC09_ETIMESTAMP), "timestamp");
    assert_string_equal(dc09_token_name(DC09_TOKEN_ADM_CID), "ADM-CID");
    assert_string_equal(dc09_token_name(DC09_TOKEN_UNKNOWN), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_crc_check_value),
        cmocka_unit_test(test_stream_cut_everywhere),
        cmocka_unit_test(test_frame_next_edges),
        cmocka_unit_test(test_answers_without_receiver),
        cmocka_unit_test(test_encrypted_round_trip),
        cmocka_unit_test(test_decrypt_malformed_hex),
        cmocka_unit_test(test_timestamp_window),
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_build_refuses_malformed),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
