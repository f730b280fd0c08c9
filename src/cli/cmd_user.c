/* notalone user: users, their passwords and vehicles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/output.h"
#include "util/alloc.h"
#include "util/error.h"

static const struct cli_column user_columns[] = {
    {"ID", "id"},       {"USERNAME", "username"}, {"NAME", "display_name"},
    {"ROLES", "roles"}, {"TEAMS", "team_ids"},    {"DISABLED", "disabled"},
};
static const struct cli_column user_fields[] = {
    {"id", "id"},
    {"username", "username"},
    {"name", "display_name"},
    {"roles", "roles"},
    {"teams", "team_ids"},
    {"disabled", "disabled"},
    {"must change password", "password_change_required"},
    {"email", "email"},
    {"phone", "phone"},
    {"home address", "home_address"},
    {"organisation", "organisation_id"},
    {"created", "created_at"},
    {"updated", "updated_at"},
};
static const char *const user_pos[] = {"USER"};

/* One option enum for create and update; each spec names the ones it takes. */
enum {
    U_USERNAME,
    U_NAME,
    U_ROLE,
    U_EMAIL,
    U_PHONE,
    U_HOME,
    U_TEAM,
    U_NOK_NAME,
    U_NOK_RELATION,
    U_NOK_PHONE,
    U_NO_NOK,
    U_DISABLE,
    U_ENABLE,
    U_COUNT
};
static const struct args_spec create_spec[U_COUNT] = {
    [U_USERNAME] = {"username", ARGS_VALUE},
    [U_NAME] = {"name", ARGS_VALUE},
    [U_ROLE] = {"role", ARGS_LIST},
    [U_EMAIL] = {"email", ARGS_VALUE},
    [U_PHONE] = {"phone", ARGS_VALUE},
    [U_HOME] = {"home-address", ARGS_VALUE},
    [U_TEAM] = {"team", ARGS_LIST},
    [U_NOK_NAME] = {"nok-name", ARGS_VALUE},
    [U_NOK_RELATION] = {"nok-relation", ARGS_VALUE},
    [U_NOK_PHONE] = {"nok-phone", ARGS_VALUE},
};
static const struct args_spec update_spec[U_COUNT] = {
    [U_NAME] = {"name", ARGS_VALUE},
    [U_ROLE] = {"role", ARGS_LIST},
    [U_EMAIL] = {"email", ARGS_VALUE},
    [U_PHONE] = {"phone", ARGS_VALUE},
    [U_HOME] = {"home-address", ARGS_VALUE},
    [U_NOK_NAME] = {"nok-name", ARGS_VALUE},
    [U_NOK_RELATION] = {"nok-relation", ARGS_VALUE},
    [U_NOK_PHONE] = {"nok-phone", ARGS_VALUE},
    [U_NO_NOK] = {"no-nok", ARGS_FLAG},
    [U_DISABLE] = {"disable", ARGS_FLAG},
    [U_ENABLE] = {"enable", ARGS_FLAG},
};

/* "/api/v1/users/{id}" plus suffix for the USER argument, into path (CLI_MAX_PATH). */
static int user_path(struct cli *cli, const char *user, const char *suffix, char *path)
{
    int64_t id;
    int rc = cli_resolve_user(cli, user, &id);
    if (rc)
        return rc;
    return cli_path(cli, path, "/api/v1/users/%lld%s", (long long)id, suffix);
}

enum { L_TEAM, L_ROLE };
static const struct args_spec list_spec[] = {
    [L_TEAM] = {"team", ARGS_VALUE}, [L_ROLE] = {"role", ARGS_VALUE}};

/* The path of user list with its ?team_id= and role= filters. */
static int list_path(struct cli *cli, const struct args *a, char *path)
{
    char role[3 * ARGS_MAX_LEN + 1] = "";
    int64_t team = 0;
    int rc = 0;
    if (a->value[L_TEAM])
        rc = cli_resolve_team(cli, a->value[L_TEAM], &team);
    if (rc)
        return rc;
    if (a->value[L_ROLE] && output_url_escape(a->value[L_ROLE], role, sizeof(role)) != 0)
        return cli_usage_error(cli, NULL, "--role is too long");
    if (team && role[0])
        return cli_path(cli, path, "/api/v1/users?team_id=%lld&role=%s", (long long)team, role);
    if (team)
        return cli_path(cli, path, "/api/v1/users?team_id=%lld", (long long)team);
    if (role[0])
        return cli_path(cli, path, "/api/v1/users?role=%s", role);
    return cli_path(cli, path, "/api/v1/users");
}

static int run_list(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *items = NULL;
    char path[CLI_MAX_PATH];
    int rc = cli_parse(cli, cmd, list_spec, CLI_COUNT(list_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = list_path(cli, &a, path);
    if (!rc)
        rc = cli_list(cli, path, &items);
    if (!rc)
        rc = cli_show_list(cli, items, user_columns, CLI_COUNT(user_columns));
done:
    json_decref(items);
    args_fini(&a);
    return rc;
}

/* Sets o[key] to an array of the strings of a repeated option. */
static int set_string_list(struct cli *cli, const struct cli_command *cmd, json_t *o,
                           const char *key, const char *option, const char **list, size_t n)
{
    json_t *arr = json_array();
    if (!arr || json_object_set_new(o, key, arr) != 0)
        return cli_fail(cli, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_string(list[i]);
        if (!s)
            return cli_usage_error(cli, cmd, "%s is not valid UTF-8", option);
        if (json_array_append_new(arr, s) != 0)
            return cli_fail(cli, "out of memory");
    }
    return 0;
}

static int set_team_ids(struct cli *cli, json_t *o, const char **teams, size_t n)
{
    json_t *arr = json_array();
    if (!arr || json_object_set_new(o, "team_ids", arr) != 0)
        return cli_fail(cli, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int64_t id;
        int rc = cli_resolve_team(cli, teams[i], &id);
        if (rc)
            return rc;
        if (json_array_append_new(arr, json_integer((json_int_t)id)) != 0)
            return cli_fail(cli, "out of memory");
    }
    return 0;
}

/* next_of_kin from --nok-name, --nok-relation, --nok-phone, or null with --no-nok. */
static int set_next_of_kin(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                           json_t *body)
{
    bool any = a->set[U_NOK_NAME] || a->set[U_NOK_RELATION] || a->set[U_NOK_PHONE];
    if (a->set[U_NO_NOK]) {
        if (json_object_set_new(body, "next_of_kin", json_null()) != 0)
            return cli_fail(cli, "out of memory");
        return 0;
    }
    if (!any)
        return 0;
    json_t *nok = json_object();
    if (!nok || json_object_set_new(body, "next_of_kin", nok) != 0)
        return cli_fail(cli, "out of memory");
    int rc = cli_set_string(cli, cmd, nok, "name", "--nok-name", a->value[U_NOK_NAME], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, nok, "relation", "--nok-relation", a->value[U_NOK_RELATION],
                            false);
    if (!rc)
        rc = cli_set_string(cli, cmd, nok, "phone", "--nok-phone", a->value[U_NOK_PHONE], false);
    return rc;
}

/* Checks the options of create and update that only make sense together or apart. */
static int check_user_options(struct cli *cli, const struct cli_command *cmd, const struct args *a)
{
    bool any_nok = a->set[U_NOK_NAME] || a->set[U_NOK_RELATION] || a->set[U_NOK_PHONE];
    if (a->set[U_DISABLE] && a->set[U_ENABLE])
        return cli_usage_error(cli, cmd, "--disable and --enable exclude each other");
    if (a->set[U_NO_NOK] && any_nok)
        return cli_usage_error(cli, cmd, "--no-nok excludes the --nok-* options");
    if (any_nok && !a->set[U_NOK_NAME])
        return cli_usage_error(cli, cmd, "--nok-relation and --nok-phone need --nok-name");
    return 0;
}

/* The body of user create (clear == false) or update (clear: "" sets null). */
static int user_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                     bool clear, json_t *body)
{
    int rc = cli_set_string(cli, cmd, body, "username", "--username", a->value[U_USERNAME], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "display_name", "--name", a->value[U_NAME], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "email", "--email", a->value[U_EMAIL], clear);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "phone", "--phone", a->value[U_PHONE], clear);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "home_address", "--home-address", a->value[U_HOME],
                            clear);
    if (!rc && a->set[U_ROLE])
        rc = set_string_list(cli, cmd, body, "roles", "--role", a->list[U_ROLE], a->nlist[U_ROLE]);
    if (!rc)
        rc = set_next_of_kin(cli, cmd, a, body);
    if (!rc && (a->set[U_DISABLE] || a->set[U_ENABLE]) &&
        json_object_set_new(body, "disabled", json_boolean(a->set[U_DISABLE])) != 0)
        rc = cli_fail(cli, "out of memory");
    if (!rc && a->set[U_TEAM])
        rc = set_team_ids(cli, body, a->list[U_TEAM], a->nlist[U_TEAM]);
    return rc;
}

/* "AB12 CDE (Ford Fiesta, blue)" style text of a vehicle; caller frees. */
static char *vehicle_text(const json_t *v)
{
    static const char *const keys[] = {"id", "registration", "make", "model", "colour"};
    char *part[CLI_COUNT(keys)];
    for (size_t i = 0; i < CLI_COUNT(keys); i++)
        part[i] = output_json_text(json_object_get(v, keys[i]));
    size_t n = 64;
    for (size_t i = 0; i < CLI_COUNT(keys); i++)
        n += strlen(part[i]);
    char *text = xmalloc(n);
    /* n leaves room for every part: no truncation. */
    (void)snprintf(text, n, "%s: %s (%s %s, %s)", part[0], part[1], part[2], part[3], part[4]);
    for (size_t i = 0; i < CLI_COUNT(keys); i++)
        free(part[i]);
    return text;
}

static void add_next_of_kin(struct table *t, const json_t *nok)
{
    char *name = output_json_text(json_object_get(nok, "name"));
    char *relation = output_json_text(json_object_get(nok, "relation"));
    char *phone = output_json_text(json_object_get(nok, "phone"));
    size_t n = strlen(name) + strlen(relation) + strlen(phone) + 16;
    char *text = xmalloc(n);
    /* n leaves room for every part: no truncation. */
    (void)snprintf(text, n, "%s (%s), %s", name, relation, phone);
    const char *row[2] = {"next of kin", json_is_object(nok) ? text : "-"};
    table_add_row(t, row);
    free(text);
    free(name);
    free(relation);
    free(phone);
}

/* Shows a user: the fields the caller may see (absent layers are left out). */
static int show_user(struct cli *cli, const json_t *user)
{
    if (cli->json)
        return cli_print_json(cli, user);
    struct table t;
    table_init(&t, 2, NULL);
    for (size_t i = 0; i < CLI_COUNT(user_fields); i++) {
        const json_t *v = json_object_get(user, user_fields[i].key);
        if (v)
            table_add_field(&t, user_fields[i].header, v);
    }
    if (json_object_get(user, "next_of_kin"))
        add_next_of_kin(&t, json_object_get(user, "next_of_kin"));
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(user, "vehicles"), i, v)
    {
        char *text = vehicle_text(v);
        const char *row[2] = {"vehicle", text};
        table_add_row(&t, row);
        free(text);
    }
    table_print(&t, stdout);
    table_fini(&t);
    return 0;
}

/* Prints the one-time password of a created or reset user for the admin to pass on. */
static void print_one_time_password(const json_t *answer, const char *username)
{
    char *otp = output_json_text(json_object_get(answer, "one_time_password"));
    printf("One-time password for %s: %s\n", username, otp);
    printf("Give it to them privately; they must change it at first login.\n");
    free(otp);
}

static int run_create(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *answer = NULL;
    int rc = cli_parse(cli, cmd, create_spec, U_COUNT, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.value[U_USERNAME] || !a.value[U_NAME] || !a.set[U_ROLE]) {
        rc = cli_usage_error(cli, cmd, "--username, --name and --role are needed");
        goto done;
    }
    rc = body ? check_user_options(cli, cmd, &a) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = user_body(cli, cmd, &a, false, body);
    if (!rc)
        rc = cli_request(cli, true, "POST", "/api/v1/users", body, &answer);
    if (rc)
        goto done;
    if (cli->json) {
        rc = cli_print_json(cli, answer);
        goto done;
    }
    rc = show_user(cli, json_object_get(answer, "user"));
    char *name = output_json_text(json_object_get(json_object_get(answer, "user"), "username"));
    print_one_time_password(answer, name);
    free(name);
done:
    json_decref(answer);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_show(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *user = NULL;
    char path[CLI_MAX_PATH];
    int rc = cli_parse(cli, cmd, NULL, 0, user_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = user_path(cli, a.pos[0], "", path);
    if (!rc)
        rc = cli_request(cli, true, "GET", path, NULL, &user);
    if (!rc)
        rc = show_user(cli, user);
done:
    json_decref(user);
    args_fini(&a);
    return rc;
}

static bool any_option(const struct args *a)
{
    for (size_t i = 0; i < U_COUNT; i++) {
        if (a->set[i])
            return true;
    }
    return false;
}

static int run_update(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *user = NULL;
    char path[CLI_MAX_PATH];
    int rc = cli_parse(cli, cmd, update_spec, U_COUNT, user_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!any_option(&a)) {
        rc = cli_usage_error(cli, cmd, "nothing to change");
        goto done;
    }
    rc = body ? check_user_options(cli, cmd, &a) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = user_body(cli, cmd, &a, true, body);
    if (!rc)
        rc = user_path(cli, a.pos[0], "", path);
    if (!rc)
        rc = cli_request(cli, true, "PATCH", path, body, &user);
    if (!rc)
        rc = show_user(cli, user);
done:
    json_decref(user);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_reset_password(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *answer = NULL;
    char path[CLI_MAX_PATH];
    int rc = cli_parse(cli, cmd, NULL, 0, user_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = body ? user_path(cli, a.pos[0], "/password-reset", path) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cli_request(cli, true, "POST", path, body, &answer);
    if (rc)
        goto done;
    if (cli->json)
        rc = cli_print_json(cli, answer);
    else
        print_one_time_password(answer, a.pos[0]);
done:
    json_decref(answer);
    json_decref(body);
    args_fini(&a);
    return rc;
}

enum { V_REGISTRATION, V_MAKE, V_MODEL, V_COLOUR };
static const struct args_spec vehicle_spec[] = {
    [V_REGISTRATION] = {"registration", ARGS_VALUE},
    [V_MAKE] = {"make", ARGS_VALUE},
    [V_MODEL] = {"model", ARGS_VALUE},
    [V_COLOUR] = {"colour", ARGS_VALUE},
};
static const struct cli_column vehicle_fields[] = {{"id", "id"},
                                                   {"registration", "registration"},
                                                   {"make", "make"},
                                                   {"model", "model"},
                                                   {"colour", "colour"}};

static int vehicle_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                        json_t *body)
{
    static const char *const keys[] = {"registration", "make", "model", "colour"};
    static const char *const options[] = {"--registration", "--make", "--model", "--colour"};
    for (size_t i = 0; i < CLI_COUNT(keys); i++) {
        int rc = cli_set_string(cli, cmd, body, keys[i], options[i], a->value[i], false);
        if (rc)
            return rc;
    }
    return 0;
}

static int run_vehicle_add(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *vehicle = NULL;
    char path[CLI_MAX_PATH];
    int rc =
        cli_parse(cli, cmd, vehicle_spec, CLI_COUNT(vehicle_spec), user_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.value[V_REGISTRATION]) {
        rc = cli_usage_error(cli, cmd, "missing --registration");
        goto done;
    }
    rc = body ? vehicle_body(cli, cmd, &a, body) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = user_path(cli, a.pos[0], "/vehicles", path);
    if (!rc)
        rc = cli_request(cli, true, "POST", path, body, &vehicle);
    if (!rc)
        rc = cli_show_record(cli, vehicle, vehicle_fields, CLI_COUNT(vehicle_fields));
done:
    json_decref(vehicle);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static const char *const vehicle_pos[] = {"USER", "VEHICLE_ID"};

static int run_vehicle_remove(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *answer = NULL;
    char path[CLI_MAX_PATH];
    char suffix[64];
    int64_t vehicle;
    int rc = cli_parse(cli, cmd, NULL, 0, vehicle_pos, 2, 2, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_parse_id(cli, cmd, "VEHICLE_ID", a.pos[1], &vehicle);
    if (rc)
        goto done;
    /* An int64 always fits. */
    (void)snprintf(suffix, sizeof(suffix), "/vehicles/%lld", (long long)vehicle);
    rc = user_path(cli, a.pos[0], suffix, path);
    if (!rc)
        rc = cli_request(cli, true, "DELETE", path, NULL, &answer);
    if (!rc && !cli->json)
        printf("Removed vehicle %lld.\n", (long long)vehicle);
done:
    json_decref(answer);
    args_fini(&a);
    return rc;
}

static const struct cli_command user_cmds[] = {
    {"list", "user list [--team TEAM] [--role R]",
     "Lists the users of your organisation, optionally of one team or role.", run_list},
    {"create",
     "user create --username U --name D --role R [--role R ...] [--email E] [--phone P]\n"
     "                     [--home-address A] [--team TEAM ...]\n"
     "                     [--nok-name N [--nok-relation R] [--nok-phone P]]",
     "Creates a user and prints their one-time password. Roles: worker, manager,\n"
     "senior_manager, lsms, operator, admin.",
     run_create},
    {"show", "user show USER", "Shows a user, in the detail your roles allow.", run_show},
    {"update",
     "user update USER [--name D] [--email E] [--phone P] [--home-address A]\n"
     "                     [--role R ...] [--disable | --enable]\n"
     "                     [--nok-name N [--nok-relation R] [--nok-phone P] | --no-nok]",
     "Changes a user. An empty --email, --phone or --home-address clears it; --role\n"
     "replaces all roles; --no-nok clears the next of kin.",
     run_update},
    {"reset-password", "user reset-password USER",
     "Gives a user a new one-time password (and ends their sessions); prints it.",
     run_reset_password},
    {"vehicle-add", "user vehicle-add USER --registration R [--make M] [--model M] [--colour C]",
     "Adds a vehicle to a user.", run_vehicle_add},
    {"vehicle-remove", "user vehicle-remove USER VEHICLE_ID", "Removes a user's vehicle.",
     run_vehicle_remove},
};

const struct cli_group cmd_user_group = {"user", user_cmds, CLI_COUNT(user_cmds)};
