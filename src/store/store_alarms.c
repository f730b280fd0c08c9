/*
 * Alerts and alarms (store_alarms.h): alarms and their timelines, amber alerts, positions
 * and alert profiles; evidence is in store_evidence.c, alarm settings and police URNs in
 * store_alarm_settings.c. Tenant queries are scoped by organisation id; the *_any lookups
 * serve the scheduler, whose jobs carry ids only. Rows with due work (an open alarm, a watching
 * amber alert, a profile with a device test due) name this node as their owner when written
 * (store_cluster.h).
 */
#include "store/store_alarms.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/error.h"

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

/* The tail of an INSERT ... SELECT from the worker w: the worker is in the organisation and
 * the visit (0: none) too. Its parameters are P_WORKER_VISIT's. */
#define FROM_WORKER_VISIT_SQL                                                                      \
    " FROM users w WHERE w.id = ? AND w.organisation_id = ? AND (? = 0 OR EXISTS "                 \
    "(SELECT 1 FROM visits v WHERE v.id = ? AND v.organisation_id = w.organisation_id)) "          \
    "RETURNING id"
#define P_WORKER_VISIT(r)                                                                          \
    P_I64((r)->worker_id), P_I64((r)->organisation_id), P_I64((r)->visit_id), P_I64((r)->visit_id)

/* The WHERE of a worker's row by the client's alert id; parameters org, worker, alert id. */
#define BY_ALERT_ID_SQL " WHERE organisation_id = ? AND worker_id = ? AND alert_id = ?"

/* The worker's row by alert id through sql (ending in BY_ALERT_ID_SQL), locked, into out
 * (size bytes) with read. -NA_EINVAL without an alert id, -NA_ENOTFOUND when none. */
static int by_alert_id(struct store *st, const char *sql, int64_t org_id, int64_t worker_id,
                       const char *alert_id, st_read_fn read, void *out, size_t size)
{
    memset(out, 0, size);
    if (!alert_id)
        return -NA_EINVAL;
    return st_get(st, true, sql, PARAMS(P_I64(org_id), P_I64(worker_id), P_TEXT(alert_id)), read,
                  out, size);
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

static const struct st_list_kind alarm_list_kind = {sizeof(struct alarm_row), alarm_read,
                                                    alarm_rows_free_any};

int st_alarm_in_org(struct store *st, int64_t org_id, int64_t alarm_id)
{
    return st_exec_id(st, "SELECT id FROM alarms WHERE id = ? AND organisation_id = ?",
                      PARAMS(P_I64(alarm_id), P_I64(org_id)), NULL);
}

/* Fields no alarm may lack, and the ranges of the enums stored as integers. */
static int alarm_check(const struct alarm_row *r)
{
    const struct alarm_clock *c = &r->clock;

    if (!r->source || r->worker_id <= 0 || r->visit_id < 0 || r->amber_alert_id < 0)
        return -NA_EINVAL;
    if (c->kind < ALARM_RED || c->kind > ALARM_OVERDUE)
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
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?" FROM_WORKER_VISIT_SQL,
        PARAMS(P_ID(r->visit_id), P_ID(r->amber_alert_id), P_I64(c->kind), P_I64(c->state),
               P_BOOL(c->duress), P_I64(c->priority), P_I64(c->opened_at), P_ID(c->renotify_at),
               P_I64(r->renotify_count), P_ID(c->claimed_by), P_ID(c->claimed_at),
               P_ID(c->first_claimed_at), P_ID(c->cancelled_at), P_ID(c->closed_by),
               P_ID(c->closed_at), P_I64(c->outcome), P_TEXT(r->alert_id), P_TEXT(r->source),
               P_TEXT(r->message), P_POSITION(&r->position), P_TEXT(r->found_safe),
               P_TEXT(r->close_note), P_TEXT(r->police_urn), P_TEXT(r->police_reference),
               P_I64(c->opened_at), P_TEXT(st_owner_if(st, c->state == ALARM_OPEN)),
               P_WORKER_VISIT(r)),
        out_id);
}

int store_alarm_get(struct store *st, int64_t org_id, int64_t id, struct alarm_row *out)
{
    return st_get(st, true,
                  "SELECT " ALARM_COLS " FROM alarms WHERE id = ? AND organisation_id = ?",
                  PARAMS(P_I64(id), P_I64(org_id)), alarm_read, out, sizeof *out);
}

int store_alarm_get_any(struct store *st, int64_t id, struct alarm_row *out)
{
    return st_get(st, true, "SELECT " ALARM_COLS " FROM alarms WHERE id = ?", PARAMS(P_I64(id)),
                  alarm_read, out, sizeof *out);
}

int store_alarm_by_alert_id(struct store *st, int64_t org_id, int64_t worker_id,
                            const char *alert_id, struct alarm_row *out)
{
    return by_alert_id(st, "SELECT " ALARM_COLS " FROM alarms" BY_ALERT_ID_SQL, org_id, worker_id,
                       alert_id, alarm_read, out, sizeof *out);
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
               P_TEXT(st_owner_if(st, c->state == ALARM_OPEN)), P_I64(r->id),
               P_I64(r->organisation_id)),
        NULL);
}

int store_alarm_queue(struct store *st, int64_t org_id, int limit, struct alarm_row **out_rows,
                      size_t *out_n)
{
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    return st_list(st, &alarm_list_kind, (size_t)limit, false,
                   "SELECT " ALARM_COLS " FROM alarms WHERE organisation_id = ? "
                   "AND state IN (1, 2) ORDER BY priority, opened_at, id LIMIT ?",
                   PARAMS(P_I64(org_id), P_I64(limit)), (void **)out_rows, out_n);
}

int store_alarm_list(struct store *st, int64_t org_id, const struct alarm_filter *f,
                     int64_t before_id, int limit, struct alarm_row **out_rows, size_t *out_n)
{
    const struct alarm_filter any = {0};
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
    return st_list(st, &alarm_list_kind, (size_t)limit, false,
                   "SELECT " ALARM_COLS " FROM alarms WHERE organisation_id = ? "
                   "AND (? = 0 OR id < ?) AND (? = 0 OR state = ?) AND (? = 0 OR worker_id = ?) "
                   "ORDER BY id DESC LIMIT ?",
                   PARAMS(P_I64(org_id), P_I64(before_id), P_I64(before_id), P_I64(f->state),
                          P_I64(f->state), P_I64(f->worker_id), P_I64(f->worker_id), P_I64(limit)),
                   (void **)out_rows, out_n);
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

/* store_alarm_times taking at most max rows (the tests' way to reach the limit). */
static int alarm_times_max(struct store *st, int64_t org_id, int64_t from, int64_t to, size_t max,
                           struct alarm_times **out_rows, size_t *out_n)
{
    static const struct st_list_kind kind = {sizeof(struct alarm_times), alarm_times_read,
                                             alarm_times_free};

    *out_rows = NULL;
    *out_n = 0;
    if (from > to)
        return -NA_EINVAL;
    /* One row past the most taken tells that the period holds too many. */
    return st_list(st, &kind, max, true,
                   "SELECT opened_at, first_claimed_at, closed_at, outcome FROM alarms "
                   "WHERE organisation_id = ? AND opened_at >= ? AND opened_at < ? "
                   "AND kind IN (1, 2) ORDER BY opened_at, id LIMIT ?",
                   PARAMS(P_I64(org_id), P_I64(from), P_I64(to), P_I64(max + 1)), (void **)out_rows,
                   out_n);
}

int store_alarm_times(struct store *st, int64_t org_id, int64_t from, int64_t to,
                      struct alarm_times **out_rows, size_t *out_n)
{
    return alarm_times_max(st, org_id, from, to, STORE_ALARM_TIMES_MAX, out_rows, out_n);
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
    static const struct st_list_kind kind = {sizeof(struct alarm_event_row), alarm_event_read,
                                             alarm_event_rows_free_any};
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_alarm_in_org(st, org_id, alarm_id);
    if (rc < 0)
        return rc;
    return st_list(st, &kind, STORE_LIST_MAX, false,
                   "SELECT id, at, kind, actor_id, detail, data FROM alarm_events "
                   "WHERE alarm_id = ? AND organisation_id = ? ORDER BY at, id LIMIT ?",
                   PARAMS(P_I64(alarm_id), P_I64(org_id), P_I64(STORE_LIST_MAX)), (void **)out_rows,
                   out_n);
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
        "SELECT w.organisation_id, w.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?" FROM_WORKER_VISIT_SQL,
        PARAMS(P_ID(r->visit_id), P_TEXT(r->alert_id), P_TEXT(r->status), P_POSITION(&r->position),
               P_I64(r->state), P_ID(r->deadline_at), P_ID(r->cleared_at), P_ID(r->alarm_id),
               P_I64(r->created_at), P_TEXT(st_owner_if(st, r->state == AMBER_WATCHING)),
               P_WORKER_VISIT(r)),
        out_id);
}

int store_amber_get(struct store *st, int64_t org_id, int64_t id, struct amber_row *out)
{
    return st_get(st, true,
                  "SELECT " AMBER_COLS " FROM amber_alerts WHERE id = ? AND organisation_id = ?",
                  PARAMS(P_I64(id), P_I64(org_id)), amber_read, out, sizeof *out);
}

int store_amber_get_any(struct store *st, int64_t id, struct amber_row *out)
{
    return st_get(st, true, "SELECT " AMBER_COLS " FROM amber_alerts WHERE id = ?",
                  PARAMS(P_I64(id)), amber_read, out, sizeof *out);
}

int store_amber_by_alert_id(struct store *st, int64_t org_id, int64_t worker_id,
                            const char *alert_id, struct amber_row *out)
{
    return by_alert_id(st, "SELECT " AMBER_COLS " FROM amber_alerts" BY_ALERT_ID_SQL, org_id,
                       worker_id, alert_id, amber_read, out, sizeof *out);
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
                             P_TEXT(st_owner_if(st, r->state == AMBER_WATCHING)), P_I64(r->id),
                             P_I64(r->organisation_id)),
                      NULL);
}

int store_amber_list(struct store *st, int64_t org_id, int64_t worker_id, int64_t before_id,
                     int limit, struct amber_row **out_rows, size_t *out_n)
{
    static const struct st_list_kind kind = {sizeof(struct amber_row), amber_read,
                                             amber_rows_free_any};
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    if (before_id < 0)
        return -NA_EINVAL;
    return st_list(
        st, &kind, (size_t)limit, false,
        "SELECT " AMBER_COLS " FROM amber_alerts WHERE worker_id = ? "
        "AND organisation_id = ? AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?",
        PARAMS(P_I64(worker_id), P_I64(org_id), P_I64(before_id), P_I64(before_id), P_I64(limit)),
        (void **)out_rows, out_n);
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
    static const struct st_list_kind kind = {sizeof(struct position_row), position_row_read,
                                             position_rows_free_any};
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    return st_list(st, &kind, (size_t)limit, false,
                   "SELECT id, visit_id, source, latitude, longitude, accuracy_m, at, received_at "
                   "FROM positions WHERE worker_id = ? AND organisation_id = ? AND at >= ? "
                   "ORDER BY at DESC, id DESC LIMIT ?",
                   PARAMS(P_I64(worker_id), P_I64(org_id), P_I64(since), P_I64(limit)),
                   (void **)out_rows, out_n);
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

/* rc of reading a profile: a user without one reads zeroed, battery -1. */
static int profile_got(int rc, struct alert_profile *out)
{
    if (rc < 0)
        alert_profile_fini(out);
    return rc;
}

int store_alert_profile_get(struct store *st, int64_t org_id, int64_t user_id,
                            struct alert_profile *out)
{
    return profile_got(st_get(st, true,
                              "SELECT " PROFILE_COLS " FROM alert_profiles "
                              "WHERE user_id = ? AND organisation_id = ?",
                              PARAMS(P_I64(user_id), P_I64(org_id)), profile_read, out,
                              sizeof *out),
                       out);
}

int store_alert_profile_get_any(struct store *st, int64_t user_id, struct alert_profile *out)
{
    return profile_got(st_get(st, true,
                              "SELECT " PROFILE_COLS " FROM alert_profiles WHERE user_id = ?",
                              PARAMS(P_I64(user_id)), profile_read, out, sizeof *out),
                       out);
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
               P_I64(p->updated_at), P_TEXT(st_owner_if(st, p->test_due_at != 0)),
               P_I64(p->user_id), P_I64(p->organisation_id)),
        NULL);
}
