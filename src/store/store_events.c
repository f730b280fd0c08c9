/*
 * The live event stream's storage (store_events.h). Events added in a transaction wait
 * in the connection until store_commit writes them, last before COMMIT: on a shared
 * database their ids are taken under a transaction-long lock (db_ops.events_lock_sql),
 * so that ids become visible in increasing order; taken at the end, the lock is held
 * for the commit only and never while waiting for a row another transaction holds.
 */
#include "store/store_events.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

/* The channel db_ops.notify_sql names. */
#define STORE_EVENTS_CHANNEL "notalone_events"

/* An event waiting for its transaction's commit. */
struct st_event {
    int64_t organisation_id;
    int64_t at;
    int64_t visit_id;
    int64_t worker_id;
    int64_t alarm_id;
    char *kind;
    char *payload;
};

int store_event_add(struct store *st, const struct event_new *e)
{
    struct st_event *ev;

    if (!st->in_tx) {
        log_error("event_outside_transaction", "kind=%s", e->kind ? e->kind : "none");
        return -NA_ESTORE;
    }
    if (!e->kind || !e->payload || e->organisation_id <= 0 || e->visit_id < 0 || e->alarm_id < 0)
        return -NA_EINVAL;
    if (e->visit_id == 0 && e->alarm_id == 0)
        return -NA_EINVAL;
    if (st->n_events >= STORE_EVENTS_TX_MAX)
        return -NA_ETOOBIG;
    if (st->n_events == st->cap_events) {
        st->cap_events = st->cap_events ? st->cap_events * 2 : 8;
        st->events = xrealloc(st->events, st->cap_events, sizeof *st->events);
    }
    ev = &st->events[st->n_events++];
    ev->organisation_id = e->organisation_id;
    ev->at = e->at;
    ev->visit_id = e->visit_id;
    ev->worker_id = e->worker_id;
    ev->alarm_id = e->alarm_id;
    ev->kind = xstrdup(e->kind);
    ev->payload = xstrdup(e->payload);
    return 0;
}

void st_events_clear(struct store *st)
{
    for (size_t i = 0; i < st->n_events; i++) {
        free(st->events[i].kind);
        free(st->events[i].payload);
    }
    free(st->events);
    st->events = NULL;
    st->n_events = st->cap_events = 0;
}

int st_events_flush(struct store *st, size_t *out_n)
{
    int64_t last = 0;
    int rc = 0;

    *out_n = st->n_events;
    if (!st->n_events)
        return 0;
    if (st->ops->events_lock_sql)
        rc = st->ops->exec(st->db, st->ops->events_lock_sql);
    for (size_t i = 0; !rc && i < st->n_events; i++) {
        const struct st_event *e = &st->events[i];
        rc = st_exec_id(st,
                        "INSERT INTO events (organisation_id, at, kind, visit_id, worker_id, "
                        "alarm_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        PARAMS(P_I64(e->organisation_id), P_I64(e->at), P_TEXT(e->kind),
                               P_ID(e->visit_id), P_ID(e->worker_id), P_ID(e->alarm_id),
                               P_TEXT(e->payload)),
                        &last);
    }
    /* One notification per transaction: listeners read every row after the last they saw. */
    if (!rc && st->ops->notify_sql)
        rc = st_exec(st, st->ops->notify_sql, PARAMS(P_I64(last)));
    st_events_clear(st);
    return rc;
}

void event_rows_free(struct event_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].kind);
        free(rows[i].payload);
    }
    free(rows);
}

#define EVENT_COLS "id, organisation_id, at, kind, visit_id, worker_id, payload, alarm_id"

static void event_read(struct store *st, struct db_stmt *s, struct event_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->at = st_col_i64(st, s, 2);
    r->kind = st_col_str(st, s, 3);
    r->visit_id = st_col_i64(st, s, 4);
    r->worker_id = st_col_i64(st, s, 5);
    r->payload = st_col_str(st, s, 6);
    r->alarm_id = st_col_i64(st, s, 7);
}

/* Runs the prepared query s and reads up to limit rows. */
static int events_read_all(struct store *st, struct db_stmt *s, int limit,
                           struct event_row **out_rows, size_t *out_n)
{
    struct event_row *rows = xcalloc((size_t)limit, sizeof *rows);
    size_t n = 0;
    int rc = 0;

    while (n < (size_t)limit && (rc = st_step(st, s)) == DB_ROW)
        event_read(st, s, &rows[n++]);
    st_done(st, s);
    if (rc < 0) {
        event_rows_free(rows, n);
        return rc;
    }
    *out_rows = rows;
    *out_n = n;
    return 0;
}

static int events_check_limit(int limit)
{
    return limit >= 1 && limit <= STORE_EVENTS_READ_MAX ? 0 : -NA_EINVAL;
}

int store_events_after(struct store *st, int64_t org_id, int64_t after_id, int limit,
                       struct event_row **out_rows, size_t *out_n)
{
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = events_check_limit(limit);
    if (!rc)
        rc = st_stmt(st,
                     "SELECT " EVENT_COLS " FROM (SELECT " EVENT_COLS " FROM events "
                     "WHERE organisation_id = ? AND id > ? ORDER BY id DESC LIMIT ?) AS newest "
                     "ORDER BY id",
                     PARAMS(P_I64(org_id), P_I64(after_id), P_I64(limit)), &s);
    return rc < 0 ? rc : events_read_all(st, s, limit, out_rows, out_n);
}

int store_events_next(struct store *st, int64_t after_id, int limit, struct event_row **out_rows,
                      size_t *out_n)
{
    struct db_stmt *s = NULL;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = events_check_limit(limit);
    if (!rc)
        rc = st_stmt(st, "SELECT " EVENT_COLS " FROM events WHERE id > ? ORDER BY id LIMIT ?",
                     PARAMS(P_I64(after_id), P_I64(limit)), &s);
    return rc < 0 ? rc : events_read_all(st, s, limit, out_rows, out_n);
}

int store_events_last_id(struct store *st, int64_t *out_id)
{
    *out_id = 0;
    return st_exec_id(st, "SELECT COALESCE(MAX(id), 0) FROM events", NO_PARAMS, out_id);
}

int store_events_listen(struct store *st)
{
    if (!st->ops->listen)
        return -NA_ESTORE;
    return st->ops->listen(st->db, STORE_EVENTS_CHANNEL);
}

int store_events_wait(struct store *st, int timeout_ms, int wake_fd, bool *out_notified)
{
    *out_notified = false;
    if (!st->ops->wait_notify)
        return -NA_ESTORE;
    return st->ops->wait_notify(st->db, timeout_ms, wake_fd, out_notified);
}
