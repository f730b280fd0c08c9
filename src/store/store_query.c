/*
 * Query helpers of the store (store_internal.h): prepare, bind, step and read columns
 * through the driver, with the statement released on every path.
 */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/alloc.h"
#include "util/error.h"

static int st_bind(struct store *st, struct db_stmt *s, const struct db_param *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct db_param *p = &params[i];
        int idx = (int)i + 1;
        int rc;

        if (p->type == DB_PARAM_TEXT)
            rc = st->ops->bind_text(s, idx, p->s);
        else if (p->type == DB_PARAM_DOUBLE)
            rc = st->ops->bind_double(s, idx, p->d);
        else if (p->type == DB_PARAM_NULL || (p->type == DB_PARAM_ID && p->i == 0))
            rc = st->ops->bind_null(s, idx);
        else
            rc = st->ops->bind_int64(s, idx, p->i);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int st_stmt(struct store *st, const char *sql, const struct db_param *params, size_t n,
            struct db_stmt **out)
{
    struct db_stmt *s = NULL;
    int rc;

    *out = NULL;
    rc = st->ops->prepare(st->db, sql, &s);
    if (rc < 0)
        return rc;
    rc = st_bind(st, s, params, n);
    if (rc < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    st->ops->reset(s);
    return rc;
}

int st_stmt_locked(struct store *st, const char *sql, const struct db_param *params, size_t n,
                   struct db_stmt **out)
{
    char locked[2048];
    const char *suffix = st->ops->lock_suffix;

    if (!st->in_tx || !suffix || !suffix[0])
        return st_stmt(st, sql, params, n, out);
    int w = snprintf(locked, sizeof locked, "%s%s", sql, suffix);
    if (w < 0 || (size_t)w >= sizeof locked)
        return -NA_EINVAL;
    return st_stmt(st, locked, params, n, out);
}

int st_lock_row(struct store *st, const char *sql, const struct db_param *params, size_t n)
{
    struct db_stmt *s = NULL;
    int rc = st_stmt_locked(st, sql, params, n, &s);
    if (rc == 0)
        rc = st_step(st, s);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

void st_done(struct store *st, struct db_stmt *s)
{
    if (s)
        st->ops->reset(s);
}

int st_step(struct store *st, struct db_stmt *s)
{
    return st->ops->step(s);
}

/* Steps to the end: a write's changes and its errors (constraints, a full disk) may come
 * with any step, and in autocommit mode the commit comes with the last. */
static int st_drain(struct store *st, struct db_stmt *s)
{
    int rc;
    while ((rc = st->ops->step(s)) == DB_ROW)
        ;
    return rc < 0 ? rc : 0;
}

int st_exec(struct store *st, const char *sql, const struct db_param *params, size_t n)
{
    struct db_stmt *s = NULL;
    int rc = st_stmt(st, sql, params, n, &s);
    if (rc < 0)
        return rc;
    rc = st_drain(st, s);
    st_done(st, s);
    return rc;
}

int st_exec_id(struct store *st, const char *sql, const struct db_param *params, size_t n,
               int64_t *out_id)
{
    struct db_stmt *s = NULL;
    int64_t id = 0;
    int rc = st_stmt(st, sql, params, n, &s);
    if (rc < 0)
        return rc;
    rc = st->ops->step(s);
    if (rc < 0)
        goto fail;
    if (rc == DB_DONE) {
        rc = -NA_ENOTFOUND;
        goto fail;
    }
    id = st->ops->column_int64(s, 0);
    rc = st_drain(st, s);
    if (rc < 0)
        goto fail;
    st_done(st, s);
    if (out_id)
        *out_id = id;
    return 0;
fail:
    st_done(st, s);
    return rc;
}

int st_query_ids(struct store *st, const char *sql, const struct db_param *params, size_t n,
                 int64_t **out_ids, size_t *out_n)
{
    struct db_stmt *s = NULL;
    int64_t *ids = NULL;
    size_t n_ids = 0;
    int rc;

    *out_ids = NULL;
    *out_n = 0;
    rc = st_stmt(st, sql, params, n, &s);
    if (rc < 0)
        return rc;
    while ((rc = st->ops->step(s)) == DB_ROW)
        st_push_id(&ids, &n_ids, st->ops->column_int64(s, 0));
    if (rc < 0)
        goto fail;
    st_done(st, s);
    *out_ids = ids;
    *out_n = n_ids;
    return 0;
fail:
    st_done(st, s);
    free(ids);
    return rc;
}

/* Largest power of two <= min(n, ST_IN_MAX); n > 0. */
static size_t st_in_chunk(size_t n)
{
    size_t k = 1;
    while (k * 2 <= n && k * 2 <= ST_IN_MAX)
        k *= 2;
    return k;
}

/* head "(?, ?, ...)" tail with n placeholders into sql (size cap); -NA_EINVAL if too long. */
static int st_in_sql(char *sql, size_t cap, const char *head, size_t n, const char *tail)
{
    size_t used;
    int w = snprintf(sql, cap, "%s(", head);
    if (w < 0 || (size_t)w >= cap)
        return -NA_EINVAL;
    used = (size_t)w;
    for (size_t i = 0; i < n; i++) {
        w = snprintf(sql + used, cap - used, i ? ", ?" : "?");
        if (w < 0 || (size_t)w >= cap - used)
            return -NA_EINVAL;
        used += (size_t)w;
    }
    w = snprintf(sql + used, cap - used, ")%s", tail);
    return w < 0 || (size_t)w >= cap - used ? -NA_EINVAL : 0;
}

int st_query_in(struct store *st, const char *head, const char *tail, int64_t org_id,
                const int64_t *ids, size_t n, st_row_fn row, void *arg)
{
    char sql[512 + 3 * ST_IN_MAX];
    struct db_param params[1 + ST_IN_MAX];
    struct db_stmt *s = NULL;
    int rc = 0;

    params[0] = (struct db_param)P_I64(org_id);
    for (size_t done = 0; done < n && rc >= 0;) {
        size_t k = st_in_chunk(n - done);
        rc = st_in_sql(sql, sizeof sql, head, k, tail);
        if (rc < 0)
            break;
        for (size_t i = 0; i < k; i++)
            params[1 + i] = (struct db_param)P_I64(ids[done + i]);
        rc = st_stmt(st, sql, params, 1 + k, &s);
        if (rc < 0)
            break;
        while ((rc = st_step(st, s)) == DB_ROW)
            row(st, s, arg);
        st_done(st, s);
        done += k;
    }
    return rc < 0 ? rc : 0;
}

int64_t st_col_i64(struct store *st, struct db_stmt *s, int col)
{
    return st->ops->column_int64(s, col);
}

bool st_col_bool(struct store *st, struct db_stmt *s, int col)
{
    return st->ops->column_int64(s, col) != 0;
}

double st_col_f64(struct store *st, struct db_stmt *s, int col)
{
    return st->ops->column_double(s, col);
}

bool st_col_null(struct store *st, struct db_stmt *s, int col)
{
    return st->ops->column_is_null(s, col);
}

char *st_col_str(struct store *st, struct db_stmt *s, int col)
{
    if (st->ops->column_is_null(s, col))
        return NULL;
    return xstrdup(st->ops->column_text(s, col));
}

int st_check_limit(int limit)
{
    return limit >= 1 && limit <= STORE_LIST_MAX ? 0 : -NA_EINVAL;
}

long st_find_id(const int64_t *ids, size_t n, int64_t id)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] == id)
            return (long)mid;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void st_push_id(int64_t **arr, size_t *n, int64_t v)
{
    /* Grows by powers of two without storing a capacity: reallocate when n is 0 or a
     * power of two. */
    size_t len = *n;
    if (len == 0 || (len & (len - 1)) == 0)
        *arr = xrealloc(*arr, len ? len * 2 : 1, sizeof **arr);
    (*arr)[len] = v;
    *n = len + 1;
}
