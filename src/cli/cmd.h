#ifndef NA_CLI_CMD_H
#define NA_CLI_CMD_H

#include "cli/cli.h"

struct table;

/*
 * The command groups of the notalone client, each defined in its cmd_*.c file (static
 * storage). The groups without a name hold top-level commands: cmd_session_group login,
 * logout, whoami, passwd; cmd_checkin_group checkin, extend, end, withdraw, status;
 * cmd_watch_group watch, ack, resolve.
 */
extern const struct cli_group cmd_session_group;
extern const struct cli_group cmd_org_group;
extern const struct cli_group cmd_team_group;
extern const struct cli_group cmd_user_group;
extern const struct cli_group cmd_apikey_group;
extern const struct cli_group cmd_checkin_group;
extern const struct cli_group cmd_visit_group;
extern const struct cli_group cmd_watch_group;
extern const struct cli_group cmd_escalation_group;
extern const struct cli_group cmd_policy_group;
extern const struct cli_group cmd_channel_group;
extern const struct cli_group cmd_alert_group;
extern const struct cli_group cmd_alarm_group;
extern const struct cli_group cmd_device_group;
extern const struct cli_group cmd_dc09_group;

/*
 * A worker's code (normal or duress), asked for where it is needed and never taken from
 * the command line (cmd_alert.c). The server takes 4-12 digits; a current code up to 64.
 */
#define CMD_CODE_MAX 64

struct cmd_code {
    char text[CMD_CODE_MAX + 2];
};

/* Wipes a code read. */
void cmd_code_wipe(struct cmd_code *c);

/*
 * Reads a code: from the terminal without echo after prompt, or one line of standard input
 * when it is not a terminal. A usage error of cmd when none is given or it is longer than
 * CMD_CODE_MAX. Wipe *out with cmd_code_wipe in every case.
 */
int cmd_read_code(struct cli *cli, const struct cli_command *cmd, const char *prompt,
                  struct cmd_code *out);

/* Reads a code (see cmd_read_code) into body[key]; the copy read is wiped. */
int cmd_set_code(struct cli *cli, const struct cli_command *cmd, json_t *body, const char *key,
                 const char *prompt);

/* Longest text of a DC-09 key: 64 hex digits (AES-256). */
#define CMD_DC09_KEY_MAX 64

/* A DC-09 key read (cmd_dc09.c): its hex, upper case, and its bytes. */
struct cmd_dc09_key {
    char hex[CMD_DC09_KEY_MAX + 1];
    uint8_t bytes[32];
    size_t len; /* 16, 24 or 32 */
};

/* Wipes a key read. */
void cmd_dc09_key_wipe(struct cmd_dc09_key *k);

/*
 * Reads a DC-09 key, never from the command line (it would show in the process list and
 * the shell's history): from file (a path, "-" for standard input) when not NULL, else from
 * $NOTALONE_DC09_KEY when use_env and it is set. *found is false when neither gives one.
 * A usage error of cmd when what is read is not 32, 48 or 64 hex digits (the key itself is
 * never printed). Wipe *out with cmd_dc09_key_wipe in every case.
 */
int cmd_read_dc09_key(struct cli *cli, const struct cli_command *cmd, const char *file,
                      bool use_env, struct cmd_dc09_key *out, bool *found);

/* Appends the row (label, value) to the two-column table t (both copied). */
void cmd_add_text(struct table *t, const char *label, const char *value);

#endif
