#include "http/json_in.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "util/alloc.h"
#include "util/error.h"

static int fail(struct request *r, const char *prefix, const char *key, const char *why)
{
    char field[128];
    snprintf(field, sizeof field, "%s%s", prefix ? prefix : "", key);
    return request_fail(r, -NA_EINVAL, field, why);
}

int jin_only(struct request *r, json_t *obj, const char *prefix, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        (void)v;
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known) {
            /* The key comes from the client: name it, but never more than fits. */
            return fail(r, prefix, strlen(key) > 64 ? "(long key)" : key, "unknown field");
        }
    }
    return 0;
}

/* Common start: finds key; returns 1 when absent or null (and allowed), 0 to go on. */
static int lookup(struct request *r, json_t *obj, const char *prefix, const char *key,
                  unsigned flags, json_t **v, bool *present, int *rc)
{
    *v = json_object_get(obj, key);
    *present = *v != NULL;
    *rc = 0;
    if (!*v) {
        if (flags & JIN_REQUIRED)
            *rc = fail(r, prefix, key, "required");
        return 1;
    }
    if (json_is_null(*v)) {
        if (!(flags & JIN_NULLABLE) || (flags & JIN_REQUIRED))
            *rc = fail(r, prefix, key, "must not be null");
        return 1;
    }
    return 0;
}

int jin_str(struct request *r, json_t *obj, const char *prefix, const char *key, unsigned flags,
            int (*check)(const char *), const char *why, const char **out, bool *present)
{
    json_t *v;
    int rc;
    *out = NULL;
    if (lookup(r, obj, prefix, key, flags, &v, present, &rc))
        return rc;
    if (!json_is_string(v))
        return fail(r, prefix, key, "must be a string");
    const char *s = json_string_value(v);
    if (check && check(s))
        return fail(r, prefix, key, why);
    *out = s;
    return 0;
}

int jin_id(struct request *r, json_t *obj, const char *key, unsigned flags, int64_t *out,
           bool *present)
{
    json_t *v;
    int rc;
    *out = 0;
    if (lookup(r, obj, NULL, key, flags, &v, present, &rc))
        return rc;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return fail(r, NULL, key, "must be a positive integer id");
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int jin_bool(struct request *r, json_t *obj, const char *key, unsigned flags, bool *out,
             bool *present)
{
    json_t *v;
    int rc;
    if (lookup(r, obj, NULL, key, flags, &v, present, &rc))
        return rc;
    if (!json_is_boolean(v))
        return fail(r, NULL, key, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

int jin_roles(struct request *r, json_t *obj, const char *key, unsigned flags, unsigned *out,
              bool *present)
{
    json_t *v, *item;
    int rc;
    size_t i;
    *out = 0;
    if (lookup(r, obj, NULL, key, flags, &v, present, &rc))
        return rc;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > ROLE_MAX_COUNT)
        return fail(r, NULL, key, "must be a list of 1 to 6 roles");
    json_array_foreach(v, i, item)
    {
        unsigned bit = json_is_string(item) ? role_parse(json_string_value(item)) : 0;
        if (!bit)
            return fail(r, NULL, key,
                        "unknown role (worker, manager, senior_manager, lsms, operator, admin)");
        if (*out & bit)
            return fail(r, NULL, key, "a role is listed twice");
        *out |= bit;
    }
    return 0;
}

int jin_ids(struct request *r, json_t *obj, const char *key, size_t max, int64_t **out, size_t *n,
            bool *present)
{
    json_t *v, *item;
    int rc;
    size_t i;
    *out = NULL;
    *n = 0;
    if (lookup(r, obj, NULL, key, 0, &v, present, &rc))
        return rc;
    if (!json_is_array(v) || json_array_size(v) > max)
        return fail(r, NULL, key, "must be a list of at most 100 ids");
    int64_t *ids = xcalloc(json_array_size(v) + 1, sizeof *ids);
    json_array_foreach(v, i, item)
    {
        if (!json_is_integer(item) || json_integer_value(item) <= 0) {
            free(ids);
            return fail(r, NULL, key, "ids must be positive integers");
        }
        ids[i] = (int64_t)json_integer_value(item);
        for (size_t j = 0; j < i; j++) {
            if (ids[j] == ids[i]) {
                free(ids);
                return fail(r, NULL, key, "an id is listed twice");
            }
        }
    }
    *out = ids;
    *n = json_array_size(v);
    return 0;
}
