#include "util/error.h"

#include <stdlib.h>

struct error_entry {
    int status;
    const char *code;
    const char *message;
};

static const struct error_entry errors[NA_ERROR_COUNT] = {
    [NA_OK] = {200, "ok", "ok"},
    [NA_EINVAL] = {422, "invalid_field", "a field is invalid"},
    [NA_EMALFORMED] = {400, "malformed_request", "the request could not be parsed"},
    [NA_EAUTH] = {401, "unauthenticated", "authentication required"},
    [NA_EBADLOGIN] = {401, "invalid_credentials", "wrong username or password"},
    [NA_EFORBIDDEN] = {403, "forbidden", "not allowed for your roles"},
    [NA_EPWCHANGE] = {403, "password_change_required", "set a new password first"},
    [NA_ENOTFOUND] = {404, "not_found", "not found"},
    [NA_EMETHOD] = {405, "method_not_allowed", "method not allowed on this route"},
    [NA_ECONFLICT] = {409, "conflict", "conflicts with existing data"},
    [NA_ETOOBIG] = {413, "payload_too_large", "request body too large"},
    [NA_EMEDIATYPE] = {415, "unsupported_media_type", "body must be application/json"},
    [NA_ERATE] = {429, "too_many_attempts", "too many attempts; retry later"},
    [NA_ESTORE] = {500, "internal", "internal error"},
    [NA_EUNAVAILABLE] = {503, "unavailable", "temporarily unavailable; retry"},
    [NA_EVERSION] = {500, "internal", "database schema is newer than this server"},
    [NA_EIO] = {500, "internal", "input/output error"},
    [NA_ECSRF] = {403, "csrf_failed", "missing or wrong CSRF token"},
};

static const struct error_entry *lookup(int err)
{
    /* Range check before negating: -INT_MIN overflows. */
    if (err == 0 || err <= -NA_ERROR_COUNT || err >= NA_ERROR_COUNT)
        return &errors[NA_ESTORE];
    int e = err < 0 ? -err : err;
    return &errors[e];
}

int na_error_status(int err)
{
    return lookup(err)->status;
}

const char *na_error_code(int err)
{
    return lookup(err)->code;
}

const char *na_error_message(int err)
{
    return lookup(err)->message;
}
