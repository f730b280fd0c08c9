/*
 * Reading rows into caller-owned structs (store_internal.h): one row of a lookup, or a
 * list into an array grown as it is read. The store_*.c files give the SQL and a reader.
 */
#include "store/store_internal.h"

#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

int st_get(struct store *st, bool locked, const char *sql, const struct db_param *params, size_t n,
           st_read_fn read, void *out, size_t size)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, size);
    rc = locked ? st_stmt_locked(st, sql, params, n, &s) : st_stmt(st, sql, params, n, &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW)
        read(st, s, out);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

int st_list(struct store *st, const struct st_list_kind *k, size_t max, bool too_big,
            const char *sql, const struct db_param *params, size_t n, void **out_rows,
            size_t *out_n)
{
    struct db_stmt *s = NULL;
    char *rows = NULL;
    size_t got = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_stmt(st, sql, params, n, &s);
    if (rc < 0)
        return rc;
    /* The array grows by powers of two. */
    while ((rc = st_step(st, s)) == DB_ROW) {
        if (got == max) {
            rc = too_big ? -NA_ETOOBIG : DB_DONE;
            break;
        }
        if (got == 0 || (got & (got - 1)) == 0)
            rows = xrealloc(rows, got ? got * 2 : 1, k->size);
        memset(rows + got * k->size, 0, k->size);
        k->read(st, s, rows + got * k->size);
        got++;
    }
    st_done(st, s);
    if (rc < 0) {
        k->free_rows(rows, got);
        return rc;
    }
    *out_rows = rows;
    *out_n = got;
    return 0;
}
