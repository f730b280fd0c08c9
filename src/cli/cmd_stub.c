#include "cli/cmd.h"
const struct cli_group cmd_org_group = {"org", NULL, 0};
const struct cli_group cmd_team_group = {"team", NULL, 0};
const struct cli_group cmd_user_group = {"user", NULL, 0};
const struct cli_group cmd_apikey_group = {"apikey", NULL, 0};
