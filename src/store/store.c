/*
 * The store (store.h): connection, schema migrations, transactions, organisations and
 * teams. Users are in store_users.c, credentials, login throttling and audit in
 * store_credentials.c. Every query is portable SQL run through the driver (db.h).
 */
#include "store/store_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

/* ---- connection ---- */

int store_open(const struct store_config *cfg, struct store **out)
{
    struct store *st = NULL;
    struct db_config dc;
    int rc;

    *out = NULL;
    bool pg = cfg && cfg->url && cfg->url[0];
    if (!cfg || (!pg && (!cfg->path || !cfg->path[0])))
        return -NA_EINVAL;
    st = xcalloc(1, sizeof *st);
    st->ops = pg ? &db_pg_ops : &db_sqlite_ops;
    st->node = xstrdup(cfg->node && cfg->node[0] ? cfg->node : "local");
    st->on_events = cfg->on_events;
    st->on_events_arg = cfg->on_events_arg;
    dc.path = cfg->path;
    dc.url = cfg->url;
    dc.busy_timeout_ms = cfg->busy_timeout_ms;
    rc = st->ops->open(&dc, &st->db);
    if (rc < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    free(st->node);
    free(st);
    return rc;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    if (st->in_tx)
        store_rollback(st);
    st_events_clear(st);
    st->ops->close(st->db);
    free(st->node);
    free(st);
}

int store_ping(struct store *st)
{
    int64_t one = 0;
    return st_exec_id(st, "SELECT 1", NO_PARAMS, &one);
}

int store_checkpoint_defer(struct store *st)
{
    return st->ops->checkpoint_defer_sql ? st->ops->exec(st->db, st->ops->checkpoint_defer_sql) : 0;
}

int store_checkpoint(struct store *st)
{
    return st->ops->checkpoint_sql ? st->ops->exec(st->db, st->ops->checkpoint_sql) : 0;
}

/* ---- transactions ---- */

/* Write transactions of this process, one at a time (see db_ops.single_writer). */
static pthread_mutex_t writer_gate = PTHREAD_MUTEX_INITIALIZER;

static void writer_release(struct store *st)
{
    if (st->ops->single_writer)
        pthread_mutex_unlock(&writer_gate);
}

int store_begin(struct store *st)
{
    int rc;
    if (st->in_tx)
        return -NA_ESTORE;
    if (st->ops->single_writer)
        pthread_mutex_lock(&writer_gate);
    rc = st->ops->exec(st->db, st->ops->begin_sql);
    if (rc < 0) {
        writer_release(st);
        return rc;
    }
    st->in_tx = true;
    return 0;
}

int store_commit(struct store *st)
{
    size_t n_events = 0;
    int rc;
    if (!st->in_tx)
        return -NA_ESTORE;
    /* The events go last, so that their lock is held only for the commit itself. */
    rc = st_events_flush(st, &n_events);
    if (rc == 0)
        rc = st->ops->exec(st->db, "COMMIT");
    if (rc < 0) {
        /* Leave no transaction half open: the caller reports the failure. */
        store_rollback(st);
        return rc;
    }
    st->in_tx = false;
    writer_release(st);
    if (n_events && st->on_events)
        st->on_events(st->on_events_arg);
    return 0;
}

void store_rollback(struct store *st)
{
    int rc;

    st_events_clear(st);
    if (!st->in_tx)
        return;
    st->in_tx = false;
    /* After some errors (a full disk, I/O) the database has rolled back already. */
    if (st->ops->in_transaction(st->db)) {
        rc = st->ops->exec(st->db, "ROLLBACK");
        if (rc < 0)
            log_warn("store_rollback_failed", "rc=%d", rc);
    }
    writer_release(st);
}

/* ---- schema ---- */

int store_lock_schema(struct store *st)
{
    if (!st->in_tx)
        return -NA_ESTORE;
    return st->ops->schema_lock_sql ? st->ops->exec(st->db, st->ops->schema_lock_sql) : 0;
}

int store_schema_version_latest(void)
{
    return migrations_latest();
}

int store_schema_version(struct store *st, int *out_version)
{
    int64_t v = 0;
    int rc;

    *out_version = 0;
    rc = st_exec_id(st, st->ops->table_exists_sql, PARAMS(P_TEXT("schema_migrations")), NULL);
    if (rc == -NA_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    rc = st_exec_id(st, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NO_PARAMS, &v);
    if (rc < 0)
        return rc;
    *out_version = (int)v;
    return 0;
}

/* Applies migration version in its own transaction, unless another connection did. */
static int store_migrate_one(struct store *st, int version)
{
    char *script = NULL;
    int current = 0;
    int64_t now = clock_system_ms(); /* applied_at is a record for people, not a rule */
    int rc = store_begin(st);

    if (rc < 0)
        return rc;
    rc = store_lock_schema(st);
    if (!rc)
        rc = store_schema_version(st, &current);
    if (rc < 0)
        goto fail;
    if (current >= version) {
        store_rollback(st);
        return 0;
    }
    script = migrations_script(st->ops, version);
    if (!script) {
        rc = -NA_ESTORE;
        goto fail;
    }
    rc = st->ops->exec(st->db, script);
    if (rc < 0)
        goto fail;
    rc = st_exec(st, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                 PARAMS(P_I64(version), P_I64(now)));
    if (rc < 0)
        goto fail;
    rc = store_commit(st);
    if (rc < 0)
        goto fail;
    free(script);
    log_info("store_migrated", "version=%d", version);
    return 0;
fail:
    store_rollback(st);
    free(script);
    return rc;
}

int store_migrate(struct store *st, int *out_version)
{
    int latest = migrations_latest();
    int version = 0;
    int rc;

    if (out_version)
        *out_version = 0;
    if (st->in_tx)
        return -NA_ESTORE;
    rc = store_schema_version(st, &version);
    if (rc < 0)
        return rc;
    if (out_version)
        *out_version = version;
    if (version > latest) {
        log_error("store_schema_too_new", "version=%d latest=%d", version, latest);
        return -NA_EVERSION;
    }
    for (int v = version + 1; v <= latest; v++) {
        rc = store_migrate_one(st, v);
        if (rc < 0)
            return rc;
        if (out_version)
            *out_version = v;
    }
    return 0;
}

/* ---- organisations ---- */

void org_row_fini(struct org_row *r)
{
    if (!r)
        return;
    free(r->name);
    memset(r, 0, sizeof *r);
}

void org_rows_free(struct org_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        org_row_fini(&rows[i]);
    free(rows);
}

#define ORG_COLS "id, name, is_host, created_at"

static void org_read(struct store *st, struct db_stmt *s, struct org_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->name = st_col_str(st, s, 1);
    r->is_host = st_col_bool(st, s, 2);
    r->created_at = st_col_i64(st, s, 3);
}

int store_org_create(struct store *st, const char *name, bool is_host, int64_t now, int64_t *out_id)
{
    if (!name)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "INSERT INTO organisations (name, is_host, created_at) VALUES (?, ?, ?) "
                      "RETURNING id",
                      PARAMS(P_TEXT(name), P_BOOL(is_host), P_I64(now)), out_id);
}

int store_org_get(struct store *st, int64_t org_id, struct org_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt(st, "SELECT " ORG_COLS " FROM organisations WHERE id = ?", PARAMS(P_I64(org_id)),
                 &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW)
        org_read(st, s, out);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

int store_org_list(struct store *st, int64_t after_id, int limit, struct org_row **out_rows,
                   size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct org_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    rc = st_stmt(st, "SELECT " ORG_COLS " FROM organisations WHERE id > ? ORDER BY id LIMIT ?",
                 PARAMS(P_I64(after_id), P_I64(limit)), &s);
    if (rc < 0)
        return rc;
    rows = xcalloc((size_t)limit, sizeof *rows);
    while (n < (size_t)limit && (rc = st_step(st, s)) == DB_ROW)
        org_read(st, s, &rows[n++]);
    st_done(st, s);
    if (rc < 0)
        goto fail;
    *out_rows = rows;
    *out_n = n;
    return 0;
fail:
    org_rows_free(rows, n);
    return rc;
}

int store_org_rename(struct store *st, int64_t org_id, const char *name)
{
    if (!name)
        return -NA_EINVAL;
    return st_exec_id(st, "UPDATE organisations SET name = ? WHERE id = ? RETURNING id",
                      PARAMS(P_TEXT(name), P_I64(org_id)), NULL);
}

int store_org_lock(struct store *st, int64_t org_id)
{
    if (!st->in_tx)
        return -NA_ESTORE;
    return st_lock_row(st, "SELECT id FROM organisations WHERE id = ?", PARAMS(P_I64(org_id)));
}

int store_org_count(struct store *st, int64_t *out_n)
{
    *out_n = 0;
    return st_exec_id(st, "SELECT COUNT(*) FROM organisations", NO_PARAMS, out_n);
}
