/* Teams: groups of workers with a line manager (the second step of escalation). */
#include "core/roles.h"
#include "core/validate.h"
#include "http/json_in.h"
#include "http/api.h"
#include "http/render.h"
#include "util/error.h"

int api_team_list(struct request *r)
{
    int limit;
    int64_t after;
    int rc = request_page(r, "after", &limit, &after);
    if (rc)
        return rc;
    struct team_row *rows = NULL;
    size_t n = 0;
    rc = store_team_list(r->st, r->who.organisation_id, after, limit + 1, &rows, &n);
    if (rc)
        return rc;
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(items, render_team(&rows[i]));
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    team_rows_free(rows, n);
    if (json_array_size(items) != shown) { /* a row that could not be rendered */
        json_decref(items);
        return -NA_ESTORE;
    }
    return request_answer(r, 200, render_page(items, "next_after", next));
}

/* A line manager must be a manager or senior manager of the same organisation. */
static int check_line_manager(struct request *r, int64_t user_id)
{
    struct user_row u = {0};
    int rc = store_user_get(r->st, r->who.organisation_id, user_id, &u);
    if (rc == -NA_ENOTFOUND)
        return request_fail(r, -NA_EINVAL, "line_manager_id", "no such user");
    if (!rc && (!(u.roles & (ROLE_MANAGER | ROLE_SENIOR_MANAGER)) || u.disabled))
        rc = request_fail(r, -NA_EINVAL, "line_manager_id",
                          "must be an enabled manager or senior_manager");
    user_row_fini(&u);
    return rc;
}

/* The team as JSON (caller json_decrefs *out). */
static int team_json(struct request *r, int64_t team_id, json_t **out)
{
    struct team_row t = {0};
    int rc = store_team_get(r->st, r->who.organisation_id, team_id, &t);
    if (!rc && !(*out = render_team(&t)))
        rc = -NA_ESTORE;
    team_row_fini(&t);
    return rc;
}

/*
 * Reads the changed team back in the open transaction and commits: once committed,
 * nothing may fail before the answer.
 */
static int commit_team(struct request *r, int status, int64_t team_id)
{
    json_t *answer = NULL;
    int rc = team_json(r, team_id, &answer);
    if (!rc)
        rc = store_commit(r->st);
    if (rc) {
        json_decref(answer);
        return rc;
    }
    return request_answer(r, status, answer);
}

int api_team_create(struct request *r)
{
    static const char *const fields[] = {"name", "line_manager_id", NULL};
    const char *name;
    int64_t manager, id;
    bool present;
    if (!access_has_role(&r->who, ROLE_ADMIN))
        return -NA_EFORBIDDEN;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "name", JIN_REQUIRED, validate_name, "1-200 characters",
                     &name, &present);
    if (!rc)
        rc = jin_id(r, r->body, "line_manager_id", JIN_NULLABLE, &manager, &present);
    if (!rc && manager)
        rc = check_line_manager(r, manager);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_team_create(r->st, r->who.organisation_id, name, manager, r->now, &id);
    if (rc == -NA_ECONFLICT)
        return request_fail(r, rc, "name", "a team of this name exists");
    if (!rc)
        rc = api_audit(r, "team.create", "team", id, NULL);
    return rc ? rc : commit_team(r, 201, id);
}

int api_team_get(struct request *r)
{
    int64_t id;
    json_t *answer = NULL;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = team_json(r, id, &answer);
    return rc ? rc : request_answer(r, 200, answer);
}

int api_team_update(struct request *r)
{
    static const char *const fields[] = {"name", "line_manager_id", NULL};
    const char *name;
    int64_t id, manager;
    bool has_name, has_manager;
    int rc = request_param_id(r, 0, &id);
    if (!rc && !access_has_role(&r->who, ROLE_ADMIN))
        rc = -NA_EFORBIDDEN;
    if (!rc)
        rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "name", 0, validate_name, "1-200 characters", &name,
                     &has_name);
    if (!rc)
        rc = jin_id(r, r->body, "line_manager_id", JIN_NULLABLE, &manager, &has_manager);
    if (!rc && manager)
        rc = check_line_manager(r, manager);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_team_update(r->st, r->who.organisation_id, id, has_name ? name : NULL,
                               has_manager, manager);
    if (rc == -NA_ECONFLICT)
        return request_fail(r, rc, "name", "a team of this name exists");
    if (!rc)
        rc = api_audit(r, "team.update", "team", id, NULL);
    return rc ? rc : commit_team(r, 200, id);
}

int api_team_delete(struct request *r)
{
    int64_t id;
    int rc = request_param_id(r, 0, &id);
    if (!rc && !access_has_role(&r->who, ROLE_ADMIN))
        rc = -NA_EFORBIDDEN;
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_team_delete(r->st, r->who.organisation_id, id);
    if (!rc)
        rc = api_audit(r, "team.delete", "team", id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc ? rc : request_answer(r, 204, NULL);
}

/*
 * Adds (add true) or removes the user of the path to or from the team of the path. Admins
 * only: membership of a team gives its line manager the member's contact and next of kin.
 */
static int change_member(struct request *r, bool add)
{
    int64_t team_id, user_id;
    struct team_row t = {0};
    int rc = request_param_id(r, 0, &team_id);
    if (!rc)
        rc = request_param_id(r, 1, &user_id);
    /* Fetch first, so that a team of another organisation is 404, not 403. */
    if (!rc)
        rc = store_team_get(r->st, r->who.organisation_id, team_id, &t);
    team_row_fini(&t);
    if (!rc && !access_has_role(&r->who, ROLE_ADMIN))
        rc = -NA_EFORBIDDEN;
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = add ? store_team_add_member(r->st, r->who.organisation_id, team_id, user_id)
                 : store_team_remove_member(r->st, r->who.organisation_id, team_id, user_id);
    if (!rc)
        rc = api_audit(r, add ? "team.member_add" : "team.member_remove", "team", team_id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc ? rc : request_answer(r, 204, NULL);
}

int api_team_member_put(struct request *r)
{
    return change_member(r, true);
}

int api_team_member_delete(struct request *r)
{
    return change_member(r, false);
}
