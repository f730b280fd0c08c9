/* API keys: long-lived credentials for devices and integrations, acting as their user. */
#include <stdio.h>
#include <string.h>

#include "core/roles.h"
#include "core/validate.h"
#include "http/json_in.h"
#include "http/api.h"
#include "http/render.h"
#include "util/error.h"
#include "util/log.h"

/* Characters of a key kept to recognise it in lists ("na_k_" and 6 hex digits). */
#define KEY_PREFIX_LEN 11

int api_key_list(struct request *r)
{
    int limit;
    int64_t after, user_id;
    int rc = request_page(r, "after", &limit, &after);
    if (!rc)
        rc = request_query_id(r, "user_id", &user_id);
    if (rc)
        return rc;
    if (!access_has_role(&r->who, ROLE_ADMIN))
        user_id = r->who.user_id; /* everyone else sees only their own */
    struct api_key_row *rows = NULL;
    size_t n = 0;
    rc = store_api_key_list(r->st, r->who.organisation_id, user_id, after, limit + 1, &rows, &n);
    if (rc)
        return rc;
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(items, render_api_key(&rows[i]));
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    api_key_rows_free(rows, n);
    if (json_array_size(items) != shown) { /* a row that could not be rendered */
        json_decref(items);
        return -NA_ESTORE;
    }
    return request_answer(r, 200, render_page(items, "next_after", next));
}

/* The user a new key is for: the caller, or (for admins) a user of the organisation. */
static int key_owner(struct request *r, int64_t *user_id)
{
    bool present;
    int rc = jin_id(r, r->body, "user_id", JIN_NULLABLE, user_id, &present);
    if (rc)
        return rc;
    if (!*user_id || *user_id == r->who.user_id) {
        *user_id = r->who.user_id;
        return 0;
    }
    if (!access_has_role(&r->who, ROLE_ADMIN))
        return request_fail(r, -NA_EFORBIDDEN, "user_id", "only admins create keys for others");
    struct user_row u = {0};
    rc = store_user_get(r->st, r->who.organisation_id, *user_id, &u);
    user_row_fini(&u);
    if (rc == -NA_ENOTFOUND)
        return request_fail(r, -NA_EINVAL, "user_id", "no such user");
    return rc;
}

int api_key_create(struct request *r)
{
    static const char *const fields[] = {"name", "user_id", NULL};
    const char *name;
    bool present;
    int64_t user_id, id;
    if (r->who.via_api_key)
        return request_fail(r, -NA_EFORBIDDEN, NULL, "keys are created from a login session");
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "name", JIN_REQUIRED, validate_api_key_name,
                     "1-100 characters", &name, &present);
    if (!rc)
        rc = key_owner(r, &user_id);
    if (rc)
        return rc;
    char key[SECRET_TOKEN_LEN + 1], hash[SECRET_HASH_HEX + 1], prefix[KEY_PREFIX_LEN + 1];
    secret_token_new("na_k_", key, sizeof key);
    secret_hash_hex(key, strlen(key), hash);
    memcpy(prefix, key, KEY_PREFIX_LEN);
    prefix[KEY_PREFIX_LEN] = '\0';
    struct api_key_row row = {0};
    json_t *answer = NULL;
    rc = store_begin(r->st);
    if (!rc)
        rc = store_api_key_create(r->st, r->who.organisation_id, user_id, name, prefix, hash,
                                  r->now, &id);
    if (!rc)
        rc = api_audit(r, "api_key.create", "api_key", id, NULL);
    /* Built before the commit: once committed, the key must reach the caller. */
    if (!rc)
        rc = store_api_key_get(r->st, r->who.organisation_id, id, &row);
    if (!rc && !(answer = json_pack("{s:o,s:s}", "api_key", render_api_key(&row), "key", key)))
        rc = -NA_ESTORE;
    if (!rc)
        rc = store_commit(r->st);
    api_key_row_fini(&row);
    if (rc) {
        json_decref(answer);
        return rc;
    }
    log_info("api_key_created", "api_key_id=%lld user_id=%lld", (long long)id, (long long)user_id);
    return request_answer(r, 201, answer);
}

int api_key_delete(struct request *r)
{
    struct api_key_row row = {0};
    int64_t id;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_api_key_get(r->st, r->who.organisation_id, id, &row);
    if (!rc && row.user_id != r->who.user_id && !access_has_role(&r->who, ROLE_ADMIN))
        rc = -NA_EFORBIDDEN;
    api_key_row_fini(&row);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_api_key_revoke(r->st, r->who.organisation_id, id, r->now);
    if (!rc)
        rc = api_audit(r, "api_key.revoke", "api_key", id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc ? rc : request_answer(r, 204, NULL);
}
