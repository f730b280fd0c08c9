/*
 * What the scheduler loads at start (store_watch.h): every active deadline, pending
 * reminder, open escalation limit and pending delivery, across all organisations. Each is
 * one query over a partial index; a million rows cost a million pairs of column reads.
 */
#include "store/store_internal.h"
#include "store/store_watch.h"

#include <stdlib.h>

#include "util/alloc.h"
#include "util/error.h"

/* Column 0 and 1 of every row of sql as (id, due_at). Caller frees *out. */
static int due_query(struct store *st, const char *sql, struct due_item **out, size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct due_item *items = NULL;
    size_t cap = 0;
    size_t n = 0;
    int rc;

    *out = NULL;
    *out_n = 0;
    rc = st_stmt(st, sql, NO_PARAMS, &s);
    if (rc < 0)
        return rc;
    while ((rc = st_step(st, s)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            items = xrealloc(items, cap, sizeof *items);
        }
        items[n].id = st_col_i64(st, s, 0);
        items[n].due_at = st_col_i64(st, s, 1);
        n++;
    }
    st_done(st, s);
    if (rc < 0) {
        free(items);
        return rc;
    }
    *out = items;
    *out_n = n;
    return 0;
}

int store_due_deadlines(struct store *st, struct due_item **out, size_t *out_n)
{
    return due_query(st,
                     "SELECT id, deadline_at FROM visits "
                     "WHERE state = 2 AND deadline_at IS NOT NULL ORDER BY id",
                     out, out_n);
}

int store_due_reminders(struct store *st, struct due_item **out, size_t *out_n)
{
    return due_query(st,
                     "SELECT id, reminder_at FROM visits "
                     "WHERE reminder_at IS NOT NULL AND state = 2 ORDER BY id",
                     out, out_n);
}

int store_due_escalations(struct store *st, struct due_item **out, size_t *out_n)
{
    return due_query(st,
                     "SELECT id, level_due_at FROM escalations "
                     "WHERE state = 1 AND level_due_at IS NOT NULL ORDER BY id",
                     out, out_n);
}

int store_due_outbox(struct store *st, struct due_item **out, size_t *out_n)
{
    return due_query(st,
                     "SELECT id, next_attempt_at FROM outbox "
                     "WHERE state = 'pending' AND next_attempt_at IS NOT NULL ORDER BY id",
                     out, out_n);
}
