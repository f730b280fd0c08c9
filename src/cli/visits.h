#ifndef NA_CLI_VISITS_H
#define NA_CLI_VISITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/names.h"
#include "cli/when.h"

/*
 * What the visit, check-in, watch and escalation commands share: the current time, the
 * caller, finding "my active visit", TIME and location options, and how a visit's times
 * are printed. Failures are reported (see cli.h) and returned as negated NA_E*.
 */

/* Room for a deadline with its time left ("2026-11-24 15:30 (1h05m OVERDUE)"). */
#define VISITS_TEXT 96

/*
 * The current time: $NOTALONE_NOW (an RFC 3339 time, for a server on a simulated clock)
 * when set, else the system clock. A malformed $NOTALONE_NOW is a usage error.
 */
int visits_now(struct cli *cli, int64_t *out_ms);

/* The caller's user id (GET /api/v1/me). */
int visits_me(struct cli *cli, int64_t *out);

/*
 * The visit named by arg (an id), or with arg NULL the caller's only active visit; a usage
 * error of cmd (exit status 2) when they have none or several.
 */
int visits_resolve(struct cli *cli, const struct cli_command *cmd, const char *arg, int64_t *out);

/*
 * POSTs body (NULL sends {}) to /api/v1/{what}s/{id}/{action}, what being "visit" or
 * "escalation". *out caller json_decref.
 */
int visits_post(struct cli *cli, const char *what, int64_t id, const char *action,
                const json_t *body, json_t **out);

/*
 * Parses the TIME of option (see when_parse) relative to now; a usage error of cmd when
 * malformed. A clock time taken as tomorrow is said on stderr.
 */
int visits_parse_time(struct cli *cli, const struct cli_command *cmd, const char *option,
                      const char *text, int64_t now_ms, struct when *out);

/* Sets o[key] to the time ms as the API writes it. */
int visits_set_time(struct cli *cli, json_t *o, const char *key, int64_t ms);

/*
 * Sets latitude and longitude of o from the --lat and --lon texts (both or neither; NULL
 * when not given); a usage error of cmd when only one is given or one is not a coordinate.
 */
int visits_set_location(struct cli *cli, const struct cli_command *cmd, json_t *o, const char *lat,
                        const char *lon);

/* A server time v as local time (see when_format) into dst (size n); "-" for none. */
const char *visits_time_text(const json_t *v, int64_t now_ms, char *dst, size_t n);

/*
 * A deadline with the time left into dst (size n, VISITS_TEXT is enough):
 * "15:30 (in 1h05m)", "09:30 (12m OVERDUE)"; "-" for none.
 */
const char *visits_deadline_text(const json_t *v, int64_t now_ms, char *dst, size_t n);

/* "Ben Jones (ben), accepted" for the buddy of visit v into dst (size n); "none". */
const char *visits_buddy_text(struct cli *cli, struct names *names, const json_t *v, char *dst,
                              size_t n);

/*
 * Prints headline and the essentials of visit v (address, deadline, until, buddy) for
 * people; with --json prints v as is instead.
 */
int visits_print_brief(struct cli *cli, struct names *names, const json_t *v, int64_t now_ms,
                       const char *headline);

/*
 * The state of escalation e for people into dst (size n, 512 is enough): "level 1
 * (line_manager), held by Jo Smith since 09:45, next step 10:00" or "..., not
 * acknowledged, next step 10:00". Returns dst.
 */
const char *visits_escalation_text(struct cli *cli, struct names *names, const json_t *e,
                                   int64_t now_ms, char *dst, size_t n);

/* "Visit 7: DONE." (or "Shift 7: DONE.") for visit v into dst (size n). Returns dst. */
const char *visits_headline(const json_t *v, const char *done, char *dst, size_t n);

/*
 * POSTs body (NULL sends {}) to /api/v1/visits/{id}/{action} and prints the visit it gives
 * back under the headline "Visit ID: DONE." (the JSON with --json). The visit goes to *out
 * (caller json_decref) when out is not NULL.
 */
int visits_act(struct cli *cli, int64_t id, const char *action, const json_t *body,
               const char *done, json_t **out);

#endif
