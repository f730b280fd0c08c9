/*
 * Nodes, their heartbeats and the ownership of due work (store_cluster.h). The queries
 * differ only by table, so each is written once as a pattern and filled in per kind; the
 * driver caches the few strings that result.
 */
#include "store/store_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/error.h"

/* Where a kind of due work lives: its table, which rows have work, the due columns. */
struct due_table {
    const char *table;
    const char *key;      /* the column of the row's id (store_owns, adopted_row.id) */
    const char *has_work; /* the condition of the table's partial owner index */
    const char *due;      /* two columns: the due time and a second one (or 0) */
    const char *due_by;   /* due at or before ?: one ? per due column that is real */
    int n_due;            /* the number of those ? */
};

static const struct due_table *due_table(enum due_kind kind)
{
    static const struct due_table tables[] = {
        [DUE_VISIT] = {"visits", "id", "state = 2", "deadline_at, reminder_at",
                       "(deadline_at <= ? OR reminder_at <= ?)", 2},
        [DUE_ESCALATION] = {"escalations", "id", "state = 1", "level_due_at, 0",
                            "level_due_at <= ?", 1},
        [DUE_OUTBOX] = {"outbox", "id", "state = 'pending'", "next_attempt_at, 0",
                        "next_attempt_at <= ?", 1},
        [DUE_ALARM] = {"alarms", "id", "state = 1", "renotify_at, 0", "renotify_at <= ?", 1},
        [DUE_AMBER] = {"amber_alerts", "id", "state = 2", "deadline_at, 0", "deadline_at <= ?", 1},
        /* A profile is its user's: the user id names it everywhere. */
        [DUE_DEVICE] = {"alert_profiles", "user_id", "test_due_at IS NOT NULL", "test_due_at, 0",
                        "test_due_at <= ?", 1},
        [DUE_DC09] = {"dc09_events", "id", "pending_at IS NOT NULL", "pending_at, 0",
                      "pending_at <= ?", 1},
        [DUE_SILENT] = {"devices", "id", "silent_due_at IS NOT NULL", "silent_due_at, 0",
                        "silent_due_at <= ?", 1},
    };
    if (kind < DUE_VISIT || kind > DUE_KIND_LAST)
        return NULL;
    return &tables[kind];
}

const char *store_node_name(const struct store *st)
{
    return st->node;
}

const char *st_owner_if(const struct store *st, bool has_work)
{
    return has_work ? st->node : NULL;
}

int store_node_heartbeat(struct store *st, int64_t now)
{
    return st_exec(st,
                   "INSERT INTO nodes (name, started_at, heartbeat_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                   PARAMS(P_TEXT(st->node), P_I64(now), P_I64(now)));
}

int store_node_leave(struct store *st)
{
    return st_exec(st, "UPDATE nodes SET heartbeat_at = 0 WHERE name = ?",
                   PARAMS(P_TEXT(st->node)));
}

void store_names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

int store_nodes_silent(struct store *st, int64_t older_than, char ***out_names, size_t *out_n)
{
    struct db_stmt *s = NULL;
    char **names = NULL;
    size_t n = 0;
    int rc;

    *out_names = NULL;
    *out_n = 0;
    rc = st_stmt(st, "SELECT name FROM nodes WHERE heartbeat_at < ? AND name <> ? ORDER BY name",
                 PARAMS(P_I64(older_than), P_TEXT(st->node)), &s);
    if (rc < 0)
        return rc;
    while ((rc = st_step(st, s)) == DB_ROW) {
        names = xrealloc(names, n + 1, sizeof *names);
        names[n++] = st_col_str(st, s, 0);
    }
    st_done(st, s);
    if (rc < 0) {
        store_names_free(names, n);
        return rc;
    }
    *out_names = names;
    *out_n = n;
    return 0;
}

int store_node_forget(struct store *st, const char *name, int64_t older_than)
{
    struct db_param params[2 + DUE_KIND_LAST] = {P_TEXT(name), P_I64(older_than)};
    size_t n = 2;
    char sql[1024];
    int w = snprintf(sql, sizeof sql, "DELETE FROM nodes WHERE name = ? AND heartbeat_at < ?");

    /* Every kind of due work it still owns keeps its row (and its name known). */
    for (int k = DUE_VISIT; k <= DUE_KIND_LAST && w >= 0 && (size_t)w < sizeof sql; k++) {
        const struct due_table *t = due_table((enum due_kind)k);
        w += snprintf(sql + w, sizeof sql - (size_t)w,
                      " AND NOT EXISTS (SELECT 1 FROM %s WHERE %s AND owner = ?)", t->table,
                      t->has_work);
        params[n++] = (struct db_param)P_TEXT(name);
    }
    if (w < 0 || (size_t)w >= sizeof sql)
        return -NA_EINVAL;
    return st_exec(st, sql, params, n);
}

/* Rows of sql (id, due, second due) into *out. */
static int read_rows(struct store *st, const char *sql, const struct db_param *params, size_t np,
                     struct adopted_row **out, size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct adopted_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = st_stmt(st, sql, params, np, &s);

    *out = NULL;
    *out_n = 0;
    if (rc < 0)
        return rc;
    while ((rc = st_step(st, s)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            rows = xrealloc(rows, cap, sizeof *rows);
        }
        rows[n++] = (struct adopted_row){.id = st_col_i64(st, s, 0),
                                         .due_at = st_col_i64(st, s, 1),
                                         .reminder_at = st_col_i64(st, s, 2)};
    }
    st_done(st, s);
    if (rc < 0) {
        free(rows);
        return rc;
    }
    *out = rows;
    *out_n = n;
    return 0;
}

int store_adopt(struct store *st, enum due_kind kind, const char *from, int64_t older_than,
                int limit, struct adopted_row **out, size_t *out_n)
{
    const struct due_table *t = due_table(kind);
    char sql[1024], owned_by[256];

    *out = NULL;
    *out_n = 0;
    if (!t || limit < 1 || !st->in_tx)
        return -NA_EINVAL;
    /* From a named node only while it is still silent; else rows of no live node. */
    if (from)
        snprintf(owned_by, sizeof owned_by,
                 "owner = ? AND EXISTS (SELECT 1 FROM nodes n WHERE n.name = ? "
                 "AND n.heartbeat_at < ?)");
    else
        snprintf(owned_by, sizeof owned_by,
                 "(owner IS NULL OR NOT EXISTS (SELECT 1 FROM nodes n WHERE n.name = %s.owner))",
                 t->table);
    int w = snprintf(sql, sizeof sql,
                     "UPDATE %s SET owner = ? WHERE %s IN (SELECT %s FROM %s WHERE %s AND %s "
                     "ORDER BY %s LIMIT ?%s) RETURNING %s, %s",
                     t->table, t->key, t->key, t->table, t->has_work, owned_by, t->key,
                     st->ops->claim_suffix, t->key, t->due);
    if (w < 0 || (size_t)w >= sizeof sql)
        return -NA_EINVAL;
    if (from)
        return read_rows(
            st, sql,
            PARAMS(P_TEXT(st->node), P_TEXT(from), P_TEXT(from), P_I64(older_than), P_I64(limit)),
            out, out_n);
    return read_rows(st, sql, PARAMS(P_TEXT(st->node), P_I64(limit)), out, out_n);
}

int store_owned_due(struct store *st, enum due_kind kind, int64_t until, struct adopted_row **out,
                    size_t *out_n)
{
    const struct due_table *t = due_table(kind);
    char sql[512];

    *out = NULL;
    *out_n = 0;
    if (!t)
        return -NA_EINVAL;
    int w = snprintf(sql, sizeof sql,
                     "SELECT %s, %s FROM %s WHERE %s AND owner = ? AND %s "
                     "ORDER BY %s",
                     t->key, t->due, t->table, t->has_work, t->due_by, t->key);
    if (w < 0 || (size_t)w >= sizeof sql)
        return -NA_EINVAL;
    if (t->n_due == 2)
        return read_rows(st, sql, PARAMS(P_TEXT(st->node), P_I64(until), P_I64(until)), out, out_n);
    return read_rows(st, sql, PARAMS(P_TEXT(st->node), P_I64(until)), out, out_n);
}

bool store_shared(const struct store *st)
{
    return !st->ops->single_writer;
}

int store_owns(struct store *st, enum due_kind kind, int64_t id, bool *out_mine)
{
    const struct due_table *t = due_table(kind);
    struct db_stmt *s = NULL;
    char sql[128];

    *out_mine = false;
    if (!t)
        return -NA_EINVAL;
    int rc = kind == DUE_ESCALATION ? st_lock_visit_of_case(st, id) : 0;
    if (rc < 0)
        return rc;
    /* An alarm, an amber alert and a profile are each locked on their own. */
    snprintf(sql, sizeof sql, "SELECT owner FROM %s WHERE %s = ?", t->table, t->key);
    rc = st_stmt_locked(st, sql, PARAMS(P_I64(id)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW) {
        const char *owner = st->ops->column_text(s, 0);
        *out_mine = owner && strcmp(owner, st->node) == 0;
    }
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}
