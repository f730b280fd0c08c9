/* Organisations: the tenants. The host organisation's admins create the others. */
#include <string.h>

#include "core/roles.h"
#include "core/validate.h"
#include "http/json_in.h"
#include "http/api.h"
#include "http/render.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

static bool is_host_admin(const struct request *r)
{
    return r->who.org_is_host && access_has_role(&r->who, ROLE_ADMIN);
}

int api_org_list(struct request *r)
{
    int limit;
    int64_t after;
    int rc = request_page(r, "after", &limit, &after);
    if (rc)
        return rc;
    struct org_row *rows = NULL;
    size_t n = 0;
    if (is_host_admin(r)) {
        rc = store_org_list(r->st, after, limit + 1, &rows, &n);
    } else if (after < r->who.organisation_id) {
        rows = xcalloc(1, sizeof *rows);
        rc = store_org_get(r->st, r->who.organisation_id, rows);
        n = rc ? 0 : 1;
    }
    if (rc) {
        org_rows_free(rows, n);
        return rc;
    }
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(items, render_org(&rows[i]));
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    org_rows_free(rows, n);
    if (json_array_size(items) != shown) { /* a row that could not be rendered */
        json_decref(items);
        return -NA_ESTORE;
    }
    return request_answer(r, 200, render_page(items, "next_after", next));
}

struct new_admin {
    char username[USERNAME_MAX + 1]; /* lowercased */
    const char *display_name, *email;
};

static int read_new_admin(struct request *r, json_t *admin, struct new_admin *a)
{
    static const char *const fields[] = {"username", "display_name", "email", NULL};
    bool present;
    if (!json_is_object(admin))
        return request_fail(r, -NA_EINVAL, "admin", "must be an object");
    const char *username;
    int rc = jin_only(r, admin, "admin.", fields);
    if (!rc)
        rc = jin_str(r, admin, "admin.", "username", JIN_REQUIRED, NULL, NULL, &username, &present);
    /* Lowercased before it is checked, as usernames are everywhere else. */
    if (!rc) {
        api_lowercase(username, a->username, sizeof a->username);
        if (strlen(username) > USERNAME_MAX || validate_username(a->username))
            rc = request_fail(r, -NA_EINVAL, "admin.username",
                              "1-64 of a-z 0-9 . _ -, starting with a letter or digit");
    }
    if (!rc)
        rc = jin_str(r, admin, "admin.", "display_name", JIN_REQUIRED, validate_name,
                     "1-200 characters", &a->display_name, &present);
    if (!rc)
        rc = jin_str(r, admin, "admin.", "email", JIN_NULLABLE, validate_email,
                     "not an email address", &a->email, &present);
    return rc;
}

/* The answer to a creation, read back in the open transaction. Caller json_decrefs *out. */
static int created_org_json(struct request *r, int64_t org_id, int64_t admin_id, const char *otp,
                            json_t **out)
{
    struct org_row o = {0};
    struct user_row u = {0};
    int rc = store_org_get(r->st, org_id, &o);
    if (!rc)
        rc = store_user_get(r->st, org_id, admin_id, &u);
    if (!rc && !(*out = json_pack("{s:o,s:o,s:s}", "organisation", render_org(&o), "admin",
                                  render_user(&u, USER_LAYER_PRIVATE), "one_time_password", otp)))
        rc = -NA_ESTORE;
    org_row_fini(&o);
    user_row_fini(&u);
    return rc;
}

int api_org_create(struct request *r)
{
    static const char *const fields[] = {"name", "admin", NULL};
    const char *name;
    bool present;
    struct new_admin a = {0};
    if (!is_host_admin(r))
        return -NA_EFORBIDDEN;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "name", JIN_REQUIRED, validate_name, "1-200 characters",
                     &name, &present);
    if (!rc)
        rc = read_new_admin(r, json_object_get(r->body, "admin"), &a);
    if (rc)
        return rc;
    char otp[SECRET_OTP_LEN + 1], hash[SECRET_PWHASH_MAX];
    rc = api_one_time_password(otp, hash);
    if (rc)
        return rc;
    int64_t org_id, admin_id;
    json_t *answer = NULL;
    rc = store_begin(r->st);
    if (!rc)
        rc = store_org_create(r->st, name, false, r->now, &org_id);
    if (!rc) {
        struct user_new u = {.organisation_id = org_id,
                             .username = a.username,
                             .display_name = a.display_name,
                             .email = a.email,
                             .roles = ROLE_ADMIN,
                             .password_hash = hash,
                             .password_change_required = true,
                             .now = r->now};
        rc = store_user_create(r->st, &u, &admin_id);
        if (rc == -NA_ECONFLICT)
            return request_fail(r, rc, "admin.username", "username taken");
    }
    if (!rc)
        rc = api_audit(r, "organisation.create", "organisation", org_id, NULL);
    /* Built before the commit: once committed, the one-time password must reach the caller. */
    if (!rc)
        rc = created_org_json(r, org_id, admin_id, otp, &answer);
    if (!rc)
        rc = store_commit(r->st);
    if (rc) {
        json_decref(answer);
        return rc;
    }
    log_info("organisation_created", "organisation_id=%lld admin_id=%lld", (long long)org_id,
             (long long)admin_id);
    return request_answer(r, 201, answer);
}

/* The organisation of the path, if the caller may see it. */
static int visible_org(struct request *r, int64_t *id)
{
    int rc = request_param_id(r, 0, id);
    if (rc)
        return rc;
    if (*id != r->who.organisation_id && !is_host_admin(r))
        return -NA_ENOTFOUND;
    return 0;
}

int api_org_get(struct request *r)
{
    int64_t id;
    struct org_row o = {0};
    int rc = visible_org(r, &id);
    if (!rc)
        rc = store_org_get(r->st, id, &o);
    if (!rc)
        request_answer(r, 200, render_org(&o));
    org_row_fini(&o);
    return rc;
}

int api_org_update(struct request *r)
{
    static const char *const fields[] = {"name", NULL};
    int64_t id;
    const char *name;
    bool present;
    int rc = visible_org(r, &id);
    if (rc)
        return rc;
    if (id != r->who.organisation_id || !access_has_role(&r->who, ROLE_ADMIN))
        return -NA_EFORBIDDEN;
    rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "name", 0, validate_name, "1-200 characters", &name,
                     &present);
    if (rc)
        return rc;
    struct org_row o = {0};
    json_t *answer = NULL;
    rc = store_begin(r->st);
    if (!rc && present)
        rc = store_org_rename(r->st, id, name);
    if (!rc && present)
        rc = api_audit(r, "organisation.update", "organisation", id, NULL);
    if (!rc)
        rc = store_org_get(r->st, id, &o);
    if (!rc && !(answer = render_org(&o)))
        rc = -NA_ESTORE;
    if (!rc)
        rc = store_commit(r->st);
    org_row_fini(&o);
    if (rc) {
        json_decref(answer);
        return rc;
    }
    return request_answer(r, 200, answer);
}
