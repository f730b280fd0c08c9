/* notalone watch, ack, resolve and escalation: for buddies and managers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/output.h"
#include "cli/visits.h"
#include "cli/watch.h"
#include "util/alloc.h"
#include "util/error.h"

static const char *const escalation_pos[] = {"ESCALATION"};

/* The open escalation of the visit with id in escalations (borrowed), or NULL. */
static const json_t *escalation_of(const json_t *escalations, json_int_t visit_id)
{
    size_t i;
    const json_t *e;
    json_array_foreach(escalations, i, e)
    {
        if (json_integer_value(json_object_get(e, "visit_id")) == visit_id)
            return e;
    }
    return NULL;
}

/* The rows of watch for visits, sorted; caller frees. */
static struct watch_row *watch_rows(const json_t *visits, const json_t *escalations, int64_t now)
{
    size_t n = json_array_size(visits);
    struct watch_row *rows = xcalloc(n ? n : 1, sizeof(*rows));
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(visits, i);
        json_int_t id = json_integer_value(json_object_get(v, "id"));
        rows[i].visit_id = (int64_t)id;
        rows[i].index = i;
        if (when_from_json(json_object_get(v, "deadline_at"), &rows[i].deadline_ms))
            rows[i].deadline_ms = INT64_MAX;
        rows[i].escalated = json_is_integer(json_object_get(v, "escalation_id")) ||
                            escalation_of(escalations, id) != NULL;
    }
    watch_sort(rows, n, now);
    return rows;
}

/* The LEFT cell of a row: "1h05m", "-12m OVERDUE". */
static const char *left_text(const struct watch_row *r, int64_t now, char *dst, size_t n)
{
    char span[WHEN_TEXT];
    if (r->deadline_ms == INT64_MAX) {
        (void)snprintf(dst, n, "-");
        return dst;
    }
    when_format_span(r->deadline_ms - now, span, sizeof(span));
    (void)snprintf(dst, n, "%s%s", span, r->overdue ? " OVERDUE" : "");
    return dst;
}

/* The ESCALATION cell: "4: level 1 (line_manager), held by ...", or "-". */
static const char *escalation_cell(struct cli *cli, struct names *names, const json_t *e,
                                   int64_t now, char *dst, size_t n)
{
    char text[512];
    if (!e) {
        (void)snprintf(dst, n, "-");
        return dst;
    }
    (void)snprintf(dst, n, "%lld: %s", (long long)json_integer_value(json_object_get(e, "id")),
                   visits_escalation_text(cli, names, e, now, text, sizeof(text)));
    return dst;
}

static void print_watch_table(struct cli *cli, struct names *names, const json_t *visits,
                              const json_t *escalations, const struct watch_row *rows, int64_t now)
{
    static const char *const headers[] = {"VISIT",    "WORKER", "ADDRESS",
                                          "DEADLINE", "LEFT",   "ESCALATION"};
    char id[32], worker[NAMES_TEXT], address[1024], deadline[WHEN_TEXT], left[WHEN_TEXT + 16];
    char esc[600];
    struct table t;
    table_init(&t, 6, headers);
    for (size_t i = 0; i < json_array_size(visits); i++) {
        const json_t *v = json_array_get(visits, rows[i].index);
        const json_t *e = escalation_of(escalations, (json_int_t)rows[i].visit_id);
        const char *row[6] = {
            output_text(json_object_get(v, "id"), id, sizeof(id)),
            names_get(cli, names, json_object_get(v, "worker_id"), false, worker, sizeof(worker)),
            output_text(json_object_get(v, "address"), address, sizeof(address)),
            visits_time_text(json_object_get(v, "deadline_at"), now, deadline, sizeof(deadline)),
            left_text(&rows[i], now, left, sizeof(left)),
            escalation_cell(cli, names, e, now, esc, sizeof(esc)),
        };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
}

/* Open escalations whose visit is not on the screen (another team's, or closed since). */
static void print_other_escalations(struct cli *cli, struct names *names, const json_t *visits,
                                    const json_t *escalations, int64_t now)
{
    char esc[600];
    size_t i, j;
    const json_t *e, *v;
    json_array_foreach(escalations, i, e)
    {
        bool listed = false;
        json_array_foreach(visits, j, v)
        {
            listed = listed || json_integer_value(json_object_get(v, "id")) ==
                                   json_integer_value(json_object_get(e, "visit_id"));
        }
        if (!listed)
            printf("Escalation on visit %lld: %s\n",
                   (long long)json_integer_value(json_object_get(e, "visit_id")),
                   escalation_cell(cli, names, e, now, esc, sizeof(esc)));
    }
}

static void print_watch(struct cli *cli, struct names *names, const json_t *visits,
                        const json_t *escalations, int64_t now, bool all_teams)
{
    char at[WHEN_TEXT];
    size_t n = json_array_size(visits), overdue = 0, escalated = 0;
    struct watch_row *rows = watch_rows(visits, escalations, now);
    for (size_t i = 0; i < n; i++) {
        overdue += rows[i].overdue;
        escalated += rows[i].escalated;
    }
    when_format(now, now, at, sizeof(at));
    printf("%zu active visit%s at %s: %zu overdue, %zu with an open escalation.\n", n,
           n == 1 ? "" : "s", at, overdue, escalated);
    if (n > 0)
        print_watch_table(cli, names, visits, escalations, rows, now);
    if (all_teams)
        print_other_escalations(cli, names, visits, escalations, now);
    free(rows);
}

enum { W_TEAM };
static const struct args_spec watch_spec[] = {
    [W_TEAM] = {"team", ARGS_VALUE},
};

/* The active visits (of --team) and the open escalations. */
static int watch_fetch(struct cli *cli, const struct args *a, json_t **visits, json_t **escalations)
{
    char path[CLI_MAX_PATH];
    int64_t team;
    int rc = cli_path(cli, path, "/api/v1/visits?state=active");
    if (!rc && a->value[W_TEAM]) {
        rc = cli_resolve_team(cli, a->value[W_TEAM], &team);
        if (!rc)
            rc = cli_query_add_id(cli, path, "team_id", team);
    }
    if (!rc)
        rc = cli_list(cli, path, visits);
    return rc ? rc : cli_list(cli, "/api/v1/escalations?state=open", escalations);
}

static int run_watch(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct names names;
    json_t *visits = NULL, *escalations = NULL, *all = NULL;
    int64_t now;
    names_init(&names);
    int rc = cli_parse(cli, cmd, watch_spec, CLI_COUNT(watch_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = visits_now(cli, &now);
    if (!rc)
        rc = watch_fetch(cli, &a, &visits, &escalations);
    if (rc)
        goto done;
    if (cli->json) {
        all = json_pack("{s:O,s:O}", "visits", visits, "escalations", escalations);
        rc = all ? cli_print_json(cli, all) : cli_fail(cli, "out of memory");
        goto done;
    }
    /* Many visits: one list of every user costs less than a request per worker. */
    if (json_array_size(visits) > 10)
        rc = names_load_all(cli, &names);
    if (!rc)
        print_watch(cli, &names, visits, escalations, now, !a.value[W_TEAM]);
done:
    json_decref(all);
    json_decref(visits);
    json_decref(escalations);
    names_fini(&names);
    args_fini(&a);
    return rc;
}

/* Parses the ESCALATION argument of a command that takes it alone (and spec's options). */
static int parse_escalation(struct cli *cli, const struct cli_command *cmd,
                            const struct args_spec *spec, size_t nspec, int argc, char **argv,
                            struct args *a, int64_t *id)
{
    int rc = cli_parse(cli, cmd, spec, nspec, escalation_pos, 1, 1, argc, argv, a);
    if (rc || a->help)
        return rc;
    return cli_parse_id(cli, cmd, "ESCALATION", a->pos[0], id);
}

static int run_ack(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *e = NULL;
    char due[WHEN_TEXT];
    int64_t id, now;
    int rc = parse_escalation(cli, cmd, NULL, 0, argc, argv, &a, &id);
    if (rc || a.help)
        goto done;
    rc = visits_now(cli, &now);
    if (!rc)
        rc = visits_post(cli, "escalation", id, "acknowledge", NULL, &e);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, e);
        goto done;
    }
    printf("You hold escalation %lld (visit %lld) until %s.\n"
           "Find out whether the worker is safe, then record it:\n"
           "  notalone resolve %lld --safe --how TEXT\n"
           "  notalone resolve %lld --police REFERENCE --how TEXT\n",
           (long long)id, (long long)json_integer_value(json_object_get(e, "visit_id")),
           visits_time_text(json_object_get(e, "level_due_at"), now, due, sizeof(due)),
           (long long)id, (long long)id);
done:
    json_decref(e);
    args_fini(&a);
    return rc;
}

enum { R_SAFE, R_POLICE, R_HOW };
static const struct args_spec resolve_spec[] = {
    [R_SAFE] = {"safe", ARGS_FLAG},
    [R_POLICE] = {"police", ARGS_VALUE},
    [R_HOW] = {"how", ARGS_VALUE},
};

static int resolve_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                        json_t *body)
{
    if (a->set[R_SAFE] == a->set[R_POLICE])
        return cli_usage_error(cli, cmd, "give either --safe or --police REFERENCE");
    if (!a->value[R_HOW])
        return cli_usage_error(cli, cmd, "missing --how: say how the outcome was found");
    int rc = cli_set_string(cli, cmd, body, "outcome", "--safe", a->set[R_SAFE] ? "safe" : "police",
                            false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "police_reference", "--police", a->value[R_POLICE],
                            false);
    return rc ? rc : cli_set_string(cli, cmd, body, "how", "--how", a->value[R_HOW], false);
}

static int run_resolve(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *e = NULL;
    char outcome[64];
    int64_t id;
    int rc = parse_escalation(cli, cmd, resolve_spec, CLI_COUNT(resolve_spec), argc, argv, &a, &id);
    if (rc || a.help)
        goto done;
    rc = body ? resolve_body(cli, cmd, &a, body) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = visits_post(cli, "escalation", id, "resolve", body, &e);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, e);
        goto done;
    }
    printf(
        "Escalation %lld (visit %lld) resolved: %s. Everyone who was told is told the outcome.\n",
        (long long)id, (long long)json_integer_value(json_object_get(e, "visit_id")),
        output_text(json_object_get(e, "outcome"), outcome, sizeof(outcome)));
done:
    json_decref(e);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static void add_text(struct table *t, const char *label, const char *value)
{
    const char *row[2] = {label, value};
    table_add_row(t, row);
}

static void show_case(struct cli *cli, struct names *names, const json_t *e, int64_t now)
{
    static const struct cli_column times[] = {
        {"opened", "opened_at"},       {"deadline missed", "missed_deadline_at"},
        {"next step", "level_due_at"}, {"acknowledged", "acknowledged_at"},
        {"resolved", "resolved_at"},
    };
    char text[600];
    struct table t;
    table_init(&t, 2, NULL);
    table_add_field(&t, "escalation", json_object_get(e, "id"));
    table_add_field(&t, "visit", json_object_get(e, "visit_id"));
    table_add_field(&t, "state", json_object_get(e, "state"));
    char contact[64];
    (void)snprintf(text, sizeof(text), "%lld (%s)",
                   (long long)json_integer_value(json_object_get(e, "level")),
                   output_text(json_object_get(e, "level_contact"), contact, sizeof(contact)));
    add_text(&t, "level", text);
    add_text(
        &t, "held by",
        names_get(cli, names, json_object_get(e, "acknowledged_by"), true, text, sizeof(text)));
    for (size_t i = 0; i < CLI_COUNT(times); i++)
        add_text(&t, times[i].header,
                 visits_time_text(json_object_get(e, times[i].key), now, text, sizeof(text)));
    table_add_field(&t, "outcome", json_object_get(e, "outcome"));
    table_add_field(&t, "how", json_object_get(e, "outcome_note"));
    table_add_field(&t, "police reference", json_object_get(e, "police_reference"));
    add_text(&t, "resolved by",
             names_get(cli, names, json_object_get(e, "resolved_by"), true, text, sizeof(text)));
    table_print(&t, stdout);
    table_fini(&t);
}

/* Whom a step or notification went to: a user's name, "channel 2", or "-". */
static const char *recipient(struct cli *cli, struct names *names, const json_t *o, char *dst,
                             size_t n)
{
    const json_t *channel = json_object_get(o, "channel_id");
    if (json_is_integer(json_object_get(o, "user_id")))
        return names_get(cli, names, json_object_get(o, "user_id"), false, dst, n);
    if (json_is_integer(channel))
        (void)snprintf(dst, n, "channel %lld", (long long)json_integer_value(channel));
    else
        (void)snprintf(dst, n, "-");
    return dst;
}

static void show_steps(struct cli *cli, struct names *names, const json_t *steps, int64_t now)
{
    static const char *const headers[] = {"AT", "LEVEL", "STEP", "WHO", "DETAIL"};
    char at[WHEN_TEXT], level[32], kind[64], who[NAMES_TEXT], detail[600];
    struct table t;
    const json_t *s;
    size_t i;
    table_init(&t, 5, headers);
    json_array_foreach(steps, i, s)
    {
        const char *row[5] = {
            visits_time_text(json_object_get(s, "at"), now, at, sizeof(at)),
            output_text(json_object_get(s, "level"), level, sizeof(level)),
            output_text(json_object_get(s, "kind"), kind, sizeof(kind)),
            recipient(cli, names, s, who, sizeof(who)),
            output_text(json_object_get(s, "detail"), detail, sizeof(detail)),
        };
        table_add_row(&t, row);
    }
    printf("\nsteps:\n");
    table_print(&t, stdout);
    table_fini(&t);
}

static void show_notifications(struct cli *cli, struct names *names, const json_t *list,
                               int64_t now)
{
    static const char *const headers[] = {"ID",       "TO",   "CHANNEL",   "STATE",
                                          "ATTEMPTS", "SENT", "LAST ERROR"};
    char id[32], who[NAMES_TEXT], channel[64], state[32], attempts[32], sent[WHEN_TEXT];
    char error[600];
    struct table t;
    const json_t *o;
    size_t i;
    if (json_array_size(list) == 0)
        return;
    table_init(&t, 7, headers);
    json_array_foreach(list, i, o)
    {
        const char *row[7] = {
            output_text(json_object_get(o, "id"), id, sizeof(id)),
            recipient(cli, names, o, who, sizeof(who)),
            output_text(json_object_get(o, "channel"), channel, sizeof(channel)),
            output_text(json_object_get(o, "state"), state, sizeof(state)),
            output_text(json_object_get(o, "attempts"), attempts, sizeof(attempts)),
            visits_time_text(json_object_get(o, "sent_at"), now, sent, sizeof(sent)),
            output_text(json_object_get(o, "last_error"), error, sizeof(error)),
        };
        table_add_row(&t, row);
    }
    printf("\nnotifications:\n");
    table_print(&t, stdout);
    table_fini(&t);
}

static int run_show(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct names names;
    json_t *e = NULL;
    char path[CLI_MAX_PATH];
    int64_t id, now;
    names_init(&names);
    int rc = parse_escalation(cli, cmd, NULL, 0, argc, argv, &a, &id);
    if (rc || a.help)
        goto done;
    rc = visits_now(cli, &now);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/escalations/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "GET", path, NULL, &e);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, e);
        goto done;
    }
    show_case(cli, &names, e, now);
    show_steps(cli, &names, json_object_get(e, "steps"), now);
    show_notifications(cli, &names, json_object_get(e, "notifications"), now);
done:
    json_decref(e);
    names_fini(&names);
    args_fini(&a);
    return rc;
}

static void print_escalations(struct cli *cli, struct names *names, const json_t *items,
                              int64_t now)
{
    static const char *const headers[] = {"ID",      "VISIT",  "STATE",  "LEVEL",
                                          "HELD BY", "OPENED", "OUTCOME"};
    char id[32], visit[32], state[32], level[96], held[NAMES_TEXT], opened[WHEN_TEXT];
    char outcome[32], contact[64];
    struct table t;
    const json_t *e;
    size_t i;
    table_init(&t, 7, headers);
    json_array_foreach(items, i, e)
    {
        (void)snprintf(level, sizeof(level), "%lld (%s)",
                       (long long)json_integer_value(json_object_get(e, "level")),
                       output_text(json_object_get(e, "level_contact"), contact, sizeof(contact)));
        const char *row[7] = {
            output_text(json_object_get(e, "id"), id, sizeof(id)),
            output_text(json_object_get(e, "visit_id"), visit, sizeof(visit)),
            output_text(json_object_get(e, "state"), state, sizeof(state)),
            level,
            names_get(cli, names, json_object_get(e, "acknowledged_by"), false, held, sizeof(held)),
            visits_time_text(json_object_get(e, "opened_at"), now, opened, sizeof(opened)),
            output_text(json_object_get(e, "outcome"), outcome, sizeof(outcome)),
        };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
}

enum { EL_OPEN };
static const struct args_spec list_spec[] = {
    [EL_OPEN] = {"open", ARGS_FLAG},
};

static int run_list(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct names names;
    json_t *items = NULL;
    int64_t now;
    names_init(&names);
    int rc = cli_parse(cli, cmd, list_spec, CLI_COUNT(list_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = visits_now(cli, &now);
    if (!rc)
        rc = cli_list(
            cli, a.set[EL_OPEN] ? "/api/v1/escalations?state=open" : "/api/v1/escalations", &items);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, items);
        goto done;
    }
    print_escalations(cli, &names, items, now);
done:
    json_decref(items);
    names_fini(&names);
    args_fini(&a);
    return rc;
}

static const struct cli_command watch_cmds[] = {
    {"watch", "watch [--team TEAM]",
     "For buddies and managers: every active visit you can see, overdue ones first, with\n"
     "the worker, address, deadline, time left (negative: overdue) and any open escalation:\n"
     "its level and who holds it. Printed once; run it again (or under watch(1)) to refresh.",
     run_watch},
    {"ack", "ack ESCALATION",
     "Takes an escalation: you hold the case for its level's limit. Then find out whether\n"
     "the worker is safe and record it with 'notalone resolve'.",
     run_ack},
    {"resolve", "resolve ESCALATION (--safe | --police REFERENCE) --how TEXT",
     "Records the outcome of an escalation; everyone who was told is told it.", run_resolve},
};

static const struct cli_command escalation_cmds[] = {
    {"show", "escalation show ESCALATION", "Shows an escalation, its steps and notifications.",
     run_show},
    {"list", "escalation list [--open]", "Lists the escalations you may see.", run_list},
};

const struct cli_group cmd_watch_group = {NULL, watch_cmds, CLI_COUNT(watch_cmds)};
const struct cli_group cmd_escalation_group = {"escalation", escalation_cmds,
                                               CLI_COUNT(escalation_cmds)};
