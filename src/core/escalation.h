#ifndef NA_CORE_ESCALATION_H
#define NA_CORE_ESCALATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The escalation ladder (seed 002 §6.19): when a worker misses a deadline, contacts are
 * told level by level, each with a time limit. A contact who acknowledges takes the case
 * for their level's limit; if the case is not resolved by then the climb goes on. At the
 * top level the climb does not stop: the top contact is told again each limit until
 * someone records the outcome. Pure: the caller says which levels can be reached now
 * (a buddy who has not accepted, a team without a line manager, a contact whose every
 * notification failed cannot) and does the telling.
 */

enum escalation_contact {
    CONTACT_BUDDY = 1,      /* the visit's buddy, once they accepted */
    CONTACT_LINE_MANAGER,   /* line managers of the worker's teams */
    CONTACT_SENIOR_MANAGER, /* the organisation's senior managers */
    CONTACT_USER,           /* one named user */
    CONTACT_CHANNEL,        /* an organisation's channel: the ARC, a police liaison line */
    CONTACT_OPERATORS,      /* the operators' alarm queue: the case opens an overdue alarm */
};

#define ESCALATION_MAX_LEVELS   8
#define ESCALATION_MIN_LIMIT_MS (60LL * 1000)
#define ESCALATION_MAX_LIMIT_MS (24LL * 3600 * 1000)

struct escalation_level {
    enum escalation_contact contact;
    int64_t target_id; /* user id (CONTACT_USER) or channel id (CONTACT_CHANNEL); else 0 */
    int64_t limit_ms;
};

struct escalation_policy {
    size_t n_levels;
    struct escalation_level levels[ESCALATION_MAX_LEVELS];
};

enum escalation_state { ESCALATION_OPEN = 1, ESCALATION_RESOLVED = 2 };

enum escalation_outcome {
    ESCALATION_OUTCOME_NONE = 0,
    ESCALATION_OUTCOME_SAFE = 1,   /* the worker was confirmed safe */
    ESCALATION_OUTCOME_POLICE = 2, /* handed to the police, with their reference */
};

struct escalation_case {
    enum escalation_state state;
    int level;               /* index of the level last told */
    int64_t level_due_at;    /* when the current level's limit runs out */
    int64_t acknowledged_by; /* user holding the case; 0: nobody */
    int64_t acknowledged_at;
    int64_t opened_at;
    int64_t resolved_at;
};

/* Buddy 10 min, line manager 15 min, senior manager 15 min. */
void escalation_policy_default(struct escalation_policy *p);
/* 1-8 levels, limits 1 min to 24 h, targets where the contact needs one. */
int escalation_policy_check(const struct escalation_policy *p, size_t *bad_level);

/* Contact of its name ("line_manager"); 0 when unknown. And back. */
enum escalation_contact escalation_contact_parse(const char *s);
const char *escalation_contact_name(enum escalation_contact c);
enum escalation_outcome escalation_outcome_parse(const char *s);
const char *escalation_outcome_name(enum escalation_outcome o);

/*
 * Opens a case at now at the first reachable level (reachable has p->n_levels entries;
 * when none is, the top level is used, since someone must be told). Returns that level.
 */
int escalation_open(struct escalation_case *c, const struct escalation_policy *p,
                    const bool *reachable, int64_t now);
/*
 * The current level's limit ran out, or its contact could not be reached, at now: moves
 * to the next reachable level above and drops any acknowledgement; at the top it stays
 * there with a fresh limit. Returns the level to tell, or -NA_ECONFLICT when resolved.
 */
int escalation_climb(struct escalation_case *c, const struct escalation_policy *p,
                     const bool *reachable, int64_t now);
/*
 * user_id takes the case at now and holds it for the current level's limit.
 * -NA_ECONFLICT when resolved or already held.
 */
int escalation_acknowledge(struct escalation_case *c, const struct escalation_policy *p,
                           int64_t user_id, int64_t now);
/* Records the outcome at now. -NA_ECONFLICT when already resolved. */
int escalation_resolve(struct escalation_case *c, int64_t now);

#endif
