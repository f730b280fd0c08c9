#ifndef NA_WATCH_CASES_H
#define NA_WATCH_CASES_H

/* Escalation cases inside the watch (cases.c); see watch.h for the shared entry points. */
#include "watch/watch_internal.h"

/* Who a level tells: users, or one organisation channel. */
struct contacts {
    int64_t *users;
    size_t n_users;
    int64_t channel_id;
};
void contacts_fini(struct contacts *c);
int level_contacts(struct store *st, const struct visit_row *v, const struct escalation_level *l,
                   struct contacts *out);
/* reachable[i] for each level of p: it has a contact now. */
int reachable_levels(struct store *st, const struct visit_row *v, const struct escalation_policy *p,
                     bool *reachable);

/* Opens a case for the visit whose deadline passed and tells the first level. */
int case_open(struct watch *w, struct store *st, const struct visit_row *v, int64_t now,
              struct escalation_row *out, struct id_list *outbox);
/*
 * The current level's limit ran out (reason "timeout") or its contacts could not be
 * reached ("unreachable"): climbs and tells the next level.
 */
int case_climb(struct watch *w, struct store *st, struct escalation_row *e, const char *reason,
               int64_t now, struct id_list *outbox);
/* Parses the case's policy snapshot. */
void case_policy(const struct escalation_row *e, struct escalation_policy *p);
/* When the current level was entered (its last "opened", "notified" or "timeout" step). */
int case_level_entered_at(struct store *st, const struct escalation_row *e, int64_t *out);

#endif
