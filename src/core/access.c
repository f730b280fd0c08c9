#include "core/access.h"

#include "core/roles.h"

bool access_has_role(const struct principal *p, unsigned roles)
{
    return (p->roles & roles) != 0;
}

bool access_manages_any(const struct principal *p, const int64_t *team_ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p->n_managed_team_ids; j++)
            if (team_ids[i] == p->managed_team_ids[j])
                return true;
    return false;
}

enum user_layer access_user_layer(const struct principal *p, int64_t target_user_id,
                                  const int64_t *target_team_ids, size_t n_teams)
{
    /* The home address is for the person and HR only (seed 004: staff's personal data). */
    if (p->user_id == target_user_id || access_has_role(p, ROLE_ADMIN))
        return USER_LAYER_PRIVATE;
    /* Next of kin is needed by those who escalate: line manager, senior manager, ARC. */
    if (access_has_role(p, ROLE_SENIOR_MANAGER | ROLE_OPERATOR) ||
        access_manages_any(p, target_team_ids, n_teams))
        return USER_LAYER_PERSONAL;
    /* The LSMS investigates incidents and needs to reach people, not their families. */
    if (access_has_role(p, ROLE_LSMS))
        return USER_LAYER_CONTACT;
    return USER_LAYER_DIRECTORY;
}

bool access_sees_visit(const struct principal *p, int64_t worker_id, int64_t buddy_id,
                       const int64_t *worker_team_ids, size_t n_teams)
{
    return worker_id == p->user_id || (buddy_id && buddy_id == p->user_id) ||
           access_has_role(p, ACCESS_VISIT_ROLES) ||
           access_manages_any(p, worker_team_ids, n_teams);
}

bool access_sees_alarm(const struct principal *p, int64_t worker_id, int64_t buddy_id,
                       const int64_t *worker_team_ids, size_t n_teams)
{
    if (worker_id == p->user_id)
        return false;
    return (buddy_id && buddy_id == p->user_id) || access_has_role(p, ACCESS_ALARM_ROLES) ||
           access_manages_any(p, worker_team_ids, n_teams);
}

bool access_sees_evidence(const struct principal *p)
{
    return access_has_role(p, ROLE_LSMS | ROLE_POLICE);
}

bool access_can_manage_team(const struct principal *p, int64_t team_id)
{
    return access_has_role(p, ROLE_ADMIN) || access_manages_any(p, &team_id, 1);
}

bool access_can_edit_profile(const struct principal *p, int64_t target_user_id)
{
    return p->user_id == target_user_id || access_has_role(p, ROLE_ADMIN);
}
