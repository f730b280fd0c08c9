#ifndef NA_CLI_WHEN_H
#define NA_CLI_WHEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Times and durations as the notalone client reads and prints them. Pure: the current time
 * is a parameter, local time is the process's time zone (TZ). Times are milliseconds since
 * the Unix epoch.
 */

/* Longest DURATION accepted: a visit lasts at most 7 days. */
#define WHEN_MAX_DURATION_S (7 * 86400)
/* Room for any text when_format or when_format_span writes. */
#define WHEN_TEXT 32

/* How a TIME argument was written. */
enum when_kind {
    WHEN_CLOCK,    /* "15:30": local time today, or tomorrow */
    WHEN_ABSOLUTE, /* "2026-11-23T15:30:00Z", "2026-11-23T15:30:00+01:00", "2026-11-23 15:30" */
    WHEN_RELATIVE, /* "+45m": from now */
};

struct when {
    int64_t ms;
    enum when_kind kind;
    bool tomorrow; /* a WHEN_CLOCK time that had passed today, taken as tomorrow */
};

/*
 * Parses a DURATION: seconds ("90"), or with a unit s, m, h, d ("90s", "20m", "2h", "1d"),
 * from 1 second to WHEN_MAX_DURATION_S. -NA_EINVAL otherwise.
 */
int when_parse_duration(const char *s, int64_t *out_s);

/*
 * Parses a TIME relative to now_ms: "HH:MM" (or "H:MM") is local time today, or tomorrow
 * when it is not later than now; an RFC 3339 time with "Z" or an offset (a space may stand
 * for the "T"); "YYYY-MM-DD HH:MM" or "YYYY-MM-DDTHH:MM" in local time; "+DURATION" after
 * now. -NA_EINVAL otherwise (*out unchanged).
 */
int when_parse(const char *s, int64_t now_ms, struct when *out);

/*
 * Writes ms as local time into dst (size n, WHEN_TEXT is enough): "15:30" on the local day
 * of now_ms, "2026-11-24 15:30" on another day.
 */
void when_format(int64_t ms, int64_t now_ms, char *dst, size_t n);

/*
 * Writes a span of ms for people into dst (size n): "45s" under a minute, "12m" under an
 * hour, "1h05m" under a day, "2d03h" beyond; a negative span starts with '-'. The span is
 * rounded toward zero.
 */
void when_format_span(int64_t ms, char *dst, size_t n);

/* Reads a server time (an RFC 3339 UTC string) from v; -NA_EINVAL when v is not one. */
int when_from_json(const json_t *v, int64_t *out_ms);

#endif
