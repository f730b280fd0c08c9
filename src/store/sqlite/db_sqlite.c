/*
 * SQLite driver for db.h: WAL journal, synchronous=FULL, foreign keys on, a busy timeout,
 * and a small per-connection cache of prepared statements keyed by SQL text.
 */
#include "store/db.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/str.h"
#include "util/log.h"

/*
 * Enough for every query of the store; past it, statements are prepared for one use
 * and finalized on reset (slower, still correct).
 */
#define DB_SQLITE_CACHE_MAX 128

struct db_stmt {
    sqlite3_stmt *stmt;
    struct db *db;
    char *sql; /* owned copy: the cache key */
    uint32_t hash;
    bool cached;
    bool in_use;
};

struct db {
    sqlite3 *conn;
    struct db_stmt *cache[DB_SQLITE_CACHE_MAX];
    size_t n_cache;
};

/* Maps an SQLite result code to a negated NA_E* code and logs what is not routine. */
static int db_sqlite_error(sqlite3 *conn, int rc)
{
    char msg[256];
    int primary = rc & 0xff;

    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        log_debug("db_conflict", "rc=%d", rc);
        return -NA_ECONFLICT;
    }
    log_quote(msg, sizeof msg, conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        log_warn("db_busy", "rc=%d msg=%s", rc, msg);
        return -NA_EUNAVAILABLE;
    }
    log_error("db_error", "rc=%d msg=%s", rc, msg);
    return -NA_ESTORE;
}

static int db_sqlite_exec(struct db *db, const char *sql)
{
    int rc = sqlite3_exec(db->conn, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_sqlite_error(db->conn, rc);
}

static bool db_sqlite_in_transaction(struct db *db)
{
    return sqlite3_get_autocommit(db->conn) == 0;
}

static int db_sqlite_pragmas(struct db *db, int busy_timeout_ms)
{
    int rc = sqlite3_busy_timeout(db->conn, busy_timeout_ms > 0 ? busy_timeout_ms : 0);
    if (rc != SQLITE_OK)
        return db_sqlite_error(db->conn, rc);
    /* Persistent in the file; cheap when already set. */
    rc = db_sqlite_exec(db, "PRAGMA journal_mode=WAL");
    if (rc < 0)
        return rc;
    /* FULL: a commit is on disk before the store tells a client of success. */
    rc = db_sqlite_exec(db, "PRAGMA synchronous=FULL");
    if (rc < 0)
        return rc;
    return db_sqlite_exec(db, "PRAGMA foreign_keys=ON");
}

static void db_sqlite_close(struct db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->n_cache; i++) {
        sqlite3_finalize(db->cache[i]->stmt);
        free(db->cache[i]->sql);
        free(db->cache[i]);
    }
    /* Every statement is finalized above, so close_v2 closes at once. */
    sqlite3_close_v2(db->conn);
    free(db);
}

static int db_sqlite_open(const struct db_config *cfg, struct db **out)
{
    struct db *db = NULL;
    int rc;

    *out = NULL;
    if (!cfg || !cfg->path || !cfg->path[0])
        return -NA_EINVAL;
    db = xcalloc(1, sizeof *db);
    rc = sqlite3_open_v2(cfg->path, &db->conn,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = db_sqlite_error(db->conn, rc);
        goto fail;
    }
    sqlite3_extended_result_codes(db->conn, 1);
    rc = db_sqlite_pragmas(db, cfg->busy_timeout_ms);
    if (rc < 0)
        goto fail;
    *out = db;
    return 0;
fail:
    db_sqlite_close(db);
    return rc;
}

static struct db_stmt *db_sqlite_cache_find(struct db *db, const char *sql, uint32_t hash)
{
    for (size_t i = 0; i < db->n_cache; i++) {
        struct db_stmt *s = db->cache[i];
        if (s->hash == hash && !s->in_use && strcmp(s->sql, sql) == 0)
            return s;
    }
    return NULL;
}

static int db_sqlite_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    uint32_t hash = str_hash(sql);
    struct db_stmt *s = db_sqlite_cache_find(db, sql, hash);
    bool cache = db->n_cache < DB_SQLITE_CACHE_MAX;
    int rc;

    *out = NULL;
    if (s) {
        s->in_use = true;
        *out = s;
        return 0;
    }
    /* Not cached, or the cached one is in use by an enclosing query: prepare another. */
    s = xcalloc(1, sizeof *s);
    rc = sqlite3_prepare_v3(db->conn, sql, -1, cache ? SQLITE_PREPARE_PERSISTENT : 0, &s->stmt,
                            NULL);
    if (rc != SQLITE_OK) {
        rc = db_sqlite_error(db->conn, rc);
        free(s);
        return rc;
    }
    s->db = db;
    s->sql = cache ? xstrdup(sql) : NULL;
    s->hash = hash;
    s->cached = cache;
    s->in_use = true;
    if (cache)
        db->cache[db->n_cache++] = s;
    *out = s;
    return 0;
}

static int db_sqlite_bind_result(struct db_stmt *s, int rc)
{
    return rc == SQLITE_OK ? 0 : db_sqlite_error(s->db->conn, rc);
}

static int db_sqlite_bind_int64(struct db_stmt *s, int idx, int64_t v)
{
    return db_sqlite_bind_result(s, sqlite3_bind_int64(s->stmt, idx, v));
}

static int db_sqlite_bind_text(struct db_stmt *s, int idx, const char *v)
{
    if (!v)
        return db_sqlite_bind_result(s, sqlite3_bind_null(s->stmt, idx));
    return db_sqlite_bind_result(s, sqlite3_bind_text(s->stmt, idx, v, -1, SQLITE_TRANSIENT));
}

static int db_sqlite_bind_null(struct db_stmt *s, int idx)
{
    return db_sqlite_bind_result(s, sqlite3_bind_null(s->stmt, idx));
}

static int db_sqlite_bind_double(struct db_stmt *s, int idx, double v)
{
    return db_sqlite_bind_result(s, sqlite3_bind_double(s->stmt, idx, v));
}

static int db_sqlite_step(struct db_stmt *s)
{
    int rc = sqlite3_step(s->stmt);
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE)
        return DB_DONE;
    return db_sqlite_error(s->db->conn, rc);
}

static int64_t db_sqlite_column_int64(struct db_stmt *s, int col)
{
    return sqlite3_column_int64(s->stmt, col);
}

static double db_sqlite_column_double(struct db_stmt *s, int col)
{
    return sqlite3_column_double(s->stmt, col);
}

static const char *db_sqlite_column_text(struct db_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s->stmt, col);
}

static bool db_sqlite_column_is_null(struct db_stmt *s, int col)
{
    return sqlite3_column_type(s->stmt, col) == SQLITE_NULL;
}

static void db_sqlite_reset(struct db_stmt *s)
{
    if (!s)
        return;
    /* The step's error was already reported; reset only repeats it. */
    sqlite3_reset(s->stmt);
    sqlite3_clear_bindings(s->stmt);
    if (s->cached) {
        s->in_use = false;
        return;
    }
    sqlite3_finalize(s->stmt);
    free(s);
}

const struct db_ops db_sqlite_ops = {
    .name = "sqlite",
    .begin_sql = "BEGIN IMMEDIATE",
    .single_writer = true,
    .id_column = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .table_exists_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    .lock_suffix = "",
    .claim_suffix = "",
    .schema_lock_sql = NULL,
    .checkpoint_defer_sql = "PRAGMA wal_autocheckpoint=0",
    .checkpoint_sql = "PRAGMA wal_checkpoint(PASSIVE)",
    .open = db_sqlite_open,
    .close = db_sqlite_close,
    .in_transaction = db_sqlite_in_transaction,
    .exec = db_sqlite_exec,
    .prepare = db_sqlite_prepare,
    .bind_int64 = db_sqlite_bind_int64,
    .bind_text = db_sqlite_bind_text,
    .bind_null = db_sqlite_bind_null,
    .bind_double = db_sqlite_bind_double,
    .step = db_sqlite_step,
    .column_int64 = db_sqlite_column_int64,
    .column_double = db_sqlite_column_double,
    .column_text = db_sqlite_column_text,
    .column_is_null = db_sqlite_column_is_null,
    .reset = db_sqlite_reset,
    /* One process per SQLite file: the committing code wakes the event stream itself. */
    .events_lock_sql = NULL,
    .notify_sql = NULL,
    .listen = NULL,
    .wait_notify = NULL,
};
