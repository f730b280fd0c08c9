/* The live stream's events of visits and cases (events.h). */
#include "watch/events.h"

#include <stdlib.h>

#include "core/escalation.h"
#include "core/visit.h"
#include "http/render.h"
#include "store/store_events.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch.h"

static json_t *time_or_null(int64_t ms)
{
    return ms ? render_time(ms) : json_null();
}

static json_t *id_or_null(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

/* Writes o (consumed) as the event's payload. */
static int events_write(struct store *st, const char *kind, int64_t org_id, int64_t visit_id,
                        int64_t alarm_id, int64_t worker_id, int64_t now, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        log_error("event_unrenderable", "kind=%s visit_id=%lld", kind, (long long)visit_id);
        return -NA_ESTORE;
    }
    struct event_new e = {.organisation_id = org_id,
                          .at = now,
                          .kind = kind,
                          .visit_id = visit_id,
                          .worker_id = worker_id,
                          .alarm_id = alarm_id,
                          .payload = text};
    int rc = store_event_add(st, &e);
    free(text);
    return rc;
}

int events_add_visit(struct store *st, const char *kind, const struct visit_row *v, int64_t by,
                     int64_t now)
{
    const struct visit_clock *c = &v->clock;
    json_t *o =
        json_pack("{s:o,s:I,s:I,s:o,s:s,s:o,s:o}", "at", render_time(now), "visit_id",
                  (json_int_t)v->id, "worker_id", (json_int_t)v->worker_id, "by", id_or_null(by),
                  "state", visit_state_name(c->state), "deadline_at", time_or_null(c->deadline_at),
                  "expected_departure", time_or_null(c->expected_departure));
    if (o && c->outcome)
        json_object_set_new(o, "outcome", json_string(visit_outcome_name(c->outcome)));
    return events_write(st, kind, v->organisation_id, v->id, 0, v->worker_id, now, o);
}

int events_add_case(struct store *st, const char *kind, const struct escalation_row *e,
                    int64_t worker_id, int64_t by, int64_t now, json_t *extra)
{
    struct escalation_policy p;
    policy_from_text(e->policy, &p);
    const char *contact = e->c.level >= 0 && (size_t)e->c.level < p.n_levels
                              ? escalation_contact_name(p.levels[e->c.level].contact)
                              : NULL;
    json_t *o =
        json_pack("{s:o,s:I,s:I,s:I,s:o,s:s,s:i,s:o,s:o}", "at", render_time(now), "escalation_id",
                  (json_int_t)e->id, "visit_id", (json_int_t)e->visit_id, "worker_id",
                  (json_int_t)worker_id, "by", id_or_null(by), "state",
                  e->c.state == ESCALATION_RESOLVED ? "resolved" : "open", "level", e->c.level,
                  "level_contact", contact ? json_string(contact) : json_null(), "level_due_at",
                  e->c.state == ESCALATION_OPEN ? time_or_null(e->c.level_due_at) : json_null());
    if (o && e->outcome)
        json_object_set_new(
            o, "outcome",
            json_string(escalation_outcome_name((enum escalation_outcome)e->outcome)));
    if (o && extra)
        json_object_update(o, extra);
    return events_write(st, kind, e->organisation_id, e->visit_id, 0, worker_id, now, o);
}

int events_add_alarm(struct store *st, const char *kind, const struct alarm_row *a, int64_t by,
                     int64_t now, json_t *extra)
{
    const struct alarm_clock *c = &a->clock;
    /* Ids, times and states only: no names, phones or coordinates. "kind" is the event's
     * own (the stream puts it beside the payload), so the alarm's is "alarm_kind". */
    json_t *o =
        json_pack("{s:o,s:I,s:I,s:o,s:o,s:s,s:s,s:b,s:i,s:o,s:o,s:b}", "at", render_time(now),
                  "alarm_id", (json_int_t)a->id, "worker_id", (json_int_t)a->worker_id, "visit_id",
                  id_or_null(a->visit_id), "by", id_or_null(by), "alarm_kind",
                  alarm_kind_name(c->kind), "state", alarm_state_name(c->state), "duress",
                  c->duress, "priority", c->priority, "opened_at", render_time(c->opened_at),
                  "claimed_by", id_or_null(c->claimed_by), "cancelled", c->cancelled_at != 0);
    if (o && c->outcome && c->state == ALARM_CLOSED)
        json_object_set_new(o, "outcome", json_string(alarm_outcome_name(c->outcome)));
    if (o && extra)
        json_object_update(o, extra);
    return events_write(st, kind, a->organisation_id, a->visit_id, a->id, a->worker_id, now, o);
}
