#include "core/visit.h"

#include <string.h>

#include "util/error.h"

int64_t visit_deadline(const struct visit_clock *v)
{
    if (v->state != VISIT_ACTIVE)
        return 0;
    int64_t deadline = v->expected_departure;
    if (v->checkin_interval > 0) {
        int64_t from = v->last_checkin_at ? v->last_checkin_at : v->started_at;
        if (from + v->checkin_interval < deadline)
            deadline = from + v->checkin_interval;
    }
    return deadline;
}

int visit_plan_check(const struct visit_clock *v, int64_t now, const char **field)
{
    *field = "expected_departure";
    if (v->expected_departure <= v->expected_arrival)
        return -NA_EINVAL;
    if (v->expected_departure <= now)
        return -NA_EINVAL;
    if (v->expected_departure - v->expected_arrival > VISIT_MAX_LENGTH_MS)
        return -NA_EINVAL;
    *field = "expected_arrival";
    if (v->expected_arrival < now - VISIT_PAST_TOLERANCE_MS ||
        v->expected_arrival > now + VISIT_MAX_LENGTH_MS)
        return -NA_EINVAL;
    *field = "checkin_interval";
    if (v->checkin_interval && (v->checkin_interval < VISIT_MIN_INTERVAL_MS ||
                                v->checkin_interval > VISIT_MAX_INTERVAL_MS))
        return -NA_EINVAL;
    *field = NULL;
    return 0;
}

int visit_start(struct visit_clock *v, int64_t now)
{
    if (v->state != VISIT_PLANNED)
        return -NA_ECONFLICT;
    /* A visit started after its planned end is an error of the plan, not a late worker. */
    if (v->expected_departure <= now)
        return -NA_EINVAL;
    v->state = VISIT_ACTIVE;
    v->started_at = now;
    v->deadline_at = visit_deadline(v);
    return 0;
}

int visit_checkin(struct visit_clock *v, int64_t now)
{
    if (v->state != VISIT_ACTIVE)
        return -NA_ECONFLICT;
    v->last_checkin_at = now;
    if (v->expected_departure <= now)
        v->expected_departure = now + VISIT_LATE_GRACE_MS;
    v->deadline_at = visit_deadline(v);
    return 0;
}

int visit_extend(struct visit_clock *v, int64_t until, int64_t now)
{
    if (v->state != VISIT_ACTIVE && v->state != VISIT_PLANNED)
        return -NA_ECONFLICT;
    if (until <= now || until <= v->expected_departure)
        return -NA_EINVAL;
    int64_t from = v->started_at ? v->started_at : v->expected_arrival;
    if (until - from > VISIT_MAX_LENGTH_MS)
        return -NA_EINVAL;
    v->expected_departure = until;
    /* Being delayed is news the worker gives: it counts as contact, like a check-in. */
    if (v->state == VISIT_ACTIVE)
        v->last_checkin_at = now;
    v->deadline_at = visit_deadline(v);
    return 0;
}

int visit_close(struct visit_clock *v, enum visit_outcome outcome, int64_t now)
{
    bool ok = (outcome == VISIT_OUTCOME_CANCELLED && v->state == VISIT_PLANNED) ||
              ((outcome == VISIT_OUTCOME_SAFE || outcome == VISIT_OUTCOME_WITHDRAWN) &&
               v->state == VISIT_ACTIVE);
    if (!ok)
        return -NA_ECONFLICT;
    v->state = VISIT_CLOSED;
    v->outcome = outcome;
    v->closed_at = now;
    v->deadline_at = 0;
    return 0;
}

static const char *const outcome_names[] = {"", "safe", "withdrawn", "cancelled"};
static const char *const state_names[] = {"", "planned", "active", "closed"};

enum visit_outcome visit_outcome_parse(const char *s)
{
    for (int i = 1; i <= VISIT_OUTCOME_CANCELLED; i++)
        if (strcmp(s, outcome_names[i]) == 0)
            return (enum visit_outcome)i;
    return VISIT_OUTCOME_NONE;
}

const char *visit_outcome_name(enum visit_outcome o)
{
    return o >= VISIT_OUTCOME_NONE && o <= VISIT_OUTCOME_CANCELLED ? outcome_names[o] : "";
}

const char *visit_state_name(enum visit_state s)
{
    return s >= VISIT_PLANNED && s <= VISIT_CLOSED ? state_names[s] : "";
}
