#include "util/clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/error.h"

int64_t clock_system_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t system_now(const struct clock *c)
{
    (void)c;
    return clock_system_ms();
}

struct clock clock_system(void)
{
    struct clock c = {.now = system_now, .sim_ms = 0};
    return c;
}

struct clock clock_simulated(int64_t start_ms)
{
    struct clock c = {.now = NULL, .sim_ms = start_ms};
    return c;
}

int64_t clock_now_ms(const struct clock *c)
{
    return c->now ? c->now(c) : atomic_load(&c->sim_ms);
}

int clock_is_simulated(const struct clock *c)
{
    return c->now == NULL;
}

void clock_advance(struct clock *c, int64_t ms)
{
    atomic_fetch_add(&c->sim_ms, ms);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

char *time_format_iso(int64_t ms, char *dst, size_t n)
{
    time_t secs = (time_t)(ms / 1000 - (ms % 1000 < 0));
    int frac = (int)((ms % 1000 + 1000) % 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(dst, n, "invalid");
        return dst;
    }
    snprintf(dst, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return dst;
}

/* Reads exactly width digits at *p into *out and advances *p. */
static int digits(const char **p, int width, int *out)
{
    int v = 0;
    for (int i = 0; i < width; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return -NA_EINVAL;
        v = v * 10 + (ch - '0');
    }
    *p += width;
    *out = v;
    return 0;
}

static int expect(const char **p, char ch)
{
    if (**p != ch)
        return -NA_EINVAL;
    (*p)++;
    return 0;
}

int time_parse_iso(const char *s, int64_t *out_ms)
{
    const char *p = s;
    int y, mo, d, h, mi, sec, ms = 0;
    if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't') || !++p || digits(&p, 2, &h) ||
        expect(&p, ':') || digits(&p, 2, &mi) || expect(&p, ':') || digits(&p, 2, &sec))
        return -NA_EINVAL;
    if (*p == '.') {
        p++;
        int scale = 100, nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3)
                ms += (*p - '0') * scale;
            scale /= 10;
            nd++;
            p++;
        }
        if (nd == 0 || nd > 9)
            return -NA_EINVAL;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        p++;
    else if (strcmp(p, "+00:00") == 0)
        p += 6;
    else
        return -NA_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        sec > 59)
        return -NA_EINVAL;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -NA_EINVAL;
    int64_t days = days_from_civil(y, mo, d);
    *out_ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + ms;
    return 0;
}
