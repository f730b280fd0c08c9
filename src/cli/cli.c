#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/output.h"
#include "util/alloc.h"
#include "util/error.h"

void cli_fini(struct cli *cli)
{
    client_free(cli->client);
    client_free(cli->anon);
    cli->client = cli->anon = NULL;
    if (cli->token) {
        sodium_memzero(cli->token, strlen(cli->token));
        free(cli->token);
        cli->token = NULL;
    }
    free(cli->server);
    cli->server = NULL;
    credentials_fini(&cli->saved);
}

static void set_exit(struct cli *cli, enum cli_exit status)
{
    /* The first failure is the one that ended the command. */
    if (cli->exit_status == CLI_EXIT_OK)
        cli->exit_status = status;
}

void cli_print_command_usage(FILE *f, const struct cli_command *cmd)
{
    fprintf(f, "usage: notalone %s\n", cmd->synopsis);
    if (cmd->help)
        fprintf(f, "\n%s\n", cmd->help);
}

void cli_print_group_synopses(FILE *f, const struct cli_group *g)
{
    for (size_t i = 0; i < g->ncmds; i++)
        fprintf(f, "  notalone %s\n", g->cmds[i].synopsis);
}

int cli_usage_error(struct cli *cli, const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("notalone: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (cmd)
        fprintf(stderr, "usage: notalone %s\n", cmd->synopsis);
    else
        fputs("usage: notalone [--server URL] [--json] COMMAND [ARGS]  (notalone --help)\n",
              stderr);
    set_exit(cli, CLI_EXIT_USAGE);
    return -NA_EINVAL;
}

int cli_fail(struct cli *cli, const char *fmt, ...)
{
    va_list ap;
    fputs("notalone: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    set_exit(cli, CLI_EXIT_ERROR);
    return -NA_EIO;
}

int cli_parse(struct cli *cli, const struct cli_command *cmd, const struct args_spec *spec,
              size_t nspec, const char *const *pos_names, size_t npos, size_t min_pos, int argc,
              char **argv, struct args *a)
{
    char err[256];
    int rc = args_parse(a, spec, nspec, pos_names, npos, min_pos, false, argc, argv, NULL, err,
                        sizeof(err));
    if (rc)
        return cli_usage_error(cli, cmd, "%s", err);
    if (a->help)
        cli_print_command_usage(stdout, cmd);
    return 0;
}

static void print_group_usage(FILE *f, const struct cli_group *g)
{
    fprintf(f, "usage: notalone %s COMMAND [ARGS]\n\ncommands:\n", g->name);
    cli_print_group_synopses(f, g);
    fprintf(f, "\n'notalone %s COMMAND --help' describes one.\n", g->name);
}

int cli_dispatch(struct cli *cli, const struct cli_group *g, int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        print_group_usage(stdout, g);
        return 0;
    }
    for (size_t i = 0; argc > 0 && i < g->ncmds; i++) {
        if (strcmp(argv[0], g->cmds[i].name) == 0)
            return g->cmds[i].run(cli, &g->cmds[i], argc - 1, argv + 1);
    }
    if (argc == 0)
        fprintf(stderr, "notalone: missing %s command\n", g->name);
    else
        fprintf(stderr, "notalone: unknown %s command '%s'\n", g->name, argv[0]);
    print_group_usage(stderr, g);
    set_exit(cli, CLI_EXIT_USAGE);
    return -NA_EINVAL;
}

static int get_client(struct cli *cli, bool with_token, struct client **out)
{
    struct client **slot = with_token ? &cli->client : &cli->anon;
    if (strncmp(cli->server, "http://", 7) != 0 && strncmp(cli->server, "https://", 8) != 0)
        return cli_usage_error(cli, NULL, "the server URL must start with http:// or https://");
    if (with_token && !cli->token)
        return cli_fail(cli, "not logged in to %s (run 'notalone login --username NAME')",
                        cli->server);
    if (!*slot) {
        int rc = client_new(cli->server, with_token ? cli->token : NULL, slot);
        if (rc == -NA_EINVAL && with_token)
            return cli_fail(cli, "the token holds characters a token cannot have");
        if (rc == -NA_EINVAL)
            return cli_usage_error(cli, NULL,
                                   "the server URL must start with http:// or "
                                   "https://");
        if (rc)
            return cli_fail(cli, "cannot start libcurl");
    }
    *out = *slot;
    return 0;
}

static int report(struct cli *cli, const struct client *c, int rc)
{
    char line[1024];
    const struct client_error *e = client_last_error(c);
    (void)output_error_line(e, cli->server, line, sizeof(line));
    fprintf(stderr, "%s\n", line);
    set_exit(cli, e->kind == CLIENT_ERR_TRANSPORT ? CLI_EXIT_UNREACHABLE : CLI_EXIT_ERROR);
    return rc;
}

int cli_request(struct cli *cli, bool with_token, const char *method, const char *path,
                const json_t *body, json_t **out)
{
    struct client *c;
    *out = NULL;
    int rc = get_client(cli, with_token, &c);
    if (rc)
        return rc;
    rc = client_request(c, method, path, body, out);
    return rc ? report(cli, c, rc) : 0;
}

int cli_request_quiet(struct cli *cli, const char *method, const char *path, const json_t *body,
                      json_t **out)
{
    struct client *c;
    *out = NULL;
    int rc = get_client(cli, true, &c);
    if (rc)
        return rc;
    return client_request(c, method, path, body, out);
}

int cli_report(struct cli *cli, int rc)
{
    /* Without a client the failure was reported when making it. */
    return cli->client ? report(cli, cli->client, rc) : rc;
}

int cli_list(struct cli *cli, const char *path, json_t **out)
{
    struct client *c;
    *out = NULL;
    int rc = get_client(cli, true, &c);
    if (rc)
        return rc;
    rc = client_list(c, path, out);
    return rc ? report(cli, c, rc) : 0;
}

static int not_found(struct cli *cli, const char *what, const char *name)
{
    fprintf(stderr, "notalone: not_found: no %s named '%s'\n", what, name);
    set_exit(cli, CLI_EXIT_ERROR);
    return -NA_ENOTFOUND;
}

/* The integer member "id" of o; -NA_EIO (reported) when missing. */
static int item_id(struct cli *cli, const json_t *o, int64_t *out)
{
    const json_t *id = json_object_get(o, "id");
    if (!json_is_integer(id) || json_integer_value(id) <= 0)
        return cli_fail(cli, "invalid reply from %s: an item without id", cli->server);
    *out = (int64_t)json_integer_value(id);
    return 0;
}

int cli_resolve_user(struct cli *cli, const char *arg, int64_t *out)
{
    char name[ARGS_MAX_LEN + 1];
    char esc[3 * ARGS_MAX_LEN + 1];
    char path[CLI_MAX_PATH + 3 * ARGS_MAX_LEN];
    json_t *page = NULL;
    if (args_is_id(arg, out))
        return 0;
    /* Usernames are stored lowercase. */
    size_t i = 0;
    for (; arg[i] && i < ARGS_MAX_LEN; i++)
        name[i] = (arg[i] >= 'A' && arg[i] <= 'Z') ? (char)(arg[i] - 'A' + 'a') : arg[i];
    name[i] = '\0';
    if (output_url_escape(name, esc, sizeof(esc)))
        return cli_usage_error(cli, NULL, "user name too long");
    int n = snprintf(path, sizeof(path), "/api/v1/users?username=%s", esc);
    if (n < 0 || (size_t)n >= sizeof(path))
        return cli_usage_error(cli, NULL, "user name too long");
    int rc = cli_request(cli, true, "GET", path, NULL, &page);
    if (rc)
        return rc;
    const json_t *first = json_array_get(json_object_get(page, "items"), 0);
    rc = first ? item_id(cli, first, out) : not_found(cli, "user", arg);
    json_decref(page);
    return rc;
}

int cli_resolve_team(struct cli *cli, const char *arg, int64_t *out)
{
    json_t *teams = NULL;
    if (args_is_id(arg, out))
        return 0;
    int rc = cli_list(cli, "/api/v1/teams", &teams);
    if (rc)
        return rc;
    size_t i;
    const json_t *t;
    rc = -NA_ENOTFOUND;
    json_array_foreach(teams, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (name && strcmp(name, arg) == 0) {
            rc = item_id(cli, t, out);
            break;
        }
    }
    if (rc == -NA_ENOTFOUND)
        rc = not_found(cli, "team", arg);
    json_decref(teams);
    return rc;
}

int cli_print_json(struct cli *cli, const json_t *v)
{
    if (output_json(stdout, v) != 0 || fflush(stdout) != 0)
        return cli_fail(cli, "cannot write the output");
    return 0;
}

int cli_path(struct cli *cli, char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, CLI_MAX_PATH, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= CLI_MAX_PATH)
        return cli_usage_error(cli, NULL, "request path too long");
    return 0;
}

int cli_show_list(struct cli *cli, const json_t *items, const struct cli_column *cols, size_t ncols)
{
    if (cli->json)
        return cli_print_json(cli, items);
    struct table t;
    const char **headers = xcalloc(ncols, sizeof(*headers));
    char **row = xcalloc(ncols, sizeof(*row));
    for (size_t c = 0; c < ncols; c++)
        headers[c] = cols[c].header;
    table_init(&t, ncols, headers);
    size_t i;
    const json_t *item;
    json_array_foreach(items, i, item)
    {
        for (size_t c = 0; c < ncols; c++)
            row[c] = output_json_text(json_object_get(item, cols[c].key));
        table_add_row(&t, (const char *const *)row);
        for (size_t c = 0; c < ncols; c++)
            free(row[c]);
    }
    table_print(&t, stdout);
    table_fini(&t);
    free(row);
    free(headers);
    return 0;
}

int cli_show_record(struct cli *cli, const json_t *o, const struct cli_column *cols, size_t ncols)
{
    if (cli->json)
        return cli_print_json(cli, o);
    struct table t;
    table_init(&t, 2, NULL);
    for (size_t c = 0; c < ncols; c++)
        table_add_field(&t, cols[c].header, json_object_get(o, cols[c].key));
    table_print(&t, stdout);
    table_fini(&t);
    return 0;
}

int cli_set_string(struct cli *cli, const struct cli_command *cmd, json_t *o, const char *key,
                   const char *option, const char *value, bool empty_is_null)
{
    if (!value)
        return 0;
    json_t *v = (empty_is_null && value[0] == '\0') ? json_null() : json_string(value);
    /* json_string refuses text that is not UTF-8. */
    if (!v)
        return cli_usage_error(cli, cmd, "%s is not valid UTF-8", option);
    if (json_object_set_new(o, key, v) != 0)
        return cli_fail(cli, "out of memory");
    return 0;
}

int cli_set_int(struct cli *cli, json_t *o, const char *key, int64_t v)
{
    if (json_object_set_new(o, key, json_integer((json_int_t)v)) != 0)
        return cli_fail(cli, "out of memory");
    return 0;
}

int cli_parse_id(struct cli *cli, const struct cli_command *cmd, const char *what, const char *arg,
                 int64_t *out)
{
    if (!args_is_id(arg, out))
        return cli_usage_error(cli, cmd, "%s must be a positive integer, not '%s'", what, arg);
    return 0;
}

int cli_query_add(struct cli *cli, char *path, const char *key, const char *value)
{
    size_t n = strnlen(path, CLI_MAX_PATH);
    if (n >= CLI_MAX_PATH)
        return cli_usage_error(cli, NULL, "request path too long");
    int k =
        snprintf(path + n, CLI_MAX_PATH - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, value);
    if (k < 0 || (size_t)k >= CLI_MAX_PATH - n)
        return cli_usage_error(cli, NULL, "request path too long");
    return 0;
}

int cli_query_add_id(struct cli *cli, char *path, const char *key, int64_t id)
{
    char v[24];
    (void)snprintf(v, sizeof(v), "%lld", (long long)id);
    return cli_query_add(cli, path, key, v);
}
