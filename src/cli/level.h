#ifndef NA_CLI_LEVEL_H
#define NA_CLI_LEVEL_H

#include <stddef.h>
#include <stdint.h>

/*
 * The LEVEL arguments of 'notalone policy set': "buddy:10m", "line_manager:15m",
 * "senior_manager:15m", "user:USER:30m", "channel:ID:30m". Pure: no I/O.
 */

#define LEVEL_MIN_LIMIT_S 60
#define LEVEL_MAX_LIMIT_S 86400
/* Most levels in a policy. */
#define LEVEL_MAX 8
/* Longest USER of a "user:USER:LIMIT" level (a username has at most 64 characters). */
#define LEVEL_MAX_USER 64

enum level_contact {
    LEVEL_BUDDY,
    LEVEL_LINE_MANAGER,
    LEVEL_SENIOR_MANAGER,
    LEVEL_USER,
    LEVEL_CHANNEL,
};

struct level {
    enum level_contact contact;
    char user[LEVEL_MAX_USER + 1]; /* LEVEL_USER: the USER as written (id or username) */
    int64_t channel_id;            /* LEVEL_CHANNEL */
    int64_t limit_s;
};

/*
 * Parses one LEVEL into *out. Returns 0, or -NA_EINVAL with a message for the user in err
 * (size errlen): unknown contact, missing or extra part, limit not a DURATION within
 * LEVEL_MIN_LIMIT_S..LEVEL_MAX_LIMIT_S, channel not an id.
 */
int level_parse(const char *s, struct level *out, char *err, size_t errlen);

/* The API's name of a contact ("line_manager"); static storage. */
const char *level_contact_name(enum level_contact c);

#endif
