#ifndef NA_CLI_ALERTS_H
#define NA_CLI_ALERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/client.h"

/*
 * What 'notalone alert red' decides without I/O: the alert id it makes up, and which
 * failures it retries with that same id (the server opens one alarm per alert id, so a
 * retry is always safe). Pure.
 */

/* Room for an alert id alerts_format_id writes ("3f2b...-...", 36 characters). */
#define ALERTS_ID_TEXT 37
/* Retries after the first attempt. */
#define ALERTS_RETRIES 3

/*
 * Writes the 16 random bytes rnd as a version 4 UUID in lowercase into dst (size n >=
 * ALERTS_ID_TEXT; the version and variant bits are set). -NA_ETOOBIG when n is too small.
 */
int alerts_format_id(const unsigned char rnd[16], char *dst, size_t n);

/*
 * True when a request that failed with kind and HTTP status may be sent again: the server
 * could not be reached (the request may not have arrived), or answered 503 (busy, not
 * ready).
 */
bool alerts_retryable(enum client_error_kind kind, long status);

/* How long to wait before retry number attempt (1 to ALERTS_RETRIES), in milliseconds. */
long alerts_retry_delay_ms(int attempt);

/* Parses "yes" or "no" into *out; -NA_EINVAL otherwise. */
int alerts_parse_yes_no(const char *s, bool *out);

#endif
