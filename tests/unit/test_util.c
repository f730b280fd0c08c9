/*
 * Tests of the util modules: buf, str, clock, log_quote, error, secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/str.h"

/* ---- buf ---- */

static void test_buf_append_within_max(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_int_equal(buf_append_str(&b, "defgh"), 0);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "abcdefgh");
    assert_true(b.cap <= b.max + 1);
    buf_fini(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_buf_append_past_max_unchanged(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 5);
    assert_int_equal(buf_append(&b, "abcd", 4), 0);
    assert_int_equal(buf_append(&b, "xy", 2), -NA_ETOOBIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "abcd");
    assert_int_equal(buf_append_str(&b, "123456789"), -NA_ETOOBIG);
    assert_string_equal(b.data, "abcd");
    /* Exactly reaching max is allowed. */
    assert_int_equal(buf_append(&b, "e", 1), 0);
    assert_string_equal(b.data, "abcde");
    assert_int_equal(buf_append(&b, "f", 1), -NA_ETOOBIG);
    assert_int_equal(b.len, 5);
    /* A huge length must not wrap around the check. */
    assert_int_equal(buf_append(&b, "g", SIZE_MAX), -NA_ETOOBIG);
    assert_int_equal(b.len, 5);
    buf_fini(&b);
}

static void test_buf_empty_append_and_zero_max(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append(&b, "a", 1), -NA_ETOOBIG);
    assert_int_equal(buf_appendf(&b, "%d", 1), -NA_ETOOBIG);
    assert_int_equal(b.len, 0);
    buf_fini(&b);
}

static void test_buf_appendf(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 16);
    assert_int_equal(buf_appendf(&b, "%s=%d", "n", 42), 0);
    assert_int_equal(buf_appendf(&b, ";%03d", 7), 0);
    assert_string_equal(b.data, "n=42;007");
    assert_int_equal(b.len, 8);
    /* 9 more characters would make 17 > 16: refused, unchanged. */
    assert_int_equal(buf_appendf(&b, "%s", "123456789"), -NA_ETOOBIG);
    assert_string_equal(b.data, "n=42;007");
    assert_int_equal(b.len, 8);
    assert_int_equal(buf_appendf(&b, "%s", "12345678"), 0);
    assert_int_equal(b.len, 16);
    assert_string_equal(b.data, "n=42;00712345678");
    buf_fini(&b);
}

static void test_buf_appendf_grows(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 10000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_appendf(&b, "%d,", i % 10), 0);
    assert_int_equal(b.len, 2000);
    assert_int_equal(strlen(b.data), 2000);
    assert_memory_equal(b.data + 1990, "5,6,7,8,9,", 10);
    buf_fini(&b);
}

static void test_buf_take_and_reset(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 32);
    char *empty = buf_take(&b);
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);

    assert_int_equal(buf_append_str(&b, "hello"), 0);
    char *p = buf_take(&b);
    assert_string_equal(p, "hello");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 32);
    free(p);

    assert_int_equal(buf_append_str(&b, "again"), 0);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append_str(&b, "x"), 0);
    assert_string_equal(b.data, "x");
    buf_fini(&b);
    buf_reset(&b); /* on an empty buffer: no crash */
    assert_int_equal(b.len, 0);
}

/* ---- str ---- */

static int parse(const char *s, int64_t min, int64_t max, int64_t *out)
{
    return parse_int64(slice_of(s), min, max, out);
}

static void test_parse_int64_valid(void **state)
{
    int64_t v = -1;
    (void)state;
    assert_int_equal(parse("0", INT64_MIN, INT64_MAX, &v), 0);
    assert_int_equal(v, 0);
    v = -1;
    assert_int_equal(parse("-0", INT64_MIN, INT64_MAX, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(parse("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(parse("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(parse("00042", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    /* A slice stops at its length, not at a NUL. */
    struct slice sl = {"12345", 2};
    assert_int_equal(parse_int64(sl, 0, 100, &v), 0);
    assert_int_equal(v, 12);
}

static void test_parse_int64_invalid(void **state)
{
    int64_t v = 77;
    (void)state;
    const char *bad[] = {"",     "-",   "+1",  " 1",  "1 ",           "1x",
                         "0x10", "1.0", "--1", "1-",  "\xef\xbc\x91", "1e3",
                         "\t1",  "+",   "- 1", "1\n", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], INT64_MIN, INT64_MAX, &v), -NA_EINVAL);
        assert_int_equal(v, 77);
    }
    /* Overflow by one on either side. */
    assert_int_equal(parse("9223372036854775808", INT64_MIN, INT64_MAX, &v), -NA_EINVAL);
    assert_int_equal(parse("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -NA_EINVAL);
    assert_int_equal(parse("99999999999999999999", INT64_MIN, INT64_MAX, &v), -NA_EINVAL);
    assert_int_equal(parse("18446744073709551616", INT64_MIN, INT64_MAX, &v), -NA_EINVAL);
    assert_int_equal(v, 77);
    struct slice empty = {NULL, 0};
    assert_int_equal(parse_int64(empty, 0, 10, &v), -NA_EINVAL);
}

static void test_parse_int64_range(void **state)
{
    int64_t v = 0;
    (void)state;
    assert_int_equal(parse("1", 1, 256, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(parse("256", 1, 256, &v), 0);
    assert_int_equal(v, 256);
    assert_int_equal(parse("0", 1, 256, &v), -NA_EINVAL);
    assert_int_equal(parse("257", 1, 256, &v), -NA_EINVAL);
    assert_int_equal(parse("-1", 0, 10, &v), -NA_EINVAL);
    assert_int_equal(parse("-10", -10, -5, &v), 0);
    assert_int_equal(v, -10);
    assert_int_equal(parse("-4", -10, -5, &v), -NA_EINVAL);
}

static void test_parse_duration(void **state)
{
    int64_t v = -1;
    (void)state;
    assert_int_equal(parse_duration_s("90", 1000000, &v), 0);
    assert_int_equal(v, 90);
    assert_int_equal(parse_duration_s("45s", 1000000, &v), 0);
    assert_int_equal(v, 45);
    assert_int_equal(parse_duration_s("20m", 1000000, &v), 0);
    assert_int_equal(v, 1200);
    assert_int_equal(parse_duration_s("12h", 1000000, &v), 0);
    assert_int_equal(v, 43200);
    assert_int_equal(parse_duration_s("2d", 1000000, &v), 0);
    assert_int_equal(v, 172800);
    assert_int_equal(parse_duration_s("0m", 1000000, &v), 0);
    assert_int_equal(v, 0);
    /* Exactly max, and one unit past it. */
    assert_int_equal(parse_duration_s("2h", 7200, &v), 0);
    assert_int_equal(v, 7200);
    assert_int_equal(parse_duration_s("7200", 7200, &v), 0);
    assert_int_equal(parse_duration_s("7201", 7200, &v), -NA_EINVAL);
    assert_int_equal(parse_duration_s("121m", 7200, &v), -NA_EINVAL);
    assert_int_equal(parse_duration_s("3h", 7200, &v), -NA_EINVAL);
    assert_int_equal(parse_duration_s("1d", 7200, &v), -NA_EINVAL);
    v = 5;
    const char *bad[] = {"", "m", "-5m", "-5", "5 m", "5M", "5w", "m5", "1.5h", "+5m", "5mm", "h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse_duration_s(bad[i], 1000000, &v), -NA_EINVAL);
        assert_int_equal(v, 5);
    }
    /* Multiplying by the unit must not overflow into a small or negative value. */
    assert_int_equal(parse_duration_s("9223372036854775807d", INT64_MAX, &v), -NA_EINVAL);
    assert_int_equal(parse_duration_s("106751991167301d", INT64_MAX, &v), -NA_EINVAL);
    assert_int_equal(parse_duration_s("106751991167300d", INT64_MAX, &v), 0);
    assert_true(v > 0 && v == 106751991167300LL * 86400);
}

static void test_hex_encode(void **state)
{
    char dst[16];
    const unsigned char src[] = {0x00, 0x0f, 0xa5, 0xff, 0x10};
    (void)state;
    memset(dst, 'Z', sizeof dst);
    hex_encode(src, sizeof src, dst);
    assert_string_equal(dst, "000fa5ff10");
    assert_int_equal(dst[11], 'Z');
    hex_encode(src, 0, dst);
    assert_string_equal(dst, "");
}

static void test_slice(void **state)
{
    (void)state;
    struct slice s = slice_of("abc");
    assert_int_equal(s.len, 3);
    assert_true(slice_eq(s, "abc"));
    assert_false(slice_eq(s, "ab"));
    assert_false(slice_eq(s, "abcd"));
    assert_true(slice_eq(slice_of(""), ""));
    assert_int_equal(slice_of(NULL).len, 0);
}

/* ---- clock ---- */

static void test_time_format(void **state)
{
    char buf[32];
    (void)state;
    assert_string_equal(time_format_iso(0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
    assert_string_equal(time_format_iso(1795424400000LL, buf, sizeof buf),
                        "2026-11-23T09:00:00.000Z");
    assert_string_equal(time_format_iso(951914096789LL, buf, sizeof buf),
                        "2000-03-01T12:34:56.789Z");
    assert_string_equal(time_format_iso(2147483648000LL, buf, sizeof buf),
                        "2038-01-19T03:14:08.000Z");
    assert_string_equal(time_format_iso(-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
    assert_string_equal(time_format_iso(-1000, buf, sizeof buf), "1969-12-31T23:59:59.000Z");
    assert_string_equal(time_format_iso(-1001, buf, sizeof buf), "1969-12-31T23:59:58.999Z");
    /* Extremes neither overflow nor write past the buffer. */
    const int64_t extremes[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 999};
    for (size_t i = 0; i < sizeof extremes / sizeof extremes[0]; i++) {
        memset(buf, 'Z', sizeof buf);
        time_format_iso(extremes[i], buf, 26);
        assert_true(strnlen(buf, 26) < 26);
        assert_int_equal(buf[26], 'Z');
    }
    /* A small buffer truncates but stays terminated. */
    memset(buf, 'Z', sizeof buf);
    time_format_iso(0, buf, 5);
    assert_string_equal(buf, "1970");
}

static void test_time_parse_valid(void **state)
{
    int64_t ms = 0;
    char buf[32];
    (void)state;
    assert_int_equal(time_parse_iso("2026-11-23T09:00:00Z", &ms), 0);
    assert_true(ms == 1795424400000LL);
    assert_int_equal(time_parse_iso("2026-11-23T09:00:00+00:00", &ms), 0);
    assert_true(ms == 1795424400000LL);
    assert_int_equal(time_parse_iso("1970-01-01T00:00:00Z", &ms), 0);
    assert_true(ms == 0);
    assert_int_equal(time_parse_iso("2000-03-01T12:34:56.789Z", &ms), 0);
    assert_true(ms == 951914096789LL);
    assert_int_equal(time_parse_iso("2000-03-01T12:34:56.7Z", &ms), 0);
    assert_true(ms == 951914096700LL);
    assert_int_equal(time_parse_iso("2000-03-01T12:34:56.78Z", &ms), 0);
    assert_true(ms == 951914096780LL);
    /* Digits past milliseconds are dropped, not rounded. */
    assert_int_equal(time_parse_iso("2000-03-01T12:34:56.999999Z", &ms), 0);
    assert_true(ms == 951914096999LL);
    assert_int_equal(time_parse_iso("2024-02-29T00:00:00Z", &ms), 0);
    assert_true(ms == 1709164800000LL);
    assert_int_equal(time_parse_iso("2000-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(time_parse_iso("2026-12-31T23:59:59.999Z", &ms), 0);

    /* Round trip of formatted values. */
    const int64_t values[] = {0, 1, 999, 1000, 951914096789LL, 1709164800000LL, 4102444799999LL};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        int64_t back = -1;
        time_format_iso(values[i], buf, sizeof buf);
        assert_int_equal(time_parse_iso(buf, &back), 0);
        assert_true(back == values[i]);
    }
}

static void test_time_parse_invalid(void **state)
{
    int64_t ms = 123;
    (void)state;
    const char *bad[] = {
        "",
        "2026-11-23",
        "2026-11-23T09:00:00",       /* no zone */
        "2026-11-23T09:00:00+01:00", /* other offsets */
        "2026-11-23T09:00:00-00:00",
        "2026-11-23T09:00:00+00:00x",
        "2026-11-23T09:00:00Zjunk",
        "2026-11-23T09:00:00Z ",
        "2026-11-23 09:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T09:60:00Z",
        "2026-11-23T09:00:60Z",
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "2026-11-23T09:00:00.Z",
        "2026-11-23T09:00:00.1234567890Z",
        "26-11-23T09:00:00Z",
        "2026-1-23T09:00:00Z",
        "2026-11-23T9:00:00Z",
        "+2026-11-23T09:00:00Z",
        "2026-11-23T09:00Z",
        "2026-11-23T09:00:00ZZ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (time_parse_iso(bad[i], &ms) != -NA_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(ms, 123);
    }
}

static void test_clock_simulated(void **state)
{
    (void)state;
    struct clock c = clock_simulated(1000);
    assert_int_equal(clock_now_ms(&c), 1000);
    clock_advance(&c, 0);
    assert_int_equal(clock_now_ms(&c), 1000);
    clock_advance(&c, 15 * 60 * 1000);
    assert_int_equal(clock_now_ms(&c), 1000 + 15 * 60 * 1000);
    clock_advance(&c, 1);
    assert_int_equal(clock_now_ms(&c), 1000 + 15 * 60 * 1000 + 1);

    struct clock sys = clock_system();
    int64_t now = clock_now_ms(&sys);
    assert_true(now > 1700000000000LL); /* after 2023 */
    assert_true(clock_system_ms() >= now);
}

/* ---- log_quote ---- */

static void test_log_quote_escapes(void **state)
{
    char dst[64];
    (void)state;
    assert_string_equal(log_quote(dst, sizeof dst, "plain"), "\"plain\"");
    assert_string_equal(log_quote(dst, sizeof dst, ""), "\"\"");
    assert_string_equal(log_quote(dst, sizeof dst, NULL), "\"\"");
    assert_string_equal(log_quote(dst, sizeof dst, "a\"b"), "\"a\\\"b\"");
    assert_string_equal(log_quote(dst, sizeof dst, "a\\b"), "\"a\\\\b\"");
    assert_string_equal(log_quote(dst, sizeof dst, "a\nb\r\t"), "\"a\\x0ab\\x0d\\x09\"");
    assert_string_equal(log_quote(dst, sizeof dst, "\x01\x1f\x7f"), "\"\\x01\\x1f\\x7f\"");
    /* A forged log field cannot appear unescaped. */
    assert_string_equal(log_quote(dst, sizeof dst, "x\" level=error"), "\"x\\\" level=error\"");
    /* UTF-8 bytes pass through. */
    assert_string_equal(log_quote(dst, sizeof dst, "caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

static void test_log_quote_truncation(void **state)
{
    char dst[16];
    (void)state;
    for (size_t n = 0; n <= 12; n++) {
        memset(dst, 'Z', sizeof dst);
        log_quote(dst, n, "abcdefghijklmnop\"\\\n");
        /* Nothing written at or past dst[n]. */
        for (size_t i = n; i < sizeof dst; i++)
            assert_int_equal(dst[i], 'Z');
        if (n == 0)
            continue;
        size_t len = strnlen(dst, n);
        assert_true(len < n);
        if (n >= 3) {
            assert_true(len >= 2);
            assert_int_equal(dst[0], '"');
            assert_int_equal(dst[len - 1], '"');
        }
    }
    memset(dst, 'Z', sizeof dst);
    assert_string_equal(log_quote(dst, 1, "abc"), "");
    assert_string_equal(log_quote(dst, 2, "abc"), "");
    assert_string_equal(log_quote(dst, 3, "abc"), "\"\"");
    assert_string_equal(log_quote(dst, 5, "abc"), "\"ab\"");
    assert_string_equal(log_quote(dst, 6, "abc"), "\"abc\"");
    /* An escape is never cut in half: it is dropped whole. */
    assert_string_equal(log_quote(dst, 5, "a\"b"), "\"a\"");
    assert_string_equal(log_quote(dst, 6, "a\"b"), "\"a\\\"\"");
    assert_string_equal(log_quote(dst, 7, "a\nb"), "\"a\"");
    assert_string_equal(log_quote(dst, 8, "a\nb"), "\"a\\x0a\"");
}

/* ---- error ---- */

static void test_error_table(void **state)
{
    static const struct {
        int err;
        int status;
        const char *code;
    } want[] = {
        {NA_EINVAL, 422, "invalid_field"},
        {NA_EMALFORMED, 400, "malformed_request"},
        {NA_EAUTH, 401, "unauthenticated"},
        {NA_EBADLOGIN, 401, "invalid_credentials"},
        {NA_EFORBIDDEN, 403, "forbidden"},
        {NA_EPWCHANGE, 403, "password_change_required"},
        {NA_ENOTFOUND, 404, "not_found"},
        {NA_EMETHOD, 405, "method_not_allowed"},
        {NA_ECONFLICT, 409, "conflict"},
        {NA_ETOOBIG, 413, "payload_too_large"},
        {NA_EMEDIATYPE, 415, "unsupported_media_type"},
        {NA_ERATE, 429, "too_many_attempts"},
        {NA_ESTORE, 500, "internal"},
        {NA_EUNAVAILABLE, 503, "unavailable"},
        {NA_EVERSION, 500, "internal"},
        {NA_EIO, 500, "internal"},
        {NA_ECSRF, 403, "csrf_failed"},
    };
    (void)state;
    assert_int_equal(sizeof want / sizeof want[0], NA_ERROR_COUNT - 1);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(na_error_status(-want[i].err), want[i].status);
        assert_int_equal(na_error_status(want[i].err), want[i].status);
        assert_string_equal(na_error_code(-want[i].err), want[i].code);
        assert_string_equal(na_error_code(want[i].err), want[i].code);
        assert_non_null(na_error_message(-want[i].err));
        assert_true(strlen(na_error_message(want[i].err)) > 0);
    }
    const int unknown[] = {NA_ERROR_COUNT, -NA_ERROR_COUNT, 1000, -1000, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_int_equal(na_error_status(unknown[i]), 500);
        assert_string_equal(na_error_code(unknown[i]), "internal");
        assert_non_null(na_error_message(unknown[i]));
    }
}

/* ---- secret ---- */

static int setup_secret(void **state)
{
    (void)state;
    return secret_init() == 0 ? 0 : -1;
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]) || s[i] == '\0')
            return false;
    return true;
}

static void test_secret_token(void **state)
{
    char a[SECRET_TOKEN_LEN + 1], b[SECRET_TOKEN_LEN + 1];
    (void)state;
    secret_token_new("na_s_", a, sizeof a);
    secret_token_new("na_s_", b, sizeof b);
    assert_int_equal(strlen(a), SECRET_TOKEN_LEN);
    assert_memory_equal(a, "na_s_", 5);
    assert_true(is_lower_hex(a + 5, SECRET_TOKEN_HEX));
    assert_string_not_equal(a, b);
    secret_token_new("na_k_", b, sizeof b);
    assert_memory_equal(b, "na_k_", 5);
    assert_true(is_lower_hex(b + 5, SECRET_TOKEN_HEX));
}

static void test_secret_hash_hex(void **state)
{
    char h[SECRET_HASH_HEX + 1];
    (void)state;
    secret_hash_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    secret_hash_hex("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* The length counts, not a NUL. */
    secret_hash_hex("abcdef", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_secret_password(void **state)
{
    char hash[SECRET_PWHASH_MAX];
    const char *pw = "correct horse battery";
    (void)state;
    assert_int_equal(secret_password_hash(pw, strlen(pw), hash), 0);
    assert_true(strlen(hash) < SECRET_PWHASH_MAX);
    assert_memory_equal(hash, "$argon2id$", 10);
    assert_true(secret_password_verify(hash, pw, strlen(pw)));
    assert_false(secret_password_verify(hash, "correct horse batterY", strlen(pw)));
    assert_false(secret_password_verify(hash, pw, strlen(pw) - 1));
    assert_false(secret_password_verify(hash, "", 0));
    assert_false(secret_password_verify(NULL, pw, strlen(pw)));
    assert_false(secret_password_verify("", pw, strlen(pw)));

    char truncated[SECRET_PWHASH_MAX];
    size_t n = strlen(hash);
    memcpy(truncated, hash, n - 4);
    truncated[n - 4] = '\0';
    assert_false(secret_password_verify(truncated, pw, strlen(pw)));

    /* A NUL inside the password is part of it. */
    const char nul_pw[] = "abc\0defghij";
    assert_int_equal(secret_password_hash(nul_pw, sizeof nul_pw - 1, hash), 0);
    assert_true(secret_password_verify(hash, nul_pw, sizeof nul_pw - 1));
    assert_false(secret_password_verify(hash, nul_pw, 3));
}

static void test_secret_one_time_password(void **state)
{
    char a[SECRET_OTP_LEN + 1], b[SECRET_OTP_LEN + 1];
    const char *alphabet = "23456789abcdefghjkmnpqrstuvwxyz";
    (void)state;
    secret_one_time_password(a);
    secret_one_time_password(b);
    assert_string_not_equal(a, b);
    for (int k = 0; k < 50; k++) {
        secret_one_time_password(a);
        assert_int_equal(strlen(a), SECRET_OTP_LEN);
        for (size_t i = 0; i < SECRET_OTP_LEN; i++) {
            if (i % 5 == 4)
                assert_int_equal(a[i], '-');
            else if (!strchr(alphabet, a[i]))
                fail_msg("character '%c' of %s not in the alphabet", a[i], a);
        }
    }
}

static void test_secret_equal(void **state)
{
    (void)state;
    assert_true(secret_equal("abcd", "abcd", 4));
    assert_false(secret_equal("abcd", "abce", 4));
    assert_true(secret_equal("abcd", "abce", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_within_max),
        cmocka_unit_test(test_buf_append_past_max_unchanged),
        cmocka_unit_test(test_buf_empty_append_and_zero_max),
        cmocka_unit_test(test_buf_appendf),
        cmocka_unit_test(test_buf_appendf_grows),
        cmocka_unit_test(test_buf_take_and_reset),
        cmocka_unit_test(test_parse_int64_valid),
        cmocka_unit_test(test_parse_int64_invalid),
        cmocka_unit_test(test_parse_int64_range),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_time_parse_valid),
        cmocka_unit_test(test_time_parse_invalid),
        cmocka_unit_test(test_clock_simulated),
        cmocka_unit_test(test_log_quote_escapes),
        cmocka_unit_test(test_log_quote_truncation),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test_setup(test_secret_token, setup_secret),
        cmocka_unit_test_setup(test_secret_hash_hex, setup_secret),
        cmocka_unit_test_setup(test_secret_password, setup_secret),
        cmocka_unit_test_setup(test_secret_one_time_password, setup_secret),
        cmocka_unit_test_setup(test_secret_equal, setup_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
