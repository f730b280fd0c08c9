#ifndef NA_STORE_STORE_ALARMS_H
#define NA_STORE_STORE_ALARMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alarm.h"
#include "store/store.h"

/*
 * Storage of alerts and alarms (seed 002 §9): alarms and their timelines, amber alerts,
 * positions, workers' alert profiles (codes, consent, device), evidence, the
 * organisation's alarm settings and its police unique reference numbers (URNs). Same
 * conventions as store.h and store_watch.h: 0 or a negated NA_E* code; -NA_ENOTFOUND also
 * for another organisation's rows; rows own their strings (free with the *_fini / *_free
 * functions); absent optional values are NULL or 0; times in ms. A row read inside a
 * transaction is locked until its end (on a shared database), like visits and cases.
 */

/* A position: where a worker was, by their device. */
struct position {
    bool known;
    double latitude, longitude;
    double accuracy_m; /* 0: not given */
    int64_t at;        /* time of the fix */
};

/* ---- alarms ---- */

struct alarm_row {
    int64_t id;
    int64_t organisation_id;
    int64_t worker_id;
    int64_t visit_id;       /* the worker's active visit when it opened; 0: none */
    int64_t amber_alert_id; /* the amber alert whose deadline passed (ALARM_AMBER); 0 */
    struct alarm_clock clock;
    char *alert_id; /* the client's id of the alert (idempotency); NULL: none given */
    char *source;   /* "api", "checkin", "visit_end", "cancel", "amber", "dc09" */
    char *message;  /* what the worker said with the alert; NULL */
    struct position position;
    char *found_safe;       /* how the worker was confirmed safe, given at closing */
    char *close_note;       /* NULL */
    char *police_urn;       /* the URN quoted when the alarm was passed to the police; NULL */
    char *police_reference; /* the police's incident reference; NULL */
    int renotify_count;     /* times operators were told again while it waited */
    int64_t updated_at;
};
/* Frees r's strings and zeroes it; NULL is a no-op. */
void alarm_row_fini(struct alarm_row *r);
/* Finis rows[0..n) and frees rows; NULL is a no-op. */
void alarm_rows_free(struct alarm_row *rows, size_t n);

/*
 * Inserts r (borrowed; id and updated_at are set, updated_at from r->clock.opened_at);
 * *out_id gets the new id. -NA_EINVAL without a source or worker, with a negative id or
 * count, or with an enum out of range; -NA_ENOTFOUND when the worker, or the visit, is not in
 * r->organisation_id; -NA_ECONFLICT when the worker already has an alarm with this alert_id (the
 * caller then reads it with store_alarm_by_alert_id: a retried alert opens no second alarm).
 */
int store_alarm_create(struct store *st, const struct alarm_row *r, int64_t *out_id);
/* The alarm id of org_id into out; caller finis it with alarm_row_fini (zeroed on a
 * failure). -NA_ENOTFOUND when it is not an alarm of org_id. */
int store_alarm_get(struct store *st, int64_t org_id, int64_t id, struct alarm_row *out);
/* store_alarm_get by id in any organisation (the scheduler's jobs carry ids only). */
int store_alarm_get_any(struct store *st, int64_t id, struct alarm_row *out);
/* The worker's alarm opened by the alert alert_id, as store_alarm_get. -NA_EINVAL when
 * alert_id is NULL; -NA_ENOTFOUND when none. */
int store_alarm_by_alert_id(struct store *st, int64_t org_id, int64_t worker_id,
                            const char *alert_id, struct alarm_row *out);
/* Writes the mutable fields (clock, found_safe, close_note, police_urn, police_reference,
 * renotify_count, position, updated_at) back. The caller read r in the same transaction.
 * -NA_EINVAL as store_alarm_create; -NA_ENOTFOUND when r->id is not an alarm of
 * r->organisation_id. */
int store_alarm_update(struct store *st, const struct alarm_row *r);

/* Open and claimed alarms of org_id in queue order: priority, then oldest first, then id;
 * at most limit. Caller frees *out_rows with alarm_rows_free (NULL when none). -NA_EINVAL
 * unless 1 <= limit <= STORE_LIST_MAX. */
int store_alarm_queue(struct store *st, int64_t org_id, int limit, struct alarm_row **out_rows,
                      size_t *out_n);
struct alarm_filter {
    int state;         /* 0: any; else enum alarm_state */
    int64_t worker_id; /* 0: any */
};
/* Alarms of org_id matching f (NULL: any), newest first: id < before_id (0: from the
 * newest), at most limit. Caller frees *out_rows with alarm_rows_free (NULL when none).
 * -NA_EINVAL for a limit out of 1..STORE_LIST_MAX, a negative before_id or worker_id, or a
 * state out of range. */
int store_alarm_list(struct store *st, int64_t org_id, const struct alarm_filter *f,
                     int64_t before_id, int limit, struct alarm_row **out_rows, size_t *out_n);

/* *out_n gets the number of closed alarms of a worker with a false outcome closed at or
 * after since. */
int store_alarm_count_false(struct store *st, int64_t org_id, int64_t worker_id, int64_t since,
                            int64_t *out_n);
/* *out_n gets the number of closed alarms of org_id with a false outcome that were passed
 * to the police under urn (compared exactly), closed at or after since. -NA_EINVAL when urn
 * is NULL. */
int store_alarm_count_false_urn(struct store *st, int64_t org_id, const char *urn, int64_t since,
                                int64_t *out_n);

/* For figures: red and duress alarms (not tests) of org_id opened in [from, to). */
struct alarm_times {
    int64_t opened_at;
    int64_t first_claimed_at; /* 0: never claimed */
    int64_t closed_at;        /* 0: still open */
    int outcome;              /* enum alarm_outcome */
};
/* Most rows one figures read takes; more gives -NA_ETOOBIG (ask for a shorter period). */
#define STORE_ALARM_TIMES_MAX 1000000
/* The times of those alarms, oldest first. Caller frees *out_rows with free (NULL when
 * none). -NA_EINVAL when from > to; -NA_ETOOBIG past STORE_ALARM_TIMES_MAX rows. */
int store_alarm_times(struct store *st, int64_t org_id, int64_t from, int64_t to,
                      struct alarm_times **out_rows, size_t *out_n);

/* One line of an alarm's timeline. */
struct alarm_event {
    int64_t alarm_id;
    int64_t organisation_id;
    int64_t at;
    const char *kind;   /* "opened", "notified", "renotified", "claimed", "call", "note",
                           "escalated", "evidence", "cancelled", "closed", ... */
    int64_t actor_id;   /* 0: the server, the device */
    const char *detail; /* short text; NULL */
    const char *data;   /* a JSON object as text (a call's fields); NULL */
};
/* Adds e (borrowed) to the timeline of alarm e->alarm_id. -NA_EINVAL without a kind or with
 * a negative actor; -NA_ENOTFOUND when it is not an alarm of e->organisation_id. */
int store_alarm_event_add(struct store *st, const struct alarm_event *e);
struct alarm_event_row {
    int64_t id;
    int64_t at;
    char *kind;
    int64_t actor_id;
    char *detail;
    char *data;
};
/* Frees rows[0..n), their strings, and rows; NULL is a no-op. */
void alarm_event_rows_free(struct alarm_event_row *rows, size_t n);
/* The timeline of an alarm, oldest first (at most STORE_LIST_MAX lines). Caller frees
 * *out_rows with alarm_event_rows_free (NULL when none). -NA_ENOTFOUND when alarm_id is not
 * an alarm of org_id. */
int store_alarm_events(struct store *st, int64_t org_id, int64_t alarm_id,
                       struct alarm_event_row **out_rows, size_t *out_n);

/* ---- amber alerts ---- */

enum amber_state {
    AMBER_KEPT = 1,     /* no deadline, or the worker was heard from since */
    AMBER_WATCHING = 2, /* a deadline that has not passed yet */
    AMBER_ALARMED = 3,  /* the deadline passed: an alarm opened */
};

struct amber_row {
    int64_t id;
    int64_t organisation_id;
    int64_t worker_id;
    int64_t visit_id; /* the active visit it attached to; 0: none */
    char *alert_id;   /* the client's id (idempotency); NULL */
    char *status;     /* what the worker is doing and where */
    struct position position;
    int state;           /* enum amber_state */
    int64_t deadline_at; /* 0: none */
    int64_t cleared_at;  /* when the worker was heard from before the deadline; 0 */
    int64_t alarm_id;    /* the alarm its passed deadline opened; 0 */
    int64_t created_at;
};
/* Frees r's strings and zeroes it; NULL is a no-op. */
void amber_row_fini(struct amber_row *r);
/* Finis rows[0..n) and frees rows; NULL is a no-op. */
void amber_rows_free(struct amber_row *rows, size_t n);
/* Inserts r (borrowed; id is set); *out_id gets the new id. -NA_EINVAL without a status or
 * worker, with a negative id, or with a state out of range; -NA_ENOTFOUND when the worker, or the
 * visit, is not in r->organisation_id; -NA_ECONFLICT when the worker already sent an amber alert
 * with this alert_id. */
int store_amber_create(struct store *st, const struct amber_row *r, int64_t *out_id);
/* The amber alert id of org_id into out; caller finis it with amber_row_fini (zeroed on a
 * failure). -NA_ENOTFOUND when it is not an amber alert of org_id. */
int store_amber_get(struct store *st, int64_t org_id, int64_t id, struct amber_row *out);
/* store_amber_get by id in any organisation (the scheduler's jobs carry ids only). */
int store_amber_get_any(struct store *st, int64_t id, struct amber_row *out);
/* The worker's amber alert sent as alert_id, as store_amber_get. -NA_EINVAL when alert_id
 * is NULL; -NA_ENOTFOUND when none. */
int store_amber_by_alert_id(struct store *st, int64_t org_id, int64_t worker_id,
                            const char *alert_id, struct amber_row *out);
/* Writes state, cleared_at and alarm_id back. -NA_EINVAL as store_amber_create;
 * -NA_ENOTFOUND when r->id is not an amber alert of r->organisation_id. */
int store_amber_update(struct store *st, const struct amber_row *r);
/* The worker's amber alerts, newest first: id < before_id (0: from the newest), at most
 * limit. Caller frees *out_rows with amber_rows_free (NULL when none). -NA_EINVAL for a
 * limit out of 1..STORE_LIST_MAX or a negative before_id. */
int store_amber_list(struct store *st, int64_t org_id, int64_t worker_id, int64_t before_id,
                     int limit, struct amber_row **out_rows, size_t *out_n);
/* Ids of the worker's amber alerts still watching a deadline, ascending. Caller frees
 * *out_ids (NULL when none). */
int store_amber_watching(struct store *st, int64_t org_id, int64_t worker_id, int64_t **out_ids,
                         size_t *out_n);

/* ---- positions ---- */

struct position_new {
    int64_t organisation_id;
    int64_t worker_id;
    int64_t visit_id;   /* 0: none */
    const char *source; /* "device", "amber", "red", "checkin" */
    struct position position;
    int64_t received_at;
};
/* Adds p (borrowed) to the worker's trail; a fix without its time (at 0) is taken as of
 * received_at. -NA_EINVAL without a source, a known position or a worker; -NA_ENOTFOUND
 * when the worker is not in p->organisation_id. */
int store_position_add(struct store *st, const struct position_new *p);
struct position_row {
    int64_t id;
    int64_t visit_id;
    char *source;
    struct position position;
    int64_t received_at;
};
/* Frees rows[0..n), their strings, and rows; NULL is a no-op. */
void position_rows_free(struct position_row *rows, size_t n);
/* The worker's positions with a fix at or after since, newest first, at most limit.
 * Caller frees *out_rows with position_rows_free (NULL when none). -NA_EINVAL unless
 * 1 <= limit <= STORE_LIST_MAX. */
int store_position_trail(struct store *st, int64_t org_id, int64_t worker_id, int64_t since,
                         int limit, struct position_row **out_rows, size_t *out_n);

/* ---- alert profiles: a worker's codes, consent and device ---- */

struct alert_profile {
    int64_t user_id;
    int64_t organisation_id;
    char *code_hash;   /* Argon2id of the normal code; NULL: none set */
    char *duress_hash; /* Argon2id of the duress code; NULL: none set */
    bool location_consent;
    int64_t consent_changed_at;
    int battery_pct; /* -1: never reported */
    int64_t battery_at;
    int64_t low_battery_told_at; /* the notice of the current low-battery spell; 0 */
    int64_t device_tested_at;    /* last test alert; 0: never */
    int64_t test_due_at;         /* when "not tested for N days" is told next; 0: never */
    int64_t updated_at;
};
/* Frees p's strings and zeroes it (battery_pct -1); NULL is a no-op. */
void alert_profile_fini(struct alert_profile *p);
/* The profile of user_id of org_id into out; caller finis it with alert_profile_fini. A
 * user who never set one, or not of org_id, gets -NA_ENOTFOUND (and out zeroed,
 * battery_pct -1, as on any failure). */
int store_alert_profile_get(struct store *st, int64_t org_id, int64_t user_id,
                            struct alert_profile *out);
/* store_alert_profile_get in any organisation (the scheduler's jobs carry ids only). */
int store_alert_profile_get_any(struct store *st, int64_t user_id, struct alert_profile *out);
/* Inserts or replaces the profile of p->user_id (p borrowed). -NA_EINVAL without a user or
 * with battery_pct out of -1..100; -NA_ENOTFOUND when the user is not in
 * p->organisation_id. */
int store_alert_profile_put(struct store *st, const struct alert_profile *p);

/* ---- evidence ---- */

/* Largest evidence file kept. */
#define STORE_EVIDENCE_MAX (8u << 20)

struct evidence_row {
    int64_t id;
    int64_t organisation_id;
    int64_t alarm_id;
    char *kind;         /* "audio" or "file" */
    char *name;         /* a file name, as given; NULL */
    char *content_type; /* as given, checked */
    int64_t size;
    char *sha256; /* lowercase hex of the content */
    int64_t uploaded_by;
    int64_t uploaded_at;
};
/* Frees r's strings and zeroes it; NULL is a no-op. */
void evidence_row_fini(struct evidence_row *r);
/* Finis rows[0..n) and frees rows; NULL is a no-op. */
void evidence_rows_free(struct evidence_row *rows, size_t n);
/* Stores r with its content (data, r->size bytes; both borrowed); *out_id gets the new id.
 * -NA_EINVAL without kind, content_type or sha256, with a negative size or uploader, or
 * with a size but no data; -NA_ETOOBIG past STORE_EVIDENCE_MAX; -NA_ENOTFOUND when
 * r->alarm_id is not an alarm of r->organisation_id. */
int store_evidence_add(struct store *st, const struct evidence_row *r, const void *data,
                       int64_t *out_id);
/* The evidence of an alarm without content, oldest first (at most STORE_LIST_MAX). Caller
 * frees *out_rows with evidence_rows_free (NULL when none). -NA_ENOTFOUND when alarm_id is
 * not an alarm of org_id. */
int store_evidence_list(struct store *st, int64_t org_id, int64_t alarm_id,
                        struct evidence_row **out_rows, size_t *out_n);
/* The row and, when out_data is not NULL, its content (out->size bytes). Caller finis out
 * with evidence_row_fini and frees *out_data; both are empty on a failure. -NA_ENOTFOUND
 * when id is not evidence of org_id; -NA_ESTORE when the stored content is damaged. */
int store_evidence_get(struct store *st, int64_t org_id, int64_t id, struct evidence_row *out,
                       void **out_data);

/* ---- the organisation's alarm settings and police URNs ---- */

/* The settings JSON (docs/api.md); -NA_ENOTFOUND when never set. Caller frees. */
int store_alarm_settings_get(struct store *st, int64_t org_id, char **out_json);
/* Sets the settings JSON of org_id (json borrowed; not checked here) as of now.
 * -NA_EINVAL when json is NULL; -NA_ENOTFOUND when there is no organisation org_id. */
int store_alarm_settings_put(struct store *st, int64_t org_id, const char *json, int64_t now);

struct urn_row {
    int64_t id;
    int64_t organisation_id;
    int64_t team_id; /* 0: the whole organisation; else one site's team */
    char *urn;       /* exactly as the police gave it */
    char *label;     /* NULL */
    int64_t created_at;
};
/* Finis rows[0..n) and frees rows; NULL is a no-op. */
void urn_rows_free(struct urn_row *rows, size_t n);
/* Inserts r (borrowed); *out_id gets the new id. -NA_EINVAL without a urn or with a
 * negative team; -NA_ENOTFOUND when the team is not in r->organisation_id; -NA_ECONFLICT
 * when the organisation (team_id 0) or the team already has a URN. */
int store_urn_create(struct store *st, const struct urn_row *r, int64_t *out_id);
/* The URNs of org_id, oldest first (at most STORE_LIST_MAX). Caller frees *out_rows with
 * urn_rows_free (NULL when none). */
int store_urn_list(struct store *st, int64_t org_id, struct urn_row **out_rows, size_t *out_n);
/* Deletes URN id. -NA_ENOTFOUND when it is not a URN of org_id. */
int store_urn_delete(struct store *st, int64_t org_id, int64_t id);
/* Frees r's strings and zeroes it; NULL is a no-op. */
void urn_row_fini(struct urn_row *r);
/* The URN for a worker: their first team's (lowest team id) that has one, else the
 * organisation's. -NA_ENOTFOUND when neither. Caller finis *out with urn_row_fini. */
int store_urn_for_worker(struct store *st, int64_t org_id, int64_t worker_id, struct urn_row *out);

#endif
