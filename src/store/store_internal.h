#ifndef NA_STORE_STORE_INTERNAL_H
#define NA_STORE_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "store/store.h"

/*
 * Shared by the store_*.c files (not part of the store's interface): the body of
 * struct store and helpers that prepare, bind and run a query through the driver.
 */
struct store {
    const struct db_ops *ops;
    struct db *db;
    bool in_tx; /* store_begin succeeded and no commit or rollback since */
    char *node; /* store_config.node, owned */
    /* Events of the open transaction, written at its commit (store_events.c). */
    struct st_event *events;
    size_t n_events, cap_events;
    void (*on_events)(void *arg);
    void *on_events_arg;
};

enum db_param_type { DB_PARAM_INT64, DB_PARAM_TEXT, DB_PARAM_ID, DB_PARAM_DOUBLE, DB_PARAM_NULL };

/* One query parameter; build with the P_* macros. */
struct db_param {
    enum db_param_type type;
    int64_t i;
    double d;
    const char *s; /* borrowed; NULL binds NULL */
};

#define P_I64(v)                                                                                   \
    {                                                                                              \
        .type = DB_PARAM_INT64, .i = (int64_t)(v)                                                  \
    }
#define P_BOOL(v)                                                                                  \
    {                                                                                              \
        .type = DB_PARAM_INT64, .i = (v) ? 1 : 0                                                   \
    }
#define P_TEXT(v)                                                                                  \
    {                                                                                              \
        .type = DB_PARAM_TEXT, .s = (v)                                                            \
    }
/* An optional reference: id 0 binds NULL. */
#define P_ID(v)                                                                                    \
    {                                                                                              \
        .type = DB_PARAM_ID, .i = (int64_t)(v)                                                     \
    }
#define P_F64(v)                                                                                   \
    {                                                                                              \
        .type = DB_PARAM_DOUBLE, .d = (double)(v)                                                  \
    }
/* An optional double (a coordinate): binds NULL unless has. */
#define P_F64_IF(has, v)                                                                           \
    {                                                                                              \
        .type = (has) ? DB_PARAM_DOUBLE : DB_PARAM_NULL, .d = (double)(v)                          \
    }
/* The parameter array and its length, for the st_* helpers' (params, n) pair. */
#define PARAMS(...)                                                                                \
    (const struct db_param[]){__VA_ARGS__},                                                        \
        sizeof((const struct db_param[]){__VA_ARGS__}) / sizeof(struct db_param)
#define NO_PARAMS NULL, 0

/*
 * Prepares sql (a string literal) and binds params. *out is borrowed until st_done.
 */
int st_stmt(struct store *st, const char *sql, const struct db_param *params, size_t n,
            struct db_stmt **out);
/*
 * st_stmt for a SELECT of rows the transaction will write back: inside a transaction the
 * driver's lock_suffix is appended, so that a writer on another connection (another
 * node) waits for this transaction instead of overwriting what it read. Outside a
 * transaction, or on a backend whose writers exclude each other, it is st_stmt.
 */
int st_stmt_locked(struct store *st, const char *sql, const struct db_param *params, size_t n,
                   struct db_stmt **out);
/* Runs a SELECT of one row through st_stmt_locked, for the lock alone: -NA_ENOTFOUND
 * when it yields no row. */
int st_lock_row(struct store *st, const char *sql, const struct db_param *params, size_t n);
/* In a transaction on a shared database: locks the visit of case case_id, which every
 * transaction locks before the case itself (store_escalations.c says why). */
int st_lock_visit_of_case(struct store *st, int64_t case_id);
/* Returns the statement to the driver; NULL is a no-op. */
void st_done(struct store *st, struct db_stmt *s);
/* Steps: DB_ROW, DB_DONE or a negated NA_E* code. */
int st_step(struct store *st, struct db_stmt *s);

/* Runs a statement to the end, ignoring any rows. */
int st_exec(struct store *st, const char *sql, const struct db_param *params, size_t n);
/*
 * Runs a statement to the end; *out_id (may be NULL) gets column 0 of its first row
 * (an INSERT, UPDATE or DELETE ... RETURNING id). -NA_ENOTFOUND when it yields no row.
 */
int st_exec_id(struct store *st, const char *sql, const struct db_param *params, size_t n,
               int64_t *out_id);
/* Column 0 of every row, in order. Caller frees *out_ids (NULL when none). */
int st_query_ids(struct store *st, const char *sql, const struct db_param *params, size_t n,
                 int64_t **out_ids, size_t *out_n);

/* Most ids one IN list of st_query_in binds. */
#define ST_IN_MAX 128

/* Called by st_query_in for each row; arg is the caller's. */
typedef void (*st_row_fn)(struct store *st, struct db_stmt *s, void *arg);

/*
 * Runs head "(?, ?, ...)" tail over ids[0..n), org_id bound before the ids, calling row
 * for each row. The ids go in chunks of powers of two up to ST_IN_MAX, so that a list
 * binds no more parameters than it has ids and few distinct statements reach the cache;
 * rows come chunk by chunk, in the order of ids. head and tail are string literals whose
 * joined length stays under 512 bytes (else -NA_EINVAL). If it fails, row may have been
 * called for some rows.
 */
int st_query_in(struct store *st, const char *head, const char *tail, int64_t org_id,
                const int64_t *ids, size_t n, st_row_fn row, void *arg);

/* Column readers for a statement standing on a row. */
int64_t st_col_i64(struct store *st, struct db_stmt *s, int col);
bool st_col_bool(struct store *st, struct db_stmt *s, int col);
double st_col_f64(struct store *st, struct db_stmt *s, int col);
bool st_col_null(struct store *st, struct db_stmt *s, int col);
/* Copy of a text column; NULL for SQL NULL. Caller frees. */
char *st_col_str(struct store *st, struct db_stmt *s, int col);

/* -NA_EINVAL unless 1 <= limit <= STORE_LIST_MAX. */
int st_check_limit(int limit);

/* Index of id in ids[0..n) sorted ascending, or -1. */
long st_find_id(const int64_t *ids, size_t n, int64_t id);

/* Appends v to (*arr, *n), growing it by one. */
void st_push_id(int64_t **arr, size_t *n, int64_t v);

/* Rows and lists (store_rows.c). */

/* Reads the row s stands on into row (zeroed before); the row owns what it reads. */
typedef void (*st_read_fn)(struct store *st, struct db_stmt *s, void *row);

/* What st_list reads: the size of one row, its reader, and how an array of them is freed
 * (rows[0..n) and rows; the module's x_rows_free). */
struct st_list_kind {
    size_t size;
    st_read_fn read;
    void (*free_rows)(void *rows, size_t n);
};

/*
 * Zeroes out (size bytes), prepares sql (through st_stmt_locked when locked, else st_stmt)
 * and reads its first row into out with read. -NA_ENOTFOUND when it yields no row; on any
 * failure out stays zeroed.
 */
int st_get(struct store *st, bool locked, const char *sql, const struct db_param *params, size_t n,
           st_read_fn read, void *out, size_t size);

/*
 * Runs sql into a new array of k's rows: *out_rows (caller frees with k->free_rows; NULL
 * when none) and *out_n, cleared first. At most max rows are read; a row past them is
 * -NA_ETOOBIG when too_big is set (the query then asks for max + 1), else left unread.
 * On a failure nothing is returned.
 */
int st_list(struct store *st, const struct st_list_kind *k, size_t max, bool too_big,
            const char *sql, const struct db_param *params, size_t n, void **out_rows,
            size_t *out_n);

/* Alarms (store_alarms.c). -NA_ENOTFOUND unless alarm_id is an alarm of org_id: an empty
 * list of an alarm's lines and another organisation's alarm must differ. */
int st_alarm_in_org(struct store *st, int64_t org_id, int64_t alarm_id);

/* Events (store_events.c). In store_commit, before COMMIT: writes the transaction's
 * events (and notifies other processes); *out_n gets how many there were. */
int st_events_flush(struct store *st, size_t *out_n);

/* The owner to write on a row of a due table (store_cluster.h): this node when the row has
 * due work, else none. */
const char *st_owner_if(const struct store *st, bool has_work);
/* Forgets the transaction's events (rollback, close). */
void st_events_clear(struct store *st);

/* Migrations (migrations.c). */
int migrations_latest(void);
/* Script of migration version (1..latest) with @ID@ expanded for ops. Caller frees. */
char *migrations_script(const struct db_ops *ops, int version);

#endif
