#ifndef NA_WATCH_WATCH_H
#define NA_WATCH_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/escalation.h"
#include "notify/notify.h"
#include "store/store.h"
#include "store/store_watch.h"
#include "util/clock.h"

/*
 * The watch: what keeps workers in sight once their visits are stored. It owns the
 * scheduler (deadlines, reminders, escalation limits, delivery retries) and the delivery
 * thread that works through the outbox, each with its own storage connection. HTTP
 * handlers change rows in their own transactions and, after the commit, tell the watch
 * what to (re)schedule; the case logic they share with the scheduler (opening, telling,
 * acknowledging, resolving) lives here so there is one of each.
 */
struct watch;

struct watch_config {
    const struct clock *clock;        /* borrowed; outlives the watch */
    const struct store_config *store; /* the watch opens its own connections */
    int64_t reminder_before_ms;       /* 0: no reminders */
    const char *public_url;           /* base of acknowledgement links */
    struct notify_config notify;      /* email is enabled when notify.smtp_url is set */
};

/* Opens the watch's connections. Caller frees with watch_free. */
int watch_new(const struct watch_config *cfg, struct watch **out);
/* Rebuilds the timetable from storage and starts the threads; what fell due while the
 * server was down fires at once. */
int watch_start(struct watch *w);
/* Stops the threads (the work in progress completes) and closes. NULL is a no-op. */
void watch_free(struct watch *w);

/* After a commit: (re)schedules the visit's deadline and reminder, or drops them once it
 * is no longer active. */
void watch_visit_changed(struct watch *w, const struct visit_row *v);
/* After a commit: (re)schedules the case's level limit, or drops it once resolved. */
void watch_escalation_changed(struct watch *w, const struct escalation_row *e);
/* After a commit: hands new outbox rows to the delivery thread. */
void watch_deliver(struct watch *w, const int64_t *outbox_ids, size_t n);

/*
 * Waits until everything due by the clock's current time has been handled, deliveries
 * included (a simulated clock's tests call it after moving the clock). -NA_EUNAVAILABLE
 * when timeout_ms of real time pass first.
 */
int watch_settle(struct watch *w, int64_t timeout_ms);

/* Figures for /metrics. */
struct watch_stats {
    size_t scheduled;        /* jobs in the timetable */
    uint64_t fired;          /* jobs fired since start */
    int64_t max_lateness_ms; /* worst lateness of a fired job since start */
    uint64_t taken_over;     /* rows with due work taken over from silent nodes */
};
void watch_get_stats(struct watch *w, struct watch_stats *out);

/* ---- shared case logic (run inside the caller's transaction) ---- */

/* Outbox ids created by a case operation, to hand to watch_deliver after the commit. */
struct id_list {
    int64_t *ids;
    size_t n;
};
void id_list_fini(struct id_list *l);

/*
 * The worker is safe (checked in, ended the visit): resolves the visit's open case, if
 * any, and tells everyone told so far. *had_case says whether there was one; out (may be
 * zeroed) receives the case as it now is.
 */
int watch_worker_safe(struct watch *w, struct store *st, const struct visit_row *v, const char *how,
                      int64_t now, bool *had_case, struct escalation_row *out,
                      struct id_list *outbox);
/* user_id takes the case. -NA_ECONFLICT when held or resolved. */
int watch_acknowledge(struct watch *w, struct store *st, struct escalation_row *e, int64_t user_id,
                      int64_t now);
/*
 * Records the outcome and tells everyone told so far. Confirmed safe, an active visit
 * counts as checked in (a fresh deadline); v_out (may be NULL; caller finis it) receives
 * the visit as it now is. -NA_ECONFLICT when already resolved.
 */
int watch_resolve(struct watch *w, struct store *st, struct escalation_row *e, int64_t user_id,
                  enum escalation_outcome outcome, const char *how, const char *police_reference,
                  int64_t now, struct visit_row *v_out, struct id_list *outbox);
/* Tells a newly nominated buddy (with a link to accept through the API). */
int watch_buddy_nominated(struct watch *w, struct store *st, const struct visit_row *v, int64_t now,
                          struct id_list *outbox);
/* The reminder time for a visit's current deadline (0: none). */
int64_t watch_reminder_at(const struct watch *w, const struct visit_row *v, int64_t now);

/* ---- escalation policies as JSON ---- */

/*
 * Reads {"levels": [...]} (docs/api.md) into p. -NA_EINVAL with the offending field
 * ("levels[2].limit") in field (size n).
 */
int policy_from_json(json_t *root, struct escalation_policy *p, char *field, size_t n);
/*
 * A stored policy (JSON text; NULL for none) into p: the default when there is none, and
 * also, logged as an error, when the text is damaged, since a case must climb somehow.
 */
void policy_from_text(const char *text, struct escalation_policy *p);
/* {"levels": [...]}; caller owns the reference. */
json_t *policy_to_json(const struct escalation_policy *p);
/* The policy in force for a worker: their first team's, else the organisation's, else
 * the default. *json_out (may be NULL) receives its JSON text (caller frees). */
int policy_effective(struct store *st, int64_t org_id, int64_t worker_id,
                     struct escalation_policy *p, char **json_out);

#endif
