/*
 * Visits and their timelines (store_watch.h). Every tenant query is scoped by organisation
 * id; store_visit_get_any is the scheduler's lookup across organisations.
 */
#include "store/store_internal.h"
#include "store/store_watch.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

void visit_row_fini(struct visit_row *r)
{
    if (!r)
        return;
    free(r->kind);
    free(r->address);
    free(r->people);
    free(r->phones);
    free(r->transport);
    free(r->accompanied_by);
    free(r->notes);
    free(r->close_note);
    memset(r, 0, sizeof *r);
}

void visit_rows_free(struct visit_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        visit_row_fini(&rows[i]);
    free(rows);
}

#define VISIT_COLS                                                                                 \
    "v.id, v.organisation_id, v.worker_id, v.buddy_id, v.buddy_accepted_at, v.kind, v.state, "     \
    "v.expected_arrival, v.expected_departure, v.checkin_interval, v.started_at, "                 \
    "v.last_checkin_at, v.deadline_at, v.closed_at, v.outcome, v.address, v.latitude, "            \
    "v.longitude, v.people, v.phones, v.transport, v.accompanied_by, v.notes, v.reminder_at, "     \
    "v.close_note, v.last_latitude, v.last_longitude, v.last_location_at, v.created_by, "          \
    "v.created_at, v.updated_at"

/* Columns 6..14 of VISIT_COLS. NULL times read as 0. */
static void visit_read_clock(struct store *st, struct db_stmt *s, struct visit_clock *c)
{
    c->state = (enum visit_state)st_col_i64(st, s, 6);
    c->expected_arrival = st_col_i64(st, s, 7);
    c->expected_departure = st_col_i64(st, s, 8);
    c->checkin_interval = st_col_i64(st, s, 9);
    c->started_at = st_col_i64(st, s, 10);
    c->last_checkin_at = st_col_i64(st, s, 11);
    c->deadline_at = st_col_i64(st, s, 12);
    c->closed_at = st_col_i64(st, s, 13);
    c->outcome = (enum visit_outcome)st_col_i64(st, s, 14);
}

static void visit_read(struct store *st, struct db_stmt *s, struct visit_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->worker_id = st_col_i64(st, s, 2);
    r->buddy_id = st_col_i64(st, s, 3);
    r->buddy_accepted_at = st_col_i64(st, s, 4);
    r->kind = st_col_str(st, s, 5);
    visit_read_clock(st, s, &r->clock);
    r->address = st_col_str(st, s, 15);
    r->has_location = !st_col_null(st, s, 16) && !st_col_null(st, s, 17);
    r->latitude = r->has_location ? st_col_f64(st, s, 16) : 0;
    r->longitude = r->has_location ? st_col_f64(st, s, 17) : 0;
    r->people = st_col_str(st, s, 18);
    r->phones = st_col_str(st, s, 19);
    r->transport = st_col_str(st, s, 20);
    r->accompanied_by = st_col_str(st, s, 21);
    r->notes = st_col_str(st, s, 22);
    r->reminder_at = st_col_i64(st, s, 23);
    r->close_note = st_col_str(st, s, 24);
    r->has_last_location = !st_col_null(st, s, 25) && !st_col_null(st, s, 26);
    r->last_latitude = r->has_last_location ? st_col_f64(st, s, 25) : 0;
    r->last_longitude = r->has_last_location ? st_col_f64(st, s, 26) : 0;
    r->last_location_at = st_col_i64(st, s, 27);
    r->created_by = st_col_i64(st, s, 28);
    r->created_at = st_col_i64(st, s, 29);
    r->updated_at = st_col_i64(st, s, 30);
}

/* Fields no row may lack, and the ranges of the enums stored as integers. */
static int visit_check(const struct visit_row *r)
{
    if (!r->kind || r->worker_id <= 0 || r->buddy_id < 0)
        return -NA_EINVAL;
    if (r->clock.state < VISIT_PLANNED || r->clock.state > VISIT_CLOSED)
        return -NA_EINVAL;
    if (r->clock.outcome < VISIT_OUTCOME_NONE || r->clock.outcome > VISIT_OUTCOME_CANCELLED)
        return -NA_EINVAL;
    return 0;
}

int store_visit_create(struct store *st, const struct visit_row *r, int64_t *out_id)
{
    const struct visit_clock *c = &r->clock;
    int rc = visit_check(r);

    if (rc < 0)
        return rc;
    /* The SELECT puts the visit in the worker's organisation and checks the buddy's. */
    return st_exec_id(
        st,
        "INSERT INTO visits (organisation_id, worker_id, buddy_id, buddy_accepted_at, kind, "
        "state, expected_arrival, expected_departure, checkin_interval, started_at, "
        "last_checkin_at, deadline_at, closed_at, outcome, address, latitude, longitude, "
        "people, phones, transport, accompanied_by, notes, reminder_at, close_note, "
        "last_latitude, last_longitude, last_location_at, created_by, created_at, updated_at, "
        "owner) "
        "SELECT w.organisation_id, w.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM users w WHERE w.id = ? AND w.organisation_id = ? "
        "AND (? = 0 OR EXISTS (SELECT 1 FROM users b "
        "WHERE b.id = ? AND b.organisation_id = w.organisation_id)) RETURNING id",
        PARAMS(
            P_ID(r->buddy_id), P_ID(r->buddy_accepted_at), P_TEXT(r->kind), P_I64(c->state),
            P_I64(c->expected_arrival), P_I64(c->expected_departure), P_I64(c->checkin_interval),
            P_ID(c->started_at), P_ID(c->last_checkin_at), P_ID(c->deadline_at), P_ID(c->closed_at),
            P_I64(c->outcome), P_TEXT(r->address), P_F64_IF(r->has_location, r->latitude),
            P_F64_IF(r->has_location, r->longitude), P_TEXT(r->people), P_TEXT(r->phones),
            P_TEXT(r->transport), P_TEXT(r->accompanied_by), P_TEXT(r->notes), P_ID(r->reminder_at),
            P_TEXT(r->close_note), P_F64_IF(r->has_last_location, r->last_latitude),
            P_F64_IF(r->has_last_location, r->last_longitude), P_ID(r->last_location_at),
            P_ID(r->created_by), P_I64(r->created_at), P_I64(r->created_at), P_TEXT(st->node),
            P_I64(r->worker_id), P_I64(r->organisation_id), P_I64(r->buddy_id), P_I64(r->buddy_id)),
        out_id);
}

/* One visit by a prepared single-row query. */
static int visit_get_one(struct store *st, struct db_stmt *s, struct visit_row *out)
{
    int rc = st_step(st, s);
    if (rc == DB_ROW)
        visit_read(st, s, out);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

int store_visit_get(struct store *st, int64_t org_id, int64_t visit_id, struct visit_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt_locked(
        st, "SELECT " VISIT_COLS " FROM visits v WHERE v.id = ? AND v.organisation_id = ?",
        PARAMS(P_I64(visit_id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    return visit_get_one(st, s, out);
}

int store_visit_get_any(struct store *st, int64_t visit_id, struct visit_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt_locked(st, "SELECT " VISIT_COLS " FROM visits v WHERE v.id = ?",
                        PARAMS(P_I64(visit_id)), &s);
    if (rc < 0)
        return rc;
    return visit_get_one(st, s, out);
}

int store_visit_update(struct store *st, const struct visit_row *r)
{
    const struct visit_clock *c = &r->clock;
    int rc = visit_check(r);

    if (rc < 0)
        return rc;
    return st_exec_id(
        st,
        "UPDATE visits SET buddy_id = ?, buddy_accepted_at = ?, state = ?, expected_arrival = ?, "
        "expected_departure = ?, checkin_interval = ?, started_at = ?, last_checkin_at = ?, "
        "deadline_at = ?, closed_at = ?, outcome = ?, reminder_at = ?, close_note = ?, "
        "last_latitude = ?, last_longitude = ?, last_location_at = ?, transport = ?, notes = ?, "
        "updated_at = ?, owner = ? WHERE id = ? AND organisation_id = ? "
        "AND (? = 0 OR EXISTS (SELECT 1 FROM users b "
        "WHERE b.id = ? AND b.organisation_id = visits.organisation_id)) RETURNING id",
        PARAMS(P_ID(r->buddy_id), P_ID(r->buddy_accepted_at), P_I64(c->state),
               P_I64(c->expected_arrival), P_I64(c->expected_departure), P_I64(c->checkin_interval),
               P_ID(c->started_at), P_ID(c->last_checkin_at), P_ID(c->deadline_at),
               P_ID(c->closed_at), P_I64(c->outcome), P_ID(r->reminder_at), P_TEXT(r->close_note),
               P_F64_IF(r->has_last_location, r->last_latitude),
               P_F64_IF(r->has_last_location, r->last_longitude), P_ID(r->last_location_at),
               P_TEXT(r->transport), P_TEXT(r->notes), P_I64(r->updated_at), P_TEXT(st->node),
               P_I64(r->id), P_I64(r->organisation_id), P_I64(r->buddy_id), P_I64(r->buddy_id)),
        NULL);
}

/* ---- lists ---- */

/*
 * The list query is built of pieces so that each filter can use its index: a worker's or
 * a buddy's visits come in id order from (worker_id, id) and (buddy_id, id), and a team's
 * or a restricted caller's from a small set of ids gathered through the indexes; a scan of
 * the organisation's visits would stop early only when most of them match. Only compiled-in
 * text and "?" go in. Team ids of a restriction are padded with 0 (no team) to a power of
 * four, so at most a few dozen texts reach the statement cache.
 */
#define VISIT_LIST_HEAD                                                                            \
    "SELECT " VISIT_COLS " FROM visits v WHERE v.organisation_id = ? AND v.id > ? "                \
    "AND (? = 0 OR v.state = ?)"
#define VISIT_LIST_WORKER " AND v.worker_id = ?"
#define VISIT_LIST_BUDDY  " AND v.buddy_id = ?"
#define VISIT_LIST_TEAM                                                                            \
    " AND v.id IN (SELECT w.id FROM team_members tm JOIN visits w ON w.worker_id = tm.user_id "    \
    "WHERE tm.team_id = ? AND w.id > ?)"
#define VISIT_LIST_VISIBLE                                                                         \
    " AND v.id IN (SELECT id FROM visits WHERE worker_id = ? AND id > ? "                          \
    "UNION ALL SELECT id FROM visits WHERE buddy_id = ? AND id > ? "                               \
    "UNION ALL SELECT w.id FROM team_members tm JOIN visits w ON w.worker_id = tm.user_id "        \
    "WHERE w.id > ? AND tm.team_id IN (?"
#define VISIT_LIST_TAIL " ORDER BY v.id LIMIT ?"
/* Parameters besides the restriction's team ids. */
#define VISIT_LIST_MAX_PARAMS 17

struct visit_query {
    struct buf sql;
    struct db_param *params;
    size_t n;
    int rc;
};

static void vq_sql(struct visit_query *q, const char *text)
{
    if (q->rc == 0)
        q->rc = buf_append_str(&q->sql, text);
}

static void vq_i64(struct visit_query *q, int64_t v)
{
    q->params[q->n++] = (struct db_param)P_I64(v);
}

static void visit_list_visible(struct visit_query *q, const struct visit_filter *f,
                               int64_t after_id, size_t slots)
{
    vq_sql(q, VISIT_LIST_VISIBLE);
    vq_i64(q, f->restrict_to_user);
    vq_i64(q, after_id);
    vq_i64(q, f->restrict_to_user);
    vq_i64(q, after_id);
    vq_i64(q, after_id);
    for (size_t i = 0; i < slots; i++) {
        if (i > 0)
            vq_sql(q, ", ?");
        vq_i64(q, i < f->n_teams ? f->teams[i] : 0);
    }
    vq_sql(q, "))");
}

/* The list query for f and its parameters. Caller frees with visit_query_fini. */
static int visit_list_query(struct visit_query *q, int64_t org_id, const struct visit_filter *f,
                            int64_t after_id, int limit)
{
    size_t slots = 1;

    while (slots < f->n_teams)
        slots *= 4;
    buf_init(&q->sql, 1u << 16);
    q->params = xcalloc(VISIT_LIST_MAX_PARAMS + slots, sizeof *q->params);
    q->n = 0;
    q->rc = 0;
    vq_sql(q, VISIT_LIST_HEAD);
    vq_i64(q, org_id);
    vq_i64(q, after_id);
    vq_i64(q, f->state);
    vq_i64(q, f->state);
    if (f->worker_id) {
        vq_sql(q, VISIT_LIST_WORKER);
        vq_i64(q, f->worker_id);
    }
    if (f->buddy_id) {
        vq_sql(q, VISIT_LIST_BUDDY);
        vq_i64(q, f->buddy_id);
    }
    if (f->team_id) {
        vq_sql(q, VISIT_LIST_TEAM);
        vq_i64(q, f->team_id);
        vq_i64(q, after_id);
    }
    if (f->restrict_to_user)
        visit_list_visible(q, f, after_id, slots);
    vq_sql(q, VISIT_LIST_TAIL);
    vq_i64(q, limit);
    return q->rc < 0 ? -NA_ESTORE : 0;
}

static void visit_query_fini(struct visit_query *q)
{
    buf_fini(&q->sql);
    free(q->params);
}

int store_visit_list(struct store *st, int64_t org_id, const struct visit_filter *f,
                     int64_t after_id, int limit, struct visit_row **out_rows, size_t *out_n)
{
    struct visit_query q = {0};
    struct db_stmt *s = NULL;
    struct visit_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    if (f->n_teams > STORE_VISIT_TEAMS_MAX || (f->n_teams > 0 && !f->teams))
        return -NA_EINVAL;
    rc = visit_list_query(&q, org_id, f, after_id, limit);
    if (rc < 0)
        goto fail;
    rc = st_stmt(st, q.sql.data, q.params, q.n, &s);
    if (rc < 0)
        goto fail;
    rows = xcalloc((size_t)limit, sizeof *rows);
    while (n < (size_t)limit && (rc = st_step(st, s)) == DB_ROW)
        visit_read(st, s, &rows[n++]);
    st_done(st, s);
    if (rc < 0)
        goto fail;
    visit_query_fini(&q);
    *out_rows = rows;
    *out_n = n;
    return 0;
fail:
    visit_rows_free(rows, n);
    visit_query_fini(&q);
    return rc;
}

int store_visits_buddied_by(struct store *st, int64_t org_id, int64_t user_id, int64_t **out_ids,
                            size_t *out_n)
{
    return st_query_ids(st,
                        "SELECT id FROM visits WHERE buddy_id = ? AND organisation_id = ? "
                        "AND state IN (1, 2) ORDER BY id",
                        PARAMS(P_I64(user_id), P_I64(org_id)), out_ids, out_n);
}

/* ---- timeline ---- */

int store_visit_event_add(struct store *st, const struct visit_event *e)
{
    if (!e->kind)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "INSERT INTO visit_events (visit_id, organisation_id, kind, actor_id, at, "
                      "detail, latitude, longitude) "
                      "SELECT id, organisation_id, ?, ?, ?, ?, ?, ? FROM visits "
                      "WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_TEXT(e->kind), P_ID(e->actor_id), P_I64(e->at), P_TEXT(e->detail),
                             P_F64_IF(e->has_location, e->latitude),
                             P_F64_IF(e->has_location, e->longitude), P_I64(e->visit_id),
                             P_I64(e->organisation_id)),
                      NULL);
}

void visit_event_rows_free(struct visit_event_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].kind);
        free(rows[i].detail);
    }
    free(rows);
}

static void visit_event_read(struct store *st, struct db_stmt *s, struct visit_event_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->kind = st_col_str(st, s, 1);
    r->actor_id = st_col_i64(st, s, 2);
    r->at = st_col_i64(st, s, 3);
    r->detail = st_col_str(st, s, 4);
    r->has_location = !st_col_null(st, s, 5) && !st_col_null(st, s, 6);
    r->latitude = r->has_location ? st_col_f64(st, s, 5) : 0;
    r->longitude = r->has_location ? st_col_f64(st, s, 6) : 0;
}

int store_visit_events(struct store *st, int64_t org_id, int64_t visit_id,
                       struct visit_event_row **out_rows, size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct visit_event_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    /* An empty timeline and another organisation's visit must differ. */
    rc = st_exec_id(st, "SELECT id FROM visits WHERE id = ? AND organisation_id = ?",
                    PARAMS(P_I64(visit_id), P_I64(org_id)), NULL);
    if (rc < 0)
        return rc;
    rc = st_stmt(st,
                 "SELECT id, kind, actor_id, at, detail, latitude, longitude FROM visit_events "
                 "WHERE visit_id = ? AND organisation_id = ? ORDER BY at, id LIMIT ?",
                 PARAMS(P_I64(visit_id), P_I64(org_id), P_I64(STORE_LIST_MAX)), &s);
    if (rc < 0)
        return rc;
    while ((rc = st_step(st, s)) == DB_ROW) {
        /* Grows by powers of two, as st_push_id. */
        if (n == 0 || (n & (n - 1)) == 0)
            rows = xrealloc(rows, n ? n * 2 : 1, sizeof *rows);
        memset(&rows[n], 0, sizeof rows[n]);
        visit_event_read(st, s, &rows[n++]);
    }
    st_done(st, s);
    if (rc < 0)
        goto fail;
    *out_rows = rows;
    *out_n = n;
    return 0;
fail:
    visit_event_rows_free(rows, n);
    return rc;
}
