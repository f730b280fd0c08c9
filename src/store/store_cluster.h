#ifndef NA_STORE_STORE_CLUSTER_H
#define NA_STORE_STORE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * Several nodes on one database. Every row with due work (an active visit's deadline and
 * reminder, an open case's level limit, a pending delivery) names the node that
 * schedules it, its owner: the node whose connection last wrote it (store_config.node),
 * which then holds it in its in-memory timetable. Each node refreshes its heartbeat in
 * the nodes table; a node silent for longer than the lease is taken for dead, and the
 * others take its rows over (FOR UPDATE SKIP LOCKED, so two survivors never take the
 * same row) and schedule them. When a job fires, the node locks its row and acts only
 * if it still owns it, so a deadline escalates once even when ownership moved between
 * the scheduling and the firing. Same conventions as store.h.
 */

/* The kinds of due work, by the table that holds them. */
enum due_kind {
    DUE_VISIT = 1,      /* visits: deadline_at and reminder_at of active visits */
    DUE_ESCALATION = 2, /* escalations: level_due_at of open cases */
    DUE_OUTBOX = 3,     /* outbox: next_attempt_at of pending deliveries */
    DUE_ALARM = 4,      /* alarms: renotify_at of open alarms nobody has claimed */
    DUE_AMBER = 5,      /* amber_alerts: deadline_at of those still watching */
    DUE_DEVICE = 6,     /* alert_profiles: test_due_at (a device not tested for too long) */
    DUE_DC09 = 7,       /* dc09_events: pending_at (an event's action still to apply) */
    DUE_SILENT = 8,     /* devices: silent_due_at (loss of signal when nothing came) */
};
#define DUE_KIND_LAST DUE_SILENT

/* Writes this node's heartbeat (now, by its clock); registers it the first time. */
int store_node_heartbeat(struct store *st, int64_t now);

/* Marks this node silent since ever: stopping, it hands its work to the others at their
 * next look instead of after the lease. */
int store_node_leave(struct store *st);

/* Nodes other than this one whose last heartbeat is before older_than. Caller frees with
 * store_names_free. */
int store_nodes_silent(struct store *st, int64_t older_than, char ***out_names, size_t *out_n);
void store_names_free(char **names, size_t n);
/* Deletes a silent node's row when its heartbeat is still before older_than (it did not
 * come back) and it owns no due work any more. */
int store_node_forget(struct store *st, const char *name, int64_t older_than);

/* One row taken over: its id and due times (0 when not set). For DUE_VISIT, due_at is the
 * deadline and reminder_at the reminder. */
struct adopted_row {
    int64_t id;
    int64_t due_at;
    int64_t reminder_at;
};
/*
 * In a transaction: makes this node the owner of at most limit rows of kind with due
 * work owned by the node named from, as long as its heartbeat is before older_than
 * (it is still silent), or, when from is NULL, by no node (no owner, or an owner with no
 * row in nodes), passing over rows another transaction holds. Caller frees *out. Fewer
 * than limit rows means there are no more (but for held ones).
 */
int store_adopt(struct store *st, enum due_kind kind, const char *from, int64_t older_than,
                int limit, struct adopted_row **out, size_t *out_n);

/* Ids and due times of this node's rows of kind due at or before until (INT64_MAX: all),
 * ordered by id. For DUE_VISIT both times are given as in store_adopt. */
int store_owned_due(struct store *st, enum due_kind kind, int64_t until, struct adopted_row **out,
                    size_t *out_n);

/*
 * Whether this node owns the row of kind and id. In a transaction the row stays locked
 * until commit (another node's writer waits), so the answer holds for the transaction.
 * -NA_ENOTFOUND when the row is gone.
 */
int store_owns(struct store *st, enum due_kind kind, int64_t id, bool *out_mine);

/* The name this connection writes as owner (store_config.node). */
const char *store_node_name(const struct store *st);
/* Whether other processes may use the database at the same time (PostgreSQL); a SQLite
 * file is one node's, so at start it takes over every row. */
bool store_shared(const struct store *st);

#endif
