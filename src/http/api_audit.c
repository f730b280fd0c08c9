/* The audit log: who changed what, and who read whose personal data. */
#include "core/roles.h"
#include "http/api.h"
#include "http/render.h"
#include "util/error.h"

int api_audit(struct request *r, const char *action, const char *target_type, int64_t target_id,
              const char *detail)
{
    struct audit_event e = {.organisation_id = r->who.organisation_id,
                            .actor_user_id = r->who.user_id,
                            .action = action,
                            .target_type = target_type,
                            .target_id = target_id,
                            .detail = detail,
                            .at = r->now};
    return store_audit_append(r->st, &e);
}

int api_audit_list(struct request *r)
{
    if (!access_has_role(&r->who, ROLE_ADMIN | ROLE_LSMS))
        return -NA_EFORBIDDEN;
    int limit;
    int64_t before;
    int rc = request_page(r, "before", &limit, &before);
    if (rc)
        return rc;
    struct audit_row *rows = NULL;
    size_t n = 0;
    rc = store_audit_list(r->st, r->who.organisation_id, before, limit + 1, &rows, &n);
    if (rc)
        return rc;
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(items, render_audit(&rows[i]));
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    audit_rows_free(rows, n);
    if (json_array_size(items) != shown) { /* a row that could not be rendered */
        json_decref(items);
        return -NA_ESTORE;
    }
    return request_answer(r, 200, render_page(items, "next_before", next));
}
