#include <string.h>

#include "http/api.h"
#include "util/error.h"
#include "util/str.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX     200

int request_param_id(struct request *r, size_t i, int64_t *out)
{
    if (i >= r->params.n)
        return -NA_ENOTFOUND;
    struct slice s = {r->params.values[i], r->params.value_lens[i]};
    /* "abc", "-1" or an id past int64 names nothing that can exist. */
    if (parse_int64(s, 1, INT64_MAX, out))
        return -NA_ENOTFOUND;
    return 0;
}

int request_query_id(struct request *r, const char *name, int64_t *out)
{
    const char *v = request_query(r, name);
    *out = 0;
    if (!v)
        return 0;
    if (parse_int64(slice_of(v), 1, INT64_MAX, out))
        return request_fail(r, -NA_EMALFORMED, name, "must be a positive integer");
    return 0;
}

int request_page(struct request *r, const char *cursor_name, int *limit, int64_t *cursor)
{
    const char *l = request_query(r, "limit");
    int64_t v = PAGE_DEFAULT;
    if (l && parse_int64(slice_of(l), 1, PAGE_MAX, &v))
        return request_fail(r, -NA_EMALFORMED, "limit", "must be an integer from 1 to 200");
    *limit = (int)v;
    return request_query_id(r, cursor_name, cursor);
}
