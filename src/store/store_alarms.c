/*
 * Alerts and alarms (store_alarms.h): alarms and their timelines, amber alerts, positions,
 * alert profiles, evidence, alarm settings and police URNs. Tenant queries are scoped by
 * organisation id; the *_any lookups serve the scheduler, whose jobs carry ids only. Rows
 * with due work (an open alarm, a watching amber alert, a profile with a device test due)
 * name this node as their owner when written (store_cluster.h).
 */
#include "store/store_alarms.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/error.h"

/* ---- reading lists ---- */

/* Reads one row of a list into row (zeroed). */
typedef void (*list_read_fn)(struct store *st, struct db_stmt *s, void *row);
/* Frees rows[0..n) and rows. */
typedef void (*list_free_fn)(void *rows, size_t n);

struct list_kind {
    size_t size; /* of one row */
    list_read_fn read;
    list_free_fn free_rows;
};

/*
 * Runs the prepared query s to its end (or max rows, then -NA_ETOOBIG when more come when
 * too_big is set) into a new array, growing it by powers of two. s is released.
 */
static int list_read(struct store *st, struct db_stmt *s, const struct list_kind *k, size_t max,
                     bool too_big, void **out_rows, size_t *out_n)
{
    char *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    while ((rc = st_step(st, s)) == DB_ROW) {
        if (n == max) {
            rc = too_big ? -NA_ETOOBIG : DB_DONE;
            break;
        }
        if (n == 0 || (n & (n - 1)) == 0)
            rows = xrealloc(rows, n ? n * 2 : 1, k->size);
        memset(rows + n * k->size, 0, k->size);
        k->read(st, s, rows + n * k->size);
        n++;
    }
    st_done(st, s);
    if (rc < 0) {
        k->free_rows(rows, n);
        return rc;
    }
    *out_rows = rows;
    *out_n = n;
    return 0;
}

/* A single-row query's row into out; -NA_ENOTFOUND when none. s is released. */
static int one_read(struct store *st, struct db_stmt *s, list_read_fn read, void *out)
{
    int rc = st_step(st, s);
    if (rc == DB_ROW)
        read(st, s, out);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

/* -NA_ENOTFOUND unless alarm_id is an alarm of org_id: an empty list and another
 * organisation's alarm must differ. */
static int alarm_in_org(struct store *st, int64_t org_id, int64_t alarm_id)
{
    return st_exec_id(st, "SELECT id FROM alarms WHERE id = ? AND organisation_id = ?",
                      PARAMS(P_I64(alarm_id), P_I64(org_id)), NULL);
}

/* Columns col..col+3: latitude, longitude, accuracy_m, location_at. */
static void position_read(struct store *st, struct db_stmt *s, int col, struct position *p)
{
    p->known = !st_col_null(st, s, col) && !st_col_null(st, s, col + 1);
    p->latitude = p->known ? st_col_f64(st, s, col) : 0;
    p->longitude = p->known ? st_col_f64(st, s, col + 1) : 0;
    p->accuracy_m = st_col_null(st, s, col + 2) ? 0 : st_col_f64(st, s, col + 2);
    p->at = st_col_i64(st, s, col + 3);
}

/* The four parameters of a position, all NULL when it is not known. */
#define P_POSITION(p)                                                                              \
    P_F64_IF((p)->known, (p)->latitude), P_F64_IF((p)->known, (p)->longitude),                     \
        P_F64_IF((p)->known && (p)->accuracy_m > 0, (p)->accuracy_m),                              \
        P_ID((p)->known ? (p)->at : 0)

/* This node when the row has due work, else no owner. */
static const char *owner_if(const struct store *st, bool has_work)
{
    return has_work ? st->node : NULL;
}

/* ---- alarms ---- */

void alarm_row_fini(struct alarm_row *r)
{
    if (!r)
        return;
    free(r->alert_id);
    free(r->source);
    free(r->message);
    free(r->found_safe);
    free(r->close_note);
    free(r->police_urn);
    free(r->police_reference);
    memset(r, 0, sizeof *r);
}

void alarm_rows_free(struct alarm_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        alarm_row_fini(&rows[i]);
    free(rows);
}

static void alarm_rows_free_any(void *rows, size_t n)
{
    alarm_rows_free(rows, n);
}

#define ALARM_COLS                                                                                 \
    "id, organisation_id, worker_id, visit_id, amber_alert_id, kind, state, duress, priority, "    \
    "opened_at, renotify_at, renotify_count, claimed_by, claimed_at, first_claimed_at, "           \
    "cancelled_at, closed_by, closed_at, outcome, alert_id, source, message, latitude, "           \
    "longitude, accuracy_m, location_at, found_safe, close_note, police_urn, police_reference, "   \
    "updated_at"

static void alarm_read(struct store *st, struct db_stmt *s, void *row)
{
    struct alarm_row *r = row;
    struct alarm_clock *c = &r->clock;

    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->worker_id = st_col_i64(st, s, 2);
    r->visit_id = st_col_i64(st, s, 3);
    r->amber_alert_id = st_col_i64(st, s, 4);
    c->kind = (enum alarm_kind)st_col_i64(st, s, 5);
    c->state = (enum alarm_state)st_col_i64(st, s, 6);
    c->duress = st_col_bool(st, s, 7);
    c->priority = (int)st_col_i64(st, s, 8);
    c->opened_at = st_col_i64(st, s, 9);
    c->renotify_at = st_col_i64(st, s, 10);
    r->renotify_count = (int)st_col_i64(st, s, 11);
    c->claimed_by = st_col_i64(st, s, 12);
    c->claimed_at = st_col_i64(st, s, 13);
    c->first_claimed_at = st_col_i64(st, s, 14);
    c->cancelled_at = st_col_i64(st, s, 15);
    c->closed_by = st_col_i64(st, s, 16);
    c->closed_at = st_col_i64(st, s, 17);
    c->outcome = (enum alarm_outcome)st_col_i64(st, s, 18);
    r->alert_id = st_col_str(st, s, 19);
    r->source = st_col_str(st, s, 20);
    r->message = st_col_str(st, s, 21);
    position_read(st, s, 22, &r->position);
    r->found_safe = st_col_str(st, s, 26);
    r->close_note = st_col_str(st, s, 27);
    r->police_urn = st_col_str(st, s, 28);
    r->police_reference = st_col_str(st, s, 29);
    r->updated_at = st_col_i64(st, s, 30);
}

static const struct list_kind alarm_list_kind = {sizeof(struct alarm_row), alarm_read,
                                                 alarm_rows_free_any};

/* Fields no alarm may lack, and the ranges of the enums stored as integers. */
static int alarm_check(const struct alarm_row *r)
{
    const struct alarm_clock *c = &r->clock;

    if (!r->source || r->worker_id <= 0 || r->visit_id < 0 || r->amber_alert_id < 0)
        return -NA_EINVAL;
    if (c->kind < ALARM_RED || c->kind > ALARM_TEST)
        return -NA_EINVAL;
    if (c->state < ALARM_OPEN || c->state > ALARM_CLOSED)
        return -NA_EINVAL;
    if (c->outcome < ALARM_OUTCOME_NONE || c->outcome > ALARM_OUTCOME_TEST)
        return -NA_EINVAL;
    if (r->renotify_count < 0)
        return -NA_EINVAL;
    return 0;
}

int store_alarm_create(struct store *st, const struct alarm_row *r, int64_t *out_id)
{
    const struct alarm_clock *c = &r->clock;
    int rc = alarm_check(r);

    if (rc < 0)
        return rc;
    /* The SELECT puts the alarm in the worker's organisation and checks the visit's; the
     * unique index on the worker's alert ids makes a retried alert -NA_ECONFLICT. */
    return st_exec_id(
        st,
        "INSERT INTO alarms (organisation_id, worker_id, visit_id, amber_alert_id, kind, state, "
        "duress, priority, opened_at, renotify_at, renotify_count, claimed_by, claimed_at, "
        "first_claimed_at, cancelled_at, closed_by, closed_at, outcome, alert_id, source, "
        "message, latitude, longitude, accuracy_m, location_at, found_safe, close_note, "
        "police_urn, police_reference, updated_at, owner) "
        "SELECT w.organisation_id, w.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM users w WHERE w.id = ? AND w.organisation_id = ? "
        "AND (? = 0 OR EXISTS (SELECT 1 FROM visits v "
        "WHERE v.id = ? AND v.organisation_id = w.organisation_id)) RETURNING id",
        PARAMS(P_ID(r->visit_id), P_ID(r->amber_alert_id), P_I64(c->kind), P_I64(c->state),
               P_BOOL(c->duress), P_I64(c->priority), P_I64(c->opened_at), P_ID(c->renotify_at),
               P_I64(r->renotify_count), P_ID(c->claimed_by), P_ID(c->claimed_at),
               P_ID(c->first_claimed_at), P_ID(c->cancelled_at), P_ID(c->closed_by),
               P_ID(c->closed_at), P_I64(c->outcome), P_TEXT(r->alert_id), P_TEXT(r->source),
               P_TEXT(r->message), P_POSITION(&r->position), P_TEXT(r->found_safe),
               P_TEXT(r->close_note), P_TEXT(r->police_urn), P_TEXT(r->police_reference),
               P_I64(c->opened_at), P_TEXT(owner_if(st, c->state == ALARM_OPEN)),
               P_I64(r->worker_id), P_I64(r->organisation_id), P_I64(r->visit_id),
               P_I64(r->visit_id)),
        out_id);
}

int store_alarm_get(struct store *st, int64_t org_id, int64_t id, struct alarm_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc =
        st_stmt_locked(st, "SELECT " ALARM_COLS " FROM alarms WHERE id = ? AND organisation_id = ?",
                       PARAMS(P_I64(id), P_I64(org_id)), &s);
    return rc < 0 ? rc : one_read(st, s, alarm_read, out);
}

int store_alarm_get_any(struct store *st, int64_t id, struct alarm_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc =
        st_stmt_locked(st, "SELECT " ALARM_COLS " FROM alarms WHERE id = ?", PARAMS(P_I64(id)), &s);
    return rc < 0 ? rc : one_read(st, s, alarm_read, out);
}

int store_alarm_by_alert_id(struct store *st, int64_t org_id, int64_t worker_id,
                            const char *alert_id, struct alarm_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!alert_id)
        return -NA_EINVAL;
    rc = st_stmt_locked(st,
                        "SELECT " ALARM_COLS " FROM alarms WHERE organisation_id = ? "
                        "AND worker_id = ? AND alert_id = ?",
                        PARAMS(P_I64(org_id), P_I64(worker_id), P_TEXT(alert_id)), &s);
    return rc < 0 ? rc : one_read(st, s, alarm_read, out);
}

int store_alarm_update(struct store *st, const struct alarm_row *r)
{
    const struct alarm_clock *c = &r->clock;
    int rc = alarm_check(r);

    if (rc < 0)
        return rc;
    return st_exec_id(
        st,
        "UPDATE alarms SET kind = ?, state = ?, duress = ?, priority = ?, opened_at = ?, "
        "renotify_at = ?, renotify_count = ?, claimed_by = ?, claimed_at = ?, "
        "first_claimed_at = ?, cancelled_at = ?, closed_by = ?, closed_at = ?, outcome = ?, "
        "latitude = ?, longitude = ?, accuracy_m = ?, location_at = ?, found_safe = ?, "
        "close_note = ?, police_urn = ?, police_reference = ?, updated_at = ?, owner = ? "
        "WHERE id = ? AND organisation_id = ? RETURNING id",
        PARAMS(P_I64(c->kind), P_I64(c->state), P_BOOL(c->duress), P_I64(c->priority),
               P_I64(c->opened_at), P_ID(c->renotify_at), P_I64(r->renotify_count),
               P_ID(c->claimed_by), P_ID(c->claimed_at), P_ID(c->first_claimed_at),
               P_ID(c->cancelled_at), P_ID(c->closed_by), P_ID(c->closed_at), P_I64(c->outcome),
               P_POSITION(&r->position), P_TEXT(r->found_safe), P_TEXT(r->close_note),
               P_TEXT(r->police_urn), P_TEXT(r->police_reference), P_I64(r->updated_at),
               P_TEXT(owner_if(st, c->state == ALARM_OPEN)), P_I64(r->id),
               P_I64(r->organisation_id)),
        NULL);
}

int store_alarm_queue(struct store *st, int64_t org_id, int limit, struct alarm_row **out_rows,
                      size_t *out_n)
{
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    rc = st_stmt(st,
                 "SELECT " ALARM_COLS " FROM alarms WHERE organisation_id = ? AND state IN (1, 2) "
                 "ORDER BY priority, opened_at, id LIMIT ?",
                 PARAMS(P_I64(org_id), P_I64(limit)), &s);
    if (rc < 0)
        return rc;
    return list_read(st, s, &alarm_list_kind, (size_t)limit, false, (void **)out_rows, out_n);
}

int store_alarm_list(struct store *st, int64_t org_id, const struct alarm_filter *f,
                     int64_t before_id, int limit, struct alarm_row **out_rows, size_t *out_n)
{
    const struct alarm_filter any = {0};
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    if (!f)
        f = &any;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    if (before_id < 0 || f->state < 0 || f->state > ALARM_CLOSED || f->worker_id < 0)
        return -NA_EINVAL;
    rc = st_stmt(st,
                 "SELECT " ALARM_COLS " FROM alarms WHERE organisation_id = ? "
                 "AND (? = 0 OR id < ?) AND (? = 0 OR state = ?) AND (? = 0 OR worker_id = ?) "
                 "ORDER BY id DESC LIMIT ?",
                 PARAMS(P_I64(org_id), P_I64(before_id), P_I64(before_id), P_I64(f->state),
                        P_I64(f->state), P_I64(f->worker_id), P_I64(f->worker_id), P_I64(limit)),
                 &s);
    if (rc < 0)
        return rc;
    return list_read(st, s, &alarm_list_kind, (size_t)limit, false, (void **)out_rows, out_n);
}

/* The false outcomes of core/alarm.h, as SQL. */
#define ALARM_FALSE_SQL "state = 3 AND outcome IN (2, 3)"

int store_alarm_count_false(struct store *st, int64_t org_id, int64_t worker_id, int64_t since,
                            int64_t *out_n)
{
    *out_n = 0;
    return st_exec_id(st,
                      "SELECT COUNT(*) FROM alarms WHERE worker_id = ? AND organisation_id = ? "
                      "AND " ALARM_FALSE_SQL " AND closed_at >= ?",
                      PARAMS(P_I64(worker_id), P_I64(org_id), P_I64(since)), out_n);
}

int store_alarm_count_false_urn(struct store *st, int64_t org_id, const char *urn, int64_t since,
                                int64_t *out_n)
{
    *out_n = 0;
    if (!urn)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "SELECT COUNT(*) FROM alarms WHERE organisation_id = ? AND police_urn = ? "
                      "AND " ALARM_FALSE_SQL " AND closed_at >= ?",
                      PARAMS(P_I64(org_id), P_TEXT(urn), P_I64(since)), out_n);
}

static void alarm_times_read(struct store *st, struct db_stmt *s, void *row)
{
    struct alarm_times *r = row;
    r->opened_at = st_col_i64(st, s, 0);
    r->first_claimed_at = st_col_i64(st, s, 1);
    r->closed_at = st_col_i64(st, s, 2);
    r->outcome = (int)st_col_i64(st, s, 3);
}

static void alarm_times_free(void *rows, size_t n)
{
    (void)n;
    free(rows);
}

int store_alarm_times(struct store *st, int64_t org_id, int64_t from, int64_t to,
                      struct alarm_times **out_rows, size_t *out_n)
{
    static const struct list_kind kind = {sizeof(struct alarm_times), alarm_times_read,
                                          alarm_times_free};
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    if (from > to)
        return -NA_EINVAL;
    /* One row past the most taken tells that the period holds too many. */
    rc = st_stmt(st,
                 "SELECT opened_at, first_claimed_at, closed_at, outcome FROM alarms "
                 "WHERE organisation_id = ? AND opened_at >= ? AND opened_at < ? "
                 "AND kind IN (1, 2) ORDER BY opened_at, id LIMIT ?",
                 PARAMS(P_I64(org_id), P_I64(from), P_I64(to), P_I64(STORE_ALARM_TIMES_MAX + 1)),
                 &s);
    if (rc < 0)
        return rc;
    return list_read(st, s, &kind, STORE_ALARM_TIMES_MAX, true, (void **)out_rows, out_n);
}

/* ---- an alarm's timeline ---- */

int store_alarm_event_add(struct store *st, const struct alarm_event *e)
{
    if (!e->kind || e->actor_id < 0)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "INSERT INTO alarm_events (alarm_id, organisation_id, at, kind, actor_id, "
                      "detail, data) SELECT id, organisation_id, ?, ?, ?, ?, ? FROM alarms "
                      "WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_I64(e->at), P_TEXT(e->kind), P_ID(e->actor_id), P_TEXT(e->detail),
                             P_TEXT(e->data), P_I64(e->alarm_id), P_I64(e->organisation_id)),
                      NULL);
}

void alarm_event_rows_free(struct alarm_event_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].kind);
        free(rows[i].detail);
        free(rows[i].data);
    }
    free(rows);
}

static void alarm_event_rows_free_any(void *rows, size_t n)
{
    alarm_event_rows_free(rows, n);
}

static void alarm_event_read(struct store *st, struct db_stmt *s, void *row)
{
    struct alarm_event_row *r = row;
    r->id = st_col_i64(st, s, 0);
    r->at = st_col_i64(st, s, 1);
    r->kind = st_col_str(st, s, 2);
    r->actor_id = st_col_i64(st, s, 3);
    r->detail = st_col_str(st, s, 4);
    r->data = st_col_str(st, s, 5);
}

int store_alarm_events(struct store *st, int64_t org_id, int64_t alarm_id,
                       struct alarm_event_row **out_rows, size_t *out_n)
{
    static const struct list_kind kind = {sizeof(struct alarm_event_row), alarm_event_read,
                                          alarm_event_rows_free_any};
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = alarm_in_org(st, org_id, alarm_id);
    if (rc < 0)
        return rc;
    rc = st_stmt(st,
                 "SELECT id, at, kind, actor_id, detail, data FROM alarm_events "
                 "WHERE alarm_id = ? AND organisation_id = ? ORDER BY at, id LIMIT ?",
                 PARAMS(P_I64(alarm_id), P_I64(org_id), P_I64(STORE_LIST_MAX)), &s);
    if (rc < 0)
        return rc;
    return list_read(st, s, &kind, STORE_LIST_MAX, false, (void **)out_rows, out_n);
}

/* ---- amber alerts ---- */

void amber_row_fini(struct amber_row *r)
{
    if (!r)
        return;
    free(r->alert_id);
    free(r->status);
    memset(r, 0, sizeof *r);
}

void amber_rows_free(struct amber_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        amber_row_fini(&rows[i]);
    free(rows);
}

static void amber_rows_free_any(void *rows, size_t n)
{
    amber_rows_free(rows, n);
}

#define AMBER_COLS                                                                                 \
    "id, organisation_id, worker_id, visit_id, alert_id, status, latitude, longitude, "            \
    "accuracy_m, location_at, state, deadline_at, cleared_at, alarm_id, created_at"

static void amber_read(struct store *st, struct db_stmt *s, void *row)
{
    struct amber_row *r = row;
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->worker_id = st_col_i64(st, s, 2);
    r->visit_id = st_col_i64(st, s, 3);
    r->alert_id = st_col_str(st, s, 4);
    r->status = st_col_str(st, s, 5);
    position_read(st, s, 6, &r->position);
    r->state = (int)st_col_i64(st, s, 10);
    r->deadline_at = st_col_i64(st, s, 11);
    r->cleared_at = st_col_i64(st, s, 12);
    r->alarm_id = st_col_i64(st, s, 13);
    r->created_at = st_col_i64(st, s, 14);
}

static int amber_check(const struct amber_row *r)
{
    if (!r->status || r->worker_id <= 0 || r->visit_id < 0 || r->alarm_id < 0)
        return -NA_EINVAL;
    if (r->state < AMBER_KEPT || r->state > AMBER_ALARMED)
        return -NA_EINVAL;
    return 0;
}

int store_amber_create(struct store *st, const struct amber_row *r, int64_t *out_id)
{
    int rc = amber_check(r);

    if (rc < 0)
        return rc;
    return st_exec_id(
        st,
        "INSERT INTO amber_alerts (organisation_id, worker_id, visit_id, alert_id, status, "
        "latitude, longitude, accuracy_m, location_at, state, deadline_at, cleared_at, alarm_id, "
        "created_at, owner) "
        "SELECT w.organisation_id, w.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM users w "
        "WHERE w.id = ? AND w.organisation_id = ? AND (? = 0 OR EXISTS (SELECT 1 FROM visits v "
        "WHERE v.id = ? AND v.organisation_id = w.organisation_id)) RETURNING id",
        PARAMS(P_ID(r->visit_id), P_TEXT(r->alert_id), P_TEXT(r->status), P_POSITION(&r->position),
               P_I64(r->state), P_ID(r->deadline_at), P_ID(r->cleared_at), P_ID(r->alarm_id),
               P_I64(r->created_at), P_TEXT(owner_if(st, r->state == AMBER_WATCHING)),
               P_I64(r->worker_id), P_I64(r->organisation_id), P_I64(r->visit_id),
               P_I64(r->visit_id)),
        out_id);
}

int store_amber_get(struct store *st, int64_t org_id, int64_t id, struct amber_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt_locked(
        st, "SELECT " AMBER_COLS " FROM amber_alerts WHERE id = ? AND organisation_id = ?",
        PARAMS(P_I64(id), P_I64(org_id)), &s);
    return rc < 0 ? rc : one_read(st, s, amber_read, out);
}

int store_amber_get_any(struct store *st, int64_t id, struct amber_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt_locked(st, "SELECT " AMBER_COLS " FROM amber_alerts WHERE id = ?",
                        PARAMS(P_I64(id)), &s);
    return rc < 0 ? rc : one_read(st, s, amber_read, out);
}

int store_amber_by_alert_id(struct store *st, int64_t org_id, int64_t worker_id,
                            const char *alert_id, struct amber_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!alert_id)
        return -NA_EINVAL;
    rc = st_stmt_locked(st,
                        "SELECT " AMBER_COLS " FROM amber_alerts WHERE organisation_id = ? "
                        "AND worker_id = ? AND alert_id = ?",
                        PARAMS(P_I64(org_id), P_I64(worker_id), P_TEXT(alert_id)), &s);
    return rc < 0 ? rc : one_read(st, s, amber_read, out);
}

int store_amber_update(struct store *st, const struct amber_row *r)
{
    int rc = amber_check(r);

    if (rc < 0)
        return rc;
    return st_exec_id(st,
                      "UPDATE amber_alerts SET state = ?, cleared_at = ?, alarm_id = ?, owner = ? "
                      "WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_I64(r->state), P_ID(r->cleared_at), P_ID(r->alarm_id),
                             P_TEXT(owner_if(st, r->state == AMBER_WATCHING)), P_I64(r->id),
                             P_I64(r->organisation_id)),
                      NULL);
}

int store_amber_list(struct store *st, int64_t org_id, int64_t worker_id, int64_t before_id,
                     int limit, struct amber_row **out_rows, size_t *out_n)
{
    static const struct list_kind kind = {sizeof(struct amber_row), amber_read,
                                          amber_rows_free_any};
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    if (before_id < 0)
        return -NA_EINVAL;
    rc = st_stmt(
        st,
        "SELECT " AMBER_COLS " FROM amber_alerts WHERE worker_id = ? "
        "AND organisation_id = ? AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?",
        PARAMS(P_I64(worker_id), P_I64(org_id), P_I64(before_id), P_I64(before_id), P_I64(limit)),
        &s);
    if (rc < 0)
        return rc;
    return list_read(st, s, &kind, (size_t)limit, false, (void **)out_rows, out_n);
}

int store_amber_watching(struct store *st, int64_t org_id, int64_t worker_id, int64_t **out_ids,
                         size_t *out_n)
{
    return st_query_ids(st,
                        "SELECT id FROM amber_alerts WHERE worker_id = ? AND organisation_id = ? "
                        "AND state = 2 ORDER BY id",
                        PARAMS(P_I64(worker_id), P_I64(org_id)), out_ids, out_n);
}

/* ---- positions ---- */

int store_position_add(struct store *st, const struct position_new *p)
{
    if (!p->source || !p->position.known || p->worker_id <= 0 || p->visit_id < 0)
        return -NA_EINVAL;
    /* A fix without its time is taken as of its receipt. */
    return st_exec_id(
        st,
        "INSERT INTO positions (organisation_id, worker_id, visit_id, source, latitude, "
        "longitude, accuracy_m, at, received_at) "
        "SELECT w.organisation_id, w.id, ?, ?, ?, ?, ?, ?, ? FROM users w "
        "WHERE w.id = ? AND w.organisation_id = ? RETURNING id",
        PARAMS(P_ID(p->visit_id), P_TEXT(p->source), P_F64(p->position.latitude),
               P_F64(p->position.longitude),
               P_F64_IF(p->position.accuracy_m > 0, p->position.accuracy_m),
               P_I64(p->position.at ? p->position.at : p->received_at), P_I64(p->received_at),
               P_I64(p->worker_id), P_I64(p->organisation_id)),
        NULL);
}

void position_rows_free(struct position_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].source);
    free(rows);
}

static void position_rows_free_any(void *rows, size_t n)
{
    position_rows_free(rows, n);
}

static void position_row_read(struct store *st, struct db_stmt *s, void *row)
{
    struct position_row *r = row;
    r->id = st_col_i64(st, s, 0);
    r->visit_id = st_col_i64(st, s, 1);
    r->source = st_col_str(st, s, 2);
    position_read(st, s, 3, &r->position);
    r->received_at = st_col_i64(st, s, 7);
}

int store_position_trail(struct store *st, int64_t org_id, int64_t worker_id, int64_t since,
                         int limit, struct position_row **out_rows, size_t *out_n)
{
    static const struct list_kind kind = {sizeof(struct position_row), position_row_read,
                                          position_rows_free_any};
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    rc = st_stmt(st,
                 "SELECT id, visit_id, source, latitude, longitude, accuracy_m, at, received_at "
                 "FROM positions WHERE worker_id = ? AND organisation_id = ? AND at >= ? "
                 "ORDER BY at DESC, id DESC LIMIT ?",
                 PARAMS(P_I64(worker_id), P_I64(org_id), P_I64(since), P_I64(limit)), &s);
    if (rc < 0)
        return rc;
    return list_read(st, s, &kind, (size_t)limit, false, (void **)out_rows, out_n);
}

/* ---- alert profiles ---- */

void alert_profile_fini(struct alert_profile *p)
{
    if (!p)
        return;
    free(p->code_hash);
    free(p->duress_hash);
    memset(p, 0, sizeof *p);
    p->battery_pct = -1;
}

#define PROFILE_COLS                                                                               \
    "user_id, organisation_id, code_hash, duress_hash, location_consent, consent_changed_at, "     \
    "battery_pct, battery_at, low_battery_told_at, device_tested_at, test_due_at, updated_at"

static void profile_read(struct store *st, struct db_stmt *s, void *row)
{
    struct alert_profile *p = row;
    p->user_id = st_col_i64(st, s, 0);
    p->organisation_id = st_col_i64(st, s, 1);
    p->code_hash = st_col_str(st, s, 2);
    p->duress_hash = st_col_str(st, s, 3);
    p->location_consent = st_col_bool(st, s, 4);
    p->consent_changed_at = st_col_i64(st, s, 5);
    p->battery_pct = st_col_null(st, s, 6) ? -1 : (int)st_col_i64(st, s, 6);
    p->battery_at = st_col_i64(st, s, 7);
    p->low_battery_told_at = st_col_i64(st, s, 8);
    p->device_tested_at = st_col_i64(st, s, 9);
    p->test_due_at = st_col_i64(st, s, 10);
    p->updated_at = st_col_i64(st, s, 11);
}

/* The profile of the prepared query s; a user without one reads zeroed, battery -1. */
static int profile_get(struct store *st, struct db_stmt *s, struct alert_profile *out)
{
    int rc = one_read(st, s, profile_read, out);
    if (rc < 0)
        alert_profile_fini(out);
    return rc;
}

int store_alert_profile_get(struct store *st, int64_t org_id, int64_t user_id,
                            struct alert_profile *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    alert_profile_fini(out);
    rc = st_stmt_locked(st,
                        "SELECT " PROFILE_COLS " FROM alert_profiles "
                        "WHERE user_id = ? AND organisation_id = ?",
                        PARAMS(P_I64(user_id), P_I64(org_id)), &s);
    return rc < 0 ? rc : profile_get(st, s, out);
}

int store_alert_profile_get_any(struct store *st, int64_t user_id, struct alert_profile *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    alert_profile_fini(out);
    rc = st_stmt_locked(st, "SELECT " PROFILE_COLS " FROM alert_profiles WHERE user_id = ?",
                        PARAMS(P_I64(user_id)), &s);
    return rc < 0 ? rc : profile_get(st, s, out);
}

/* A percentage, -1 (never reported) bound as NULL. */
#define P_PCT(v)                                                                                   \
    {                                                                                              \
        .type = (v) < 0 ? DB_PARAM_NULL : DB_PARAM_INT64, .i = (v)                                 \
    }

int store_alert_profile_put(struct store *st, const struct alert_profile *p)
{
    if (p->user_id <= 0 || p->battery_pct < -1 || p->battery_pct > 100)
        return -NA_EINVAL;
    /* The SELECT checks the user's organisation; a user has at most one profile. */
    return st_exec_id(
        st,
        "INSERT INTO alert_profiles (user_id, organisation_id, code_hash, duress_hash, "
        "location_consent, consent_changed_at, battery_pct, battery_at, low_battery_told_at, "
        "device_tested_at, test_due_at, updated_at, owner) "
        "SELECT u.id, u.organisation_id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM users u "
        "WHERE u.id = ? AND u.organisation_id = ? "
        "ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, "
        "duress_hash = excluded.duress_hash, location_consent = excluded.location_consent, "
        "consent_changed_at = excluded.consent_changed_at, battery_pct = excluded.battery_pct, "
        "battery_at = excluded.battery_at, low_battery_told_at = excluded.low_battery_told_at, "
        "device_tested_at = excluded.device_tested_at, test_due_at = excluded.test_due_at, "
        "updated_at = excluded.updated_at, owner = excluded.owner RETURNING user_id",
        PARAMS(P_TEXT(p->code_hash), P_TEXT(p->duress_hash), P_BOOL(p->location_consent),
               P_ID(p->consent_changed_at), P_PCT(p->battery_pct), P_ID(p->battery_at),
               P_ID(p->low_battery_told_at), P_ID(p->device_tested_at), P_ID(p->test_due_at),
               P_I64(p->updated_at), P_TEXT(owner_if(st, p->test_due_at != 0)), P_I64(p->user_id),
               P_I64(p->organisation_id)),
        NULL);
}

/* ---- evidence ---- */

void evidence_row_fini(struct evidence_row *r)
{
    if (!r)
        return;
    free(r->kind);
    free(r->name);
    free(r->content_type);
    free(r->sha256);
    memset(r, 0, sizeof *r);
}

void evidence_rows_free(struct evidence_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        evidence_row_fini(&rows[i]);
    free(rows);
}

static void evidence_rows_free_any(void *rows, size_t n)
{
    evidence_rows_free(rows, n);
}

#define EVIDENCE_COLS                                                                              \
    "id, organisation_id, alarm_id, kind, name, content_type, size, sha256, uploaded_by, "         \
    "uploaded_at"

static void evidence_read(struct store *st, struct db_stmt *s, void *row)
{
    struct evidence_row *r = row;
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->alarm_id = st_col_i64(st, s, 2);
    r->kind = st_col_str(st, s, 3);
    r->name = st_col_str(st, s, 4);
    r->content_type = st_col_str(st, s, 5);
    r->size = st_col_i64(st, s, 6);
    r->sha256 = st_col_str(st, s, 7);
    r->uploaded_by = st_col_i64(st, s, 8);
    r->uploaded_at = st_col_i64(st, s, 9);
}

static const struct list_kind evidence_list_kind = {sizeof(struct evidence_row), evidence_read,
                                                    evidence_rows_free_any};

int store_evidence_add(struct store *st, const struct evidence_row *r, const void *data,
                       int64_t *out_id)
{
    char *b64;
    size_t b64_len;
    int rc;

    if (!r->kind || !r->content_type || !r->sha256 || r->uploaded_by < 0)
        return -NA_EINVAL;
    if (r->size < 0 || (r->size > 0 && !data))
        return -NA_EINVAL;
    if ((uint64_t)r->size > STORE_EVIDENCE_MAX)
        return -NA_ETOOBIG;
    /* Base64 text is stored the same on both backends and never meets an encoding. */
    b64_len = sodium_base64_ENCODED_LEN((size_t)r->size, sodium_base64_VARIANT_ORIGINAL);
    b64 = xmalloc(b64_len);
    sodium_bin2base64(b64, b64_len, data ? data : (const void *)"", (size_t)r->size,
                      sodium_base64_VARIANT_ORIGINAL);
    rc = st_exec_id(st,
                    "INSERT INTO evidence (organisation_id, alarm_id, kind, name, content_type, "
                    "size, sha256, content, uploaded_by, uploaded_at) "
                    "SELECT organisation_id, id, ?, ?, ?, ?, ?, ?, ?, ? FROM alarms "
                    "WHERE id = ? AND organisation_id = ? RETURNING id",
                    PARAMS(P_TEXT(r->kind), P_TEXT(r->name), P_TEXT(r->content_type),
                           P_I64(r->size), P_TEXT(r->sha256), P_TEXT(b64), P_ID(r->uploaded_by),
                           P_I64(r->uploaded_at), P_I64(r->alarm_id), P_I64(r->organisation_id)),
                    out_id);
    free(b64);
    return rc;
}

int store_evidence_list(struct store *st, int64_t org_id, int64_t alarm_id,
                        struct evidence_row **out_rows, size_t *out_n)
{
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = alarm_in_org(st, org_id, alarm_id);
    if (rc < 0)
        return rc;
    rc = st_stmt(st,
                 "SELECT " EVIDENCE_COLS " FROM evidence WHERE alarm_id = ? "
                 "AND organisation_id = ? ORDER BY id LIMIT ?",
                 PARAMS(P_I64(alarm_id), P_I64(org_id), P_I64(STORE_LIST_MAX)), &s);
    if (rc < 0)
        return rc;
    return list_read(st, s, &evidence_list_kind, STORE_LIST_MAX, false, (void **)out_rows, out_n);
}

/* Decodes the base64 content of the row standing in s (column 10) into *out_data. */
static int evidence_content(struct store *st, struct db_stmt *s, const struct evidence_row *r,
                            void **out_data)
{
    char *b64 = st_col_str(st, s, 10);
    unsigned char *data;
    size_t len = 0;

    if (!b64 || r->size < 0 || (uint64_t)r->size > STORE_EVIDENCE_MAX) {
        free(b64);
        return -NA_ESTORE;
    }
    data = xmalloc(r->size > 0 ? (size_t)r->size : 1);
    if (sodium_base642bin(data, (size_t)r->size, b64, strlen(b64), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != (size_t)r->size) {
        free(b64);
        free(data);
        return -NA_ESTORE;
    }
    free(b64);
    *out_data = data;
    return 0;
}

int store_evidence_get(struct store *st, int64_t org_id, int64_t id, struct evidence_row *out,
                       void **out_data)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (out_data)
        *out_data = NULL;
    /* The content is read only when asked for: it may be megabytes. */
    if (out_data)
        rc = st_stmt(st,
                     "SELECT " EVIDENCE_COLS ", content FROM evidence "
                     "WHERE id = ? AND organisation_id = ?",
                     PARAMS(P_I64(id), P_I64(org_id)), &s);
    else
        rc = st_stmt(st,
                     "SELECT " EVIDENCE_COLS " FROM evidence WHERE id = ? AND organisation_id = ?",
                     PARAMS(P_I64(id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW) {
        evidence_read(st, s, out);
        rc = out_data ? evidence_content(st, s, out, out_data) : 0;
    } else if (rc == DB_DONE) {
        rc = -NA_ENOTFOUND;
    }
    st_done(st, s);
    if (rc < 0)
        evidence_row_fini(out);
    return rc;
}

/* ---- the organisation's alarm settings ---- */

int store_alarm_settings_get(struct store *st, int64_t org_id, char **out_json)
{
    struct db_stmt *s = NULL;
    int rc;

    *out_json = NULL;
    rc = st_stmt(st, "SELECT settings FROM alarm_settings WHERE organisation_id = ?",
                 PARAMS(P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW)
        *out_json = st_col_str(st, s, 0);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

int store_alarm_settings_put(struct store *st, int64_t org_id, const char *json, int64_t now)
{
    if (!json)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "INSERT INTO alarm_settings (organisation_id, settings, updated_at) "
                      "SELECT id, ?, ? FROM organisations WHERE id = ? "
                      "ON CONFLICT (organisation_id) DO UPDATE SET settings = excluded.settings, "
                      "updated_at = excluded.updated_at RETURNING organisation_id",
                      PARAMS(P_TEXT(json), P_I64(now), P_I64(org_id)), NULL);
}

/* ---- police URNs ---- */

void urn_row_fini(struct urn_row *r)
{
    if (!r)
        return;
    free(r->urn);
    free(r->label);
    memset(r, 0, sizeof *r);
}

void urn_rows_free(struct urn_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        urn_row_fini(&rows[i]);
    free(rows);
}

static void urn_rows_free_any(void *rows, size_t n)
{
    urn_rows_free(rows, n);
}

#define URN_COLS "p.id, p.organisation_id, p.team_id, p.urn, p.label, p.created_at"

static void urn_read(struct store *st, struct db_stmt *s, void *row)
{
    struct urn_row *r = row;
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->team_id = st_col_i64(st, s, 2);
    r->urn = st_col_str(st, s, 3);
    r->label = st_col_str(st, s, 4);
    r->created_at = st_col_i64(st, s, 5);
}

int store_urn_create(struct store *st, const struct urn_row *r, int64_t *out_id)
{
    if (!r->urn || r->team_id < 0)
        return -NA_EINVAL;
    /* The SELECT checks the team's organisation; one URN per scope by the unique indexes. */
    return st_exec_id(st,
                      "INSERT INTO police_urns (organisation_id, team_id, urn, label, created_at) "
                      "SELECT o.id, ?, ?, ?, ? FROM organisations o WHERE o.id = ? "
                      "AND (? = 0 OR EXISTS (SELECT 1 FROM teams t "
                      "WHERE t.id = ? AND t.organisation_id = o.id)) RETURNING id",
                      PARAMS(P_ID(r->team_id), P_TEXT(r->urn), P_TEXT(r->label),
                             P_I64(r->created_at), P_I64(r->organisation_id), P_I64(r->team_id),
                             P_I64(r->team_id)),
                      out_id);
}

int store_urn_list(struct store *st, int64_t org_id, struct urn_row **out_rows, size_t *out_n)
{
    static const struct list_kind kind = {sizeof(struct urn_row), urn_read, urn_rows_free_any};
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_stmt(st,
                 "SELECT " URN_COLS " FROM police_urns p WHERE p.organisation_id = ? "
                 "ORDER BY p.id LIMIT ?",
                 PARAMS(P_I64(org_id), P_I64(STORE_LIST_MAX)), &s);
    if (rc < 0)
        return rc;
    return list_read(st, s, &kind, STORE_LIST_MAX, false, (void **)out_rows, out_n);
}

int store_urn_delete(struct store *st, int64_t org_id, int64_t id)
{
    return st_exec_id(st,
                      "DELETE FROM police_urns WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_I64(id), P_I64(org_id)), NULL);
}

int store_urn_for_worker(struct store *st, int64_t org_id, int64_t worker_id, struct urn_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    /* The worker's teams by lowest id first, then the organisation's own (team NULL). */
    rc = st_stmt(st,
                 "SELECT " URN_COLS " FROM police_urns p WHERE p.organisation_id = ? "
                 "AND EXISTS (SELECT 1 FROM users u WHERE u.id = ? "
                 "AND u.organisation_id = p.organisation_id) "
                 "AND (p.team_id IS NULL OR p.team_id IN "
                 "(SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ?)) "
                 "ORDER BY CASE WHEN p.team_id IS NULL THEN 1 ELSE 0 END, p.team_id LIMIT 1",
                 PARAMS(P_I64(org_id), P_I64(worker_id), P_I64(worker_id)), &s);
    return rc < 0 ? rc : one_read(st, s, urn_read, out);
}
