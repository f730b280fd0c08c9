#ifndef NA_CORE_ACCESS_H
#define NA_CORE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* True when p may add or remove members of the team (admin or its line manager). */
bool access_can_manage_team(const struct principal *p, int64_t team_id);
/* True when p may change the target's own-profile fields (the user or an admin). */
bool access_can_edit_profile(const struct principal *p, int64_t target_user_id);

#endif
