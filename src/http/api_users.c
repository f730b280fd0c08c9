/* Users: people with roles, contact details, next of kin and vehicles. */
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "core/validate.h"
#include "http/json_in.h"
#include "http/api.h"
#include "http/render.h"
#include "store/store_watch.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

#define VEHICLES_MAX 10

int api_one_time_password(char otp[SECRET_OTP_LEN + 1], char hash[SECRET_PWHASH_MAX])
{
    secret_one_time_password(otp);
    return secret_password_hash(otp, strlen(otp), hash);
}

void api_lowercase(const char *s, char *dst, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        dst[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    dst[i] = '\0';
}

/* Reading someone else's next of kin or home address is audited (need to know). */
static bool read_is_audited(struct request *r, const struct user_row *u, enum user_layer layer)
{
    bool personal_data = u->next_of_kin.name || u->home_address;
    return layer >= USER_LAYER_PERSONAL && u->id != r->who.user_id && personal_data;
}

/* True when the caller is the accepted buddy of a planned or active visit of worker_id. */
static bool is_buddy_of(struct request *r, int64_t worker_id)
{
    struct visit_filter f = {.worker_id = worker_id, .buddy_id = r->who.user_id};
    struct visit_row *rows = NULL;
    size_t n = 0;
    bool buddy = false;
    if (worker_id == r->who.user_id ||
        store_visit_list(r->st, r->who.organisation_id, &f, 0, 100, &rows, &n))
        return false;
    for (size_t i = 0; i < n; i++)
        buddy = buddy || (rows[i].clock.state != VISIT_CLOSED && rows[i].buddy_accepted_at);
    visit_rows_free(rows, n);
    return buddy;
}

/*
 * The layer the caller sees. A buddy needs the worker's contact details and next of kin
 * while watching them (§6.18.2), and only then.
 */
static enum user_layer layer_for(struct request *r, const struct user_row *u)
{
    enum user_layer layer = access_user_layer(&r->who, u->id, u->team_ids, u->n_team_ids);
    if (layer < USER_LAYER_PERSONAL && is_buddy_of(r, u->id))
        layer = USER_LAYER_PERSONAL;
    return layer;
}

/*
 * Writes the audit events of showing rows[0..n) in layers[0..n) to the caller, in the
 * open transaction. (The layers are worked out once: for a buddy that takes a query.)
 */
static int audit_reads_in_tx(struct request *r, const struct user_row *rows,
                             const enum user_layer *layers, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (read_is_audited(r, &rows[i], layers[i]))
            rc = api_audit(r, "user.read_personal", "user", rows[i].id, NULL);
    return rc;
}

/* As audit_reads_in_tx, in a transaction of its own (when there is anything to write). */
static int audit_reads(struct request *r, const struct user_row *rows,
                       const enum user_layer *layers, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = read_is_audited(r, &rows[i], layers[i]);
    if (!any)
        return 0;
    int rc = store_begin(r->st);
    if (!rc)
        rc = audit_reads_in_tx(r, rows, layers, n);
    if (!rc)
        rc = store_commit(r->st);
    return rc;
}

/*
 * The user as the caller may see them, with the audit events of the read: in the open
 * transaction when in_tx, else in one of their own. Caller json_decrefs *out.
 */
static int user_json(struct request *r, int64_t user_id, bool in_tx, json_t **out)
{
    struct user_row u = {0};
    enum user_layer layer = USER_LAYER_DIRECTORY;
    int rc = store_user_get(r->st, r->who.organisation_id, user_id, &u);
    if (!rc) {
        layer = layer_for(r, &u);
        rc = in_tx ? audit_reads_in_tx(r, &u, &layer, 1) : audit_reads(r, &u, &layer, 1);
    }
    if (!rc && !(*out = render_user(&u, layer)))
        rc = -NA_ESTORE;
    user_row_fini(&u);
    return rc;
}

/* Commits the open transaction and answers with answer (taken); nothing fails after. */
static int commit_answer(struct request *r, int status, json_t *answer)
{
    int rc = store_commit(r->st);
    if (rc) {
        json_decref(answer);
        return rc;
    }
    return request_answer(r, status, answer);
}

static int list_filter(struct request *r, struct user_filter *f, char *username, size_t n)
{
    int rc = request_query_id(r, "team_id", &f->team_id);
    if (rc)
        return rc;
    const char *role = request_query(r, "role");
    if (role && !(f->roles = role_parse(role)))
        return request_fail(r, -NA_EMALFORMED, "role", "unknown role");
    const char *name = request_query(r, "username");
    if (name) {
        if (strlen(name) > USERNAME_MAX)
            return request_fail(r, -NA_EMALFORMED, "username", "too long");
        api_lowercase(name, username, n);
        f->username = username;
    }
    return 0;
}

int api_user_list(struct request *r)
{
    struct user_filter f = {0};
    char username[USERNAME_MAX + 1];
    int limit;
    int64_t after;
    int rc = list_filter(r, &f, username, sizeof username);
    if (!rc)
        rc = request_page(r, "after", &limit, &after);
    if (rc)
        return rc;
    struct user_row *rows = NULL;
    size_t n = 0;
    rc = store_user_list(r->st, r->who.organisation_id, &f, after, limit + 1, &rows, &n);
    if (rc)
        return rc;
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    enum user_layer *layers = xcalloc(shown, sizeof *layers);
    for (size_t i = 0; i < shown; i++)
        layers[i] = layer_for(r, &rows[i]);
    rc = audit_reads(r, rows, layers, shown);
    json_t *items = json_array();
    for (size_t i = 0; !rc && i < shown; i++)
        if (json_array_append_new(items, render_user(&rows[i], layers[i])))
            rc = -NA_ESTORE; /* a row that could not be rendered */
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    free(layers);
    user_rows_free(rows, n);
    if (rc) {
        json_decref(items);
        return rc;
    }
    return request_answer(r, 200, render_page(items, "next_after", next));
}

/* Profile fields anyone may set on their own record (and admins on anyone's). */
struct profile {
    const char *display_name, *email, *phone, *home_address;
    const char *nok_name, *nok_relation, *nok_phone;
    bool has_display_name, has_email, has_phone, has_home_address, has_nok;
};

static int read_next_of_kin(struct request *r, json_t *v, struct profile *p)
{
    static const char *const fields[] = {"name", "relation", "phone", NULL};
    bool present;
    if (json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return request_fail(r, -NA_EINVAL, "next_of_kin", "must be an object or null");
    int rc = jin_only(r, v, "next_of_kin.", fields);
    if (!rc)
        rc = jin_str(r, v, "next_of_kin.", "name", JIN_REQUIRED, validate_name, "1-200 characters",
                     &p->nok_name, &present);
    if (!rc)
        rc = jin_str(r, v, "next_of_kin.", "relation", JIN_NULLABLE, validate_relation,
                     "at most 100 characters", &p->nok_relation, &present);
    if (!rc)
        rc = jin_str(r, v, "next_of_kin.", "phone", JIN_NULLABLE, validate_phone,
                     "3-32 of 0-9 + - ( ) . and space", &p->nok_phone, &present);
    return rc;
}

static int read_profile(struct request *r, bool creating, struct profile *p)
{
    int rc = jin_str(r, r->body, NULL, "display_name", creating ? JIN_REQUIRED : 0, validate_name,
                     "1-200 characters", &p->display_name, &p->has_display_name);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "email", JIN_NULLABLE, validate_email,
                     "not an email address", &p->email, &p->has_email);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "phone", JIN_NULLABLE, validate_phone,
                     "3-32 of 0-9 + - ( ) . and space", &p->phone, &p->has_phone);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "home_address", JIN_NULLABLE, validate_address,
                     "1-500 characters", &p->home_address, &p->has_home_address);
    json_t *nok = json_object_get(r->body, "next_of_kin");
    p->has_nok = nok != NULL;
    if (!rc && nok)
        rc = read_next_of_kin(r, nok, p);
    return rc;
}

static void profile_to_new(const struct profile *p, struct user_new *u)
{
    u->display_name = p->display_name;
    u->email = p->email;
    u->phone = p->phone;
    u->home_address = p->home_address;
    u->nok_name = p->nok_name;
    u->nok_relation = p->nok_relation;
    u->nok_phone = p->nok_phone;
}

/* Creates the user and their team memberships in the open transaction. */
static int insert_user(struct request *r, struct user_new *u, const int64_t *teams, size_t n_teams,
                       int64_t *id)
{
    int rc = store_user_create(r->st, u, id);
    if (rc == -NA_ECONFLICT)
        return request_fail(r, rc, "username", "username taken");
    for (size_t i = 0; !rc && i < n_teams; i++) {
        rc = store_team_add_member(r->st, r->who.organisation_id, teams[i], *id);
        if (rc == -NA_ENOTFOUND)
            rc = request_fail(r, -NA_EINVAL, "team_ids", "no such team");
    }
    if (!rc)
        rc = api_audit(r, "user.create", "user", *id, NULL);
    return rc;
}

int api_user_create(struct request *r)
{
    static const char *const fields[] = {"username",    "display_name", "roles",
                                         "email",       "phone",        "home_address",
                                         "next_of_kin", "team_ids",     NULL};
    struct profile p = {0};
    struct user_new u = {.organisation_id = r->who.organisation_id, .now = r->now};
    const char *name;
    int64_t *teams = NULL, id;
    size_t n_teams = 0;
    bool present;
    char username[USERNAME_MAX + 1], otp[SECRET_OTP_LEN + 1], hash[SECRET_PWHASH_MAX];
    if (!access_has_role(&r->who, ROLE_ADMIN))
        return -NA_EFORBIDDEN;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "username", JIN_REQUIRED, NULL, NULL, &name, &present);
    if (!rc) {
        api_lowercase(name, username, sizeof username);
        if (strlen(name) > USERNAME_MAX || validate_username(username))
            rc = request_fail(r, -NA_EINVAL, "username",
                              "1-64 of a-z 0-9 . _ -, starting with a letter or digit");
    }
    if (!rc)
        rc = jin_roles(r, r->body, "roles", JIN_REQUIRED, &u.roles, &present);
    if (!rc)
        rc = read_profile(r, true, &p);
    if (!rc)
        rc = jin_ids(r, r->body, "team_ids", 100, &teams, &n_teams, &present);
    if (!rc)
        rc = api_one_time_password(otp, hash);
    if (!rc) {
        u.username = username;
        u.password_hash = hash;
        u.password_change_required = true;
        profile_to_new(&p, &u);
        rc = store_begin(r->st);
    }
    if (!rc)
        rc = insert_user(r, &u, teams, n_teams, &id);
    free(teams);
    /* Built before the commit: once committed, the one-time password must reach the caller. */
    json_t *user = NULL, *answer = NULL;
    if (!rc)
        rc = user_json(r, id, true, &user);
    if (!rc && !(answer = json_pack("{s:O,s:s}", "user", user, "one_time_password", otp)))
        rc = -NA_ESTORE;
    json_decref(user);
    if (rc)
        return rc;
    rc = commit_answer(r, 201, answer);
    if (!rc)
        log_info("user_created", "user_id=%lld by=%lld", (long long)id, (long long)r->who.user_id);
    return rc;
}

int api_user_get(struct request *r)
{
    int64_t id;
    json_t *answer = NULL;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = user_json(r, id, false, &answer);
    return rc ? rc : request_answer(r, 200, answer);
}

static void profile_to_patch(const struct profile *p, struct user_patch *u)
{
    u->set_display_name = p->has_display_name;
    u->display_name = p->display_name;
    u->set_email = p->has_email;
    u->email = p->email;
    u->set_phone = p->has_phone;
    u->phone = p->phone;
    u->set_home_address = p->has_home_address;
    u->home_address = p->home_address;
    u->set_next_of_kin = p->has_nok;
    u->nok_name = p->nok_name;
    u->nok_relation = p->nok_relation;
    u->nok_phone = p->nok_phone;
}

/* Refuses a change that would leave the organisation with no enabled admin. */
static int keep_an_admin(struct request *r, const struct user_row *before,
                         const struct user_patch *p)
{
    bool was_admin = (before->roles & ROLE_ADMIN) && !before->disabled;
    bool stays_admin = ((p->set_roles ? p->roles : before->roles) & ROLE_ADMIN) &&
                       !(p->set_disabled ? p->disabled : before->disabled);
    if (!was_admin || stays_admin)
        return 0;
    int64_t admins;
    /* Two admins disabling each other at once on two nodes: the second counts after the
     * first committed. */
    int rc = store_org_lock(r->st, r->who.organisation_id);
    if (!rc)
        rc = store_user_count_with_roles(r->st, r->who.organisation_id, ROLE_ADMIN, &admins);
    if (!rc && admins <= 1)
        rc = request_fail(r, -NA_ECONFLICT, p->set_roles ? "roles" : "disabled",
                          "the organisation would have no administrator");
    return rc;
}

static int read_patch(struct request *r, int64_t target, struct user_patch *p)
{
    static const char *const fields[] = {"display_name", "email", "phone",    "home_address",
                                         "next_of_kin",  "roles", "disabled", NULL};
    struct profile prof = {0};
    if (!access_can_edit_profile(&r->who, target))
        return -NA_EFORBIDDEN;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = read_profile(r, false, &prof);
    if (!rc)
        rc = jin_roles(r, r->body, "roles", 0, &p->roles, &p->set_roles);
    if (!rc)
        rc = jin_bool(r, r->body, "disabled", 0, &p->disabled, &p->set_disabled);
    if (rc)
        return rc;
    profile_to_patch(&prof, p);
    bool admin = access_has_role(&r->who, ROLE_ADMIN);
    if (!admin && (p->set_roles || p->set_disabled))
        return request_fail(r, -NA_EFORBIDDEN, p->set_roles ? "roles" : "disabled",
                            "only an admin may change this");
    return 0;
}

int api_user_update(struct request *r)
{
    struct user_patch p = {.now = r->now};
    struct user_row before = {0};
    int64_t id;
    int rc = request_param_id(r, 0, &id);
    /* Looked up first, so that a user of another organisation is 404, not 403. */
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, id, &before);
    user_row_fini(&before);
    if (!rc)
        rc = read_patch(r, id, &p);
    if (!rc)
        rc = store_begin(r->st);
    /* Read again under the write lock: whether the user is an admin decides the check. */
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, id, &before);
    if (!rc)
        rc = keep_an_admin(r, &before, &p);
    if (!rc)
        rc = store_user_update(r->st, r->who.organisation_id, id, &p);
    if (!rc && p.set_disabled && p.disabled)
        rc = store_sessions_revoke_user_except(r->st, id, 0, r->now);
    if (!rc)
        rc = api_audit(r, "user.update", "user", id, p.set_roles ? "roles" : NULL);
    json_t *answer = NULL;
    if (!rc)
        rc = user_json(r, id, true, &answer);
    user_row_fini(&before);
    return rc ? rc : commit_answer(r, 200, answer);
}

int api_user_password_reset(struct request *r)
{
    static const char *const fields[] = {NULL};
    char otp[SECRET_OTP_LEN + 1], hash[SECRET_PWHASH_MAX];
    struct user_row u = {0};
    int64_t id;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, id, &u);
    user_row_fini(&u);
    if (!rc && !access_has_role(&r->who, ROLE_ADMIN))
        rc = -NA_EFORBIDDEN;
    /* A device's key must not mint passwords: a stolen one would take over any account. */
    if (!rc && r->who.via_api_key)
        rc = request_fail(r, -NA_EFORBIDDEN, NULL, "passwords are reset from a login session");
    if (!rc)
        rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = api_one_time_password(otp, hash);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_user_set_password(r->st, r->who.organisation_id, id, hash, true, r->now);
    if (!rc)
        rc = store_sessions_revoke_user_except(r->st, id, 0, r->now);
    /* A reset is also for a lost phone: its key goes with the sessions. */
    if (!rc)
        rc = store_api_keys_revoke_user(r->st, r->who.organisation_id, id, r->now);
    if (!rc)
        rc = api_audit(r, "password.reset", "user", id, NULL);
    json_t *answer = NULL;
    if (!rc && !(answer = json_pack("{s:s}", "one_time_password", otp)))
        rc = -NA_ESTORE;
    return rc ? rc : commit_answer(r, 200, answer);
}

/* ---- vehicles (§6.17.4: in the information pack when a worker drives) ---- */

int api_vehicle_list(struct request *r)
{
    struct user_row u = {0};
    int64_t id;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, id, &u);
    if (!rc && access_user_layer(&r->who, u.id, u.team_ids, u.n_team_ids) < USER_LAYER_CONTACT)
        rc = -NA_EFORBIDDEN;
    if (!rc) {
        json_t *items = json_array();
        for (size_t i = 0; !rc && i < u.n_vehicles; i++)
            if (json_array_append_new(items, render_vehicle(&u.vehicles[i])))
                rc = -NA_ESTORE;
        if (rc)
            json_decref(items);
        else
            request_answer(r, 200, render_page(items, "next_after", 0));
    }
    user_row_fini(&u);
    return rc;
}

static int read_vehicle(struct request *r, const char *v[4])
{
    static const char *const fields[] = {"registration", "make", "model", "colour", NULL};
    bool present;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "registration", JIN_REQUIRED, validate_registration,
                     "1-16 characters", &v[0], &present);
    for (int i = 1; !rc && i < 4; i++)
        rc = jin_str(r, r->body, NULL, fields[i], JIN_NULLABLE, validate_vehicle_field,
                     "at most 64 characters", &v[i], &present);
    return rc;
}

int api_vehicle_add(struct request *r)
{
    struct user_row u = {0};
    const char *v[4] = {0};
    int64_t id, vehicle_id;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, id, &u);
    if (!rc && !access_can_edit_profile(&r->who, id))
        rc = -NA_EFORBIDDEN;
    if (!rc)
        rc = read_vehicle(r, v);
    user_row_fini(&u);
    if (!rc)
        rc = store_begin(r->st);
    /* Counted under the write lock: adds sent at once would each see room for one more. */
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, id, &u);
    if (!rc && u.n_vehicles >= VEHICLES_MAX)
        rc = request_fail(r, -NA_EINVAL, "registration", "at most 10 vehicles per user");
    user_row_fini(&u);
    if (!rc)
        rc = store_vehicle_add(r->st, r->who.organisation_id, id, v[0], v[1], v[2], v[3],
                               &vehicle_id);
    if (!rc)
        rc = api_audit(r, "vehicle.add", "user", id, NULL);
    if (rc)
        return rc;
    struct vehicle_row row = {.id = vehicle_id,
                              .user_id = id,
                              .registration = (char *)v[0],
                              .make = (char *)v[1],
                              .model = (char *)v[2],
                              .colour = (char *)v[3]};
    json_t *answer = render_vehicle(&row);
    return answer ? commit_answer(r, 201, answer) : -NA_ESTORE;
}

int api_vehicle_delete(struct request *r)
{
    struct user_row u = {0};
    int64_t id, vehicle_id;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = request_param_id(r, 1, &vehicle_id);
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, id, &u);
    user_row_fini(&u);
    if (!rc && !access_can_edit_profile(&r->who, id))
        rc = -NA_EFORBIDDEN;
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_vehicle_delete(r->st, r->who.organisation_id, id, vehicle_id);
    if (!rc)
        rc = api_audit(r, "vehicle.delete", "user", id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc ? rc : request_answer(r, 204, NULL);
}
