#ifndef NA_STORE_DB_H
#define NA_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The database driver interface under store.c: a connection, prepared statements,
 * parameters and columns. The store's queries are written once in portable SQL with `?`
 * placeholders (a PostgreSQL driver rewrites them to $1, $2, ...); what differs between
 * dialects is the few strings at the top of struct db_ops.
 *
 * Errors are negated NA_E* codes: a unique-key violation is -NA_ECONFLICT, a database
 * busy or locked past the busy timeout is -NA_EUNAVAILABLE, anything else -NA_ESTORE.
 * A connection is used by one thread at a time.
 */
struct db;
struct db_stmt;

struct db_config {
    const char *path;    /* SQLite: the database file; borrowed for the call */
    const char *url;     /* PostgreSQL: a libpq connection string or URI; borrowed */
    int busy_timeout_ms; /* wait this long for a lock before -NA_EUNAVAILABLE */
};

/* Result of db_ops.step when it does not fail. */
enum db_step { DB_DONE = 0, DB_ROW = 1 };

struct db_ops {
    const char *name;
    /* Starts a write transaction ("BEGIN IMMEDIATE" on SQLite, "BEGIN" on PostgreSQL). */
    /* True when the database takes one writer at a time (SQLite): writers then queue on
     * an in-process lock instead of SQLite's busy handler, whose sleeps of up to 100 ms
     * would add to the answer. */
    bool single_writer;
    const char *begin_sql;
    /* Column type of a generated id, substituted for @ID@ in migration scripts. */
    const char *id_column;
    /* One `?` (a table name); yields a row when the table exists. */
    const char *table_exists_sql;
    /*
     * Appended to a SELECT of one row that a write transaction will change, so that a
     * concurrent writer on another connection waits instead of overwriting: " FOR NO KEY UPDATE"
     * on PostgreSQL, "" on SQLite (whose write transactions already exclude each other).
     */
    const char *lock_suffix;
    /* Same, for claiming work other nodes may be claiming: rows locked by another
     * transaction are passed over (" FOR UPDATE SKIP LOCKED"; "" on SQLite). */
    const char *claim_suffix;
    /* Run first in a migration's transaction so that nodes starting together apply it
     * once (a transaction-scoped advisory lock on PostgreSQL); NULL when not needed. */
    const char *schema_lock_sql;
    /* Stops this connection's commits from copying the log into the database file (SQLite's
     * automatic checkpoint), and does that copy without waiting for or blocking writers;
     * NULL on a backend without such a log to copy (PostgreSQL). */
    const char *checkpoint_defer_sql;
    const char *checkpoint_sql;

    /* Opens (creating if missing) a connection. Caller closes with close. */
    int (*open)(const struct db_config *cfg, struct db **out);
    /* Finalizes every statement and closes; NULL is a no-op. */
    void (*close)(struct db *db);
    /* True while a transaction is open (false after the database rolled one back itself). */
    bool (*in_transaction)(struct db *db);
    /* Runs a script of one or more statements without parameters or results. */
    int (*exec)(struct db *db, const char *sql);
    /*
     * Prepared statement for sql (borrowed for the call). Statements are cached per
     * connection by SQL text and reused; a statement already in use (a query run inside
     * another's loop) gets a fresh one. *out is borrowed until reset.
     */
    int (*prepare)(struct db *db, const char *sql, struct db_stmt **out);
    /* Parameters are numbered from 1. Text is copied; bind_text with NULL binds NULL. */
    int (*bind_int64)(struct db_stmt *s, int idx, int64_t v);
    int (*bind_text)(struct db_stmt *s, int idx, const char *v);
    int (*bind_null)(struct db_stmt *s, int idx);
    /* Binary64, stored exactly (DOUBLE PRECISION columns: coordinates). */
    int (*bind_double)(struct db_stmt *s, int idx, double v);
    /* DB_ROW when a row is ready, DB_DONE when finished, or a negated NA_E* code. */
    int (*step)(struct db_stmt *s);
    /* Columns are numbered from 0. Text is borrowed until the next step or reset. */
    int64_t (*column_int64)(struct db_stmt *s, int col);
    double (*column_double)(struct db_stmt *s, int col);
    const char *(*column_text)(struct db_stmt *s, int col);
    bool (*column_is_null)(struct db_stmt *s, int col);
    /* Done with the statement: resets it and clears its parameters (back to the cache). */
    void (*reset)(struct db_stmt *s);

    /*
     * Telling other processes on the same database of committed events (the live event
     * stream, store_events.h). All NULL on a backend only one process uses (SQLite), whose
     * committing code wakes its readers itself.
     */
    /* Run in a transaction before its event rows get their ids, holding a lock until the
     * end of the transaction: ids then become visible in the order they were given, so a
     * reader that follows the largest id seen misses none. */
    const char *events_lock_sql;
    /* One `?`: the notification's text. Run in the transaction; delivered to every
     * listening connection when it commits, dropped when it rolls back. */
    const char *notify_sql;
    /* Starts listening on this connection for notifications on channel (borrowed). */
    int (*listen)(struct db *db, const char *channel);
    /*
     * Waits up to timeout_ms (0: not at all) for notifications on the channels listened
     * to, or until wake_fd (-1: none) is readable; *out_notified says whether any came
     * (all pending ones are consumed). -NA_EUNAVAILABLE once the connection is lost: the
     * caller opens a new one and listens again (what was sent meanwhile is not replayed).
     */
    int (*wait_notify)(struct db *db, int timeout_ms, int wake_fd, bool *out_notified);
};

/* The SQLite driver (sqlite/db_sqlite.c). */
extern const struct db_ops db_sqlite_ops;
/* The PostgreSQL driver (pg/db_pg.c). */
extern const struct db_ops db_pg_ops;

#endif
