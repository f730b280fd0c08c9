#ifndef NA_CLI_WATCH_H
#define NA_CLI_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The order of 'notalone watch': the visits that need someone now come first. Pure: the
 * current time is a parameter.
 */

/* One active visit on the watch screen. */
struct watch_row {
    int64_t visit_id;
    int64_t deadline_ms; /* INT64_MAX when the visit has none */
    bool escalated;      /* an escalation is open */
    bool overdue;        /* set by watch_sort: the deadline has passed */
    size_t index;        /* the caller's: where the visit is in its list */
};

/*
 * Sets overdue on every row (deadline_ms <= now_ms) and sorts rows: overdue or escalated
 * visits first, the longest overdue first; then the others by deadline, soonest first;
 * equal deadlines by visit id.
 */
void watch_sort(struct watch_row *rows, size_t n, int64_t now_ms);

#endif
