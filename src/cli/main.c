/* notalone: the command-line client of the notalone server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/credentials.h"
#include "util/alloc.h"
#include "util/error.h"

static const struct cli_group *const groups[] = {
    &cmd_session_group,    &cmd_org_group,    &cmd_team_group,    &cmd_user_group,
    &cmd_apikey_group,     &cmd_visit_group,  &cmd_checkin_group, &cmd_watch_group,
    &cmd_escalation_group, &cmd_policy_group, &cmd_channel_group, &cmd_alert_group,
    &cmd_alarm_group,      &cmd_device_group, &cmd_dc09_group,
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

enum { OPT_SERVER, OPT_JSON };
static const struct args_spec global_spec[] = {
    [OPT_SERVER] = {"server", ARGS_VALUE},
    [OPT_JSON] = {"json", ARGS_FLAG},
};

static void print_usage(FILE *f)
{
    fputs("usage: notalone [--server URL] [--json] COMMAND [ARGS]\n\n"
          "options:\n"
          "  --server URL  the server (else $NOTALONE_SERVER, else the one saved at login,\n"
          "                else " CLI_DEFAULT_SERVER ")\n"
          "  --json        print the server's JSON (lists as one array of every item)\n"
          "  --help        this text; 'notalone COMMAND --help' describes a command\n\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < NGROUPS; i++)
        cli_print_group_synopses(f, groups[i]);
    fputs("\nUSER is a user id or username, TEAM a team id or name, ALARM an alarm id, DEVICE\n"
          "a device id. VISIT is a visit id; left out, it is your only active visit. TIME is\n"
          "HH:MM (today, or tomorrow when that has passed), +DURATION (+45m) or an RFC 3339\n"
          "time; DURATION is like 90s, 20m, 2h.\n"
          "Times are printed in local time, with the date when not today.\n"
          "The token is $NOTALONE_TOKEN, else the one saved by 'notalone login' in\n"
          "$XDG_CONFIG_HOME/notalone/credentials.json (or ~/.config/notalone/...).\n\n"
          "exit status: 0 success, 1 the server answered an error, 2 usage error,\n"
          "3 the server cannot be reached ('dc09 send': 0 ACK, 1 NAK or DUH, 2 no answer).\n",
          f);
}

/* Copy of url without trailing '/'. Caller frees. */
static char *normalize_url(const char *url)
{
    char *s = xstrdup(url);
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static bool same_server(const char *a, const char *b)
{
    char *na = normalize_url(a);
    bool same = strcmp(na, b) == 0;
    free(na);
    return same;
}

static void load_saved(struct cli *cli)
{
    if (credentials_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"), cli->cred_path,
                         sizeof(cli->cred_path)) != 0) {
        cli->cred_path[0] = '\0';
        return;
    }
    int rc = credentials_load(cli->cred_path, &cli->saved);
    if (rc == -NA_EMALFORMED)
        fprintf(stderr, "notalone: ignoring %s: not a credentials file\n", cli->cred_path);
    else if (rc && rc != -NA_ENOTFOUND)
        fprintf(stderr, "notalone: ignoring %s: cannot read it\n", cli->cred_path);
}

/* Chooses the server and the token (see print_usage). */
static void choose_server(struct cli *cli, const char *server_opt)
{
    const char *env_server = getenv("NOTALONE_SERVER");
    const char *env_token = getenv("NOTALONE_TOKEN");
    const char *server = server_opt;
    load_saved(cli);
    if (!server && env_server && env_server[0])
        server = env_server;
    if (!server)
        server = cli->saved.server ? cli->saved.server : CLI_DEFAULT_SERVER;
    cli->server = normalize_url(server);
    if (env_token && env_token[0]) {
        cli->token = xstrdup(env_token);
    } else if (cli->saved.token &&
               (!cli->saved.server || same_server(cli->saved.server, cli->server))) {
        /* A saved token is only ever sent to the server it came from. */
        cli->token = xstrdup(cli->saved.token);
        cli->token_saved = true;
    }
}

static int run_command(struct cli *cli, int argc, char **argv)
{
    if (argc == 0)
        return cli_usage_error(cli, NULL, "missing command");
    if (strcmp(argv[0], "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NGROUPS; i++) {
        const struct cli_group *top = groups[i];
        for (size_t j = 0; !top->name && j < top->ncmds; j++) {
            if (strcmp(argv[0], top->cmds[j].name) == 0)
                return top->cmds[j].run(cli, &top->cmds[j], argc - 1, argv + 1);
        }
    }
    for (size_t i = 0; i < NGROUPS; i++) {
        if (groups[i]->name && strcmp(argv[0], groups[i]->name) == 0)
            return cli_dispatch(cli, groups[i], argc - 1, argv + 1);
    }
    return cli_usage_error(cli, NULL, "unknown command '%s'", argv[0]);
}

int main(int argc, char **argv)
{
    struct cli cli;
    struct args a;
    char err[256];
    int consumed = 0;
    int rc;

    memset(&cli, 0, sizeof(cli));
    rc = args_parse(&a, global_spec, 2, NULL, 0, 0, true, argc - 1, argv + 1, &consumed, err,
                    sizeof(err));
    if (rc) {
        args_fini(&a);
        (void)cli_usage_error(&cli, NULL, "%s", err);
        return CLI_EXIT_USAGE;
    }
    if (a.help) {
        args_fini(&a);
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (client_global_init() != 0) {
        args_fini(&a);
        fputs("notalone: cannot start libcurl\n", stderr);
        return CLI_EXIT_ERROR;
    }
    cli.json = a.set[OPT_JSON];
    choose_server(&cli, a.value[OPT_SERVER]);
    rc = run_command(&cli, argc - 1 - consumed, argv + 1 + consumed);
    args_fini(&a);
    if (fflush(stdout) != 0 && rc == 0)
        rc = cli_fail(&cli, "cannot write the output");
    int status = rc == 0 ? CLI_EXIT_OK : (cli.exit_status ? cli.exit_status : CLI_EXIT_ERROR);
    cli_fini(&cli);
    client_global_cleanup();
    return status;
}
