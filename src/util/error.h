#ifndef NA_UTIL_ERROR_H
#define NA_UTIL_ERROR_H

/*
 * Error codes shared by every module. Fallible functions return 0 on success or one of
 * these, negated (return -NA_ENOTFOUND). na_error_status() and na_error_code() are the one
 * table that maps them to an HTTP status and the API's error code string.
 */
enum na_error {
    NA_OK = 0,
    NA_EINVAL,       /* a field is present but invalid (422 invalid_field) */
    NA_EMALFORMED,   /* the request cannot be parsed (400 malformed_request) */
    NA_EAUTH,        /* no or bad credentials (401 unauthenticated) */
    NA_EBADLOGIN,    /* wrong username or password (401 invalid_credentials) */
    NA_EFORBIDDEN,   /* authenticated but not allowed (403 forbidden) */
    NA_EPWCHANGE,    /* one-time password must be changed first (403 password_change_required) */
    NA_ENOTFOUND,    /* no such record, or not visible to the caller (404 not_found) */
    NA_EMETHOD,      /* route exists, method does not (405 method_not_allowed) */
    NA_ECONFLICT,    /* unique key or state conflict (409 conflict) */
    NA_ETOOBIG,      /* body or buffer over its limit (413 payload_too_large) */
    NA_EMEDIATYPE,   /* body is not application/json (415 unsupported_media_type) */
    NA_ERATE,        /* too many attempts; retry later (429 too_many_attempts) */
    NA_ESTORE,       /* storage failed (500 internal) */
    NA_EUNAVAILABLE, /* storage busy or not ready; safe to retry (503 unavailable) */
    NA_EVERSION,     /* database schema is newer than this binary */
    NA_EIO,          /* file or network I/O failed */
    NA_ECSRF, /* a cookie session's unsafe request without its CSRF token (403 csrf_failed) */
    NA_ERROR_COUNT
};

/* HTTP status for an error code (positive or negated); 500 for unknown codes. */
int na_error_status(int err);

/* API error code string ("not_found"); static storage, never NULL. */
const char *na_error_code(int err);

/* Short human-readable default message; static storage, never NULL. */
const char *na_error_message(int err);

#endif
