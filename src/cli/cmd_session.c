/* notalone login, logout, whoami, passwd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cmd.h"
#include "cli/output.h"
#include "cli/prompt.h"
#include "util/error.h"

/* Longest password read: login accepts up to 1024 bytes. */
#define PASSWORD_MAX 1024

struct password {
    char text[PASSWORD_MAX + 2];
};

static void password_wipe(struct password *p)
{
    sodium_memzero(p->text, sizeof(p->text));
}

/* Reads a password from the terminal (with prompt) or a line of stdin (from_stdin). */
static int read_password(struct cli *cli, const struct cli_command *cmd, bool from_stdin,
                         const char *prompt, struct password *out)
{
    int rc = from_stdin ? prompt_read_line(stdin, out->text, sizeof(out->text))
                        : prompt_password(prompt, out->text, sizeof(out->text));
    if (rc == 0 && strlen(out->text) > PASSWORD_MAX)
        rc = -NA_ETOOBIG;
    if (rc == -NA_ETOOBIG)
        return cli_usage_error(cli, cmd, "a password is longer than %d bytes", PASSWORD_MAX);
    if (rc)
        return cli_usage_error(cli, cmd, "no password given");
    return 0;
}

/* A JSON object of two string members; NULL when out of memory. Caller json_decref. */
static json_t *pair_object(const char *k1, const char *v1, const char *k2, const char *v2)
{
    json_t *o = json_object();
    if (o && !json_object_set_new(o, k1, json_string(v1)) &&
        !json_object_set_new(o, k2, json_string(v2)))
        return o;
    json_decref(o);
    return NULL;
}

static int save_login(struct cli *cli, const json_t *answer, const char *username)
{
    const char *token = json_string_value(json_object_get(answer, "token"));
    const char *name =
        json_string_value(json_object_get(json_object_get(answer, "user"), "username"));
    if (!token)
        return cli_fail(cli, "invalid reply from %s: no token", cli->server);
    if (!cli->cred_path[0])
        return cli_fail(cli, "cannot save the login: set HOME or XDG_CONFIG_HOME");
    struct credentials c = {cli->server, (char *)token, (char *)(name ? name : username)};
    if (credentials_save(cli->cred_path, &c) != 0)
        return cli_fail(cli, "cannot save the login to %s", cli->cred_path);
    return 0;
}

static void print_login(struct cli *cli, json_t *answer)
{
    const json_t *user = json_object_get(answer, "user");
    if (cli->json) {
        /* The token is a secret: it goes to the credentials file only. */
        (void)json_object_del(answer, "token");
        (void)cli_print_json(cli, answer);
    } else {
        char *who = output_json_text(json_object_get(user, "username"));
        char *name = output_json_text(json_object_get(user, "display_name"));
        char *until = output_json_text(json_object_get(answer, "expires_at"));
        printf("Logged in to %s as %s (%s); the session ends at %s.\n", cli->server, who, name,
               until);
        free(who);
        free(name);
        free(until);
    }
    if (json_is_true(json_object_get(answer, "password_change_required")))
        fputs("Your password is a one-time password: set your own with 'notalone passwd'.\n",
              cli->json ? stderr : stdout);
    if (getenv("NOTALONE_TOKEN"))
        fputs("notalone: note: NOTALONE_TOKEN is set and is used instead of this login\n", stderr);
}

enum { LOGIN_USERNAME, LOGIN_PASSWORD_STDIN };
static const struct args_spec login_spec[] = {
    [LOGIN_USERNAME] = {"username", ARGS_VALUE},
    [LOGIN_PASSWORD_STDIN] = {"password-stdin", ARGS_FLAG},
};

static int run_login(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct password pw;
    json_t *body = NULL;
    json_t *answer = NULL;
    char prompt[ARGS_MAX_LEN + 32];

    memset(&pw, 0, sizeof(pw));
    int rc = cli_parse(cli, cmd, login_spec, 2, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    const char *username = a.value[LOGIN_USERNAME];
    if (!username) {
        rc = cli_usage_error(cli, cmd, "missing --username");
        goto done;
    }
    bool from_stdin = a.set[LOGIN_PASSWORD_STDIN] || !prompt_stdin_is_tty();
    (void)snprintf(prompt, sizeof(prompt), "Password for %s: ", username);
    rc = read_password(cli, cmd, from_stdin, prompt, &pw);
    if (rc)
        goto done;
    body = pair_object("username", username, "password", pw.text);
    rc = body ? cli_request(cli, false, "POST", "/api/v1/login", body, &answer)
              : cli_fail(cli, "out of memory");
    if (rc)
        goto done;
    rc = save_login(cli, answer, username);
    if (rc == 0)
        print_login(cli, answer);
done:
    json_decref(answer);
    json_decref(body);
    password_wipe(&pw);
    args_fini(&a);
    return rc;
}

static int run_logout(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *answer = NULL;
    int rc = cli_parse(cli, cmd, NULL, 0, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_request(cli, true, "POST", "/api/v1/logout", NULL, &answer);
    bool ended = rc == 0 || (cli->client && client_last_error(cli->client)->status == 401);
    /* A session the server no longer knows is as good as logged out: forget it too. */
    if (ended && cli->token_saved && credentials_remove(cli->cred_path) != 0) {
        rc = cli_fail(cli, "cannot remove %s", cli->cred_path);
        goto done;
    }
    if (rc == 0 && !cli->json)
        printf("Logged out of %s.\n", cli->server);
done:
    json_decref(answer);
    args_fini(&a);
    return rc;
}

static void print_me(const json_t *me)
{
    const json_t *user = json_object_get(me, "user");
    const json_t *org = json_object_get(me, "organisation");
    struct table t;
    table_init(&t, 2, NULL);
    table_add_field(&t, "username", json_object_get(user, "username"));
    table_add_field(&t, "name", json_object_get(user, "display_name"));
    table_add_field(&t, "roles", json_object_get(user, "roles"));
    table_add_field(&t, "organisation", json_object_get(org, "name"));
    table_add_field(&t, "organisation id", json_object_get(org, "id"));
    table_add_field(&t, "host organisation", json_object_get(org, "is_host"));
    table_add_field(&t, "credential", json_object_get(me, "credential"));
    if (json_is_true(json_object_get(user, "password_change_required"))) {
        const char *row[2] = {"password", "one-time: run 'notalone passwd'"};
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
}

static int run_whoami(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *me = NULL;
    int rc = cli_parse(cli, cmd, NULL, 0, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_request(cli, true, "GET", "/api/v1/me", NULL, &me);
    if (rc)
        goto done;
    if (cli->json)
        rc = cli_print_json(cli, me);
    else
        print_me(me);
done:
    json_decref(me);
    args_fini(&a);
    return rc;
}

enum { PASSWD_STDIN };
static const struct args_spec passwd_spec[] = {
    [PASSWD_STDIN] = {"stdin", ARGS_FLAG},
};

/* Reads the current and the new password (twice on a terminal). */
static int read_passwords(struct cli *cli, const struct cli_command *cmd, bool from_stdin,
                          struct password *current, struct password *fresh)
{
    struct password again;
    int rc = read_password(cli, cmd, from_stdin, "Current password: ", current);
    if (rc)
        return rc;
    rc = read_password(cli, cmd, from_stdin, "New password: ", fresh);
    if (rc || from_stdin)
        return rc;
    rc = read_password(cli, cmd, false, "New password again: ", &again);
    if (rc == 0 && strcmp(again.text, fresh->text) != 0)
        rc = cli_usage_error(cli, cmd, "the new passwords differ");
    password_wipe(&again);
    return rc;
}

static int run_passwd(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct password current;
    struct password fresh;
    json_t *body = NULL;
    json_t *answer = NULL;

    memset(&current, 0, sizeof(current));
    memset(&fresh, 0, sizeof(fresh));
    int rc = cli_parse(cli, cmd, passwd_spec, 1, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!cli->token) {
        rc = cli_fail(cli, "not logged in to %s (run 'notalone login --username NAME')",
                      cli->server);
        goto done;
    }
    bool from_stdin = a.set[PASSWD_STDIN] || !prompt_stdin_is_tty();
    rc = read_passwords(cli, cmd, from_stdin, &current, &fresh);
    if (rc)
        goto done;
    body = pair_object("current_password", current.text, "new_password", fresh.text);
    rc = body ? cli_request(cli, true, "POST", "/api/v1/me/password", body, &answer)
              : cli_fail(cli, "out of memory");
    if (rc == 0 && !cli->json)
        puts("Password changed.");
done:
    json_decref(answer);
    json_decref(body);
    password_wipe(&current);
    password_wipe(&fresh);
    args_fini(&a);
    return rc;
}

/* notalone duty on|off: going off duty as a buddy needs the visits handed over first. */
static int run_duty(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    static const char *const pos[] = {"on|off"};
    struct args a;
    json_t *body = NULL, *me = NULL;
    int rc = cli_parse(cli, cmd, NULL, 0, pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    bool on = strcmp(a.pos[0], "on") == 0;
    if (!on && strcmp(a.pos[0], "off")) {
        rc = cli_usage_error(cli, cmd, "say on or off, not '%s'", a.pos[0]);
        goto done;
    }
    body = json_pack("{s:b}", "on_duty", on);
    rc = cli_request(cli, true, "POST", "/api/v1/me/duty", body, &me);
    if (rc)
        goto done;
    if (cli->json)
        rc = cli_print_json(cli, me);
    else
        printf("You are %s duty.\n", on ? "on" : "off");
done:
    json_decref(body);
    json_decref(me);
    args_fini(&a);
    return rc;
}

static const struct cli_command session_cmds[] = {
    {"login", "login --username U [--password-stdin]",
     "Logs in and saves the session token (mode 0600) for the commands that follow.\n"
     "The password is read from the terminal without echo, or as one line from standard\n"
     "input with --password-stdin (or when standard input is not a terminal).",
     run_login},
    {"logout", "logout", "Ends the session on the server and deletes the saved login.", run_logout},
    {"whoami", "whoami", "Shows the logged-in user, their roles and organisation.", run_whoami},
    {"passwd", "passwd [--stdin]",
     "Changes your password. On a terminal it asks for the current password and the new\n"
     "one twice; with --stdin (or from a pipe) it reads two lines: current, then new.",
     run_passwd},
    {"duty", "duty on|off",
     "Goes on or off duty. Off duty you cannot be nominated as a buddy; a buddy with\n"
     "workers still out must hand their visits over first ('notalone visit handover').",
     run_duty},
};

const struct cli_group cmd_session_group = {NULL, session_cmds,
                                            sizeof(session_cmds) / sizeof(session_cmds[0])};
