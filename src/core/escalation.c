#include "core/escalation.h"

#include <string.h>

#include "util/error.h"

static const char *const contact_names[] = {"",     "buddy",   "line_manager", "senior_manager",
                                            "user", "channel", "operators"};
static const char *const outcome_names[] = {"", "safe", "police"};

void escalation_policy_default(struct escalation_policy *p)
{
    memset(p, 0, sizeof *p);
    p->n_levels = 3;
    p->levels[0] = (struct escalation_level){CONTACT_BUDDY, 0, 10 * 60 * 1000};
    p->levels[1] = (struct escalation_level){CONTACT_LINE_MANAGER, 0, 15 * 60 * 1000};
    p->levels[2] = (struct escalation_level){CONTACT_SENIOR_MANAGER, 0, 15 * 60 * 1000};
}

int escalation_policy_check(const struct escalation_policy *p, size_t *bad_level)
{
    *bad_level = 0;
    if (p->n_levels < 1 || p->n_levels > ESCALATION_MAX_LEVELS)
        return -NA_EINVAL;
    for (size_t i = 0; i < p->n_levels; i++) {
        const struct escalation_level *l = &p->levels[i];
        bool needs_target = l->contact == CONTACT_USER || l->contact == CONTACT_CHANNEL;
        *bad_level = i;
        if (l->contact < CONTACT_BUDDY || l->contact > CONTACT_OPERATORS)
            return -NA_EINVAL;
        if (needs_target != (l->target_id > 0))
            return -NA_EINVAL;
        if (l->limit_ms < ESCALATION_MIN_LIMIT_MS || l->limit_ms > ESCALATION_MAX_LIMIT_MS)
            return -NA_EINVAL;
    }
    return 0;
}

enum escalation_contact escalation_contact_parse(const char *s)
{
    for (int i = CONTACT_BUDDY; i <= CONTACT_OPERATORS; i++)
        if (strcmp(s, contact_names[i]) == 0)
            return (enum escalation_contact)i;
    return 0;
}

const char *escalation_contact_name(enum escalation_contact c)
{
    return c >= CONTACT_BUDDY && c <= CONTACT_OPERATORS ? contact_names[c] : "";
}

enum escalation_outcome escalation_outcome_parse(const char *s)
{
    for (int i = ESCALATION_OUTCOME_SAFE; i <= ESCALATION_OUTCOME_POLICE; i++)
        if (strcmp(s, outcome_names[i]) == 0)
            return (enum escalation_outcome)i;
    return ESCALATION_OUTCOME_NONE;
}

const char *escalation_outcome_name(enum escalation_outcome o)
{
    return o >= ESCALATION_OUTCOME_NONE && o <= ESCALATION_OUTCOME_POLICE ? outcome_names[o] : "";
}

/* The first reachable level at or above from; the top level when none is. */
static int reachable_from(const struct escalation_policy *p, const bool *reachable, int from)
{
    for (int i = from; i < (int)p->n_levels; i++)
        if (reachable[i])
            return i;
    return (int)p->n_levels - 1;
}

static void enter_level(struct escalation_case *c, const struct escalation_policy *p, int level,
                        int64_t now)
{
    c->level = level;
    c->level_due_at = now + p->levels[level].limit_ms;
    c->acknowledged_by = 0;
    c->acknowledged_at = 0;
}

int escalation_open(struct escalation_case *c, const struct escalation_policy *p,
                    const bool *reachable, int64_t now)
{
    memset(c, 0, sizeof *c);
    c->state = ESCALATION_OPEN;
    c->opened_at = now;
    enter_level(c, p, reachable_from(p, reachable, 0), now);
    return c->level;
}

int escalation_climb(struct escalation_case *c, const struct escalation_policy *p,
                     const bool *reachable, int64_t now)
{
    if (c->state != ESCALATION_OPEN)
        return -NA_ECONFLICT;
    int next = c->level + 1 < (int)p->n_levels ? reachable_from(p, reachable, c->level + 1)
                                               : (int)p->n_levels - 1;
    enter_level(c, p, next, now);
    return next;
}

int escalation_acknowledge(struct escalation_case *c, const struct escalation_policy *p,
                           int64_t user_id, int64_t now)
{
    if (c->state != ESCALATION_OPEN || c->acknowledged_by)
        return -NA_ECONFLICT;
    c->acknowledged_by = user_id;
    c->acknowledged_at = now;
    c->level_due_at = now + p->levels[c->level].limit_ms;
    return 0;
}

int escalation_resolve(struct escalation_case *c, int64_t now)
{
    if (c->state != ESCALATION_OPEN)
        return -NA_ECONFLICT;
    c->state = ESCALATION_RESOLVED;
    c->resolved_at = now;
    return 0;
}
