#ifndef NA_HTTP_ROUTER_H
#define NA_HTTP_ROUTER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Route matching: patterns are paths whose segments are literal or "{name}", which
 * matches any one non-empty segment. Pure: no I/O, no allocation.
 */

#define ROUTER_MAX_PARAMS   3
#define ROUTER_MAX_SEGMENTS 12

struct route_params {
    size_t n;
    const char *names[ROUTER_MAX_PARAMS]; /* borrowed from the pattern, not NUL-ended */
    size_t name_lens[ROUTER_MAX_PARAMS];
    const char *values[ROUTER_MAX_PARAMS]; /* borrowed from the path */
    size_t value_lens[ROUTER_MAX_PARAMS];
};

/* True when path matches pattern; captures the {params} into *out (may be NULL). */
int router_match(const char *pattern, const char *path, struct route_params *out);

#endif
