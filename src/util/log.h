#ifndef NA_UTIL_LOG_H
#define NA_UTIL_LOG_H

#include <stddef.h>

/*
 * Structured logging: one event per line on stderr,
 *   ts=2026-11-23T09:00:00.000Z level=info event=http_listen addr=127.0.0.1:8080
 * Fields are preformatted "key=value" text. Values that come from input must go through
 * log_quote(). Never log passwords, tokens, keys or personal data: log ids.
 */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level written. Not thread-safe: call at start only. */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; -NA_EINVAL otherwise. */
int log_parse_level(const char *s, enum log_level *out);

/* Writes one event; fmt formats the fields (may be "" for none). Thread-safe. */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_event(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_event(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__)

/* Logs at error level and exits with status 1. */
void fatal(const char *event, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((noreturn));

/*
 * Writes s as a double-quoted log value into dst (size n), escaping quotes, backslashes
 * and control bytes, truncating to fit. Returns dst.
 */
char *log_quote(char *dst, size_t n, const char *s);

#endif
