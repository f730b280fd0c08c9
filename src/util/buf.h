#ifndef NA_UTIL_BUF_H
#define NA_UTIL_BUF_H

#include <stddef.h>

/*
 * A growable byte buffer with a maximum fixed at init. data is always NUL-terminated
 * (the terminator is not counted in len), so a buffer of text can be used as a C string.
 */
struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

/* Empty buffer that may grow to max bytes. No allocation until first append. */
void buf_init(struct buf *b, size_t max);
/* Releases the memory; the buffer is empty and usable again. */
void buf_fini(struct buf *b);
/* Empties without releasing memory. */
void buf_reset(struct buf *b);
/* Appends n bytes; -NA_ETOOBIG (buffer unchanged) when that would pass max. */
int buf_append(struct buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string; as buf_append. */
int buf_append_str(struct buf *b, const char *s);
/* Appends printf-formatted text; -NA_ETOOBIG (buffer unchanged) past max. */
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data to the caller (caller frees) and leaves the buffer empty. */
char *buf_take(struct buf *b);

#endif
