#ifndef NA_HTTP_METRICS_H
#define NA_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/alarm.h"
#include "store/store.h"
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

struct dc09_receiver;
/* Renders the DC-09 receiver's figures with the rest (r borrowed; NULL: none). Set before
 * the HTTP server starts; r must outlive the server. */
void metrics_set_dc09(struct metrics *m, struct dc09_receiver *r);

/* ---- alarm figures (BS 8484 style), computed from storage when asked ---- */

/* Shares of red alarms an alarm receiving centre answers within 10 s and within 40 s. */
#define ALARM_TARGET_WITHIN_10S 0.8
#define ALARM_TARGET_WITHIN_40S 0.985

/* Figures of an organisation's red and duress alarms (not tests) opened in a period. */
struct alarm_figures {
    size_t red_alarms;
    /*
     * Opening to first claim. An alarm closed unclaimed counts with its wait until closing;
     * one still open and unclaimed with its wait until now in the percentiles, and in each
     * share (within 10 s, within 40 s) as a miss once it has waited past that target, left
     * out of it while still within (it may yet be claimed in time). A share with nothing
     * counted is 1.
     */
    struct alarm_spread claim;
    size_t unclaimed;
    bool meets_targets;        /* both shares at their targets (true with no alarms) */
    struct alarm_spread close; /* opening to closing, of those closed */
    size_t genuine, false_accidental, false_malicious, test, still_open;
};
/*
 * Figures of org_id's alarms opened in [from, to) as of now. -NA_ETOOBIG when the period
 * holds more than STORE_ALARM_TIMES_MAX alarms.
 */
int metrics_alarm_figures(struct store *st, int64_t org_id, int64_t from, int64_t to, int64_t now,
                          struct alarm_figures *out);
/*
 * Appends the alarm figures of the last 24 h to out for the first 1000 organisations:
 * notalone_red_alarms_24h, notalone_alarm_claim_seconds_24h (quantiles),
 * notalone_alarm_claimed_within_seconds_ratio_24h and notalone_alarms_waiting.
 */
int metrics_render_alarms(struct store *st, int64_t now, struct buf *out);

#endif
