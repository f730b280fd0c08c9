#include "cli/watch.h"

#include <stdlib.h>

static bool urgent(const struct watch_row *r)
{
    return r->overdue || r->escalated;
}

static int compare_rows(const void *pa, const void *pb)
{
    const struct watch_row *a = pa;
    const struct watch_row *b = pb;
    if (urgent(a) != urgent(b))
        return urgent(a) ? -1 : 1;
    /* An earlier deadline is both longer overdue and sooner due. */
    if (a->deadline_ms != b->deadline_ms)
        return a->deadline_ms < b->deadline_ms ? -1 : 1;
    if (a->visit_id != b->visit_id)
        return a->visit_id < b->visit_id ? -1 : 1;
    return 0;
}

void watch_sort(struct watch_row *rows, size_t n, int64_t now_ms)
{
    for (size_t i = 0; i < n; i++)
        rows[i].overdue = rows[i].deadline_ms <= now_ms;
    if (n > 1)
        qsort(rows, n, sizeof(*rows), compare_rows);
}
