#ifndef NA_UTIL_COOKIE_H
#define NA_UTIL_COOKIE_H

#include "util/str.h"

/*
 * Reading one cookie from a request's Cookie header (RFC 6265, section 4.2.1): pairs
 * "name=value" separated by ";" and optional spaces. Pure: no allocation.
 */

/* Longest Cookie header read; a longer one is taken for no cookies at all. */
#define COOKIE_HEADER_MAX 8192

/*
 * The value of cookie name in header (NULL: no header) into *out, borrowed from header.
 * -NA_ENOTFOUND when it is not there; -NA_EMALFORMED when the header is longer than
 * COOKIE_HEADER_MAX, when name appears more than once (which of them the browser meant
 * cannot be told) or when its value is empty, quoted or holds bytes a cookie value may not
 * (space, '"', ',', ';', '\', controls). The other cookies of the header are not judged:
 * they belong to other applications of the same host.
 */
int cookie_find(const char *header, const char *name, struct slice *out);

#endif
