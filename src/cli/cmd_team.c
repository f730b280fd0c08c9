/* notalone team: teams and their members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/output.h"
#include "util/error.h"

static const struct cli_column team_columns[] = {
    {"ID", "id"}, {"NAME", "name"}, {"MANAGER", "line_manager_id"}, {"MEMBERS", "member_ids"}};
static const struct cli_column team_fields[] = {{"id", "id"},
                                                {"name", "name"},
                                                {"line manager", "line_manager_id"},
                                                {"members", "member_ids"},
                                                {"organisation", "organisation_id"},
                                                {"created", "created_at"}};
static const char *const team_pos[] = {"TEAM"};
static const char *const member_pos[] = {"TEAM", "USER"};

static int run_list(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *items = NULL;
    int rc = cli_parse(cli, cmd, NULL, 0, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_list(cli, "/api/v1/teams", &items);
    if (rc == 0)
        rc = cli_show_list(cli, items, team_columns, CLI_COUNT(team_columns));
done:
    json_decref(items);
    args_fini(&a);
    return rc;
}

enum { TEAM_NAME, TEAM_MANAGER, TEAM_NO_MANAGER };
static const struct args_spec team_spec[] = {
    [TEAM_NAME] = {"name", ARGS_VALUE},
    [TEAM_MANAGER] = {"manager", ARGS_VALUE},
    [TEAM_NO_MANAGER] = {"no-manager", ARGS_FLAG},
};

/* The body of team create and update from --name, --manager, --no-manager. */
static int team_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                     json_t *body)
{
    int64_t manager;
    if (a->set[TEAM_MANAGER] && a->set[TEAM_NO_MANAGER])
        return cli_usage_error(cli, cmd, "--manager and --no-manager exclude each other");
    int rc = cli_set_string(cli, cmd, body, "name", "--name", a->value[TEAM_NAME], false);
    if (rc)
        return rc;
    if (a->set[TEAM_NO_MANAGER] && json_object_set_new(body, "line_manager_id", json_null()))
        return cli_fail(cli, "out of memory");
    if (!a->value[TEAM_MANAGER])
        return 0;
    rc = cli_resolve_user(cli, a->value[TEAM_MANAGER], &manager);
    return rc ? rc : cli_set_int(cli, body, "line_manager_id", manager);
}

static int run_create(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *team = NULL;
    /* create has no --no-manager: a new team has no manager unless given one. */
    int rc = cli_parse(cli, cmd, team_spec, 2, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.value[TEAM_NAME]) {
        rc = cli_usage_error(cli, cmd, "missing --name");
        goto done;
    }
    rc = body ? team_body(cli, cmd, &a, body) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cli_request(cli, true, "POST", "/api/v1/teams", body, &team);
    if (!rc)
        rc = cli_show_record(cli, team, team_fields, CLI_COUNT(team_fields));
done:
    json_decref(team);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_show(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *team = NULL;
    char path[CLI_MAX_PATH];
    int64_t id;
    int rc = cli_parse(cli, cmd, NULL, 0, team_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_resolve_team(cli, a.pos[0], &id);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/teams/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "GET", path, NULL, &team);
    if (!rc)
        rc = cli_show_record(cli, team, team_fields, CLI_COUNT(team_fields));
done:
    json_decref(team);
    args_fini(&a);
    return rc;
}

static int run_update(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *team = NULL;
    char path[CLI_MAX_PATH];
    int64_t id;
    int rc = cli_parse(cli, cmd, team_spec, CLI_COUNT(team_spec), team_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.set[TEAM_NAME] && !a.set[TEAM_MANAGER] && !a.set[TEAM_NO_MANAGER]) {
        rc = cli_usage_error(cli, cmd, "nothing to change");
        goto done;
    }
    if (a.set[TEAM_MANAGER] && a.set[TEAM_NO_MANAGER]) {
        rc = cli_usage_error(cli, cmd, "--manager and --no-manager exclude each other");
        goto done;
    }
    rc = body ? cli_resolve_team(cli, a.pos[0], &id) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = team_body(cli, cmd, &a, body);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/teams/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "PATCH", path, body, &team);
    if (!rc)
        rc = cli_show_record(cli, team, team_fields, CLI_COUNT(team_fields));
done:
    json_decref(team);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_delete(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *answer = NULL;
    char path[CLI_MAX_PATH];
    int64_t id;
    int rc = cli_parse(cli, cmd, NULL, 0, team_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_resolve_team(cli, a.pos[0], &id);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/teams/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "DELETE", path, NULL, &answer);
    if (!rc && !cli->json)
        printf("Deleted team %lld.\n", (long long)id);
done:
    json_decref(answer);
    args_fini(&a);
    return rc;
}

/* team add-member and remove-member: PUT or DELETE of /teams/{id}/members/{user_id}. */
static int change_member(struct cli *cli, const struct cli_command *cmd, int argc, char **argv,
                         const char *method)
{
    struct args a;
    json_t *answer = NULL;
    char path[CLI_MAX_PATH];
    int64_t team;
    int64_t user;
    int rc = cli_parse(cli, cmd, NULL, 0, member_pos, 2, 2, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_resolve_team(cli, a.pos[0], &team);
    if (!rc)
        rc = cli_resolve_user(cli, a.pos[1], &user);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/teams/%lld/members/%lld", (long long)team,
                      (long long)user);
    if (!rc)
        rc = cli_request(cli, true, method, path, NULL, &answer);
    if (!rc && !cli->json)
        printf("%s user %lld %s team %lld.\n", strcmp(method, "PUT") == 0 ? "Added" : "Removed",
               (long long)user, strcmp(method, "PUT") == 0 ? "to" : "from", (long long)team);
done:
    json_decref(answer);
    args_fini(&a);
    return rc;
}

static int run_add_member(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    return change_member(cli, cmd, argc, argv, "PUT");
}

static int run_remove_member(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    return change_member(cli, cmd, argc, argv, "DELETE");
}

static const struct cli_command team_cmds[] = {
    {"list", "team list", "Lists the teams of your organisation.", run_list},
    {"create", "team create --name N [--manager USER]",
     "Creates a team, optionally with a line manager (who holds the manager or\n"
     "senior_manager role).",
     run_create},
    {"show", "team show TEAM", "Shows a team and the ids of its members.", run_show},
    {"update", "team update TEAM [--name N] [--manager USER | --no-manager]",
     "Renames a team or changes (or removes) its line manager.", run_update},
    {"delete", "team delete TEAM", "Deletes a team.", run_delete},
    {"add-member", "team add-member TEAM USER", "Adds a user to a team.", run_add_member},
    {"remove-member", "team remove-member TEAM USER", "Removes a user from a team.",
     run_remove_member},
};

const struct cli_group cmd_team_group = {"team", team_cmds, CLI_COUNT(team_cmds)};
