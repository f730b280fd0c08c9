#ifndef NA_UTIL_CLOCK_H
#define NA_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Time is an input. Code that needs "now" is handed a struct clock; the server uses the
 * system clock, tests a simulated one they move by hand. Times are milliseconds since the
 * Unix epoch, UTC.
 */
struct clock {
    /* NULL for the simulated clock, which returns sim_ms. */
    int64_t (*now)(const struct clock *c);
    /* Atomic: a test moves the simulated clock from one thread while others read it. */
    _Atomic int64_t sim_ms;
};

/* The system clock (CLOCK_REALTIME). */
struct clock clock_system(void);
/* A simulated clock standing at start_ms until clock_advance() moves it. */
struct clock clock_simulated(int64_t start_ms);
/* Current time of c in ms. */
int64_t clock_now_ms(const struct clock *c);
/* True for a simulated clock. */
int clock_is_simulated(const struct clock *c);
/* Moves a simulated clock forward by ms (thread-safe). */
void clock_advance(struct clock *c, int64_t ms);
/* The system's wall-clock time in ms, for log timestamps only. */
int64_t clock_system_ms(void);

/* Writes ms as "2026-11-23T09:00:00.000Z" into dst (n >= 25). Returns dst. */
char *time_format_iso(int64_t ms, char *dst, size_t n);
/*
 * Parses an RFC 3339 UTC time ("2026-11-23T09:00:00Z", optional .fff, "Z" or "+00:00")
 * into ms. -NA_EINVAL when malformed or out of range.
 */
int time_parse_iso(const char *s, int64_t *out_ms);

#endif
