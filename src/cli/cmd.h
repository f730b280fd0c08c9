#ifndef NA_CLI_CMD_H
#define NA_CLI_CMD_H

#include "cli/cli.h"

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

#endif
