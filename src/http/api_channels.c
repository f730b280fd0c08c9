/* Contact channels, escalation policies and the simulated clock of tests. */
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "core/validate.h"
#include "http/api.h"
#include "http/json_in.h"
#include "http/render.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch.h"

#define SETTLE_TIMEOUT_MS (60 * 1000)

/* ---- escalation policies ---- */

static int answer_policy(struct request *r, const char *text, bool is_default)
{
    struct escalation_policy p;
    policy_from_text(text, &p);
    json_t *o = policy_to_json(&p);
    json_object_set_new(o, "default", json_boolean(is_default));
    return request_answer(r, 200, o);
}

/* The team of the path (0 for the organisation's own policy route). */
static int policy_scope(struct request *r, int64_t *team_id)
{
    *team_id = 0;
    if (r->params.n == 0)
        return 0;
    struct team_row t = {0};
    int rc = request_param_id(r, 0, team_id);
    if (!rc)
        rc = store_team_get(r->st, r->who.organisation_id, *team_id, &t);
    team_row_fini(&t);
    return rc;
}

static int get_policy(struct request *r)
{
    int64_t team;
    char *text = NULL;
    int rc = policy_scope(r, &team);
    if (!rc)
        rc = store_policy_get(r->st, r->who.organisation_id, team, &text);
    if (rc == -NA_ENOTFOUND && team == 0)
        return answer_policy(r, NULL, true);
    if (!rc)
        rc = answer_policy(r, text, false);
    free(text);
    return rc;
}

/* Channel and user levels must name this organisation's channel or user. */
static int check_targets(struct request *r, const struct escalation_policy *p)
{
    for (size_t i = 0; i < p->n_levels; i++) {
        const struct escalation_level *l = &p->levels[i];
        struct user_row u = {0};
        struct channel_row c = {0};
        int rc = 0;
        if (l->contact == CONTACT_USER)
            rc = store_user_get(r->st, r->who.organisation_id, l->target_id, &u);
        if (l->contact == CONTACT_CHANNEL) {
            rc = store_channel_get(r->st, r->who.organisation_id, l->target_id, &c);
            if (!rc && c.user_id)
                rc = -NA_ENOTFOUND; /* a person's own channel is not a level */
        }
        user_row_fini(&u);
        channel_row_fini(&c);
        if (rc == -NA_ENOTFOUND) {
            char field[64];
            snprintf(field, sizeof field, "levels[%zu].%s", i,
                     l->contact == CONTACT_USER ? "user_id" : "channel_id");
            return request_fail(r, -NA_EINVAL, field, "no such user or organisation channel");
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int put_policy(struct request *r)
{
    struct escalation_policy p;
    char field[64];
    int64_t team;
    if (!access_has_role(&r->who, ROLE_ADMIN))
        return -NA_EFORBIDDEN;
    int rc = policy_scope(r, &team);
    if (!rc && policy_from_json(r->body, &p, field, sizeof field))
        return request_fail(r, -NA_EINVAL, field,
                            "1-8 levels of contact (buddy, line_manager, senior_manager, user, "
                            "channel) and limit (60-86400 s)");
    if (!rc && json_object_size(r->body) != 1)
        return request_fail(r, -NA_EINVAL, "levels", "only levels is allowed");
    if (!rc)
        rc = check_targets(r, &p);
    json_t *j = rc ? NULL : policy_to_json(&p);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_policy_put(r->st, r->who.organisation_id, team, text, r->now);
    if (!rc)
        rc = api_audit(r, "policy.update", team ? "team" : "organisation",
                       team ? team : r->who.organisation_id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc)
        rc = answer_policy(r, text, false);
    free(text);
    return rc;
}

int api_policy_get(struct request *r)
{
    return get_policy(r);
}

int api_policy_put(struct request *r)
{
    return put_policy(r);
}

int api_team_policy_get(struct request *r)
{
    return get_policy(r);
}

int api_team_policy_put(struct request *r)
{
    return put_policy(r);
}

int api_team_policy_delete(struct request *r)
{
    int64_t team;
    if (!access_has_role(&r->who, ROLE_ADMIN))
        return -NA_EFORBIDDEN;
    int rc = policy_scope(r, &team);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc) {
        rc = store_policy_delete(r->st, r->who.organisation_id, team);
        if (rc == -NA_ENOTFOUND)
            rc = 0; /* no policy of its own already: the end state is what was asked */
    }
    if (!rc)
        rc = api_audit(r, "policy.delete", "team", team, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc ? rc : request_answer(r, 204, NULL);
}

/* ---- contact channels ---- */

int api_channel_list(struct request *r)
{
    struct channel_row *rows = NULL;
    size_t n = 0;
    int64_t user_id;
    int rc = request_query_id(r, "user_id", &user_id);
    if (rc)
        return rc;
    if (!access_has_role(&r->who, ROLE_ADMIN))
        user_id = r->who.user_id; /* everyone else sees only their own */
    rc = store_channel_list(r->st, r->who.organisation_id, user_id, false, &rows, &n);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, render_channel(&rows[i]));
    channel_rows_free(rows, n);
    return request_answer(r, 200, render_page(items, "next_after", 0));
}

static int check_name(const char *s)
{
    return validate_text(s, 1, 100);
}

static int check_secret(const char *s)
{
    size_t n = strlen(s);
    return n >= 16 && n <= 256 ? 0 : -NA_EINVAL;
}

static int check_template(const char *s)
{
    return strlen(s) <= 4000 ? 0 : -NA_EINVAL;
}

/* kind and address: an http(s) URL, an email address, or nothing for the log. */
static int read_address(struct request *r, struct channel_row *c)
{
    const char *kind, *address;
    bool present;
    int rc = jin_str(r, r->body, NULL, "kind", JIN_REQUIRED, NULL, NULL, &kind, &present);
    if (rc)
        return rc;
    bool webhook = strcmp(kind, "webhook") == 0, email = strcmp(kind, "email") == 0;
    if (!webhook && !email && strcmp(kind, "log"))
        return request_fail(r, -NA_EINVAL, "kind", "webhook, email or log");
    rc = jin_str(r, r->body, NULL, "address", (webhook || email) ? JIN_REQUIRED : JIN_NULLABLE,
                 NULL, NULL, &address, &present);
    if (!rc && webhook &&
        (strlen(address) > 2000 ||
         (strncmp(address, "http://", 7) && strncmp(address, "https://", 8))))
        rc = request_fail(r, -NA_EINVAL, "address", "an http or https URL");
    if (!rc && email && validate_email(address))
        rc = request_fail(r, -NA_EINVAL, "address", "not an email address");
    if (!rc && !webhook && !email && address)
        rc = request_fail(r, -NA_EINVAL, "address", "the log has no address");
    c->kind = (char *)kind;
    c->address = (char *)address;
    return rc;
}

/* Whose channel: the caller's; an admin's choice of user; or the organisation's own. */
static int read_owner(struct request *r, struct channel_row *c)
{
    bool present, org_level = false;
    int rc = jin_id(r, r->body, "user_id", JIN_NULLABLE, &c->user_id, &present);
    if (!rc)
        rc = jin_bool(r, r->body, "organisation", 0, &org_level, &present);
    if (rc)
        return rc;
    if (org_level && c->user_id)
        return request_fail(r, -NA_EINVAL, "organisation", "either a user or the organisation");
    if (!org_level && !c->user_id)
        c->user_id = r->who.user_id;
    bool own = c->user_id == r->who.user_id;
    if (!own && !access_has_role(&r->who, ROLE_ADMIN))
        return request_fail(r, -NA_EFORBIDDEN, org_level ? "organisation" : "user_id",
                            "only admins set channels for others");
    struct user_row u = {0};
    if (c->user_id && !own)
        rc = store_user_get(r->st, r->who.organisation_id, c->user_id, &u);
    user_row_fini(&u);
    return rc == -NA_ENOTFOUND ? request_fail(r, -NA_EINVAL, "user_id", "no such user") : rc;
}

int api_channel_create(struct request *r)
{
    static const char *const fields[] = {"name",     "kind",    "address",      "secret",
                                         "template", "user_id", "organisation", NULL};
    struct channel_row c = {.organisation_id = r->who.organisation_id, .created_at = r->now};
    const char *name, *secret, *template;
    bool present;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "name", JIN_REQUIRED, check_name, "1-100 characters", &name,
                     &present);
    if (!rc)
        rc = read_address(r, &c);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "secret", JIN_NULLABLE, check_secret, "16-256 bytes",
                     &secret, &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "template", JIN_NULLABLE, check_template,
                     "at most 4000 bytes", &template, &present);
    if (!rc && (secret || template) && strcmp(c.kind, "webhook"))
        rc = request_fail(r, -NA_EINVAL, secret ? "secret" : "template", "webhooks only");
    if (!rc)
        rc = read_owner(r, &c);
    if (rc)
        return rc;
    c.name = (char *)name;
    c.secret = (char *)secret;
    c.template = (char *)template;
    rc = store_begin(r->st);
    if (!rc)
        rc = store_channel_create(r->st, &c, &c.id);
    if (!rc)
        rc = api_audit(r, "channel.create", "channel", c.id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc ? rc : request_answer(r, 201, render_channel(&c));
}

int api_channel_delete(struct request *r)
{
    struct channel_row c = {0};
    int64_t id;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_channel_get(r->st, r->who.organisation_id, id, &c);
    if (!rc && c.user_id != r->who.user_id && !access_has_role(&r->who, ROLE_ADMIN))
        rc = -NA_EFORBIDDEN;
    channel_row_fini(&c);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_channel_delete(r->st, r->who.organisation_id, id);
    if (!rc)
        rc = api_audit(r, "channel.delete", "channel", id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc ? rc : request_answer(r, 204, NULL);
}

/* ---- the simulated clock (tests) ---- */

int api_test_clock(struct request *r)
{
    static const char *const fields[] = {"advance", NULL};
    struct clock *clock = r->api->simulated_clock;
    if (!clock)
        return -NA_ENOTFOUND; /* the route does not exist on a real clock */
    if (!r->who.org_is_host || !access_has_role(&r->who, ROLE_ADMIN))
        return -NA_EFORBIDDEN;
    json_t *advance = json_object_get(r->body, "advance");
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc && (!json_is_integer(advance) || json_integer_value(advance) < 0 ||
                json_integer_value(advance) > 7 * 86400))
        rc = request_fail(r, -NA_EINVAL, "advance", "seconds, 0 to 604800");
    if (rc)
        return rc;
    clock_advance(clock, (int64_t)json_integer_value(advance) * 1000);
    rc = watch_settle(r->api->watch, SETTLE_TIMEOUT_MS);
    if (rc)
        return rc;
    return request_answer(r, 200, json_pack("{s:o}", "now", render_time(clock_now_ms(clock))));
}
