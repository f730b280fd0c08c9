/*
 * Tests of the request metrics and their Prometheus text (http/metrics.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/metrics.h"
#include "util/buf.h"
#include "util/error.h"

static const char *const methods[] = {"GET", "POST"};
static const char *const patterns[] = {"/v1/users/{id}", "/v1/session"};
#define N_ROUTES 2

/* Renders m into a fresh string (caller frees). */
static char *render(struct metrics *m)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(m, &b), 0);
    return buf_take(&b);
}

/* Asserts that text holds the whole line. */
static void assert_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    fail_msg("line not found: %s\n---\n%s", line, text);
}

static void assert_no_substring(const char *text, const char *s)
{
    if (strstr(text, s))
        fail_msg("unexpected \"%s\" in\n%s", s, text);
}

static void test_empty(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(N_ROUTES, methods, patterns, 1795000000123LL);
    char *text = render(m);
    assert_line(text, "notalone_up 1");
    assert_line(text, "notalone_start_time_seconds 1795000000.123");
    assert_line(text, "# TYPE notalone_http_requests_total counter");
    assert_line(text, "# TYPE notalone_http_request_duration_seconds histogram");
    assert_no_substring(text, "notalone_http_requests_total{");
    assert_no_substring(text, "_bucket{");
    free(text);
    metrics_free(m);
    metrics_free(NULL);
}

static void test_counters(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(N_ROUTES, methods, patterns, 0);
    metrics_observe(m, 0, 200, 100);
    metrics_observe(m, 0, 200, 100);
    metrics_observe(m, 0, 404, 100);
    metrics_observe(m, 1, 201, 100);
    metrics_observe(m, 1, 429, 100);
    char *text = render(m);
    assert_line(text, "notalone_http_requests_total{route=\"/v1/users/{id}\",method=\"GET\","
                      "status=\"200\"} 2");
    assert_line(text, "notalone_http_requests_total{route=\"/v1/users/{id}\",method=\"GET\","
                      "status=\"404\"} 1");
    assert_line(text, "notalone_http_requests_total{route=\"/v1/session\",method=\"POST\","
                      "status=\"201\"} 1");
    assert_line(text, "notalone_http_requests_total{route=\"/v1/session\",method=\"POST\","
                      "status=\"429\"} 1");
    /* Statuses never seen are not listed. */
    assert_no_substring(text, "status=\"500\"");
    assert_no_substring(text, "route=\"unmatched\"");
    free(text);
    metrics_free(m);
}

static void test_unmatched_and_other(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(N_ROUTES, methods, patterns, 0);
    metrics_observe(m, N_ROUTES, 404, 10);
    metrics_observe(m, N_ROUTES + 100, 404, 10); /* out of range: counted as unmatched */
    metrics_observe(m, 0, 418, 10);
    metrics_observe(m, 0, 302, 10);
    metrics_observe(m, 0, -1, 10);
    char *text = render(m);
    assert_line(text, "notalone_http_requests_total{route=\"unmatched\",method=\"any\","
                      "status=\"404\"} 2");
    assert_line(text, "notalone_http_requests_total{route=\"/v1/users/{id}\",method=\"GET\","
                      "status=\"other\"} 3");
    assert_no_substring(text, "status=\"418\"");
    assert_line(text, "notalone_http_request_duration_seconds_count{route=\"unmatched\","
                      "method=\"any\"} 2");
    free(text);
    metrics_free(m);
}

static void test_histogram(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(N_ROUTES, methods, patterns, 0);
    metrics_observe(m, 1, 200, 500);     /* on the first bound: le 0.0005 */
    metrics_observe(m, 1, 200, 501);     /* le 0.001 */
    metrics_observe(m, 1, 200, 20000);   /* le 0.025 */
    metrics_observe(m, 1, 200, 2500000); /* le 2.5 */
    metrics_observe(m, 1, 200, 9000000); /* +Inf only */
    metrics_observe(m, 1, 500, -7);      /* a clock step back: first bucket, adds 0 */
    char *text = render(m);
    const char *pre = "notalone_http_request_duration_seconds_bucket{route=\"/v1/session\","
                      "method=\"POST\",le=";
    static const struct {
        const char *le;
        int count;
    } want[] = {{"0.0005", 2}, {"0.001", 3}, {"0.0025", 3}, {"0.005", 3}, {"0.01", 3},
                {"0.025", 4},  {"0.05", 4},  {"0.1", 4},    {"0.25", 4},  {"0.5", 4},
                {"1", 4},      {"2.5", 5},   {"+Inf", 6}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s\"%s\"} %d", pre, want[i].le, want[i].count);
        assert_line(text, line);
    }
    assert_line(text, "notalone_http_request_duration_seconds_count{route=\"/v1/session\","
                      "method=\"POST\"} 6");
    assert_line(text, "notalone_http_request_duration_seconds_sum{route=\"/v1/session\","
                      "method=\"POST\"} 11.521001");
    /* Routes without requests have no histogram. */
    assert_no_substring(text, "_bucket{route=\"/v1/users/{id}\"");

    /* Buckets are cumulative: each count is at least the one before. */
    long last = -1;
    for (const char *p = strstr(text, pre); p; p = strstr(p + 1, pre)) {
        const char *sp = strchr(p, '}');
        assert_non_null(sp);
        long v = strtol(sp + 2, NULL, 10);
        assert_true(v >= last);
        last = v;
    }
    assert_int_equal(last, 6);
    free(text);
    metrics_free(m);
}

static void test_render_too_small(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(N_ROUTES, methods, patterns, 0);
    metrics_observe(m, 0, 200, 100);
    metrics_observe(m, 1, 200, 100);
    metrics_observe(m, N_ROUTES, 404, 100);
    char *full = render(m);
    size_t need = strlen(full);
    free(full);

    struct buf b;
    buf_init(&b, need - 1);
    assert_int_equal(metrics_render(m, &b), -NA_ETOOBIG);
    assert_true(b.len <= need - 1);
    buf_fini(&b);

    buf_init(&b, 16);
    assert_int_equal(metrics_render(m, &b), -NA_ETOOBIG);
    assert_true(b.len <= 16);
    buf_fini(&b);

    buf_init(&b, need);
    assert_int_equal(metrics_render(m, &b), 0);
    assert_int_equal(b.len, need);
    buf_fini(&b);

    /* Rendering appends: what was in the buffer stays in front. */
    buf_init(&b, 2 * need);
    assert_int_equal(buf_append_str(&b, "# before\n"), 0);
    assert_int_equal(metrics_render(m, &b), 0);
    assert_memory_equal(b.data, "# before\n", 9);
    assert_int_equal(b.len, need + 9);
    buf_fini(&b);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_unmatched_and_other),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_render_too_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
