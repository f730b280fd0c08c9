#ifndef NA_CORE_ACCESS_H
#define NA_CORE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/roles.h"

/*
 * Who may see and do what (need to know, DESIGN.md). Pure rules over ids and roles: the
 * caller loads the facts (the viewer's roles and managed teams, the target's teams) and
 * these functions decide. Organisation isolation is enforced before any of this (the
 * store scopes every query by organisation); these rules are about people inside one.
 */

/* The authenticated caller. */
struct principal {
    int64_t user_id;
    int64_t organisation_id;
    unsigned roles;
    bool org_is_host;
    bool via_api_key;
    bool password_change_required;
    const int64_t *managed_team_ids; /* teams whose line manager is the caller; borrowed */
    size_t n_managed_team_ids;
};

/* Layers of a user's record, each including the ones before (docs/api.md). */
enum user_layer {
    USER_LAYER_DIRECTORY = 1, /* name, roles, teams: everyone in the organisation */
    USER_LAYER_CONTACT,       /* email, phone, vehicles */
    USER_LAYER_PERSONAL,      /* next of kin */
    USER_LAYER_PRIVATE,       /* home address */
};

/* True when p holds any of roles. */
bool access_has_role(const struct principal *p, unsigned roles);
/* True when p is the line manager of any of the given teams. */
bool access_manages_any(const struct principal *p, const int64_t *team_ids, size_t n);
/* The deepest layer of the target user that p may see. */
enum user_layer access_user_layer(const struct principal *p, int64_t target_user_id,
                                  const int64_t *target_team_ids, size_t n_teams);
/* Roles that see every visit of their organisation (and so its cases and events). */
#define ACCESS_VISIT_ROLES (ROLE_ADMIN | ROLE_SENIOR_MANAGER | ROLE_OPERATOR)

/*
 * Whether p sees a visit of worker_id watched by buddy_id (docs/api.md, "Visits"): its
 * worker and buddy, the line managers of the worker's teams (worker_team_ids[0..n_teams)),
 * senior managers, operators and admins. The visit's cases and the live events of both
 * are seen by the same people. A caller that has not loaded the worker's teams may pass
 * none first: a true answer stands, a false one may turn true with the teams.
 */
bool access_sees_visit(const struct principal *p, int64_t worker_id, int64_t buddy_id,
                       const int64_t *worker_team_ids, size_t n_teams);
/* Roles that see every alarm of their organisation. */
#define ACCESS_ALARM_ROLES (ROLE_ADMIN | ROLE_SENIOR_MANAGER | ROLE_OPERATOR | ROLE_LSMS)
/*
 * Whether p sees an alarm of worker_id (docs/api.md, "Alarms"): operators, senior
 * managers, LSMS and admins; the buddy of its visit (buddy_id, 0: none) and the line
 * managers of the worker's teams. Never the worker: a duress alarm must not show on
 * their device, and no alarm is theirs to handle.
 */
bool access_sees_alarm(const struct principal *p, int64_t worker_id, int64_t buddy_id,
                       const int64_t *worker_team_ids, size_t n_teams);
/* Whether p may list and download evidence (§9.13.1): the LSMS and the police. */
bool access_sees_evidence(const struct principal *p);
/* True when p may add or remove members of the team (admin or its line manager). */
bool access_can_manage_team(const struct principal *p, int64_t team_id);
/* True when p may change the target's own-profile fields (the user or an admin). */
bool access_can_edit_profile(const struct principal *p, int64_t target_user_id);

#endif
