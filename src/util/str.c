#include "util/str.h"

#include <string.h>

#include "util/error.h"

struct slice slice_of(const char *s)
{
    struct slice sl = {s, s ? strlen(s) : 0};
    return sl;
}

bool slice_eq(struct slice a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

int parse_int64(struct slice s, int64_t min, int64_t max, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (s.len == 0)
        return -NA_EINVAL;
    if (s.ptr[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == s.len || s.len - i > 19)
        return -NA_EINVAL;
    /* Accumulate as negative: the range of int64 is larger on that side. */
    int64_t v = 0;
    for (; i < s.len; i++) {
        char c = s.ptr[i];
        if (c < '0' || c > '9')
            return -NA_EINVAL;
        int d = c - '0';
        if (v < (INT64_MIN + d) / 10)
            return -NA_EINVAL;
        v = v * 10 - d;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return -NA_EINVAL;
        v = -v;
    }
    if (v < min || v > max)
        return -NA_EINVAL;
    *out = v;
    return 0;
}

int parse_duration_s(const char *s, int64_t max_seconds, int64_t *out_seconds)
{
    size_t n = strlen(s);
    int64_t unit = 1;
    if (n > 0) {
        switch (s[n - 1]) {
        case 's':
            unit = 1;
            n--;
            break;
        case 'm':
            unit = 60;
            n--;
            break;
        case 'h':
            unit = 3600;
            n--;
            break;
        case 'd':
            unit = 86400;
            n--;
            break;
        default:
            break;
        }
    }
    int64_t v;
    struct slice sl = {s, n};
    if (parse_int64(sl, 0, max_seconds / unit, &v))
        return -NA_EINVAL;
    *out_seconds = v * unit;
    return 0;
}

void hex_encode(const unsigned char *src, size_t n, char *dst)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = hex[src[i] >> 4];
        dst[2 * i + 1] = hex[src[i] & 15];
    }
    dst[2 * n] = '\0';
}

uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}
