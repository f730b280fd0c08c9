#ifndef NA_STORE_STORE_WATCH_H
#define NA_STORE_STORE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/escalation.h"
#include "core/visit.h"
#include "store/store.h"

/*
 * Storage of what keeps workers in sight: visits and their timelines, escalation cases
 * and their steps, the notification outbox, contact channels and escalation policies.
 * Same conventions as store.h: 0 or a negated NA_E* code; -NA_ENOTFOUND also for another
 * organisation's rows; rows own their strings (free with the *_fini / *_free functions);
 * absent optional values are NULL or 0; times in ms.
 */

/* ---- visits ---- */

struct visit_row {
    int64_t id;
    int64_t organisation_id;
    int64_t worker_id;
    int64_t buddy_id;          /* 0: none nominated (the line manager is the first contact) */
    int64_t buddy_accepted_at; /* 0: not (yet) accepted */
    char *kind;                /* "visit" or "shift" (a working day ending "home safe") */
    struct visit_clock clock;  /* state, times, deadline, outcome */
    char *address;
    bool has_location;
    double latitude, longitude;
    char *people;         /* who is visited, free text */
    char *phones;         /* JSON array of strings, as given */
    char *transport;      /* JSON object, as given: {"mode": "car", "vehicle_id": 3, ...} */
    char *accompanied_by; /* free text; NULL when alone */
    char *notes;
    int64_t reminder_at; /* when the worker is reminded of the deadline; 0: none due */
    char *close_note;
    bool has_last_location;
    double last_latitude, last_longitude;
    int64_t last_location_at;
    int64_t created_by;
    int64_t created_at;
    int64_t updated_at;
};
void visit_row_fini(struct visit_row *r);
void visit_rows_free(struct visit_row *rows, size_t n);

/* Inserts r (id, created_at and updated_at are set from r->created_at). */
int store_visit_create(struct store *st, const struct visit_row *r, int64_t *out_id);
int store_visit_get(struct store *st, int64_t org_id, int64_t visit_id, struct visit_row *out);
/*
 * Writes the mutable fields of r (buddy_id, buddy_accepted_at, clock, reminder_at,
 * close_note, last location, transport, notes, updated_at) back. The caller read r in the
 * same transaction.
 */
int store_visit_update(struct store *st, const struct visit_row *r);

struct visit_filter {
    int state;         /* 0: any; else enum visit_state */
    int64_t worker_id; /* 0: any */
    int64_t buddy_id;  /* 0: any */
    int64_t team_id;   /* 0: any; else visits of members of that team */
    /* Visibility: when restrict_to_user is set, only visits whose worker or buddy is that
     * user, or whose worker is in one of teams[0..n_teams). */
    int64_t restrict_to_user;
    const int64_t *teams;
    size_t n_teams;
};
/* Most teams[] one visibility restriction takes; more is -NA_EINVAL. */
#define STORE_VISIT_TEAMS_MAX 1024
/* Visits of org_id matching f, id > after_id ascending, at most limit. */
int store_visit_list(struct store *st, int64_t org_id, const struct visit_filter *f,
                     int64_t after_id, int limit, struct visit_row **out_rows, size_t *out_n);

/* One line of a visit's timeline. */
struct visit_event {
    int64_t id;
    int64_t visit_id;
    int64_t organisation_id;
    const char *kind; /* "planned", "started", "checkin", "extended", "ended", ... */
    int64_t actor_id;
    int64_t at;
    const char *detail; /* a reason or note; NULL */
    bool has_location;
    double latitude, longitude;
};
int store_visit_event_add(struct store *st, const struct visit_event *e);
struct visit_event_row {
    int64_t id;
    char *kind;
    int64_t actor_id;
    int64_t at;
    char *detail;
    bool has_location;
    double latitude, longitude;
};
void visit_event_rows_free(struct visit_event_row *rows, size_t n);
/* The whole timeline of a visit, oldest first (at most STORE_LIST_MAX lines). */
int store_visit_events(struct store *st, int64_t org_id, int64_t visit_id,
                       struct visit_event_row **out_rows, size_t *out_n);

/* Visits whose buddy is user_id and that are planned or active (for handovers). */
int store_visits_buddied_by(struct store *st, int64_t org_id, int64_t user_id, int64_t **out_ids,
                            size_t *out_n);

/* ---- what the scheduler needs (store_cluster.h has the rows it owns) ---- */

/* The visit row by id in any organisation (the scheduler's jobs carry ids only). */
int store_visit_get_any(struct store *st, int64_t visit_id, struct visit_row *out);

/* ---- escalation cases ---- */

struct escalation_row {
    int64_t id;
    int64_t organisation_id;
    int64_t visit_id;
    struct escalation_case c;
    int64_t missed_deadline_at;
    char *policy; /* JSON snapshot of the policy in force when the case opened */
    int outcome;  /* enum escalation_outcome */
    char *outcome_note;
    char *police_reference;
    int64_t resolved_by;
};
void escalation_row_fini(struct escalation_row *r);
void escalation_rows_free(struct escalation_row *rows, size_t n);

/* -NA_ECONFLICT when the visit already has an open case. */
int store_escalation_create(struct store *st, const struct escalation_row *r, int64_t *out_id);
int store_escalation_get(struct store *st, int64_t org_id, int64_t id, struct escalation_row *out);
int store_escalation_get_any(struct store *st, int64_t id, struct escalation_row *out);
/*
 * Whether a case (open or resolved) was opened for the visit's deadline missed_at: a
 * deadline is escalated once. Uses the visit's index: it runs for every deadline fired.
 */
int store_escalation_exists_for_deadline(struct store *st, int64_t org_id, int64_t visit_id,
                                         int64_t missed_at, bool *out);
/* The open case of a visit; -NA_ENOTFOUND when none. */
int store_escalation_open_for_visit(struct store *st, int64_t org_id, int64_t visit_id,
                                    struct escalation_row *out);
/* Writes c, outcome, outcome_note, police_reference, resolved_by back. */
int store_escalation_update(struct store *st, const struct escalation_row *r);
struct escalation_filter {
    int state;        /* 0: any */
    int64_t visit_id; /* 0: any */
};
int store_escalation_list(struct store *st, int64_t org_id, const struct escalation_filter *f,
                          int64_t after_id, int limit, struct escalation_row **out_rows,
                          size_t *out_n);

struct escalation_step {
    int64_t escalation_id;
    int64_t organisation_id;
    int64_t at;
    int level;
    const char *kind; /* "notified", "delivered", "unreachable", "acknowledged", "timeout",
                         "worker_safe", "resolved" */
    int64_t user_id;
    int64_t channel_id;
    int64_t outbox_id;
    const char *detail;
};
int store_escalation_step_add(struct store *st, const struct escalation_step *s);
struct escalation_step_row {
    int64_t id;
    int64_t at;
    int level;
    char *kind;
    int64_t user_id;
    int64_t channel_id;
    int64_t outbox_id;
    char *detail;
};
void escalation_step_rows_free(struct escalation_step_row *rows, size_t n);
int store_escalation_steps(struct store *st, int64_t org_id, int64_t escalation_id,
                           struct escalation_step_row **out_rows, size_t *out_n);
/* Users told of a case so far (distinct, for "the worker is safe" messages): those of its
 * "notified", "delivered" and "acknowledged" steps, ascending. */
int store_escalation_notified_users(struct store *st, int64_t escalation_id, int64_t **out_ids,
                                    size_t *out_n);

/* One-time acknowledgement links: token_hash is the SHA-256 hex of the link's token. */
int store_ack_link_create(struct store *st, const char *token_hash, int64_t escalation_id,
                          int64_t user_id, int64_t expires_at);
/* Marks the link used and returns its case and user; -NA_ENOTFOUND when unknown, used or
 * expired at now. */
int store_ack_link_use(struct store *st, const char *token_hash, int64_t now,
                       int64_t *out_escalation_id, int64_t *out_user_id);

/* ---- outbox ---- */

struct outbox_row {
    int64_t id;
    int64_t organisation_id;
    int64_t escalation_id; /* 0: not part of a case (reminders, nominations) */
    int level;
    int64_t user_id;    /* recipient user; 0 for an organisation channel */
    int64_t channel_id; /* 0: the user's email from their profile, or the log */
    char *channel;      /* "webhook", "email" or "log" */
    char *address;
    char *event;   /* "escalation.notify", "visit.reminder", ... */
    char *subject; /* one line */
    char *body;    /* JSON for webhooks, text for email */
    char *idempotency_key;
    char *state; /* "pending", "sent", "failed" */
    int attempts;
    int64_t next_attempt_at;
    char *last_error;
    int64_t created_at;
    int64_t sent_at;
};
void outbox_row_fini(struct outbox_row *r);
void outbox_rows_free(struct outbox_row *rows, size_t n);

/*
 * Inserts a pending row (state, attempts ignored; next_attempt_at 0: due at created_at).
 * -NA_ECONFLICT on a repeated key; -NA_ENOTFOUND when the organisation, or the case or
 * channel named, is not found in it.
 */
int store_outbox_add(struct store *st, const struct outbox_row *r, int64_t *out_id);
int store_outbox_get(struct store *st, int64_t id, struct outbox_row *out);
/* After an attempt: sent (sent_at = now), retry at next_attempt_at, or failed.
 * -NA_ENOTFOUND when the row is gone or another node has taken it over meanwhile (its
 * outcome is then that node's to record). */
int store_outbox_mark(struct store *st, int64_t id, const char *state, int attempts,
                      int64_t next_attempt_at, const char *last_error, int64_t now);
/* Outbox rows of a case, oldest first. */
int store_outbox_for_escalation(struct store *st, int64_t escalation_id,
                                struct outbox_row **out_rows, size_t *out_n);

/* ---- contact channels ---- */

struct channel_row {
    int64_t id;
    int64_t organisation_id;
    int64_t user_id; /* 0: an organisation's channel (the ARC, the police liaison line) */
    char *name;
    char *kind; /* "webhook", "email", "log" */
    char *address;
    char *secret;   /* webhook HMAC key; never shown after creation */
    char *template; /* webhook body template (SMS gateways); NULL: the standard JSON */
    int64_t created_at;
};
void channel_row_fini(struct channel_row *r);
void channel_rows_free(struct channel_row *rows, size_t n);
int store_channel_create(struct store *st, const struct channel_row *r, int64_t *out_id);
int store_channel_get(struct store *st, int64_t org_id, int64_t id, struct channel_row *out);
/* Channels of one user (user_id > 0), or of the organisation itself (user_id 0) when
 * org_level, or all of the organisation's when !org_level and user_id 0. */
int store_channel_list(struct store *st, int64_t org_id, int64_t user_id, bool org_level,
                       struct channel_row **out_rows, size_t *out_n);
int store_channel_delete(struct store *st, int64_t org_id, int64_t id);

/* ---- escalation policies ---- */

/* The policy JSON (levels array) of a team (team_id > 0) or of the organisation
 * (team_id 0). -NA_ENOTFOUND when none is set. Caller frees *out_json. */
int store_policy_get(struct store *st, int64_t org_id, int64_t team_id, char **out_json);
int store_policy_put(struct store *st, int64_t org_id, int64_t team_id, const char *json,
                     int64_t now);
int store_policy_delete(struct store *st, int64_t org_id, int64_t team_id);

/* ---- people an escalation tells ---- */

/* Enabled line managers of the teams user_id belongs to (distinct, ascending); never user_id
 * itself (a manager in their own team is not their own contact). */
int store_line_managers_of(struct store *st, int64_t org_id, int64_t user_id, int64_t **out_ids,
                           size_t *out_n);

#endif
