#ifndef NA_STORE_STORE_EVENTS_H
#define NA_STORE_STORE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * The live event stream's storage (GET /api/v1/events): a table of what happened to
 * visits and cases, each row written in the transaction of the change it reports, so
 * that it exists exactly when the change committed. Ids grow in commit order on every
 * backend: a reader that follows the largest id it has seen misses nothing.
 *
 * Readers learn of new rows at once: the committing connection calls
 * store_config.on_events after the commit (this process), and on a shared database
 * (PostgreSQL) the commit also notifies every connection that listens
 * (store_events_listen), whichever node it belongs to. Same conventions as store.h.
 */

/* Most events one transaction may write (a guard; a batch of deadlines writes a few each). */
#define STORE_EVENTS_TX_MAX (1u << 20)
/* Most rows one read of events returns. */
#define STORE_EVENTS_READ_MAX 1000

/* A new event (strings borrowed for the call). */
struct event_new {
    int64_t organisation_id;
    int64_t at;
    const char *kind;    /* "visit.started", "escalation.level", ... */
    int64_t visit_id;    /* the visit it concerns (who may see it follows from the visit) */
    int64_t worker_id;   /* that visit's or alarm's worker */
    int64_t alarm_id;    /* the alarm it concerns (who sees it follows from the alarm); 0 */
    const char *payload; /* a JSON object, as text */
};

/*
 * In a transaction: adds e to the events written when it commits (nothing when it rolls
 * back). -NA_ESTORE outside a transaction, -NA_EINVAL when e lacks its kind, payload, or
 * both visit and alarm, -NA_ETOOBIG past STORE_EVENTS_TX_MAX in one transaction.
 */
int store_event_add(struct store *st, const struct event_new *e);

struct event_row {
    int64_t id;
    int64_t organisation_id;
    int64_t at;
    char *kind;
    int64_t visit_id; /* 0: none (an alarm without a visit) */
    int64_t worker_id;
    int64_t alarm_id; /* 0: not an alarm's event */
    char *payload;
};
void event_rows_free(struct event_row *rows, size_t n);

/*
 * Events of org_id with id > after_id: the newest limit of them (1..STORE_EVENTS_READ_MAX),
 * oldest first. Caller frees the rows.
 */
int store_events_after(struct store *st, int64_t org_id, int64_t after_id, int limit,
                       struct event_row **out_rows, size_t *out_n);
/* Events of any organisation with id > after_id: the first limit of them, oldest first
 * (the node's reader of the stream). Caller frees the rows. */
int store_events_next(struct store *st, int64_t after_id, int limit, struct event_row **out_rows,
                      size_t *out_n);
/* The largest event id (0 when there is none). */
int store_events_last_id(struct store *st, int64_t *out_id);

/*
 * Makes this connection listen for other processes' commits of events. Only on a shared
 * database (store_shared); -NA_ESTORE on a backend without notifications. A connection
 * that listens is used for nothing else.
 */
int store_events_listen(struct store *st);
/*
 * Waits up to timeout_ms for a commit of events, or until wake_fd (-1: none) is
 * readable; *out_notified says whether one came. -NA_EUNAVAILABLE when the connection is
 * lost: close it, open another and listen again (commits in between are not told).
 */
int store_events_wait(struct store *st, int timeout_ms, int wake_fd, bool *out_notified);

#endif
