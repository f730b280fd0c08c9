/* notalone channel: how people and the organisation are told. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cmd.h"
#include "cli/names.h"
#include "cli/output.h"
#include "cli/prompt.h"
#include "util/error.h"

/* Longest webhook secret read from standard input. */
#define CHANNEL_MAX_SECRET 1024

static const char *const channel_pos[] = {"ID"};

/* The OWNER cell: a user's name, or "organisation". */
static const char *owner_text(struct cli *cli, struct names *names, const json_t *c, char *dst,
                              size_t n)
{
    if (!json_is_integer(json_object_get(c, "user_id"))) {
        (void)snprintf(dst, n, "organisation");
        return dst;
    }
    return names_get(cli, names, json_object_get(c, "user_id"), false, dst, n);
}

static void print_channels(struct cli *cli, const json_t *items)
{
    static const char *const headers[] = {"ID",    "NAME",   "KIND",    "ADDRESS",
                                          "OWNER", "SECRET", "TEMPLATE"};
    char id[32], name[600], kind[32], address[1024], owner[NAMES_TEXT], secret[8];
    struct names names;
    struct table t;
    const json_t *c;
    size_t i;
    names_init(&names);
    table_init(&t, 7, headers);
    json_array_foreach(items, i, c)
    {
        const char *row[7] = {
            output_text(json_object_get(c, "id"), id, sizeof(id)),
            output_text(json_object_get(c, "name"), name, sizeof(name)),
            output_text(json_object_get(c, "kind"), kind, sizeof(kind)),
            output_text(json_object_get(c, "address"), address, sizeof(address)),
            owner_text(cli, &names, c, owner, sizeof(owner)),
            output_text(json_object_get(c, "has_secret"), secret, sizeof(secret)),
            json_is_string(json_object_get(c, "template")) ? "yes" : "no",
        };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
    names_fini(&names);
}

static int run_list(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *items = NULL;
    int rc = cli_parse(cli, cmd, NULL, 0, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_list(cli, "/api/v1/channels", &items);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, items);
        goto done;
    }
    print_channels(cli, items);
done:
    json_decref(items);
    args_fini(&a);
    return rc;
}

enum { CH_NAME, CH_WEBHOOK, CH_SECRET, CH_TEMPLATE, CH_EMAIL, CH_LOG, CH_USER, CH_ORG };
static const struct args_spec add_spec[] = {
    [CH_NAME] = {"name", ARGS_VALUE},     [CH_WEBHOOK] = {"webhook", ARGS_VALUE},
    [CH_SECRET] = {"secret", ARGS_VALUE}, [CH_TEMPLATE] = {"template", ARGS_VALUE},
    [CH_EMAIL] = {"email", ARGS_VALUE},   [CH_LOG] = {"log", ARGS_FLAG},
    [CH_USER] = {"user", ARGS_VALUE},     [CH_ORG] = {"organisation", ARGS_FLAG},
};

/* Checks the combination of options of channel add. */
static int add_check(struct cli *cli, const struct cli_command *cmd, const struct args *a)
{
    int kinds = a->set[CH_WEBHOOK] + a->set[CH_EMAIL] + a->set[CH_LOG];
    if (!a->value[CH_NAME])
        return cli_usage_error(cli, cmd, "missing --name");
    if (kinds != 1)
        return cli_usage_error(cli, cmd, "give one of --webhook URL, --email ADDRESS, --log");
    if ((a->set[CH_SECRET] || a->set[CH_TEMPLATE]) && !a->set[CH_WEBHOOK])
        return cli_usage_error(cli, cmd, "--secret and --template are for --webhook");
    if (a->set[CH_USER] && a->set[CH_ORG])
        return cli_usage_error(cli, cmd, "--user and --organisation exclude each other");
    return 0;
}

/* Sets "secret": the value of --secret, or a line of standard input for "--secret -". */
static int add_secret(struct cli *cli, const struct cli_command *cmd, const char *arg, json_t *body)
{
    char line[CHANNEL_MAX_SECRET + 2];
    if (!arg || strcmp(arg, "-") != 0)
        return cli_set_string(cli, cmd, body, "secret", "--secret", arg, false);
    int rc = prompt_read_line(stdin, line, sizeof(line));
    if (rc == 0)
        rc = cli_set_string(cli, cmd, body, "secret", "--secret", line, false);
    else
        rc = cli_usage_error(cli, cmd, "no secret on standard input");
    sodium_memzero(line, sizeof(line));
    return rc;
}

static int add_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                    json_t *body)
{
    int64_t user;
    const char *kind = a->set[CH_WEBHOOK] ? "webhook" : a->set[CH_EMAIL] ? "email" : "log";
    const char *address = a->set[CH_WEBHOOK] ? a->value[CH_WEBHOOK] : a->value[CH_EMAIL];
    int rc = cli_set_string(cli, cmd, body, "name", "--name", a->value[CH_NAME], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "kind", "--log", kind, false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "address", "the address", address, false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "template", "--template", a->value[CH_TEMPLATE], false);
    if (!rc)
        rc = add_secret(cli, cmd, a->value[CH_SECRET], body);
    if (!rc && a->set[CH_ORG] &&
        (json_object_set_new(body, "user_id", json_null()) ||
         json_object_set_new(body, "organisation", json_true())))
        rc = cli_fail(cli, "out of memory");
    if (rc || !a->value[CH_USER])
        return rc;
    rc = cli_resolve_user(cli, a->value[CH_USER], &user);
    return rc ? rc : cli_set_int(cli, body, "user_id", user);
}

static int run_add(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *channel = NULL;
    int rc = cli_parse(cli, cmd, add_spec, CLI_COUNT(add_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = body ? add_check(cli, cmd, &a) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = add_body(cli, cmd, &a, body);
    if (!rc)
        rc = cli_request(cli, true, "POST", "/api/v1/channels", body, &channel);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, channel);
        goto done;
    }
    json_t *one = json_pack("[O]", channel);
    if (one)
        print_channels(cli, one);
    json_decref(one);
done:
    json_decref(channel);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_remove(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *answer = NULL;
    char path[CLI_MAX_PATH];
    int64_t id;
    int rc = cli_parse(cli, cmd, NULL, 0, channel_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_parse_id(cli, cmd, "ID", a.pos[0], &id);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/channels/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "DELETE", path, NULL, &answer);
    if (!rc && !cli->json)
        printf("Removed channel %lld.\n", (long long)id);
done:
    json_decref(answer);
    args_fini(&a);
    return rc;
}

static const struct cli_command channel_cmds[] = {
    {"list", "channel list", "Lists your channels (admins: every channel of the organisation).",
     run_list},
    {"add",
     "channel add --name N (--webhook URL [--secret S] [--template T] |\n"
     "                     --email ADDRESS | --log) [--user USER | --organisation]",
     "Adds a channel: a webhook (signed with HMAC-SHA256 when it has a secret; '--secret -'\n"
     "reads it from standard input; a template replaces the JSON body, with {{text}},\n"
     "{{subject}}, {{phone}}, {{event}} and {{link}}), an email address, or the log.\n"
     "Admins may add one for another user or for the organisation (such as the ARC's webhook).",
     run_add},
    {"remove", "channel remove ID", "Removes a channel.", run_remove},
};

const struct cli_group cmd_channel_group = {"channel", channel_cmds, CLI_COUNT(channel_cmds)};
