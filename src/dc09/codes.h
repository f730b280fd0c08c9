#ifndef NA_DC09_CODES_H
#define NA_DC09_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include "dc09/frame.h"

/*
 * What a DC-09 event means to notalone: a table from Contact ID codes (qualifier and event,
 * "1120") and SIA codes ("PA") to actions. It ships with defaults for lone-worker devices
 * and panels; a JSON file (notaloned --dc09-codes) changes or adds entries. Immutable once
 * made, so threads may share it.
 */

/* The actions, in rising importance: a message with several codes takes the most
 * important one's. */
enum dc09_action {
    DC09_ACTION_RECORD = 0,      /* kept and shown, nothing else (an unknown code too) */
    DC09_ACTION_LINK = 1,        /* a link or periodic test: the device is alive */
    DC09_ACTION_RESTORE = 2,     /* a condition is over (a 3xxx Contact ID, "PR", "HR") */
    DC09_ACTION_BATTERY_OK = 3,  /* the battery is back to normal */
    DC09_ACTION_POSITION = 4,    /* a location report: the worker's trail */
    DC09_ACTION_TEST = 5,        /* a test the worker made: a test alarm, the device tested */
    DC09_ACTION_BATTERY_LOW = 6, /* low battery: the worker and their managers are told */
    DC09_ACTION_AMBER = 7,       /* an amber alert (no deadline) */
    DC09_ACTION_RED = 8,         /* a red alert */
    DC09_ACTION_DURESS = 9,      /* a duress (silent) red alert */
};
#define DC09_ACTION_LAST DC09_ACTION_DURESS

/* "record", "link", "restore", "battery_ok", "position", "test", "battery_low", "amber",
 * "red", "duress". */
const char *dc09_action_name(enum dc09_action a);
/* The action named s; -1 when none is. */
int dc09_action_parse(const char *s, enum dc09_action *out);

struct dc09_codes;

/* What one code means. */
struct dc09_meaning {
    enum dc09_action action;
    const char *label; /* "Panic alarm", "Low battery"; borrowed from the table */
};

/*
 * The default table, changed by json (NULL: none), a text of the form
 *   {"contact_id": {"1120": "red", "1999": {"action": "amber", "label": "Amber button"}},
 *    "sia": {"PA": "red", "ZZ": "record"}}
 * -1 with a message in err (size n) when json is malformed or names an unknown action or a
 * malformed code. Caller frees with dc09_codes_free.
 */
int dc09_codes_new(const char *json, struct dc09_codes **out, char *err, size_t n);
void dc09_codes_free(struct dc09_codes *c);

/*
 * The meaning of one code of a message with token t (ADM-CID or SIA-DCS). An ADM-CID code
 * not in the table whose qualifier is 3 is a restore; anything else not in the table is
 * DC09_ACTION_RECORD with the label "Unknown code".
 */
void dc09_codes_lookup(const struct dc09_codes *c, enum dc09_token t, const char *code,
                       struct dc09_meaning *out);

/* The meaning of a whole message: its most important code's; a NULL message, or one without
 * codes, is DC09_ACTION_LINK ("Link test"). *index gets the code's index (0 when none; may be
 * NULL). */
void dc09_codes_message(const struct dc09_codes *c, enum dc09_token t, const struct dc09_payload *p,
                        struct dc09_meaning *out, size_t *index);

#endif
