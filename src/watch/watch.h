#ifndef NA_WATCH_WATCH_H
#define NA_WATCH_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alarm.h"
#include "core/escalation.h"
#include "notify/notify.h"
#include "store/store.h"
#include "store/store_alarms.h"
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

/* ---- alerts and alarms (alarms.c, alarm_pack.c) ---- */

/* Most contacts a red alert's path tells at once. */
#define ALARM_PATH_MAX 8

/* Who a red alert's path tells. */
enum alarm_path_contact {
    PATH_OPERATORS = 1,  /* every enabled operator of the organisation */
    PATH_BUDDY,          /* the buddy of the worker's active visit, once accepted */
    PATH_LINE_MANAGER,   /* the line managers of the worker's teams */
    PATH_SENIOR_MANAGER, /* the organisation's senior managers */
    PATH_USER,           /* one named user (target_id) */
    PATH_CHANNEL,        /* an organisation channel (target_id): the ARC's line */
};

/* One contact of the red-alert path: told the moment an alarm opens. */
struct alarm_path_step {
    enum alarm_path_contact contact;
    int64_t target_id;
};
/* Contact of its name ("operators"); 0 when unknown. And back. */
enum alarm_path_contact alarm_path_contact_parse(const char *s);
const char *alarm_path_contact_name(enum alarm_path_contact c);

/* An organisation's alarm settings (docs/api.md, "Alarm settings"); the defaults apply
 * until an administrator or the LSMS sets them. */
struct alarm_settings {
    size_t n_path;
    struct alarm_path_step path[ALARM_PATH_MAX]; /* default: operators and buddy together */
    int64_t renotify_ms;           /* unclaimed alarm: operators told again (default 60 s) */
    int64_t cancel_window_ms;      /* the worker may cancel an accidental press (default 60 s) */
    int false_alarm_limit;         /* false alarms of one worker in the period that the LSMS
                                      reviews (default 3) */
    int64_t false_alarm_period_ms; /* default 90 days */
    int police_false_limit;        /* false calls per URN in 12 months before the police
                                      withdraw response (default 3; warned one before) */
    int64_t device_test_ms;        /* a device not tested for this long is told (default
                                      30 days; 0: never) */
    int low_battery_pct;           /* at or below: a notice (default 20) */
    int64_t trail_ms;              /* how far back the operator's location trail goes
                                      (default 2 h) */
};
void alarm_settings_default(struct alarm_settings *s);
/* Reads the settings JSON (docs/api.md) into s, starting from the defaults: fields not
 * given keep them. -NA_EINVAL with the offending field in field (size n). */
int alarm_settings_from_json(json_t *root, struct alarm_settings *s, char *field, size_t n);
/* The full settings as JSON; caller owns the reference. */
json_t *alarm_settings_to_json(const struct alarm_settings *s);
/* The organisation's settings, or the defaults when none were set (or, logged, when the
 * stored text is damaged). */
int alarm_settings_load(struct store *st, int64_t org_id, struct alarm_settings *out);

/* A new alarm (strings borrowed). */
struct alarm_request {
    int64_t organisation_id;
    int64_t worker_id;
    enum alarm_kind kind;
    bool duress;          /* a silent alarm (kind red opened by a duress code) */
    const char *source;   /* "api", "checkin", "visit_end", "cancel", "amber", "dc09",
                             "escalation" */
    const char *alert_id; /* the client's id; NULL: none */
    const char *message;  /* NULL */
    struct position position;
    int64_t amber_alert_id; /* ALARM_AMBER: the amber alert whose deadline passed */
    int64_t visit_id;       /* the visit to attach it to; 0: the worker's active visit */
    int64_t by;             /* the user who raised it (0: the server) */
    /* The organisation's settings when the caller read them already (before its
     * transaction, so the read holds no writer); NULL: read here. Borrowed. */
    const struct alarm_settings *settings;
};
/*
 * In the caller's transaction: opens an alarm for q->worker_id, attached to q->visit_id or
 * else to their active visit if any; a position given is also added to their trail. Writes the
 * timeline
 * ("opened"), the event (alarm.opened), and tells the organisation's red-alert path with
 * the pack (a test tells nobody but the worker, and is closed as test at once, with the
 * device's test date moved). -NA_ECONFLICT when the worker already used q->alert_id: out
 * then receives that alarm, and nothing is written. Schedule with watch_alarm_changed
 * after the commit.
 */
int watch_alarm_open(struct watch *w, struct store *st, const struct alarm_request *q, int64_t now,
                     struct alarm_row *out, struct id_list *outbox);
/* After a commit: schedules the alarm's re-notification while it waits unclaimed. */
void watch_alarm_changed(struct watch *w, const struct alarm_row *a);
/* After a commit: schedules an amber alert's deadline while it is watching. */
void watch_amber_changed(struct watch *w, const struct amber_row *a);
/* After a commit: schedules the "device not tested" notice of a profile. */
void watch_device_changed(struct watch *w, const struct alert_profile *p);
/*
 * Profile p (read in the caller's transaction, not written here) without a test date
 * gets one, device_test_days from now, when the organisation tests devices: a device
 * never tested is told too. Store p, then schedule with watch_device_changed after the
 * commit.
 */
int watch_device_test_start(struct store *st, struct alert_profile *p, int64_t now);

/*
 * The worker was heard from (a check-in, the end of a visit, a new amber alert, an
 * explicit clear): their amber alerts still watching a deadline stop watching. In the
 * caller's transaction; *n_cleared (may be NULL) receives how many.
 */
int watch_amber_clear(struct watch *w, struct store *st, int64_t org_id, int64_t worker_id,
                      int64_t now, size_t *n_cleared);

/*
 * In the caller's transaction: stores a new amber alert a (its organisation, worker,
 * status, position, state, deadline, alert id and created_at set by the caller): the
 * worker's alerts still watching stop watching, a is attached to their active visit
 * (a->visit_id) and stored (a->id), and a position it has goes on their trail. Errors of
 * store_amber_create. Schedule with watch_amber_changed after the commit.
 */
int watch_amber_add(struct watch *w, struct store *st, struct amber_row *a, int64_t now);

/*
 * By hand, by user by: tells contact (PATH_USER and PATH_CHANNEL need target_id) about
 * the alarm with its pack, now. Timeline "escalated", event alarm.updated.
 * -NA_ENOTFOUND when the contact has nobody to tell (no buddy, no such user or channel).
 */
int watch_alarm_escalate(struct watch *w, struct store *st, struct alarm_row *a,
                         const struct alarm_path_step *to, const char *note, int64_t by,
                         int64_t now, struct id_list *outbox);
/*
 * In the caller's transaction: the duress code was given on alarm a (not closed) by its
 * worker (by) now. Marked duress, back at the top of the queue and, while unclaimed,
 * re-notified from now on even after a cancel; timeline "duress", event alarm.updated;
 * everyone told so far and the path's channels are told it is now silent (do not call the
 * worker openly). -NA_ECONFLICT when closed. Schedule with watch_alarm_changed after the
 * commit.
 */
int watch_alarm_duress(struct watch *w, struct store *st, struct alarm_row *a, int64_t by,
                       int64_t now, struct id_list *outbox);
/*
 * Closes the alarm with outcome (found_safe: how the worker was confirmed safe; note may
 * be NULL), by user by, now: timeline "closed", event alarm.closed, and everyone told is
 * told it is over. A false outcome is counted: past the organisation's limit for the
 * worker the LSMS is told for review; for an alarm passed to the police under a URN, the
 * LSMS is warned when the URN's false calls in 12 months reach one below the police's
 * limit, and told when they reach it. -NA_ECONFLICT when already closed.
 */
int watch_alarm_close(struct watch *w, struct store *st, struct alarm_row *a,
                      enum alarm_outcome outcome, const char *found_safe, const char *note,
                      int64_t by, int64_t now, struct id_list *outbox);
/*
 * A device's report for profile p (read in the caller's transaction; written back here):
 * a battery at or below the organisation's threshold tells the worker and their line
 * managers, once per low spell. battery_pct -1: no battery reading.
 */
int watch_device_report(struct watch *w, struct store *st, struct alert_profile *p, int battery_pct,
                        int64_t now, struct id_list *outbox);

/* ---- devices and their DC-09 events (devices.c) ---- */

/* After a commit: schedules the application of a DC-09 event's action (its pending_at;
 * 0: nothing to do). The action runs on the scheduler thread, in a transaction of its
 * own: opening a red or duress alarm ("dc09/<event id>" as alert id, so applying twice
 * opens one), a test alarm, an amber alert, the low-battery notice, the position, or the
 * device's return after a loss of signal. */
void watch_dc09_event_changed(struct watch *w, int64_t event_id, int64_t pending_at);
/* After a commit: schedules a device's loss-of-signal check at silent_due_at (0: none). When
 * it passes without a message, the worker's line managers (the organisation's operators
 * when the device has no worker) are told "loss of signal", and an alarm opens when the
 * device says so; the next message tells them it is back. */
void watch_device_silent_changed(struct watch *w, int64_t device_id, int64_t silent_due_at);

/*
 * The operator's information pack for an alarm (§9.11, §6.17.6): the worker (name,
 * phone), the itinerary of the visit, the last amber alert, the location trail and the
 * alarm's own position (only with the worker's consent: "location_shared": false
 * otherwise), vehicle, next of kin, risk markers of the address, the police URN, the
 * red-alert path and who has been told. Caller owns the reference; NULL when storage
 * fails.
 */
json_t *watch_alarm_pack(struct store *st, const struct alarm_row *a, int64_t now);

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
