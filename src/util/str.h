#ifndef NA_UTIL_STR_H
#define NA_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed (ptr, len) string, as strings cross module boundaries. Not NUL-terminated. */
struct slice {
    const char *ptr;
    size_t len;
};

/* Slice of a NUL-terminated string (borrowed). */
struct slice slice_of(const char *s);
/* True when the slice equals the NUL-terminated string s. */
bool slice_eq(struct slice a, const char *s);

/*
 * Parses a whole slice as a decimal int64 in [min, max]; no sign other than a leading '-',
 * no spaces, no trailing text. -NA_EINVAL otherwise.
 */
int parse_int64(struct slice s, int64_t min, int64_t max, int64_t *out);

/*
 * Parses a duration: plain seconds ("90") or with a unit suffix s, m, h, d ("20m", "12h").
 * -NA_EINVAL when malformed or over max_seconds.
 */
int parse_duration_s(const char *s, int64_t max_seconds, int64_t *out_seconds);

/* Lowercase hex of n bytes into dst (size >= 2n+1). */
/* FNV-1a of a NUL-terminated string: cheap and spread enough for small caches' keys. */
uint32_t str_hash(const char *s);

void hex_encode(const unsigned char *src, size_t n, char *dst);

#endif
