#include "db_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *pg_dir(void)
{
    const char *d = getenv("NOTALONE_TEST_PG_DIR");
    return d && d[0] ? d : NULL;
}

bool db_fixture_is_pg(void)
{
    return pg_dir() != NULL;
}

/* The server's connection string (its conninfo file) with dbname appended. */
static char *pg_conninfo(const char *dbname)
{
    char path[512], base[512] = "";
    snprintf(path, sizeof path, "%s/conninfo", pg_dir());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(base, sizeof base, f));
    fclose(f);
    base[strcspn(base, "\n")] = '\0';
    size_t n = strlen(base) + strlen(dbname) + 16;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s dbname=%s", base, dbname);
    return s;
}

/* Runs sql on database dbname of the tests' server. */
static void pg_admin(const char *dbname, const char *sql)
{
    char *conninfo = pg_conninfo(dbname);
    PGconn *c = PQconnectdb(conninfo);
    free(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot reach the tests' PostgreSQL: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static char *url_dbname(const char *url)
{
    const char *p = strstr(url, "dbname=");
    assert_non_null(p);
    return strdup(p + strlen("dbname="));
}

void db_fixture_init(struct db_fixture *f)
{
    static int seq;
    memset(f, 0, sizeof *f);
    if (db_fixture_is_pg()) {
        char name[64], sql[128];
        snprintf(name, sizeof name, "unit_%d_%d", (int)getpid(), ++seq);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
        pg_admin("postgres", sql);
        f->url = pg_conninfo(name);
        return;
    }
    snprintf(f->dir, sizeof f->dir, "/tmp/notalone-unit.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/na.db", f->dir);
}

void db_fixture_fini(struct db_fixture *f)
{
    if (f->url) {
        char *name = url_dbname(f->url);
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
        pg_admin("postgres", sql);
        free(name);
        free(f->url);
    } else {
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
            char p[160];
            snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
            unlink(p);
        }
        rmdir(f->dir);
    }
    memset(f, 0, sizeof *f);
}

int db_fixture_open(const struct db_fixture *f, const char *node, int busy_timeout_ms,
                    struct store **out)
{
    struct store_config cfg = {
        .path = f->path, .url = f->url, .busy_timeout_ms = busy_timeout_ms, .node = node};
    return store_open(&cfg, out);
}

void db_fixture_exec(const struct db_fixture *f, const char *sql)
{
    if (f->url) {
        char *name = url_dbname(f->url);
        pg_admin(name, sql);
        free(name);
        return;
    }
    sqlite3 *db = NULL;
    char *err = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

int64_t db_fixture_int(const struct db_fixture *f, const char *sql)
{
    int64_t v = 0;
    if (f->url) {
        PGconn *c = PQconnectdb(f->url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
        return v;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}
