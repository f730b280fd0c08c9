#ifndef NA_TESTS_STORE_TEST_DB_H
#define NA_TESTS_STORE_TEST_DB_H

/*
 * The database under a storage test, on either backend: a new SQLite file in a temporary
 * directory, or, when NOTALONE_TEST_PG_DIR names a server started by scripts/test-pg, a
 * new PostgreSQL database in it. Raw SQL on a second connection (to look at what the store
 * wrote, or to set up what it must cope with) goes through test_db_int / test_db_exec.
 *
 * Include after <cmocka.h>. Functions are static inline so that a test file need not use
 * every one.
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_cluster.h"

struct test_db {
    bool pg;
    char dir[64];    /* SQLite: the temporary directory */
    char path[128];  /* SQLite: the database file */
    char admin[384]; /* PostgreSQL: connection string of the maintenance database */
    char name[64];   /* PostgreSQL: the test's database */
    char url[448];   /* PostgreSQL: connection string of the test's database */
};

/* True when the storage tests run on PostgreSQL. */
static inline bool test_db_is_pg(void)
{
    const char *dir = getenv("NOTALONE_TEST_PG_DIR");
    return dir && dir[0];
}

/* Runs sql on a new connection to conninfo; the connection is returned for more. */
static inline PGconn *test_pg_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to the test server: %s", PQerrorMessage(c));
    return c;
}

static inline void test_pg_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
}

/* Column 0 of the first row of sql on c, as an integer (NULL reads 0); -1 when no row. */
static inline int64_t test_pg_int(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    int64_t v = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    if (PQntuples(res) > 0)
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static inline void test_pg_admin(struct test_db *t, const char *sql)
{
    PGconn *c = test_pg_connect(t->admin);
    test_pg_exec(c, sql);
    PQfinish(c);
}

/* A new database: prefix names the test program, so parallel programs never collide. */
static inline void test_db_init(struct test_db *t, const char *prefix)
{
    static unsigned counter;
    char conninfo[256] = "";
    char file[256];
    char sql[128];
    FILE *f;

    memset(t, 0, sizeof *t);
    t->pg = test_db_is_pg();
    if (!t->pg) {
        snprintf(t->dir, sizeof t->dir, "/tmp/%s.XXXXXX", prefix);
        assert_non_null(mkdtemp(t->dir));
        snprintf(t->path, sizeof t->path, "%s/na.db", t->dir);
        return;
    }
    snprintf(file, sizeof file, "%s/conninfo", getenv("NOTALONE_TEST_PG_DIR"));
    f = fopen(file, "r");
    assert_non_null(f);
    assert_non_null(fgets(conninfo, sizeof conninfo, f));
    fclose(f);
    conninfo[strcspn(conninfo, "\n")] = '\0';
    snprintf(t->admin, sizeof t->admin, "%s dbname=postgres", conninfo);
    snprintf(t->name, sizeof t->name, "%s_%ld_%u", prefix, (long)getpid(), ++counter);
    snprintf(t->url, sizeof t->url, "%s dbname=%s", conninfo, t->name);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", t->name);
    test_pg_admin(t, sql);
}

/* Removes the database; every store on it must be closed. */
static inline void test_db_fini(struct test_db *t)
{
    char p[160];
    char sql[128];

    if (t->pg) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->name);
        test_pg_admin(t, sql);
        return;
    }
    chmod(t->dir, 0700);
    unlink(t->path);
    snprintf(p, sizeof p, "%s-wal", t->path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", t->path);
    unlink(p);
    rmdir(t->dir);
}

/* The store's configuration for this database (borrows t). */
static inline struct store_config test_db_config(const struct test_db *t, int busy_timeout_ms)
{
    struct store_config cfg = {.busy_timeout_ms = busy_timeout_ms};
    if (t->pg)
        cfg.url = t->url;
    else
        cfg.path = t->path;
    return cfg;
}

/* A new store on this database as cluster node node (borrowed); close with store_close. */
static inline int test_db_open(const struct test_db *t, const char *node, struct store **out)
{
    struct store_config cfg = test_db_config(t, 2000);
    cfg.node = node;
    return store_open(&cfg, out);
}

/* Column 0 of the first row of a raw query on a second connection (NULL reads 0); -1 when
 * there is no row. */
static inline int64_t test_db_int(const struct test_db *t, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;

    if (t->pg) {
        PGconn *c = test_pg_connect(t->url);
        v = test_pg_int(c, sql);
        PQfinish(c);
        return v;
    }
    assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* Runs a raw script on a second connection. */
static inline void test_db_exec(const struct test_db *t, const char *sql)
{
    sqlite3 *db = NULL;

    if (t->pg) {
        PGconn *c = test_pg_connect(t->url);
        test_pg_exec(c, sql);
        PQfinish(c);
        return;
    }
    assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Tables and indexes of the database (schema objects a migration creates). */
static inline int64_t test_db_objects(const struct test_db *t)
{
    return test_db_int(t, t->pg ? "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n "
                                  "ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
                                : "SELECT COUNT(*) FROM sqlite_master");
}

/* Number of tables named name (0 or 1); name is a plain identifier. */
static inline int64_t test_db_has_table(const struct test_db *t, const char *name)
{
    char sql[192];
    snprintf(sql, sizeof sql,
             t->pg ? "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() "
                     "AND tablename = '%s'"
                   : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
             name);
    return test_db_int(t, sql);
}

/* Number of tables of the database. */
static inline int64_t test_db_tables(const struct test_db *t)
{
    return test_db_int(t, t->pg ? "SELECT COUNT(*) FROM pg_tables "
                                  "WHERE schemaname = current_schema()"
                                : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'");
}

/* The rows of kind this node owns due by until; *first_id and *first_due get the first's
 * (untouched when none). */
static inline size_t test_owned_due(struct store *st, enum due_kind kind, int64_t until,
                                    int64_t *first_id, int64_t *first_due)
{
    struct adopted_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_owned_due(st, kind, until, &rows, &n), 0);
    if (n) {
        *first_id = rows[0].id;
        *first_due = rows[0].due_at;
    }
    free(rows);
    return n;
}

#endif
