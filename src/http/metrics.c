#include "http/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc09/receiver.h"
#include "store/store_alarms.h"
#include "util/alloc.h"
#include "util/error.h"

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
    struct dc09_receiver *dc09;   /* borrowed; NULL: no receiver */
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

void metrics_set_dc09(struct metrics *m, struct dc09_receiver *r)
{
    m->dc09 = r;
}

static int render_dc09(struct dc09_receiver *r, struct buf *out)
{
    struct dc09_receiver_stats s;
    dc09_receiver_get_stats(r, &s);
    return buf_appendf(
        out,
        "# HELP notalone_dc09_frames_total DC-09 frames read over TCP and UDP.\n"
        "# TYPE notalone_dc09_frames_total counter\nnotalone_dc09_frames_total %llu\n"
        "# HELP notalone_dc09_answers_total DC-09 answers made, by kind.\n"
        "# TYPE notalone_dc09_answers_total counter\n"
        "notalone_dc09_answers_total{answer=\"ack\"} %llu\n"
        "notalone_dc09_answers_total{answer=\"nak\"} %llu\n"
        "notalone_dc09_answers_total{answer=\"duh\"} %llu\n"
        "# HELP notalone_dc09_repeats_total DC-09 messages acknowledged again without a second "
        "event.\n"
        "# TYPE notalone_dc09_repeats_total counter\nnotalone_dc09_repeats_total %llu\n"
        "# HELP notalone_dc09_dropped_total DC-09 frames not answered: over a limit, or the "
        "connection gone.\n"
        "# TYPE notalone_dc09_dropped_total counter\nnotalone_dc09_dropped_total %llu\n"
        "# HELP notalone_dc09_batches_total DC-09 transactions committed.\n"
        "# TYPE notalone_dc09_batches_total counter\nnotalone_dc09_batches_total %llu\n"
        "# HELP notalone_dc09_connections DC-09 TCP connections open.\n"
        "# TYPE notalone_dc09_connections gauge\nnotalone_dc09_connections %llu\n",
        (unsigned long long)s.frames, (unsigned long long)s.acks, (unsigned long long)s.naks,
        (unsigned long long)s.duhs, (unsigned long long)s.repeats, (unsigned long long)s.dropped,
        (unsigned long long)s.batches, (unsigned long long)s.connections);
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
    if (!rc && m->dc09)
        rc = render_dc09(m->dc09, out);
    return rc;
}

/* ---- alarm figures ---- */

static void count_outcome(struct alarm_figures *f, const struct alarm_times *t)
{
    if (!t->closed_at) {
        f->still_open++;
        return;
    }
    switch ((enum alarm_outcome)t->outcome) {
    case ALARM_OUTCOME_GENUINE:
        f->genuine++;
        break;
    case ALARM_OUTCOME_FALSE_ACCIDENTAL:
        f->false_accidental++;
        break;
    case ALARM_OUTCOME_FALSE_MALICIOUS:
        f->false_malicious++;
        break;
    case ALARM_OUTCOME_TEST:
        f->test++;
        break;
    case ALARM_OUTCOME_NONE:
        break;
    }
}

/*
 * Share of claim times within target_ms. An alarm still open and unclaimed after `waited` ms
 * is a miss once it has waited past the target; while within it, it may yet be claimed in
 * time, so it is left out of the share. 1 when nothing is counted.
 */
static double claim_share(const int64_t *claim, const bool *waiting, size_t n, int64_t target_ms)
{
    size_t counted = 0, within = 0;
    for (size_t i = 0; i < n; i++) {
        if (waiting[i] && claim[i] <= target_ms)
            continue;
        counted++;
        within += claim[i] <= target_ms;
    }
    return counted ? (double)within / (double)counted : 1.0;
}

int metrics_alarm_figures(struct store *st, int64_t org_id, int64_t from, int64_t to, int64_t now,
                          struct alarm_figures *out)
{
    struct alarm_times *rows = NULL;
    size_t n = 0, n_closed = 0;
    memset(out, 0, sizeof *out);
    int rc = store_alarm_times(st, org_id, from, to, &rows, &n);
    if (rc)
        return rc;
    int64_t *claim = xcalloc(n ? n : 1, sizeof *claim);
    int64_t *close = xcalloc(n ? n : 1, sizeof *close);
    bool *waiting = xcalloc(n ? n : 1, sizeof *waiting);
    for (size_t i = 0; i < n; i++) {
        const struct alarm_times *t = &rows[i];
        int64_t claimed = t->first_claimed_at;
        if (!claimed) {
            out->unclaimed++;
            waiting[i] = !t->closed_at;
            claimed = t->closed_at ? t->closed_at : now;
        }
        claim[i] = claimed > t->opened_at ? claimed - t->opened_at : 0;
        if (t->closed_at)
            close[n_closed++] = t->closed_at > t->opened_at ? t->closed_at - t->opened_at : 0;
        count_outcome(out, t);
    }
    out->red_alarms = n;
    /* The shares first: alarm_spread sorts claim, and waiting follows its order. */
    double within_10s = claim_share(claim, waiting, n, 10000);
    double within_40s = claim_share(claim, waiting, n, 40000);
    alarm_spread(claim, n, &out->claim);
    out->claim.within_10s = within_10s;
    out->claim.within_40s = within_40s;
    alarm_spread(close, n_closed, &out->close);
    out->meets_targets = n == 0 || (out->claim.within_10s >= ALARM_TARGET_WITHIN_10S &&
                                    out->claim.within_40s >= ALARM_TARGET_WITHIN_40S);
    free(waiting);
    free(claim);
    free(close);
    free(rows);
    return 0;
}

/* Most organisations one scrape reads the figures of. */
#define METRICS_ORGS_MAX 1000

struct org_alarms {
    int64_t org_id;
    struct alarm_figures f;
    size_t waiting;
};

static int waiting_alarms(struct store *st, int64_t org_id, size_t *out)
{
    struct alarm_row *rows = NULL;
    size_t n = 0;
    *out = 0;
    int rc = store_alarm_queue(st, org_id, STORE_LIST_MAX, &rows, &n);
    for (size_t i = 0; !rc && i < n; i++)
        *out += rows[i].clock.state == ALARM_OPEN;
    alarm_rows_free(rows, n);
    return rc;
}

/* Each family's lines together, as the text format wants. */
static int render_alarm_families(const struct org_alarms *a, size_t n, struct buf *out)
{
    static const char *const quantiles[] = {"0.5", "0.9", "0.99"};
    int rc = buf_append_str(out, "# HELP notalone_red_alarms_24h Red and duress alarms opened "
                                 "in the last 24 h.\n# TYPE notalone_red_alarms_24h gauge\n");
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_appendf(out, "notalone_red_alarms_24h{organisation=\"%lld\"} %zu\n",
                         (long long)a[i].org_id, a[i].f.red_alarms);
    if (!rc)
        rc = buf_append_str(out, "# HELP notalone_alarm_claim_seconds_24h Time from opening to "
                                 "claim of the last 24 h's red alarms.\n"
                                 "# TYPE notalone_alarm_claim_seconds_24h gauge\n");
    for (size_t i = 0; !rc && i < n; i++) {
        const struct alarm_spread *c = &a[i].f.claim;
        const int64_t ms[] = {c->median_ms, c->p90_ms, c->p99_ms};
        for (size_t q = 0; !rc && q < 3; q++)
            rc = buf_appendf(out,
                             "notalone_alarm_claim_seconds_24h{organisation=\"%lld\","
                             "quantile=\"%s\"} %.3f\n",
                             (long long)a[i].org_id, quantiles[q], (double)ms[q] / 1000.0);
    }
    if (!rc)
        rc = buf_append_str(out, "# HELP notalone_alarm_claimed_within_seconds_ratio_24h Share "
                                 "of the last 24 h's red alarms claimed within 10 s and 40 s "
                                 "(1 with none).\n"
                                 "# TYPE notalone_alarm_claimed_within_seconds_ratio_24h gauge\n");
    for (size_t i = 0; !rc && i < n; i++) {
        const struct alarm_spread *c = &a[i].f.claim;
        rc = buf_appendf(out,
                         "notalone_alarm_claimed_within_seconds_ratio_24h{organisation=\"%lld\","
                         "within=\"10\"} %.4f\n"
                         "notalone_alarm_claimed_within_seconds_ratio_24h{organisation=\"%lld\","
                         "within=\"40\"} %.4f\n",
                         (long long)a[i].org_id, c->n ? c->within_10s : 1.0, (long long)a[i].org_id,
                         c->n ? c->within_40s : 1.0);
    }
    if (!rc)
        rc = buf_append_str(out, "# HELP notalone_alarms_waiting Alarms open and unclaimed now.\n"
                                 "# TYPE notalone_alarms_waiting gauge\n");
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_appendf(out, "notalone_alarms_waiting{organisation=\"%lld\"} %zu\n",
                         (long long)a[i].org_id, a[i].waiting);
    return rc;
}

int metrics_render_alarms(struct store *st, int64_t now, struct buf *out)
{
    struct org_row *orgs = NULL;
    size_t n = 0;
    int rc = store_org_list(st, 0, METRICS_ORGS_MAX, &orgs, &n);
    if (rc)
        return rc;
    /* Everything is read before anything is written, so a failure appends nothing. */
    struct org_alarms *a = xcalloc(n ? n : 1, sizeof *a);
    for (size_t i = 0; !rc && i < n; i++) {
        a[i].org_id = orgs[i].id;
        rc = metrics_alarm_figures(st, orgs[i].id, now - 24LL * 3600 * 1000, now + 1, now, &a[i].f);
        if (!rc)
            rc = waiting_alarms(st, orgs[i].id, &a[i].waiting);
    }
    if (!rc)
        rc = render_alarm_families(a, n, out);
    free(a);
    org_rows_free(orgs, n);
    return rc;
}
