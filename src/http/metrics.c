#include "http/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/alloc.h"

/* Statuses are counted by class index; the few distinct ones we answer are listed. */
static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405,
                               409, 413, 415, 422, 429, 500, 503};
#define N_STATUSES   (sizeof statuses / sizeof statuses[0])
#define OTHER_STATUS N_STATUSES

/* Upper bounds of latency buckets in microseconds. */
static const int64_t buckets_us[] = {500,   1000,   2500,   5000,   10000,   25000,
                                     50000, 100000, 250000, 500000, 1000000, 2500000};
#define N_BUCKETS (sizeof buckets_us / sizeof buckets_us[0])

struct route_metrics {
    atomic_uint_fast64_t count[N_STATUSES + 1];
    atomic_uint_fast64_t bucket[N_BUCKETS + 1]; /* last: +Inf */
    atomic_uint_fast64_t sum_us;
};

struct metrics {
    size_t n_routes;
    const char *const *methods;
    const char *const *patterns;
    int64_t start_ms;
    struct route_metrics *routes; /* n_routes + 1 */
};

struct metrics *metrics_new(size_t n_routes, const char *const *methods,
                            const char *const *patterns, int64_t start_ms)
{
    struct metrics *m = xcalloc(1, sizeof *m);
    m->n_routes = n_routes;
    m->methods = methods;
    m->patterns = patterns;
    m->start_ms = start_ms;
    /* calloc'd zero bytes are valid initial values for atomic integers on Linux. */
    m->routes = xcalloc(n_routes + 1, sizeof *m->routes);
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    free(m->routes);
    free(m);
}

void metrics_observe(struct metrics *m, size_t route, int status, int64_t duration_us)
{
    if (route > m->n_routes)
        route = m->n_routes;
    struct route_metrics *r = &m->routes[route];
    size_t s = OTHER_STATUS;
    for (size_t i = 0; i < N_STATUSES; i++)
        if (statuses[i] == status)
            s = i;
    size_t b = N_BUCKETS;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        if (duration_us <= buckets_us[i]) {
            b = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&r->count[s], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, (uint_fast64_t)(duration_us > 0 ? duration_us : 0),
                              memory_order_relaxed);
}

static void route_labels(struct metrics *m, size_t i, const char **method, const char **route)
{
    *method = i < m->n_routes ? m->methods[i] : "any";
    *route = i < m->n_routes ? m->patterns[i] : "unmatched";
}

static int render_counts(struct metrics *m, struct buf *out)
{
    int rc = buf_append_str(out, "# HELP notalone_http_requests_total HTTP requests answered.\n"
                                 "# TYPE notalone_http_requests_total counter\n");
    for (size_t i = 0; !rc && i <= m->n_routes; i++) {
        const char *method, *route;
        route_labels(m, i, &method, &route);
        for (size_t s = 0; !rc && s <= N_STATUSES; s++) {
            uint_fast64_t c = atomic_load_explicit(&m->routes[i].count[s], memory_order_relaxed);
            if (!c)
                continue;
            char status[16] = "other";
            if (s != OTHER_STATUS)
                snprintf(status, sizeof status, "%d", statuses[s]);
            rc = buf_appendf(out,
                             "notalone_http_requests_total{route=\"%s\",method=\"%s\","
                             "status=\"%s\"} %llu\n",
                             route, method, status, (unsigned long long)c);
        }
    }
    return rc;
}

static int render_histogram(struct metrics *m, size_t i, struct buf *out)
{
    const char *method, *route;
    route_labels(m, i, &method, &route);
    struct route_metrics *r = &m->routes[i];
    uint_fast64_t cum = 0;
    int rc = 0;
    for (size_t b = 0; !rc && b <= N_BUCKETS; b++) {
        cum += atomic_load_explicit(&r->bucket[b], memory_order_relaxed);
        if (b < N_BUCKETS)
            rc = buf_appendf(out,
                             "notalone_http_request_duration_seconds_bucket{route=\"%s\","
                             "method=\"%s\",le=\"%g\"} %llu\n",
                             route, method, (double)buckets_us[b] / 1e6, (unsigned long long)cum);
        else
            rc = buf_appendf(out,
                             "notalone_http_request_duration_seconds_bucket{route=\"%s\","
                             "method=\"%s\",le=\"+Inf\"} %llu\n",
                             route, method, (unsigned long long)cum);
    }
    if (!rc)
        rc = buf_appendf(out,
                         "notalone_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} "
                         "%.6f\n"
                         "notalone_http_request_duration_seconds_count{route=\"%s\","
                         "method=\"%s\"} %llu\n",
                         route, method,
                         (double)atomic_load_explicit(&r->sum_us, memory_order_relaxed) / 1e6,
                         route, method, (unsigned long long)cum);
    return rc;
}

int metrics_render(struct metrics *m, struct buf *out)
{
    int rc = buf_appendf(out,
                         "# HELP notalone_up 1 while the server runs.\n# TYPE notalone_up gauge\n"
                         "notalone_up 1\n"
                         "# HELP notalone_start_time_seconds Start time since the epoch.\n"
                         "# TYPE notalone_start_time_seconds gauge\n"
                         "notalone_start_time_seconds %.3f\n",
                         (double)m->start_ms / 1000.0);
    if (!rc)
        rc = render_counts(m, out);
    if (!rc)
        rc = buf_append_str(out, "# HELP notalone_http_request_duration_seconds Time to answer.\n"
                                 "# TYPE notalone_http_request_duration_seconds histogram\n");
    for (size_t i = 0; !rc && i <= m->n_routes; i++) {
        uint_fast64_t total = 0;
        for (size_t b = 0; b <= N_BUCKETS; b++)
            total += atomic_load_explicit(&m->routes[i].bucket[b], memory_order_relaxed);
        if (total)
            rc = render_histogram(m, i, out);
    }
    return rc;
}
