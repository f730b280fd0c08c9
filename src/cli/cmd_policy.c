/* notalone policy: who is told, in turn, when a deadline passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/level.h"
#include "cli/names.h"
#include "cli/output.h"
#include "cli/when.h"
#include "util/error.h"

static const char *const level_pos[LEVEL_MAX] = {"LEVEL", "LEVEL", "LEVEL", "LEVEL",
                                                 "LEVEL", "LEVEL", "LEVEL", "LEVEL"};

enum { P_TEAM };
static const struct args_spec policy_spec[] = {
    [P_TEAM] = {"team", ARGS_VALUE},
};

/* The policy path of TEAM (NULL: the organisation's) into path; *team receives its id. */
static int policy_path(struct cli *cli, const char *team_arg, char *path, int64_t *team)
{
    *team = 0;
    if (!team_arg)
        return cli_path(cli, path, "/api/v1/escalation-policy");
    int rc = cli_resolve_team(cli, team_arg, team);
    return rc ? rc : cli_path(cli, path, "/api/v1/teams/%lld/escalation-policy", (long long)*team);
}

/* Who a level names, for people: "line_manager", "user Jo Smith (jo)", "channel 2". */
static const char *contact_text(struct cli *cli, struct names *names, const json_t *level,
                                char *dst, size_t n)
{
    char contact[64], who[NAMES_TEXT];
    output_text(json_object_get(level, "contact"), contact, sizeof(contact));
    if (strcmp(contact, "user") == 0)
        (void)snprintf(
            dst, n, "user %s",
            names_get(cli, names, json_object_get(level, "user_id"), true, who, sizeof(who)));
    else if (strcmp(contact, "channel") == 0)
        (void)snprintf(dst, n, "channel %s",
                       output_text(json_object_get(level, "channel_id"), who, sizeof(who)));
    else
        (void)snprintf(dst, n, "%s", contact);
    return dst;
}

static int print_policy(struct cli *cli, const json_t *policy, const char *title)
{
    static const char *const headers[] = {"LEVEL", "CONTACT", "LIMIT"};
    char number[24], contact[NAMES_TEXT + 16], limit[WHEN_TEXT];
    struct names names;
    struct table t;
    const json_t *level;
    size_t i;
    if (cli->json)
        return cli_print_json(cli, policy);
    names_init(&names);
    printf("%s%s:\n", title,
           json_is_true(json_object_get(policy, "default")) ? " (the default)" : "");
    table_init(&t, 3, headers);
    json_array_foreach(json_object_get(policy, "levels"), i, level)
    {
        /* Levels count from 0, as the level of an escalation does. */
        (void)snprintf(number, sizeof(number), "%zu", i);
        when_format_span(json_integer_value(json_object_get(level, "limit")) * 1000, limit,
                         sizeof(limit));
        const char *row[3] = {number, contact_text(cli, &names, level, contact, sizeof(contact)),
                              limit};
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
    names_fini(&names);
    return 0;
}

/* The policy of a team, or the organisation's when the team has none. */
static int show_team_policy(struct cli *cli, const char *path, const char *team_arg,
                            json_t **policy, const char **title)
{
    int rc = cli_request_quiet(cli, "GET", path, NULL, policy);
    if (rc != -NA_ENOTFOUND)
        return rc ? cli_report(cli, rc) : 0;
    /* The team exists (it was resolved): 404 means it has no policy of its own. */
    if (!cli->json)
        printf("Team %s has no policy of its own; the organisation's applies.\n", team_arg);
    *title = "Escalation policy of the organisation";
    return cli_request(cli, true, "GET", "/api/v1/escalation-policy", NULL, policy);
}

static int run_show(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *policy = NULL;
    char path[CLI_MAX_PATH];
    char title[256];
    const char *heading = title;
    int64_t team;
    int rc = cli_parse(cli, cmd, policy_spec, CLI_COUNT(policy_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = policy_path(cli, a.value[P_TEAM], path, &team);
    if (rc)
        goto done;
    if (team) {
        (void)snprintf(title, sizeof(title), "Escalation policy of team %.64s", a.value[P_TEAM]);
        rc = show_team_policy(cli, path, a.value[P_TEAM], &policy, &heading);
    } else {
        (void)snprintf(title, sizeof(title), "Escalation policy of the organisation");
        rc = cli_request(cli, true, "GET", path, NULL, &policy);
    }
    if (!rc)
        rc = print_policy(cli, policy, heading);
done:
    json_decref(policy);
    args_fini(&a);
    return rc;
}

/* The JSON of one parsed level (its user resolved) appended to levels. */
static int add_level(struct cli *cli, const struct level *l, json_t *levels)
{
    int64_t user;
    json_t *o = json_object();
    if (!o || json_array_append_new(levels, o) != 0)
        return cli_fail(cli, "out of memory");
    int rc = cli_set_int(cli, o, "limit", l->limit_s);
    if (!rc && json_object_set_new(o, "contact", json_string(level_contact_name(l->contact))))
        rc = cli_fail(cli, "out of memory");
    if (!rc && l->contact == LEVEL_CHANNEL)
        rc = cli_set_int(cli, o, "channel_id", l->channel_id);
    if (!rc && l->contact == LEVEL_USER) {
        rc = cli_resolve_user(cli, l->user, &user);
        if (!rc)
            rc = cli_set_int(cli, o, "user_id", user);
    }
    return rc;
}

/* {"levels": [...]} of the LEVEL arguments; usage errors before any request. */
static int policy_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                       json_t *body)
{
    struct level levels[LEVEL_MAX];
    char err[256];
    for (size_t i = 0; i < a->npos; i++) {
        if (level_parse(a->pos[i], &levels[i], err, sizeof(err)))
            return cli_usage_error(cli, cmd, "%s", err);
    }
    json_t *list = json_array();
    if (!list || json_object_set_new(body, "levels", list) != 0)
        return cli_fail(cli, "out of memory");
    for (size_t i = 0; i < a->npos; i++) {
        int rc = add_level(cli, &levels[i], list);
        if (rc)
            return rc;
    }
    return 0;
}

static int run_set(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *policy = NULL;
    char path[CLI_MAX_PATH];
    char title[128];
    int64_t team;
    int rc = cli_parse(cli, cmd, policy_spec, CLI_COUNT(policy_spec), level_pos, LEVEL_MAX, 1, argc,
                       argv, &a);
    if (rc || a.help)
        goto done;
    rc = body ? policy_body(cli, cmd, &a, body) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = policy_path(cli, a.value[P_TEAM], path, &team);
    if (!rc)
        rc = cli_request(cli, true, "PUT", path, body, &policy);
    if (rc)
        goto done;
    if (team)
        (void)snprintf(title, sizeof(title), "Escalation policy of team %.64s set",
                       a.value[P_TEAM]);
    else
        (void)snprintf(title, sizeof(title), "Escalation policy of the organisation set");
    rc = print_policy(cli, policy, title);
done:
    json_decref(policy);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_clear(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *answer = NULL;
    char path[CLI_MAX_PATH];
    int64_t team;
    int rc = cli_parse(cli, cmd, policy_spec, CLI_COUNT(policy_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.value[P_TEAM]) {
        rc = cli_usage_error(cli, cmd, "missing --team");
        goto done;
    }
    rc = policy_path(cli, a.value[P_TEAM], path, &team);
    if (!rc)
        rc = cli_request(cli, true, "DELETE", path, NULL, &answer);
    if (!rc && !cli->json)
        printf("Team %s has no policy of its own now; the organisation's applies.\n",
               a.value[P_TEAM]);
done:
    json_decref(answer);
    args_fini(&a);
    return rc;
}

static const struct cli_command policy_cmds[] = {
    {"show", "policy show [--team TEAM]",
     "Shows the escalation policy of the organisation, or of a team (the organisation's\n"
     "when the team has none): who is told in turn, and how long each has.",
     run_show},
    {"set", "policy set [--team TEAM] LEVEL...",
     "Sets the escalation policy (admins). LEVEL is CONTACT:LIMIT, 1 to 8 of them in order:\n"
     "buddy:10m, line_manager:15m, senior_manager:15m, user:USER:30m, channel:ID:30m.\n"
     "LIMIT is from 1m to 24h.",
     run_set},
    {"clear", "policy clear --team TEAM",
     "Removes a team's own policy (admins); the organisation's applies again.", run_clear},
};

const struct cli_group cmd_policy_group = {"policy", policy_cmds, CLI_COUNT(policy_cmds)};
