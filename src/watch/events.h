#ifndef NA_WATCH_EVENTS_H
#define NA_WATCH_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_alarms.h"
#include "store/store_watch.h"

/*
 * The live stream's events (GET /api/v1/events, docs/api.md) of visits and cases, added
 * in the caller's transaction so that each exists exactly when its change commits. One
 * place builds them, so that each kind carries the same fields wherever it happens.
 * Payloads carry ids, times, levels and outcomes: nothing personal beyond what the visit
 * and case objects show those who see them.
 */

/* Kinds of event. */
#define EVENT_VISIT_STARTED     "visit.started"
#define EVENT_VISIT_CHECKIN     "visit.checkin"
#define EVENT_VISIT_EXTENDED    "visit.extended"
#define EVENT_VISIT_OVERDUE     "visit.overdue" /* the deadline passed: a case opens */
#define EVENT_VISIT_CLOSED      "visit.closed"  /* safe, withdrawn or cancelled */
#define EVENT_CASE_OPENED       "escalation.opened"
#define EVENT_CASE_LEVEL        "escalation.level" /* a level told, with whom */
#define EVENT_CASE_ACKNOWLEDGED "escalation.acknowledged"
#define EVENT_CASE_RESOLVED     "escalation.resolved"
#define EVENT_ALARM_OPENED      "alarm.opened"
#define EVENT_ALARM_CLAIMED     "alarm.claimed"
#define EVENT_ALARM_UPDATED     "alarm.updated"    /* a call, note, escalation, evidence, cancel */
#define EVENT_ALARM_RENOTIFIED  "alarm.renotified" /* still unclaimed: operators told again */
#define EVENT_ALARM_CLOSED      "alarm.closed"

/*
 * A visit's event at now: the visit as it is after the change, by the user who made it
 * (0: the server itself, such as a deadline passing).
 */
int events_add_visit(struct store *st, const char *kind, const struct visit_row *v, int64_t by,
                     int64_t now);
/*
 * A case's event at now, with the fields of extra added (borrowed; may be NULL): the
 * case as it is after the change, of the visit of worker_id, by the user who made it
 * (0: the server).
 */
int events_add_case(struct store *st, const char *kind, const struct escalation_row *e,
                    int64_t worker_id, int64_t by, int64_t now, json_t *extra);
/*
 * An alarm's event at now, with the fields of extra added (borrowed; may be NULL; the
 * timeline line's kind, such as "call", goes there as "change"): the alarm as it is after
 * the change, by the user who made it (0: the server or the device). Seen by those who
 * see the alarm (access_sees_alarm), never by its own worker.
 */
int events_add_alarm(struct store *st, const char *kind, const struct alarm_row *a, int64_t by,
                     int64_t now, json_t *extra);

#endif
