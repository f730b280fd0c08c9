#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/error.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    min_level = level;
}

int log_parse_level(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -NA_EINVAL;
}

static void vlog(enum log_level level, const char *event, const char *fmt, va_list ap)
{
    char ts[32];
    char fields[2048];
    time_format_iso(clock_system_ms(), ts, sizeof ts);
    vsnprintf(fields, sizeof fields, fmt, ap);
    /* One fprintf per line: stdio locks the stream, so lines from threads never mix. */
    fprintf(stderr, "ts=%s level=%s event=%s%s%s\n", ts, level_names[level], event,
            fields[0] ? " " : "", fields);
}

void log_event(enum log_level level, const char *event, const char *fmt, ...)
{
    if (level < min_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, event, fmt, ap);
    va_end(ap);
}

void fatal(const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_ERROR, event, fmt, ap);
    va_end(ap);
    exit(1);
}

char *log_quote(char *dst, size_t n, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (n < 3) {
        if (n)
            dst[0] = '\0';
        return dst;
    }
    dst[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char esc[5];
        size_t k = 0;
        if (*p == '"' || *p == '\\') {
            esc[k++] = '\\';
            esc[k++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            esc[k++] = '\\';
            esc[k++] = 'x';
            esc[k++] = hex[*p >> 4];
            esc[k++] = hex[*p & 15];
        } else {
            esc[k++] = (char)*p;
        }
        if (o + k + 2 > n)
            break;
        memcpy(dst + o, esc, k);
        o += k;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}
