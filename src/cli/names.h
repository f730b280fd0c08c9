#ifndef NA_CLI_NAMES_H
#define NA_CLI_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/cli.h"

/*
 * Names of users for what the client prints ("Asha Patel (asha)" rather than 3), fetched
 * from the server once each and kept for the command. Everyone in an organisation sees the
 * names of its users; a name that cannot be fetched prints as "user 3".
 */

/* Longest name text written. */
#define NAMES_TEXT 300

struct names {
    json_t *users; /* object: decimal id -> user object; owned */
};

/* Empty cache; release with names_fini. */
void names_init(struct names *n);
/* Releases the cache. */
void names_fini(struct names *n);

/*
 * Loads every user of the organisation in one list (cheaper than one request per user when
 * many are shown). Failures are reported; 0 or a negated NA_E*.
 */
int names_load_all(struct cli *cli, struct names *n);

/*
 * The name of the user whose id is the JSON integer id into dst (size len >= 16):
 * "Asha Patel (asha)" with with_username, else "Asha Patel"; "-" when id is null or
 * missing. Asks the server when the user is not cached; never fails. Returns dst.
 */
const char *names_get(struct cli *cli, struct names *n, const json_t *id, bool with_username,
                      char *dst, size_t len);

#endif
