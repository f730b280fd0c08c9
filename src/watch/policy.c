/* Escalation policies between JSON (API, storage) and struct escalation_policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch.h"

static int bad(char *field, size_t n, size_t i, const char *name)
{
    if (name)
        snprintf(field, n, "levels[%zu].%s", i, name);
    else
        snprintf(field, n, "levels");
    return -NA_EINVAL;
}

static int level_from_json(json_t *o, size_t i, struct escalation_level *l, char *field, size_t n)
{
    const char *key;
    json_t *v;
    if (!json_is_object(o))
        return bad(field, n, i, "contact");
    json_object_foreach(o, key, v)
    {
        (void)v;
        if (strcmp(key, "contact") && strcmp(key, "limit") && strcmp(key, "user_id") &&
            strcmp(key, "channel_id"))
            return bad(field, n, i, "contact");
    }
    json_t *contact = json_object_get(o, "contact");
    json_t *limit = json_object_get(o, "limit");
    l->contact = json_is_string(contact) ? escalation_contact_parse(json_string_value(contact)) : 0;
    if (!l->contact)
        return bad(field, n, i, "contact");
    if (!json_is_integer(limit) || json_integer_value(limit) < 60 ||
        json_integer_value(limit) > 86400)
        return bad(field, n, i, "limit");
    l->limit_ms = (int64_t)json_integer_value(limit) * 1000;
    const char *target_name = l->contact == CONTACT_USER      ? "user_id"
                              : l->contact == CONTACT_CHANNEL ? "channel_id"
                                                              : NULL;
    json_t *user = json_object_get(o, "user_id"), *channel = json_object_get(o, "channel_id");
    if ((user && l->contact != CONTACT_USER) || (channel && l->contact != CONTACT_CHANNEL))
        return bad(field, n, i, user ? "user_id" : "channel_id");
    l->target_id = 0;
    if (target_name) {
        json_t *t = json_object_get(o, target_name);
        if (!json_is_integer(t) || json_integer_value(t) <= 0)
            return bad(field, n, i, target_name);
        l->target_id = (int64_t)json_integer_value(t);
    }
    return 0;
}

int policy_from_json(json_t *root, struct escalation_policy *p, char *field, size_t n)
{
    memset(p, 0, sizeof *p);
    json_t *levels = json_is_object(root) ? json_object_get(root, "levels") : NULL;
    if (!json_is_array(levels) || json_array_size(levels) < 1 ||
        json_array_size(levels) > ESCALATION_MAX_LEVELS)
        return bad(field, n, 0, NULL);
    size_t i;
    json_t *o;
    json_array_foreach(levels, i, o)
    {
        int rc = level_from_json(o, i, &p->levels[i], field, n);
        if (rc)
            return rc;
    }
    p->n_levels = json_array_size(levels);
    size_t bad_level;
    if (escalation_policy_check(p, &bad_level))
        return bad(field, n, bad_level, "limit");
    return 0;
}

json_t *policy_to_json(const struct escalation_policy *p)
{
    json_t *levels = json_array();
    for (size_t i = 0; i < p->n_levels; i++) {
        const struct escalation_level *l = &p->levels[i];
        json_t *o = json_pack("{s:s,s:I}", "contact", escalation_contact_name(l->contact), "limit",
                              (json_int_t)(l->limit_ms / 1000));
        if (l->contact == CONTACT_USER)
            json_object_set_new(o, "user_id", json_integer(l->target_id));
        if (l->contact == CONTACT_CHANNEL)
            json_object_set_new(o, "channel_id", json_integer(l->target_id));
        json_array_append_new(levels, o);
    }
    return json_pack("{s:o}", "levels", levels);
}

void policy_from_text(const char *text, struct escalation_policy *p)
{
    char field[64] = "levels";
    if (!text) {
        escalation_policy_default(p);
        return;
    }
    json_t *root = json_loads(text, 0, NULL);
    if (!root || policy_from_json(root, p, field, sizeof field)) {
        log_error("policy_damaged", "field=%s", field);
        escalation_policy_default(p);
    }
    json_decref(root);
}

int policy_effective(struct store *st, int64_t org_id, int64_t worker_id,
                     struct escalation_policy *p, char **json_out)
{
    struct user_row u = {0};
    char *text = NULL;
    int rc = store_user_get(st, org_id, worker_id, &u);
    if (rc)
        return rc;
    if (u.n_team_ids)
        rc = store_policy_get(st, org_id, u.team_ids[0], &text);
    if (!u.n_team_ids || rc == -NA_ENOTFOUND)
        rc = store_policy_get(st, org_id, 0, &text);
    user_row_fini(&u);
    if (rc == -NA_ENOTFOUND) {
        escalation_policy_default(p);
        rc = 0;
    } else if (!rc) {
        policy_from_text(text, p);
    }
    free(text);
    if (!rc && json_out) {
        json_t *j = policy_to_json(p);
        *json_out = json_dumps(j, JSON_COMPACT);
        json_decref(j);
    }
    return rc;
}
