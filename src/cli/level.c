#include "cli/level.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/str.h"

static const char *const contact_names[] = {
    [LEVEL_BUDDY] = "buddy",
    [LEVEL_LINE_MANAGER] = "line_manager",
    [LEVEL_SENIOR_MANAGER] = "senior_manager",
    [LEVEL_USER] = "user",
    [LEVEL_CHANNEL] = "channel",
};

const char *level_contact_name(enum level_contact c)
{
    return contact_names[c];
}

static int level_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int level_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* A truncated message is still a useful message. */
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -NA_EINVAL;
}

/* The contact named by the first len bytes of s; -1 when none. */
static int find_contact(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(contact_names) / sizeof(contact_names[0]); i++) {
        if (strlen(contact_names[i]) == len && memcmp(contact_names[i], s, len) == 0)
            return (int)i;
    }
    return -1;
}

/* Reads the middle part (between the first and the last ':') of a user or channel level. */
static int parse_target(const char *s, struct slice mid, struct level *out, char *err,
                        size_t errlen)
{
    if (mid.len == 0)
        return level_error(err, errlen, "level '%s': missing %s", s,
                           out->contact == LEVEL_USER ? "USER" : "channel ID");
    if (out->contact == LEVEL_CHANNEL) {
        if (mid.ptr[0] == '0' || parse_int64(mid, 1, INT64_MAX, &out->channel_id))
            return level_error(err, errlen, "level '%s': the channel must be an id", s);
        return 0;
    }
    if (mid.len > LEVEL_MAX_USER || memchr(mid.ptr, ':', mid.len))
        return level_error(err, errlen, "level '%s': not a user", s);
    memcpy(out->user, mid.ptr, mid.len);
    out->user[mid.len] = '\0';
    return 0;
}

int level_parse(const char *s, struct level *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *first = strchr(s, ':');
    const char *last = strrchr(s, ':');
    if (!first)
        return level_error(err, errlen, "level '%s': expected CONTACT:LIMIT such as buddy:10m", s);
    int c = find_contact(s, (size_t)(first - s));
    if (c < 0)
        return level_error(err, errlen,
                           "level '%s': unknown contact (buddy, line_manager, senior_manager, "
                           "user:USER, channel:ID)",
                           s);
    out->contact = (enum level_contact)c;
    bool targeted = out->contact == LEVEL_USER || out->contact == LEVEL_CHANNEL;
    if (targeted && first == last)
        return level_error(err, errlen, "level '%s': expected %s:%s:LIMIT", s, contact_names[c],
                           out->contact == LEVEL_USER ? "USER" : "ID");
    if (!targeted && first != last)
        return level_error(err, errlen, "level '%s': expected %s:LIMIT", s, contact_names[c]);
    if (targeted) {
        struct slice mid = {first + 1, (size_t)(last - first - 1)};
        int rc = parse_target(s, mid, out, err, errlen);
        if (rc)
            return rc;
    }
    if (parse_duration_s(last + 1, LEVEL_MAX_LIMIT_S, &out->limit_s) ||
        out->limit_s < LEVEL_MIN_LIMIT_S)
        return level_error(err, errlen, "level '%s': the limit must be from 1m to 24h (like 15m)",
                           s);
    return 0;
}
