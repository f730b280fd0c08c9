#ifndef NA_TESTS_DB_FIXTURE_H
#define NA_TESTS_DB_FIXTURE_H

/*
 * A new empty database for one storage test, on the backend the run is for: a SQLite file
 * in a new temporary folder, or, when NOTALONE_TEST_PG_DIR names the tests' PostgreSQL
 * server (scripts/test-pg), a new database on it. Failures abort the test (cmocka).
 */
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct db_fixture {
    char dir[64];   /* SQLite: the temporary folder */
    char path[128]; /* SQLite: the database file */
    char *url;      /* PostgreSQL: the new database's connection string; NULL on SQLite */
};

/* True when this run is on PostgreSQL. */
bool db_fixture_is_pg(void);
void db_fixture_init(struct db_fixture *f);
/* Removes the file or drops the database (closing every store first is the caller's). */
void db_fixture_fini(struct db_fixture *f);
/* A connection as node (NULL: the store's default name). */
int db_fixture_open(const struct db_fixture *f, const char *node, int busy_timeout_ms,
                    struct store **out);
/* Raw SQL past the store, for what a test must set up or see directly. */
void db_fixture_exec(const struct db_fixture *f, const char *sql);
/* Column 0 of the first row of sql as an integer (0 for NULL). */
int64_t db_fixture_int(const struct db_fixture *f, const char *sql);

#endif
