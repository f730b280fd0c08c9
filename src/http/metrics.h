#ifndef NA_HTTP_METRICS_H
#define NA_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/*
 * Request counters and latency histograms per route and status, in Prometheus text
 * format. Routes are indexes into the server's route table (plus one for unmatched
 * paths), so labels never carry ids from URLs. Updated with relaxed atomics from the
 * HTTP threads: the one piece of state they share, because a queue per counter would
 * cost more than the counting.
 */
struct metrics;

/* route_names[i] is "METHOD pattern"-free: method and pattern given separately. */
struct metrics *metrics_new(size_t n_routes, const char *const *methods,
                            const char *const *patterns, int64_t start_ms);
void metrics_free(struct metrics *m);

/* Records one request: route index (n_routes for unmatched), status, duration. */
void metrics_observe(struct metrics *m, size_t route, int status, int64_t duration_us);

/* Appends the exposition text to out. -NA_ETOOBIG when out's maximum is too small. */
int metrics_render(struct metrics *m, struct buf *out);

#endif
