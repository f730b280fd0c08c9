/* notalone alarm list, show, claim, call, note, close: for the operators who handle alarms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/output.h"
#include "cli/visits.h"
#include "util/error.h"

static const char *const alarm_pos[] = {"ALARM"};

/* Deepest nesting of the pack printed; deeper parts print as "{...}". */
#define PACK_MAX_DEPTH 8
/* Most pages of alarms read for one list. */
#define ALARM_MAX_PAGES 1000

/* Parses the ALARM argument (and then TEXT, when npos is 2) with spec's options. */
static int parse_alarm(struct cli *cli, const struct cli_command *cmd, const struct args_spec *spec,
                       size_t nspec, size_t npos, int argc, char **argv, struct args *a,
                       int64_t *id)
{
    static const char *const pos[] = {"ALARM", "TEXT"};
    int rc =
        cli_parse(cli, cmd, spec, nspec, npos == 2 ? pos : alarm_pos, npos, npos, argc, argv, a);
    if (rc || a->help)
        return rc;
    return cli_parse_id(cli, cmd, "ALARM", a->pos[0], id);
}

/*
 * Appends the items of every page of the alarm list at path to all. The queue comes in
 * one page; the other lists go from the newest back (next_before).
 */
static int list_alarms(struct cli *cli, const char *path, json_t *all)
{
    char page_path[CLI_MAX_PATH];
    int64_t before = 0;
    for (int page = 0; page < ALARM_MAX_PAGES; page++) {
        json_t *answer = NULL;
        int rc = cli_path(cli, page_path, "%s", path);
        if (!rc)
            rc = cli_query_add(cli, page_path, "limit", "200");
        if (!rc && before)
            rc = cli_query_add_id(cli, page_path, "before", before);
        if (!rc)
            rc = cli_request(cli, true, "GET", page_path, NULL, &answer);
        if (rc)
            return rc;
        const json_t *items = json_object_get(answer, "items");
        const json_t *next = json_object_get(answer, "next_before");
        if (!json_is_array(items) || (next && !json_is_null(next) && !json_is_integer(next))) {
            json_decref(answer);
            return cli_fail(cli, "invalid reply from %s: the reply is not a list", cli->server);
        }
        json_array_extend(all, (json_t *)items);
        before = json_is_integer(next) ? (int64_t)json_integer_value(next) : 0;
        json_decref(answer);
        if (before <= 0)
            return 0;
    }
    return cli_fail(cli, "invalid reply from %s: the list never ends", cli->server);
}

/* "red", "red, duress" for alarm o into dst (size n). */
static const char *kind_text(const json_t *o, char *dst, size_t n)
{
    char kind[32];
    output_text(json_object_get(o, "kind"), kind, sizeof(kind));
    bool duress = json_is_true(json_object_get(o, "duress")) && strcmp(kind, "duress") != 0;
    (void)snprintf(dst, n, "%s%s", kind, duress ? ", duress" : "");
    return dst;
}

static void print_alarms(struct cli *cli, struct names *names, const json_t *items, int64_t now)
{
    static const char *const headers[] = {"ID",     "KIND",       "STATE",  "WORKER",
                                          "OPENED", "CLAIMED BY", "OUTCOME"};
    char id[32], kind[48], state[32], worker[NAMES_TEXT], opened[WHEN_TEXT], held[NAMES_TEXT];
    char outcome[32];
    struct table t;
    const json_t *o;
    size_t i;
    table_init(&t, 7, headers);
    json_array_foreach(items, i, o)
    {
        const char *row[7] = {
            output_text(json_object_get(o, "id"), id, sizeof(id)),
            kind_text(o, kind, sizeof(kind)),
            output_text(json_object_get(o, "state"), state, sizeof(state)),
            output_text(json_object_get(o, "worker_name"), worker, sizeof(worker)),
            visits_time_text(json_object_get(o, "opened_at"), now, opened, sizeof(opened)),
            names_get(cli, names, json_object_get(o, "claimed_by"), false, held, sizeof(held)),
            output_text(json_object_get(o, "outcome"), outcome, sizeof(outcome)),
        };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
}

enum { L_STATE };
static const struct args_spec list_spec[] = {
    [L_STATE] = {"state", ARGS_VALUE},
};

static int run_list(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct names names;
    json_t *items = json_array();
    char path[CLI_MAX_PATH] = "/api/v1/alarms";
    int64_t now;
    names_init(&names);
    int rc = cli_parse(cli, cmd, list_spec, CLI_COUNT(list_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    const char *state = a.value[L_STATE];
    if (state && strcmp(state, "open") != 0 && strcmp(state, "claimed") != 0 &&
        strcmp(state, "closed") != 0 && strcmp(state, "all") != 0) {
        rc = cli_usage_error(cli, cmd, "--state must be open, claimed, closed or all");
        goto done;
    }
    rc = items ? visits_now(cli, &now) : cli_fail(cli, "out of memory");
    if (!rc && state)
        rc = cli_query_add(cli, path, "state", state);
    if (!rc)
        rc = list_alarms(cli, path, items);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, items);
        goto done;
    }
    if (json_array_size(items) == 0)
        printf("No %s alarms.\n", state ? state : "open or claimed");
    else
        print_alarms(cli, &names, items, now);
done:
    json_decref(items);
    names_fini(&names);
    args_fini(&a);
    return rc;
}

static void show_alarm(struct cli *cli, struct names *names, const json_t *o, int64_t now)
{
    static const struct cli_column times[] = {
        {"opened", "opened_at"},
        {"claimed", "claimed_at"},
        {"first claimed", "first_claimed_at"},
        {"cancelled", "cancelled_at"},
        {"closed", "closed_at"},
    };
    static const struct cli_column texts[] = {
        {"outcome", "outcome"},
        {"found safe", "found_safe"},
        {"close note", "close_note"},
        {"police URN", "police_urn"},
        {"police reference", "police_reference"},
    };
    char text[NAMES_TEXT + 64];
    struct table t;
    table_init(&t, 2, NULL);
    table_add_field(&t, "alarm", json_object_get(o, "id"));
    cmd_add_text(&t, "kind", kind_text(o, text, sizeof(text)));
    table_add_field(&t, "state", json_object_get(o, "state"));
    table_add_field(&t, "priority", json_object_get(o, "priority"));
    table_add_field(&t, "worker", json_object_get(o, "worker_name"));
    table_add_field(&t, "visit", json_object_get(o, "visit_id"));
    table_add_field(&t, "source", json_object_get(o, "source"));
    table_add_field(&t, "message", json_object_get(o, "message"));
    cmd_add_text(&t, "claimed by",
                 names_get(cli, names, json_object_get(o, "claimed_by"), true, text, sizeof(text)));
    for (size_t i = 0; i < CLI_COUNT(times); i++)
        cmd_add_text(&t, times[i].header,
                     visits_time_text(json_object_get(o, times[i].key), now, text, sizeof(text)));
    cmd_add_text(&t, "closed by",
                 names_get(cli, names, json_object_get(o, "closed_by"), true, text, sizeof(text)));
    for (size_t i = 0; i < CLI_COUNT(texts); i++)
        table_add_field(&t, texts[i].header, json_object_get(o, texts[i].key));
    table_print(&t, stdout);
    table_fini(&t);
}

/* A member name for people: "display_name" as "display name", control characters replaced. */
static const char *label_text(const char *key, char *dst, size_t n)
{
    json_t *s = json_string(key);
    output_text(s, dst, n);
    json_decref(s);
    for (char *p = dst; *p; p++)
        *p = *p == '_' ? ' ' : *p;
    return dst;
}

/*
 * The members of a timeline line's data as "key: value, ..." into dst (size n), leaving
 * out those empty or already said by the line's detail.
 */
static const char *data_text(const json_t *data, const char *detail, char *dst, size_t n)
{
    char label[64], value[512];
    const char *key;
    const json_t *v;
    size_t used = 0;
    dst[0] = '\0';
    json_object_foreach((json_t *)data, key, v)
    {
        output_text(v, value, sizeof(value));
        if (json_is_null(v) || strcmp(value, detail) == 0 || used >= n)
            continue;
        int k = snprintf(dst + used, n - used, "%s%s: %s", used ? ", " : "",
                         label_text(key, label, sizeof(label)), value);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    return dst;
}

/* The DETAIL cell of timeline line s: its detail, then its data. */
static const char *detail_text(const json_t *s, char *dst, size_t n)
{
    char detail[600], data[1200];
    output_text(json_object_get(s, "detail"), detail, sizeof(detail));
    data_text(json_object_get(s, "data"), detail, data, sizeof(data));
    if (!data[0])
        (void)snprintf(dst, n, "%s", detail);
    else if (strcmp(detail, "-") == 0)
        (void)snprintf(dst, n, "%s", data);
    else
        (void)snprintf(dst, n, "%s (%s)", detail, data);
    return dst;
}

static void show_timeline(struct cli *cli, struct names *names, const json_t *lines, int64_t now)
{
    static const char *const headers[] = {"AT", "STEP", "WHO", "DETAIL"};
    char at[WHEN_TEXT], kind[64], who[NAMES_TEXT], detail[1900];
    struct table t;
    const json_t *s;
    size_t i;
    table_init(&t, 4, headers);
    json_array_foreach(lines, i, s)
    {
        const char *row[4] = {
            visits_time_text(json_object_get(s, "at"), now, at, sizeof(at)),
            output_text(json_object_get(s, "kind"), kind, sizeof(kind)),
            names_get(cli, names, json_object_get(s, "actor_id"), false, who, sizeof(who)),
            detail_text(s, detail, sizeof(detail)),
        };
        table_add_row(&t, row);
    }
    printf("\ntimeline:\n");
    table_print(&t, stdout);
    table_fini(&t);
}

/* A value of the pack on one line: times in local time, the rest as output_text. */
static const char *value_text(const json_t *v, int64_t now, char *dst, size_t n)
{
    int64_t ms;
    if (json_is_array(v) && json_array_size(v) == 0)
        (void)snprintf(dst, n, "none");
    else if (json_is_object(v) && json_object_size(v) == 0)
        (void)snprintf(dst, n, "-");
    else if (json_is_string(v) && when_from_json(v, &ms) == 0)
        when_format(ms, now, dst, n);
    else
        output_text(v, dst, n);
    return dst;
}

static bool is_nested(const json_t *v)
{
    if (json_is_object(v))
        return json_object_size(v) > 0;
    if (!json_is_array(v))
        return false;
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (json_is_object(json_array_get(v, i)) || json_is_array(json_array_get(v, i)))
            return true;
    }
    return false;
}

static void print_tree(const json_t *v, int depth, bool dash, int64_t now);

/*
 * One member of the pack at depth, or with key NULL one element of an array. dash starts
 * the line with "- " (the first line of an array's element).
 */
static void print_member(const char *key, const json_t *v, int depth, bool dash, int64_t now)
{
    char label[128], value[1024];
    bool nested = is_nested(v) && depth < PACK_MAX_DEPTH;
    if (!key && nested) {
        /* An element that is an object or array: its first line carries the dash. */
        print_tree(v, depth + 1, true, now);
        return;
    }
    printf("%*s%s", 2 * depth - (dash ? 2 : 0), "", dash ? "- " : "");
    if (!key) {
        printf("%s\n", value_text(v, now, value, sizeof(value)));
        return;
    }
    label_text(key, label, sizeof(label));
    if (nested) {
        printf("%s:\n", label);
        print_tree(v, depth + 1, false, now);
    } else {
        printf("%s: %s\n", label, value_text(v, now, value, sizeof(value)));
    }
}

/* Prints an object or array of the pack, one member a line, nested ones indented. */
static void print_tree(const json_t *v, int depth, bool dash, int64_t now)
{
    const char *key;
    const json_t *m;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, m)
        {
            print_member(key, m, depth, dash, now);
            dash = false;
        }
    } else {
        json_array_foreach(v, i, m)
        {
            print_member(NULL, m, depth, dash, now);
            dash = false;
        }
    }
}

static void show_evidence(const json_t *files, int64_t now)
{
    static const char *const headers[] = {"ID", "KIND", "SIZE", "UPLOADED", "SHA-256"};
    char id[32], kind[32], size[32], at[WHEN_TEXT], sha[80];
    struct table t;
    const json_t *f;
    size_t i;
    if (json_array_size(files) == 0)
        return;
    table_init(&t, 5, headers);
    json_array_foreach(files, i, f)
    {
        const char *row[5] = {
            output_text(json_object_get(f, "id"), id, sizeof(id)),
            output_text(json_object_get(f, "kind"), kind, sizeof(kind)),
            output_text(json_object_get(f, "size"), size, sizeof(size)),
            visits_time_text(json_object_get(f, "uploaded_at"), now, at, sizeof(at)),
            output_text(json_object_get(f, "sha256"), sha, sizeof(sha)),
        };
        table_add_row(&t, row);
    }
    printf("\nevidence:\n");
    table_print(&t, stdout);
    table_fini(&t);
}

static int run_show(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct names names;
    json_t *o = NULL;
    char path[CLI_MAX_PATH];
    int64_t id, now;
    names_init(&names);
    int rc = parse_alarm(cli, cmd, NULL, 0, 1, argc, argv, &a, &id);
    if (rc || a.help)
        goto done;
    rc = visits_now(cli, &now);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/alarms/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "GET", path, NULL, &o);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, o);
        goto done;
    }
    show_alarm(cli, &names, o, now);
    show_timeline(cli, &names, json_object_get(o, "timeline"), now);
    show_evidence(json_object_get(o, "evidence"), now);
    if (json_is_object(json_object_get(o, "pack"))) {
        printf("\npack:\n");
        print_tree(json_object_get(o, "pack"), 1, false, now);
    }
done:
    json_decref(o);
    names_fini(&names);
    args_fini(&a);
    return rc;
}

/* POSTs body to the alarm's action and prints done (or the answer with --json). */
static int alarm_act(struct cli *cli, int64_t id, const char *action, const json_t *body,
                     const char *done)
{
    json_t *answer = NULL;
    int rc = visits_post(cli, "alarm", id, action, body, &answer);
    if (!rc && cli->json)
        rc = cli_print_json(cli, answer);
    else if (!rc)
        printf("Alarm %lld: %s\n", (long long)id, done);
    json_decref(answer);
    return rc;
}

enum { C_TAKE_OVER };
static const struct args_spec claim_spec[] = {
    [C_TAKE_OVER] = {"take-over", ARGS_FLAG},
};

static int run_claim(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    char done[512];
    int64_t id;
    int rc = parse_alarm(cli, cmd, claim_spec, CLI_COUNT(claim_spec), 1, argc, argv, &a, &id);
    if (rc || a.help)
        goto done;
    if (!body) {
        rc = cli_fail(cli, "out of memory");
        goto done;
    }
    if (a.set[C_TAKE_OVER] && json_object_set_new(body, "take_over", json_true()) != 0) {
        rc = cli_fail(cli, "out of memory");
        goto done;
    }
    (void)snprintf(done, sizeof(done),
                   "you hold it.\n"
                   "Its pack: 'notalone alarm show %lld'. Record each call with 'notalone alarm "
                   "call',\n"
                   "then close it once the worker is confirmed safe: 'notalone alarm close'.",
                   (long long)id);
    rc = alarm_act(cli, id, "claim", body, done);
done:
    json_decref(body);
    args_fini(&a);
    return rc;
}

enum { K_TO, K_OUTCOME, K_NUMBER, K_NAME, K_REFERENCE };
static const struct args_spec call_spec[] = {
    [K_TO] = {"to", ARGS_VALUE},
    [K_OUTCOME] = {"outcome", ARGS_VALUE},
    [K_NUMBER] = {"number", ARGS_VALUE},
    [K_NAME] = {"name", ARGS_VALUE},
    [K_REFERENCE] = {"police-reference", ARGS_VALUE},
};

static int call_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                     json_t *body)
{
    static const char *const keys[] = {
        [K_TO] = "to",
        [K_OUTCOME] = "outcome",
        [K_NUMBER] = "number",
        [K_NAME] = "name",
        [K_REFERENCE] = "police_reference",
    };
    if (!a->value[K_TO])
        return cli_usage_error(cli, cmd, "missing --to");
    if (!a->value[K_OUTCOME])
        return cli_usage_error(cli, cmd, "missing --outcome: say what came of the call");
    int rc = 0;
    for (size_t i = 0; !rc && i < CLI_COUNT(call_spec); i++) {
        char option[48];
        (void)snprintf(option, sizeof(option), "--%s", call_spec[i].name);
        rc = cli_set_string(cli, cmd, body, keys[i], option, a->value[i], false);
    }
    return rc;
}

static int run_call(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    int64_t id;
    int rc = parse_alarm(cli, cmd, call_spec, CLI_COUNT(call_spec), 1, argc, argv, &a, &id);
    if (rc || a.help)
        goto done;
    rc = body ? call_body(cli, cmd, &a, body) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = alarm_act(cli, id, "calls", body, "call recorded on the timeline.");
done:
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_note(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    int64_t id;
    int rc = parse_alarm(cli, cmd, NULL, 0, 2, argc, argv, &a, &id);
    if (rc || a.help)
        goto done;
    rc = body ? cli_set_string(cli, cmd, body, "text", "TEXT", a.pos[1], false)
              : cli_fail(cli, "out of memory");
    if (!rc)
        rc = alarm_act(cli, id, "notes", body, "note added to the timeline.");
done:
    json_decref(body);
    args_fini(&a);
    return rc;
}

enum { X_OUTCOME, X_FOUND_SAFE, X_NOTE };
static const struct args_spec close_spec[] = {
    [X_OUTCOME] = {"outcome", ARGS_VALUE},
    [X_FOUND_SAFE] = {"found-safe", ARGS_VALUE},
    [X_NOTE] = {"note", ARGS_VALUE},
};

static int run_close(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    char done[128];
    int64_t id;
    int rc = parse_alarm(cli, cmd, close_spec, CLI_COUNT(close_spec), 1, argc, argv, &a, &id);
    if (rc || a.help)
        goto done;
    if (!a.value[X_OUTCOME] || !a.value[X_FOUND_SAFE]) {
        rc = cli_usage_error(cli, cmd, "%s",
                             a.value[X_OUTCOME]
                                 ? "missing --found-safe: say how the worker was found safe"
                                 : "missing --outcome");
        goto done;
    }
    rc = body ? cli_set_string(cli, cmd, body, "outcome", "--outcome", a.value[X_OUTCOME], false)
              : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "found_safe", "--found-safe", a.value[X_FOUND_SAFE],
                            false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "note", "--note", a.value[X_NOTE], false);
    (void)snprintf(done, sizeof(done), "closed as %.40s. Everyone who was told is told it is over.",
                   a.value[X_OUTCOME]);
    if (!rc)
        rc = alarm_act(cli, id, "close", body, done);
done:
    json_decref(body);
    args_fini(&a);
    return rc;
}

static const struct cli_command alarm_cmds[] = {
    {"list", "alarm list [--state open|claimed|closed|all]",
     "Lists the alarms you may see. Without --state, the queue: open and claimed alarms,\n"
     "by priority and age; with it, the newest first.",
     run_list},
    {"show", "alarm show ALARM",
     "Shows an alarm, its timeline (every step with its time and who), the hashes of its\n"
     "evidence, and its information pack: the worker, the visit, the last amber alert,\n"
     "their location (with their consent), vehicle, next of kin, markers, the red-alert path\n"
     "and who has been told.",
     run_show},
    {"claim", "alarm claim ALARM [--take-over]",
     "Takes an alarm: you handle it, and the operators are no longer told again. An alarm\n"
     "another operator holds is only taken with --take-over.",
     run_claim},
    {"call",
     "alarm call ALARM --to TO --outcome TEXT [--number N] [--name N] "
     "[--police-reference R]",
     "Records a call made for the alarm. TO is worker, contact, emergency_services,\n"
     "police_101 or police_urn; give the police reference number when the police gave one.",
     run_call},
    {"note", "alarm note ALARM TEXT", "Adds a note to the alarm's timeline.", run_note},
    {"close", "alarm close ALARM --outcome O --found-safe TEXT [--note TEXT]",
     "Closes the alarm once the worker is confirmed safe. O is genuine, false_accidental,\n"
     "false_malicious or test; --found-safe says how the worker was found safe.",
     run_close},
};

const struct cli_group cmd_alarm_group = {"alarm", alarm_cmds, CLI_COUNT(alarm_cmds)};
