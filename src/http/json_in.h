#ifndef NA_HTTP_JSON_IN_H
#define NA_HTTP_JSON_IN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/api.h"

/*
 * Reading fields of a request's JSON object with the rules of docs/api.md. Each function
 * returns 0 or -NA_EINVAL after recording the field (prefix + key) and the reason in the
 * request, so a handler can simply return the code. Strings are borrowed from the JSON
 * object and valid while it lives.
 */

enum jin_flags {
    JIN_REQUIRED = 1u << 0, /* absent is an error */
    JIN_NULLABLE = 1u << 1, /* null is allowed (and read as NULL / "clear") */
};

/* Refuses any key of obj not in allowed (a NULL-terminated list). */
int jin_only(struct request *r, json_t *obj, const char *prefix, const char *const *allowed);

/*
 * A string field checked by check (a validate_* function; NULL for none). *present says
 * whether the key was there; *out is NULL for null or absent.
 */
int jin_str(struct request *r, json_t *obj, const char *prefix, const char *key, unsigned flags,
            int (*check)(const char *), const char *why, const char **out, bool *present);
/* A positive integer id (or null with JIN_NULLABLE, read as 0). */
int jin_id(struct request *r, json_t *obj, const char *key, unsigned flags, int64_t *out,
           bool *present);
int jin_bool(struct request *r, json_t *obj, const char *key, unsigned flags, bool *out,
             bool *present);
/* An array of 1-6 distinct role names into a role mask. */
int jin_roles(struct request *r, json_t *obj, const char *key, unsigned flags, unsigned *out,
              bool *present);
/* An array of at most max distinct positive ids. Caller frees *out. */
int jin_ids(struct request *r, json_t *obj, const char *key, size_t max, int64_t **out, size_t *n,
            bool *present);

#endif
