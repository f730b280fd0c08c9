/* notalone apikey: API keys for devices and integrations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/output.h"
#include "util/error.h"

static const struct cli_column key_columns[] = {
    {"ID", "id"},         {"USER", "user_id"},       {"NAME", "name"},
    {"PREFIX", "prefix"}, {"CREATED", "created_at"}, {"REVOKED", "revoked_at"},
};

enum { K_NAME, K_USER, K_COUNT };
static const struct args_spec list_spec[K_COUNT] = {[K_USER] = {"user", ARGS_VALUE}};
static const struct args_spec create_spec[K_COUNT] = {
    [K_NAME] = {"name", ARGS_VALUE},
    [K_USER] = {"user", ARGS_VALUE},
};

static int run_list(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *items = NULL;
    char path[CLI_MAX_PATH];
    int64_t user;
    int rc = cli_parse(cli, cmd, list_spec, K_COUNT, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (a.value[K_USER]) {
        rc = cli_resolve_user(cli, a.value[K_USER], &user);
        if (!rc)
            rc = cli_path(cli, path, "/api/v1/api-keys?user_id=%lld", (long long)user);
    } else {
        rc = cli_path(cli, path, "/api/v1/api-keys");
    }
    if (!rc)
        rc = cli_list(cli, path, &items);
    if (!rc)
        rc = cli_show_list(cli, items, key_columns, CLI_COUNT(key_columns));
done:
    json_decref(items);
    args_fini(&a);
    return rc;
}

static void print_created(const json_t *answer)
{
    const json_t *key = json_object_get(answer, "api_key");
    char *id = output_json_text(json_object_get(key, "id"));
    char *user = output_json_text(json_object_get(key, "user_id"));
    char *secret = output_json_text(json_object_get(answer, "key"));
    printf("Created API key %s for user %s.\n", id, user);
    printf("Key (shown only this once): %s\n", secret);
    free(id);
    free(user);
    free(secret);
}

static int run_create(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *answer = NULL;
    int64_t user;
    int rc = cli_parse(cli, cmd, create_spec, K_COUNT, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.value[K_NAME]) {
        rc = cli_usage_error(cli, cmd, "missing --name");
        goto done;
    }
    rc = body ? cli_set_string(cli, cmd, body, "name", "--name", a.value[K_NAME], false)
              : cli_fail(cli, "out of memory");
    if (!rc && a.value[K_USER]) {
        rc = cli_resolve_user(cli, a.value[K_USER], &user);
        if (!rc)
            rc = cli_set_int(cli, body, "user_id", user);
    }
    if (!rc)
        rc = cli_request(cli, true, "POST", "/api/v1/api-keys", body, &answer);
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

static const char *const id_pos[] = {"ID"};

static int run_revoke(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *answer = NULL;
    char path[CLI_MAX_PATH];
    int64_t id;
    int rc = cli_parse(cli, cmd, NULL, 0, id_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_parse_id(cli, cmd, "ID", a.pos[0], &id);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/api-keys/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "DELETE", path, NULL, &answer);
    if (!rc && !cli->json)
        printf("Revoked API key %lld.\n", (long long)id);
done:
    json_decref(answer);
    args_fini(&a);
    return rc;
}

static const struct cli_command apikey_cmds[] = {
    {"list", "apikey list [--user USER]",
     "Lists API keys: an admin sees every key of the organisation, others their own.", run_list},
    {"create", "apikey create --name N [--user USER]",
     "Creates an API key (for yourself, or as an admin for USER) and prints the key,\n"
     "which is shown only this once.",
     run_create},
    {"revoke", "apikey revoke ID", "Revokes an API key.", run_revoke},
};

const struct cli_group cmd_apikey_group = {"apikey", apikey_cmds, CLI_COUNT(apikey_cmds)};
