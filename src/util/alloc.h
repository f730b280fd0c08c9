#ifndef NA_UTIL_ALLOC_H
#define NA_UTIL_ALLOC_H

#include <stddef.h>

/*
 * Allocation that never returns NULL: on failure (or size overflow) it logs and aborts.
 * A crashed alarm server restarts; a limping one loses alarms. Free with free().
 */
void *xmalloc(size_t size);
/* Zeroed array of n elements of size bytes; aborts on overflow. */
void *xcalloc(size_t n, size_t size);
/* Resizes p to n elements of size bytes; aborts on overflow. */
void *xrealloc(void *p, size_t n, size_t size);
/* Copy of s (NULL gives NULL). Caller frees. */
char *xstrdup(const char *s);
/* Copy of the first len bytes of s, NUL-terminated. Caller frees. */
char *xstrndup(const char *s, size_t len);

#endif
