/* notalone org: organisations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/output.h"
#include "util/error.h"

static const struct cli_column org_columns[] = {
    {"ID", "id"}, {"NAME", "name"}, {"HOST", "is_host"}, {"CREATED", "created_at"}};
static const struct cli_column org_fields[] = {
    {"id", "id"}, {"name", "name"}, {"host", "is_host"}, {"created", "created_at"}};
static const char *const id_pos[] = {"ID"};

static int run_list(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *items = NULL;
    int rc = cli_parse(cli, cmd, NULL, 0, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_list(cli, "/api/v1/organisations", &items);
    if (rc == 0)
        rc = cli_show_list(cli, items, org_columns, CLI_COUNT(org_columns));
done:
    json_decref(items);
    args_fini(&a);
    return rc;
}

enum { CREATE_NAME, CREATE_ADMIN_USERNAME, CREATE_ADMIN_NAME, CREATE_ADMIN_EMAIL };
static const struct args_spec create_spec[] = {
    [CREATE_NAME] = {"name", ARGS_VALUE},
    [CREATE_ADMIN_USERNAME] = {"admin-username", ARGS_VALUE},
    [CREATE_ADMIN_NAME] = {"admin-name", ARGS_VALUE},
    [CREATE_ADMIN_EMAIL] = {"admin-email", ARGS_VALUE},
};

static int create_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                       json_t *body)
{
    json_t *admin = json_object();
    if (!admin || json_object_set_new(body, "admin", admin) != 0)
        return cli_fail(cli, "out of memory");
    int rc = cli_set_string(cli, cmd, body, "name", "--name", a->value[CREATE_NAME], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, admin, "username", "--admin-username",
                            a->value[CREATE_ADMIN_USERNAME], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, admin, "display_name", "--admin-name",
                            a->value[CREATE_ADMIN_NAME], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, admin, "email", "--admin-email", a->value[CREATE_ADMIN_EMAIL],
                            false);
    return rc;
}

static void print_created(const json_t *answer)
{
    const json_t *org = json_object_get(answer, "organisation");
    const json_t *admin = json_object_get(answer, "admin");
    char *id = output_json_text(json_object_get(org, "id"));
    char *name = output_json_text(json_object_get(org, "name"));
    char *user = output_json_text(json_object_get(admin, "username"));
    char *otp = output_json_text(json_object_get(answer, "one_time_password"));
    printf("Created organisation %s (%s) with administrator %s.\n", id, name, user);
    printf("One-time password for %s: %s\n", user, otp);
    printf("Give it to them privately; they must change it at first login.\n");
    free(id);
    free(name);
    free(user);
    free(otp);
}

static int run_create(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *answer = NULL;
    int rc = cli_parse(cli, cmd, create_spec, CLI_COUNT(create_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.value[CREATE_NAME] || !a.value[CREATE_ADMIN_USERNAME] || !a.value[CREATE_ADMIN_NAME]) {
        rc = cli_usage_error(cli, cmd, "--name, --admin-username and --admin-name are needed");
        goto done;
    }
    rc = body ? create_body(cli, cmd, &a, body) : cli_fail(cli, "out of memory");
    if (rc)
        goto done;
    rc = cli_request(cli, true, "POST", "/api/v1/organisations", body, &answer);
    if (rc)
        goto done;
    if (cli->json)
        rc = cli_print_json(cli, answer);
    else
        print_created(answer);
done:
    json_decref(answer);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_show(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *org = NULL;
    char path[CLI_MAX_PATH];
    int64_t id;
    int rc = cli_parse(cli, cmd, NULL, 0, id_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_parse_id(cli, cmd, "ID", a.pos[0], &id);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/organisations/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "GET", path, NULL, &org);
    if (!rc)
        rc = cli_show_record(cli, org, org_fields, CLI_COUNT(org_fields));
done:
    json_decref(org);
    args_fini(&a);
    return rc;
}

enum { RENAME_NAME };
static const struct args_spec rename_spec[] = {[RENAME_NAME] = {"name", ARGS_VALUE}};

static int run_rename(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *org = NULL;
    char path[CLI_MAX_PATH];
    int64_t id;
    int rc = cli_parse(cli, cmd, rename_spec, 1, id_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.value[RENAME_NAME]) {
        rc = cli_usage_error(cli, cmd, "missing --name");
        goto done;
    }
    rc = cli_parse_id(cli, cmd, "ID", a.pos[0], &id);
    if (!rc)
        rc = body ? cli_set_string(cli, cmd, body, "name", "--name", a.value[RENAME_NAME], false)
                  : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/organisations/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "PATCH", path, body, &org);
    if (!rc)
        rc = cli_show_record(cli, org, org_fields, CLI_COUNT(org_fields));
done:
    json_decref(org);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static const struct cli_command org_cmds[] = {
    {"list", "org list", "Lists the organisations you can see.", run_list},
    {"create", "org create --name N --admin-username U --admin-name D [--admin-email E]",
     "Creates an organisation and its first administrator (host administrators only), and\n"
     "prints the administrator's one-time password.",
     run_create},
    {"show", "org show ID", "Shows an organisation.", run_show},
    {"rename", "org rename ID --name N", "Renames an organisation.", run_rename},
};

const struct cli_group cmd_org_group = {"org", org_cmds, CLI_COUNT(org_cmds)};
