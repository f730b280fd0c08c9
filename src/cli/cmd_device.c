/*
 * notalone device add, list, show, update, remove: the devices workers carry and the alarm
 * panels, with their SIA DC-09 account, key and supervision. The key is read from a file
 * or the environment (cmd_read_dc09_key), never from the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/alerts.h"
#include "cli/cmd.h"
#include "cli/names.h"
#include "cli/output.h"
#include "cli/visits.h"
#include "util/error.h"

static const char *const device_pos[] = {"DEVICE"};

enum {
    D_KIND,
    D_IDENTIFIER,
    D_LABEL,
    D_PHONE,
    D_WORKER,
    D_ACCOUNT,
    D_KEY_FILE,
    D_ENCRYPTION,
    D_SUPERVISION,
    D_SUPERVISION_ALARM,
    D_NO_WORKER,
    D_NO_DC09,
    D_SET_KEY,
    D_NO_KEY,
    D_NO_SUPERVISION,
};
/* add: the flags of a new device. */
static const struct args_spec add_spec[] = {
    [D_KIND] = {"kind", ARGS_VALUE},
    [D_IDENTIFIER] = {"identifier", ARGS_VALUE},
    [D_LABEL] = {"label", ARGS_VALUE},
    [D_PHONE] = {"phone", ARGS_VALUE},
    [D_WORKER] = {"worker", ARGS_VALUE},
    [D_ACCOUNT] = {"account", ARGS_VALUE},
    [D_KEY_FILE] = {"key-file", ARGS_VALUE},
    [D_ENCRYPTION] = {"encryption-required", ARGS_FLAG},
    [D_SUPERVISION] = {"supervision", ARGS_VALUE},
    [D_SUPERVISION_ALARM] = {"supervision-alarm", ARGS_FLAG},
};
/* update: yes or no where add has a flag, and what may be taken away. */
static const struct args_spec update_spec[] = {
    [D_KIND] = {"kind", ARGS_VALUE},
    [D_IDENTIFIER] = {"identifier", ARGS_VALUE},
    [D_LABEL] = {"label", ARGS_VALUE},
    [D_PHONE] = {"phone", ARGS_VALUE},
    [D_WORKER] = {"worker", ARGS_VALUE},
    [D_ACCOUNT] = {"account", ARGS_VALUE},
    [D_KEY_FILE] = {"key-file", ARGS_VALUE},
    [D_ENCRYPTION] = {"encryption-required", ARGS_VALUE},
    [D_SUPERVISION] = {"supervision", ARGS_VALUE},
    [D_SUPERVISION_ALARM] = {"supervision-alarm", ARGS_VALUE},
    [D_NO_WORKER] = {"no-worker", ARGS_FLAG},
    [D_NO_DC09] = {"no-dc09", ARGS_FLAG},
    [D_SET_KEY] = {"set-key", ARGS_FLAG},
    [D_NO_KEY] = {"no-key", ARGS_FLAG},
    [D_NO_SUPERVISION] = {"no-supervision", ARGS_FLAG},
};

/* ---- printing ---- */

/* "every 1h (an alarm when lost)", "none". */
static const char *supervision_text(const json_t *sup, char *dst, size_t n)
{
    char span[32];
    if (!json_is_object(sup)) {
        (void)snprintf(dst, n, "none");
        return dst;
    }
    when_format_span((int64_t)json_integer_value(json_object_get(sup, "interval_s")) * 1000, span,
                     sizeof span);
    (void)snprintf(dst, n, "every %s%s", span,
                   json_is_true(json_object_get(sup, "alarm")) ? " (an alarm when lost)" : "");
    return dst;
}

/* "low (since 09:00)", "ok", "-". */
static const char *battery_text(const json_t *b, int64_t now, char *dst, size_t n)
{
    char at[WHEN_TEXT];
    const json_t *when = json_object_get(b, "at");
    if (!json_is_string(when)) {
        (void)snprintf(dst, n, "-");
        return dst;
    }
    (void)snprintf(dst, n, "%s (reported %s)",
                   json_is_true(json_object_get(b, "low")) ? "low" : "ok",
                   visits_time_text(when, now, at, sizeof at));
    return dst;
}

static void add_time(struct table *t, const char *label, const json_t *v, int64_t now)
{
    char text[WHEN_TEXT];
    cmd_add_text(t, label, visits_time_text(v, now, text, sizeof text));
}

static void add_dc09(struct table *t, const json_t *dc09)
{
    if (!json_is_object(dc09)) {
        cmd_add_text(t, "DC-09 account", "none");
        return;
    }
    table_add_field(t, "DC-09 account", json_object_get(dc09, "account"));
    cmd_add_text(t, "key", json_is_true(json_object_get(dc09, "has_key")) ? "set" : "none");
    cmd_add_text(t, "encryption",
                 json_is_true(json_object_get(dc09, "encryption_required")) ? "required"
                                                                            : "optional");
}

static void show_device(struct cli *cli, const json_t *d, int64_t now)
{
    char text[NAMES_TEXT + 64];
    struct names names;
    struct table t;
    const json_t *sup = json_object_get(d, "supervision");
    names_init(&names);
    table_init(&t, 2, NULL);
    table_add_field(&t, "device", json_object_get(d, "id"));
    table_add_field(&t, "kind", json_object_get(d, "kind"));
    table_add_field(&t, "identifier", json_object_get(d, "identifier"));
    table_add_field(&t, "label", json_object_get(d, "label"));
    table_add_field(&t, "phone", json_object_get(d, "phone"));
    cmd_add_text(&t, "worker",
                 names_get(cli, &names, json_object_get(d, "worker_id"), true, text, sizeof text));
    add_time(&t, "issued", json_object_get(d, "issued_at"), now);
    add_dc09(&t, json_object_get(d, "dc09"));
    cmd_add_text(&t, "supervision", supervision_text(sup, text, sizeof text));
    if (json_is_object(sup))
        cmd_add_text(&t, "silent from",
                     visits_deadline_text(json_object_get(sup, "due_at"), now, text, sizeof text));
    table_add_field(&t, "signal", json_object_get(d, "signal"));
    add_time(&t, "lost since", json_object_get(d, "lost_at"), now);
    add_time(&t, "last contact", json_object_get(d, "last_contact_at"), now);
    add_time(&t, "last test", json_object_get(d, "last_test_at"), now);
    cmd_add_text(&t, "battery",
                 battery_text(json_object_get(d, "battery"), now, text, sizeof text));
    add_time(&t, "created", json_object_get(d, "created_at"), now);
    add_time(&t, "updated", json_object_get(d, "updated_at"), now);
    table_print(&t, stdout);
    table_fini(&t);
    names_fini(&names);
}

/* The device for people, or its JSON with --json. */
static int print_device(struct cli *cli, const json_t *d)
{
    int64_t now;
    if (cli->json)
        return cli_print_json(cli, d);
    int rc = visits_now(cli, &now);
    if (!rc)
        show_device(cli, d, now);
    return rc;
}

static void print_devices(struct cli *cli, const json_t *items, int64_t now)
{
    static const char *const headers[] = {"ID",     "KIND",    "IDENTIFIER", "LABEL",
                                          "WORKER", "ACCOUNT", "SIGNAL",     "LAST CONTACT"};
    char id[32], kind[32], identifier[80], label[128], worker[NAMES_TEXT], account[32];
    char signal[32], contact[WHEN_TEXT];
    struct names names;
    struct table t;
    const json_t *d;
    size_t i;
    names_init(&names);
    table_init(&t, 8, headers);
    json_array_foreach(items, i, d)
    {
        const json_t *dc09 = json_object_get(d, "dc09");
        const char *row[8] = {
            output_text(json_object_get(d, "id"), id, sizeof id),
            output_text(json_object_get(d, "kind"), kind, sizeof kind),
            output_text(json_object_get(d, "identifier"), identifier, sizeof identifier),
            output_text(json_object_get(d, "label"), label, sizeof label),
            names_get(cli, &names, json_object_get(d, "worker_id"), false, worker, sizeof worker),
            output_text(json_object_get(dc09, "account"), account, sizeof account),
            output_text(json_object_get(d, "signal"), signal, sizeof signal),
            visits_time_text(json_object_get(d, "last_contact_at"), now, contact, sizeof contact),
        };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
    names_fini(&names);
}

/* ---- the body of add and update ---- */

/* A yes or no option of update into o[key]; add's flag sets true. */
static int set_yes_no(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                      bool update, int opt, const char *option, json_t *o, const char *key)
{
    bool yes = true;
    if (!a->set[opt])
        return 0;
    if (update && alerts_parse_yes_no(a->value[opt], &yes) != 0)
        return cli_usage_error(cli, cmd, "%s must be yes or no", option);
    if (json_object_set_new(o, key, json_boolean(yes)) != 0)
        return cli_fail(cli, "out of memory");
    return 0;
}

/* The key of dc09: --key-file, --set-key (add: also without) from the environment, --no-key. */
static int set_key(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                   bool update, json_t *dc09)
{
    struct cmd_dc09_key key;
    bool found;
    if (a->set[D_NO_KEY])
        return json_object_set_new(dc09, "key", json_null()) ? cli_fail(cli, "out of memory") : 0;
    int rc = cmd_read_dc09_key(cli, cmd, a->value[D_KEY_FILE], !update || a->set[D_SET_KEY], &key,
                               &found);
    if (!rc && update && a->set[D_SET_KEY] && !found)
        rc = cli_usage_error(cli, cmd,
                             "--set-key reads the key from $NOTALONE_DC09_KEY: it is "
                             "not set (or give --key-file FILE)");
    if (!rc && found)
        rc = cli_set_string(cli, cmd, dc09, "key", "the key", key.hex, false);
    cmd_dc09_key_wipe(&key);
    return rc;
}

static bool dc09_given(const struct args *a)
{
    return a->set[D_ACCOUNT] || a->set[D_KEY_FILE] || a->set[D_ENCRYPTION] || a->set[D_SET_KEY] ||
           a->set[D_NO_KEY];
}

/* "dc09": null with --no-dc09, else the object of the options given (add: with --account). */
static int dc09_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                     bool update, json_t *body)
{
    if (a->set[D_NO_DC09] && dc09_given(a))
        return cli_usage_error(cli, cmd, "--no-dc09 removes the account, key and all");
    if (a->set[D_NO_DC09])
        return json_object_set_new(body, "dc09", json_null()) ? cli_fail(cli, "out of memory") : 0;
    if (!update && !a->set[D_ACCOUNT]) {
        if (dc09_given(a))
            return cli_usage_error(cli, cmd, "--key-file and --encryption-required need --account");
        return 0;
    }
    if (!dc09_given(a))
        return 0;
    if (a->set[D_NO_KEY] && (a->set[D_KEY_FILE] || a->set[D_SET_KEY]))
        return cli_usage_error(cli, cmd, "--no-key removes the key: no --key-file or --set-key");
    json_t *dc09 = json_object();
    if (!dc09 || json_object_set_new(body, "dc09", dc09) != 0)
        return cli_fail(cli, "out of memory");
    int rc = cli_set_string(cli, cmd, dc09, "account", "--account", a->value[D_ACCOUNT], false);
    if (!rc)
        rc = set_key(cli, cmd, a, update, dc09);
    if (!rc)
        rc = set_yes_no(cli, cmd, a, update, D_ENCRYPTION, "--encryption-required", dc09,
                        "encryption_required");
    return rc;
}

/* "supervision": null with --no-supervision, else the interval and the alarm given. */
static int supervision_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                            bool update, json_t *body)
{
    int64_t secs;
    bool given = a->set[D_SUPERVISION] || a->set[D_SUPERVISION_ALARM];
    if (a->set[D_NO_SUPERVISION] && given)
        return cli_usage_error(cli, cmd, "--no-supervision excludes --supervision options");
    if (a->set[D_NO_SUPERVISION])
        return json_object_set_new(body, "supervision", json_null())
                   ? cli_fail(cli, "out of memory")
                   : 0;
    if (!given)
        return 0;
    if (!update && !a->set[D_SUPERVISION])
        return cli_usage_error(cli, cmd, "--supervision-alarm needs --supervision DURATION");
    json_t *sup = json_object();
    if (!sup || json_object_set_new(body, "supervision", sup) != 0)
        return cli_fail(cli, "out of memory");
    if (a->set[D_SUPERVISION]) {
        if (when_parse_duration(a->value[D_SUPERVISION], &secs) != 0)
            return cli_usage_error(cli, cmd, "--supervision must be a DURATION such as 1h");
        if (cli_set_int(cli, sup, "interval_s", secs) != 0)
            return -NA_EIO;
    }
    return set_yes_no(cli, cmd, a, update, D_SUPERVISION_ALARM, "--supervision-alarm", sup,
                      "alarm");
}

/* The worker: --worker USER, or (update) --no-worker. */
static int worker_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                       json_t *body)
{
    int64_t worker;
    if (a->set[D_WORKER] && a->set[D_NO_WORKER])
        return cli_usage_error(cli, cmd, "--worker and --no-worker exclude each other");
    if (a->set[D_NO_WORKER])
        return json_object_set_new(body, "worker_id", json_null()) ? cli_fail(cli, "out of memory")
                                                                   : 0;
    if (!a->value[D_WORKER])
        return 0;
    int rc = cli_resolve_user(cli, a->value[D_WORKER], &worker);
    return rc ? rc : cli_set_int(cli, body, "worker_id", worker);
}

static int device_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                       bool update, json_t *body)
{
    int rc = cli_set_string(cli, cmd, body, "kind", "--kind", a->value[D_KIND], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "identifier", "--identifier", a->value[D_IDENTIFIER],
                            false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "label", "--label", a->value[D_LABEL], update);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "phone", "--phone", a->value[D_PHONE], update);
    if (!rc)
        rc = dc09_body(cli, cmd, a, update, body);
    if (!rc)
        rc = supervision_body(cli, cmd, a, update, body);
    if (!rc)
        rc = worker_body(cli, cmd, a, body);
    return rc;
}

/* ---- the commands ---- */

static int run_add(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *device = NULL;
    int rc = cli_parse(cli, cmd, add_spec, CLI_COUNT(add_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.value[D_KIND] || !a.value[D_IDENTIFIER]) {
        rc = cli_usage_error(cli, cmd, "missing --%s", a.value[D_KIND] ? "identifier" : "kind");
        goto done;
    }
    rc = body ? device_body(cli, cmd, &a, false, body) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cli_request(cli, true, "POST", "/api/v1/devices", body, &device);
    if (!rc)
        rc = print_device(cli, device);
done:
    json_decref(device);
    json_decref(body);
    args_fini(&a);
    return rc;
}

enum { L_WORKER };
static const struct args_spec list_spec[] = {
    [L_WORKER] = {"worker", ARGS_VALUE},
};

static int run_list(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *items = NULL;
    char path[CLI_MAX_PATH] = "/api/v1/devices";
    int64_t worker, now;
    int rc = cli_parse(cli, cmd, list_spec, CLI_COUNT(list_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (a.value[L_WORKER]) {
        rc = cli_resolve_user(cli, a.value[L_WORKER], &worker);
        if (!rc)
            rc = cli_query_add_id(cli, path, "worker_id", worker);
    }
    if (!rc)
        rc = visits_now(cli, &now);
    if (!rc)
        rc = cli_list(cli, path, &items);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, items);
        goto done;
    }
    if (json_array_size(items) == 0)
        puts("No devices.");
    else
        print_devices(cli, items, now);
done:
    json_decref(items);
    args_fini(&a);
    return rc;
}

/* Parses DEVICE with spec's options and makes its path. */
static int parse_device(struct cli *cli, const struct cli_command *cmd,
                        const struct args_spec *spec, size_t nspec, int argc, char **argv,
                        struct args *a, char *path)
{
    int64_t id;
    int rc = cli_parse(cli, cmd, spec, nspec, device_pos, 1, 1, argc, argv, a);
    if (rc || a->help)
        return rc;
    rc = cli_parse_id(cli, cmd, "DEVICE", a->pos[0], &id);
    return rc ? rc : cli_path(cli, path, "/api/v1/devices/%lld", (long long)id);
}

static int run_show(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *device = NULL;
    char path[CLI_MAX_PATH];
    int rc = parse_device(cli, cmd, NULL, 0, argc, argv, &a, path);
    if (!rc && !a.help)
        rc = cli_request(cli, true, "GET", path, NULL, &device);
    if (!rc && !a.help)
        rc = print_device(cli, device);
    json_decref(device);
    args_fini(&a);
    return rc;
}

static int run_update(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *device = NULL;
    char path[CLI_MAX_PATH];
    int rc = parse_device(cli, cmd, update_spec, CLI_COUNT(update_spec), argc, argv, &a, path);
    if (rc || a.help)
        goto done;
    rc = body ? device_body(cli, cmd, &a, true, body) : cli_fail(cli, "out of memory");
    if (!rc && json_object_size(body) == 0)
        rc = cli_usage_error(cli, cmd, "nothing to change");
    if (!rc)
        rc = cli_request(cli, true, "PATCH", path, body, &device);
    if (!rc)
        rc = print_device(cli, device);
done:
    json_decref(device);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_remove(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *answer = NULL;
    char path[CLI_MAX_PATH];
    int rc = parse_device(cli, cmd, NULL, 0, argc, argv, &a, path);
    if (!rc && !a.help)
        rc = cli_request(cli, true, "DELETE", path, NULL, &answer);
    if (!rc && !a.help && !cli->json)
        printf("Removed device %s. Its DC-09 events are kept.\n", a.pos[0]);
    json_decref(answer);
    args_fini(&a);
    return rc;
}

static const struct cli_command device_cmds[] = {
    {"add",
     "device add --kind KIND --identifier ID [--label TEXT] [--phone P] [--worker USER]\n"
     "                  [--account HEX [--key-file FILE] [--encryption-required]]\n"
     "                  [--supervision DURATION [--supervision-alarm]]",
     "Registers a device (admins). KIND is lone_worker_device, panel, app or other; ID its\n"
     "serial number or IMEI, unique in the organisation. --worker issues it to a worker.\n"
     "--account is its SIA DC-09 account (3-16 hex digits, unique on the server); its AES\n"
     "key (32, 48 or 64 hex digits) is read from --key-file FILE (- for standard input),\n"
     "else from $NOTALONE_DC09_KEY when set, never from the command line. With\n"
     "--encryption-required its plain messages are refused. With --supervision a device\n"
     "silent for longer is a loss of signal, told to its worker's line managers (and an\n"
     "alarm with --supervision-alarm).",
     run_add},
    {"list", "device list [--worker USER]",
     "Lists the devices you see: all of the organisation (admins, operators, senior\n"
     "managers, LSMS), your teams' (line managers) or your own.",
     run_list},
    {"show", "device show DEVICE", "Shows a device: its worker, account, supervision and signal.",
     run_show},
    {"update",
     "device update DEVICE [--kind KIND] [--identifier ID] [--label TEXT] [--phone P]\n"
     "                     [--worker USER | --no-worker] [--account HEX] [--key-file FILE |\n"
     "                     --set-key | --no-key] [--encryption-required yes|no] [--no-dc09]\n"
     "                     [--supervision DURATION] [--supervision-alarm yes|no]\n"
     "                     [--no-supervision]",
     "Changes a device (admins); an empty --label or --phone clears it. The key changes only\n"
     "with --key-file FILE, or --set-key (from $NOTALONE_DC09_KEY); --no-key removes it,\n"
     "--no-dc09 the account with its key. Issuing it to another worker dates it anew.",
     run_update},
    {"remove", "device remove DEVICE", "Removes a device (admins); its DC-09 events are kept.",
     run_remove},
};

const struct cli_group cmd_device_group = {"device", device_cmds, CLI_COUNT(device_cmds)};
