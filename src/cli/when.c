#include "cli/when.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/str.h"

int when_parse_duration(const char *s, int64_t *out_s)
{
    int64_t v;
    if (parse_duration_s(s, WHEN_MAX_DURATION_S, &v) != 0 || v < 1)
        return -NA_EINVAL;
    *out_s = v;
    return 0;
}

/* Seconds of ms, rounded down (times before 1970 round the same way as after). */
static time_t seconds_of(int64_t ms)
{
    return (time_t)(ms / 1000 - (ms % 1000 < 0));
}

/* Reads exactly width decimal digits of s into *out. */
static int read_digits(const char *s, size_t width, int *out)
{
    int v = 0;
    for (size_t i = 0; i < width; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -NA_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* The local time h:m on the local day of now plus days_later, into *out_ms. */
static int local_clock(int64_t now_ms, int days_later, int h, int m, int64_t *out_ms)
{
    time_t now = seconds_of(now_ms);
    struct tm tm;
    if (!localtime_r(&now, &tm))
        return -NA_EINVAL;
    tm.tm_mday += days_later;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = 0;
    /* Let mktime decide whether summer time applies on that day. */
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1)
        return -NA_EINVAL;
    *out_ms = (int64_t)t * 1000;
    return 0;
}

/* "HH:MM" or "H:MM": today, or tomorrow when that is not later than now. */
static int parse_clock(const char *s, int64_t now_ms, struct when *out)
{
    size_t n = strlen(s);
    int h, m;
    if ((n != 4 && n != 5) || s[n - 3] != ':' || read_digits(s, n - 3, &h) ||
        read_digits(s + n - 2, 2, &m) || h > 23 || m > 59)
        return -NA_EINVAL;
    int64_t ms;
    if (local_clock(now_ms, 0, h, m, &ms))
        return -NA_EINVAL;
    bool tomorrow = ms <= now_ms;
    if (tomorrow && local_clock(now_ms, 1, h, m, &ms))
        return -NA_EINVAL;
    out->ms = ms;
    out->kind = WHEN_CLOCK;
    out->tomorrow = tomorrow;
    return 0;
}

/* "YYYY-MM-DD HH:MM" or "YYYY-MM-DDTHH:MM", local time. */
static int parse_local(const char *s, int64_t *out_ms)
{
    int y, mo, d, h, mi;
    if (strlen(s) != 16 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
        s[13] != ':' || read_digits(s, 4, &y) || read_digits(s + 5, 2, &mo) ||
        read_digits(s + 8, 2, &d) || read_digits(s + 11, 2, &h) || read_digits(s + 14, 2, &mi))
        return -NA_EINVAL;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_isdst = -1};
    time_t t = mktime(&tm);
    /* mktime moves a day or time that does not exist (31 April, a summer-time gap). */
    if (t == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 || tm.tm_mday != d ||
        tm.tm_hour != h || tm.tm_min != mi)
        return -NA_EINVAL;
    *out_ms = (int64_t)t * 1000;
    return 0;
}

/* Reads a "+HH:MM" or "-HH:MM" zone offset into minutes east of UTC. */
static int parse_offset(const char *z, int64_t *out_min)
{
    int h, m;
    if (strlen(z) != 6 || z[3] != ':' || read_digits(z + 1, 2, &h) || read_digits(z + 4, 2, &m) ||
        h > 23 || m > 59)
        return -NA_EINVAL;
    *out_min = (z[0] == '-' ? -1 : 1) * (int64_t)(h * 60 + m);
    return 0;
}

/* An RFC 3339 time with "Z" or an offset. */
static int parse_rfc3339(const char *s, int64_t *out_ms)
{
    char copy[64];
    size_t n = strlen(s);
    int64_t offset_min = 0;
    if (n < 20 || n >= sizeof(copy))
        return -NA_EINVAL;
    memcpy(copy, s, n + 1);
    if (copy[10] == ' ')
        copy[10] = 'T';
    char *zone = copy + 19;
    if (*zone == '.') {
        zone++;
        while (*zone >= '0' && *zone <= '9')
            zone++;
    }
    if (*zone == '+' || *zone == '-') {
        if (parse_offset(zone, &offset_min))
            return -NA_EINVAL;
        zone[0] = 'Z';
        zone[1] = '\0';
    }
    int64_t ms;
    if (time_parse_iso(copy, &ms))
        return -NA_EINVAL;
    *out_ms = ms - offset_min * 60000;
    return 0;
}

int when_parse(const char *s, int64_t now_ms, struct when *out)
{
    struct when w = {0, WHEN_ABSOLUTE, false};
    if (s[0] == '+') {
        int64_t secs;
        if (when_parse_duration(s + 1, &secs))
            return -NA_EINVAL;
        w.ms = now_ms + secs * 1000;
        w.kind = WHEN_RELATIVE;
    } else if (strlen(s) <= 5) {
        if (parse_clock(s, now_ms, &w))
            return -NA_EINVAL;
    } else if (parse_local(s, &w.ms) && parse_rfc3339(s, &w.ms)) {
        return -NA_EINVAL;
    }
    *out = w;
    return 0;
}

void when_format(int64_t ms, int64_t now_ms, char *dst, size_t n)
{
    time_t t = seconds_of(ms);
    time_t now = seconds_of(now_ms);
    struct tm tm;
    struct tm today;
    if (n == 0)
        return;
    if (!localtime_r(&t, &tm) || !localtime_r(&now, &today)) {
        (void)snprintf(dst, n, "?");
        return;
    }
    bool same_day = tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday;
    if (strftime(dst, n, same_day ? "%H:%M" : "%Y-%m-%d %H:%M", &tm) == 0)
        dst[0] = '\0';
}

void when_format_span(int64_t ms, char *dst, size_t n)
{
    int64_t s = ms / 1000;
    const char *sign = s < 0 ? "-" : "";
    long long u = (long long)(s < 0 ? -s : s);
    /* Truncation only shortens what people read. */
    if (u < 60)
        (void)snprintf(dst, n, "%s%llds", sign, u);
    else if (u < 3600)
        (void)snprintf(dst, n, "%s%lldm", sign, u / 60);
    else if (u < 86400)
        (void)snprintf(dst, n, "%s%lldh%02lldm", sign, u / 3600, u % 3600 / 60);
    else
        (void)snprintf(dst, n, "%s%lldd%02lldh", sign, u / 86400, u % 86400 / 3600);
}

int when_from_json(const json_t *v, int64_t *out_ms)
{
    const char *s = json_string_value(v);
    return s ? time_parse_iso(s, out_ms) : -NA_EINVAL;
}
