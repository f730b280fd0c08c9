#ifndef NA_CLI_CMD_H
#define NA_CLI_CMD_H

#include "cli/cli.h"

/*
 * The command groups of the notalone client, each defined in its cmd_*.c file (static
 * storage). cmd_session_group holds the top-level commands (login, logout, whoami, passwd).
 */
extern const struct cli_group cmd_session_group;
extern const struct cli_group cmd_org_group;
extern const struct cli_group cmd_team_group;
extern const struct cli_group cmd_user_group;
extern const struct cli_group cmd_apikey_group;

#endif
