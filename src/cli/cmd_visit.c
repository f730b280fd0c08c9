/* notalone visit: plan and start visits, show, list, cancel and hand them over. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/output.h"
#include "cli/visits.h"
#include "util/error.h"

enum {
    V_ADDRESS,
    V_UNTIL,
    V_BUDDY,
    V_ARRIVAL,
    V_CHECKIN_EVERY,
    V_PEOPLE,
    V_PHONE,
    V_CAR,
    V_FOOT,
    V_PUBLIC,
    V_TAXI,
    V_CALL_SIGN,
    V_ACCOMPANIED,
    V_NOTES,
    V_LAT,
    V_LON,
    V_SHIFT,
    V_PLAN_ONLY,
    V_WORKER,
    V_COUNT
};
static const struct args_spec start_spec[V_COUNT] = {
    [V_ADDRESS] = {"address", ARGS_VALUE},
    [V_UNTIL] = {"until", ARGS_VALUE},
    [V_BUDDY] = {"buddy", ARGS_VALUE},
    [V_ARRIVAL] = {"arrival", ARGS_VALUE},
    [V_CHECKIN_EVERY] = {"checkin-every", ARGS_VALUE},
    [V_PEOPLE] = {"people", ARGS_VALUE},
    [V_PHONE] = {"phone", ARGS_LIST},
    [V_CAR] = {"car", ARGS_VALUE},
    [V_FOOT] = {"foot", ARGS_FLAG},
    [V_PUBLIC] = {"public-transport", ARGS_VALUE},
    [V_TAXI] = {"taxi", ARGS_VALUE},
    [V_CALL_SIGN] = {"call-sign", ARGS_VALUE},
    [V_ACCOMPANIED] = {"accompanied-by", ARGS_VALUE},
    [V_NOTES] = {"notes", ARGS_VALUE},
    [V_LAT] = {"lat", ARGS_VALUE},
    [V_LON] = {"lon", ARGS_VALUE},
    [V_SHIFT] = {"shift", ARGS_FLAG},
    [V_PLAN_ONLY] = {"plan-only", ARGS_FLAG},
    [V_WORKER] = {"worker", ARGS_VALUE},
};
static const char *const visit_pos[] = {"VISIT"};

/* A registration in capitals without spaces, into dst (size n). */
static void registration_key(const char *s, char *dst, size_t n)
{
    size_t j = 0;
    for (; *s && j + 1 < n; s++) {
        if (*s != ' ')
            dst[j++] = (char)toupper((unsigned char)*s);
    }
    dst[j] = '\0';
}

/* The vehicle of --car: an id, or a registration of the worker's vehicles. */
static int resolve_vehicle(struct cli *cli, const char *arg, const char *worker_arg, int64_t *out)
{
    char path[CLI_MAX_PATH];
    char want[64], have[64];
    json_t *page = NULL;
    int64_t worker;
    if (args_is_id(arg, out))
        return 0;
    int rc = worker_arg ? cli_resolve_user(cli, worker_arg, &worker) : visits_me(cli, &worker);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/users/%lld/vehicles", (long long)worker);
    if (!rc)
        rc = cli_request(cli, true, "GET", path, NULL, &page);
    if (rc)
        return rc;
    registration_key(arg, want, sizeof(want));
    size_t i;
    const json_t *v;
    rc = -NA_ENOTFOUND;
    /* A user has at most 10 vehicles: one page. */
    json_array_foreach(json_object_get(page, "items"), i, v)
    {
        const char *reg = json_string_value(json_object_get(v, "registration"));
        const json_t *id = json_object_get(v, "id");
        registration_key(reg ? reg : "", have, sizeof(have));
        if (strcmp(want, have) == 0 && json_is_integer(id)) {
            *out = (int64_t)json_integer_value(id);
            rc = 0;
            break;
        }
    }
    if (rc)
        rc = cli_fail(cli, "not_found: the worker has no vehicle '%s'", arg);
    json_decref(page);
    return rc;
}

/* Sets o[key] to a new object, returned borrowed in *out. */
static int new_member(struct cli *cli, json_t *o, const char *key, json_t **out)
{
    json_t *m = json_object();
    if (!m || json_object_set_new(o, key, m) != 0)
        return cli_fail(cli, "out of memory");
    *out = m;
    return 0;
}

/* "transport" of --car, --foot, --public-transport, --taxi with --call-sign. */
static int start_transport(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                           json_t *body)
{
    json_t *t;
    int64_t vehicle;
    int modes = a->set[V_CAR] + a->set[V_FOOT] + a->set[V_PUBLIC] + a->set[V_TAXI];
    if (modes > 1)
        return cli_usage_error(cli, cmd,
                               "--car, --foot, --public-transport and --taxi exclude "
                               "each other");
    if (a->set[V_TAXI] != a->set[V_CALL_SIGN])
        return cli_usage_error(cli, cmd, "--taxi and --call-sign go together");
    if (modes == 0)
        return 0;
    int rc = new_member(cli, body, "transport", &t);
    if (rc)
        return rc;
    if (a->set[V_FOOT])
        return cli_set_string(cli, cmd, t, "mode", "--foot", "foot", false);
    if (a->set[V_PUBLIC]) {
        rc = cli_set_string(cli, cmd, t, "mode", "--public-transport", "public_transport", false);
        return rc ? rc
                  : cli_set_string(cli, cmd, t, "route", "--public-transport", a->value[V_PUBLIC],
                                   false);
    }
    if (a->set[V_TAXI]) {
        rc = cli_set_string(cli, cmd, t, "mode", "--taxi", "taxi", false);
        if (!rc)
            rc = cli_set_string(cli, cmd, t, "company", "--taxi", a->value[V_TAXI], false);
        return rc ? rc
                  : cli_set_string(cli, cmd, t, "call_sign", "--call-sign", a->value[V_CALL_SIGN],
                                   false);
    }
    rc = cli_set_string(cli, cmd, t, "mode", "--car", "car", false);
    if (!rc)
        rc = resolve_vehicle(cli, a->value[V_CAR], a->value[V_WORKER], &vehicle);
    return rc ? rc : cli_set_int(cli, t, "vehicle_id", vehicle);
}

/* expected_departure, expected_arrival and checkin_interval. */
static int start_times(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                       int64_t now_ms, json_t *body)
{
    struct when until, arrival;
    int64_t every;
    int rc = visits_parse_time(cli, cmd, "--until", a->value[V_UNTIL], now_ms, &until);
    if (!rc)
        rc = visits_set_time(cli, body, "expected_departure", until.ms);
    if (!rc && a->value[V_ARRIVAL]) {
        rc = visits_parse_time(cli, cmd, "--arrival", a->value[V_ARRIVAL], now_ms, &arrival);
        if (!rc)
            rc = visits_set_time(cli, body, "expected_arrival", arrival.ms);
    }
    if (rc || !a->value[V_CHECKIN_EVERY])
        return rc;
    if (when_parse_duration(a->value[V_CHECKIN_EVERY], &every) || every < 60 || every > 86400)
        return cli_usage_error(cli, cmd, "--checkin-every must be a DURATION from 1m to 24h");
    return cli_set_int(cli, body, "checkin_interval", every);
}

/* The texts: address, people, phones, accompanied_by, notes. */
static int start_texts(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                       json_t *body)
{
    int rc = cli_set_string(cli, cmd, body, "address", "--address", a->value[V_ADDRESS], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "people", "--people", a->value[V_PEOPLE], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "accompanied_by", "--accompanied-by",
                            a->value[V_ACCOMPANIED], false);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "notes", "--notes", a->value[V_NOTES], false);
    if (rc || a->nlist[V_PHONE] == 0)
        return rc;
    json_t *phones = json_array();
    if (!phones || json_object_set_new(body, "phones", phones) != 0)
        return cli_fail(cli, "out of memory");
    for (size_t i = 0; i < a->nlist[V_PHONE]; i++) {
        json_t *p = json_string(a->list[V_PHONE][i]);
        if (!p)
            return cli_usage_error(cli, cmd, "--phone is not valid UTF-8");
        if (json_array_append_new(phones, p) != 0)
            return cli_fail(cli, "out of memory");
    }
    return 0;
}

/* worker_id and buddy_id of --worker and --buddy. */
static int start_people(struct cli *cli, const struct args *a, json_t *body)
{
    int64_t id;
    int rc = 0;
    if (a->value[V_WORKER]) {
        rc = cli_resolve_user(cli, a->value[V_WORKER], &id);
        if (!rc)
            rc = cli_set_int(cli, body, "worker_id", id);
    }
    if (!rc && a->value[V_BUDDY]) {
        rc = cli_resolve_user(cli, a->value[V_BUDDY], &id);
        if (!rc)
            rc = cli_set_int(cli, body, "buddy_id", id);
    }
    return rc;
}

static int start_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                      int64_t now_ms, json_t *body)
{
    if (!a->value[V_ADDRESS])
        return cli_usage_error(cli, cmd, "missing --address");
    if (!a->value[V_UNTIL])
        return cli_usage_error(cli, cmd, "missing --until");
    int rc = start_times(cli, cmd, a, now_ms, body);
    if (!rc)
        rc = start_texts(cli, cmd, a, body);
    if (!rc)
        rc = visits_set_location(cli, cmd, body, a->value[V_LAT], a->value[V_LON]);
    if (!rc && a->set[V_SHIFT])
        rc = cli_set_string(cli, cmd, body, "kind", "--shift", "shift", false);
    if (!rc && json_object_set_new(body, "start", json_boolean(!a->set[V_PLAN_ONLY])) != 0)
        rc = cli_fail(cli, "out of memory");
    if (!rc)
        rc = start_people(cli, a, body);
    return rc ? rc : start_transport(cli, cmd, a, body);
}

static int run_start(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct names names;
    json_t *body = json_object();
    json_t *visit = NULL;
    char headline[128];
    int64_t now;
    names_init(&names);
    int rc = cli_parse(cli, cmd, start_spec, V_COUNT, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = body ? visits_now(cli, &now) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = start_body(cli, cmd, &a, now, body);
    if (!rc)
        rc = cli_request(cli, true, "POST", "/api/v1/visits", body, &visit);
    if (rc)
        goto done;
    visits_headline(visit, a.set[V_PLAN_ONLY] ? "planned" : "started", headline, sizeof(headline));
    rc = visits_print_brief(cli, &names, visit, now, headline);
    if (!rc && !cli->json && a.set[V_PLAN_ONLY])
        printf("Start it with 'notalone visit start-planned %lld'.\n",
               (long long)json_integer_value(json_object_get(visit, "id")));
done:
    json_decref(visit);
    json_decref(body);
    names_fini(&names);
    args_fini(&a);
    return rc;
}

/* A command of one VISIT argument that POSTs {} or body to the visit's action. */
static int visit_simple(struct cli *cli, const struct cli_command *cmd, int argc, char **argv,
                        const char *action, const json_t *body, const char *done)
{
    struct args a;
    int64_t id;
    int rc = cli_parse(cli, cmd, NULL, 0, visit_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_parse_id(cli, cmd, "VISIT", a.pos[0], &id);
    if (!rc)
        rc = visits_act(cli, id, action, body, done, NULL);
done:
    args_fini(&a);
    return rc;
}

static int run_start_planned(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    return visit_simple(cli, cmd, argc, argv, "start", NULL, "started");
}

static int run_accept(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    return visit_simple(cli, cmd, argc, argv, "buddy/accept", NULL, "accepted: you are its buddy");
}

static int run_cancel(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    json_t *body = json_pack("{s:s}", "outcome", "cancelled");
    if (!body)
        return cli_fail(cli, "out of memory");
    int rc = visit_simple(cli, cmd, argc, argv, "end", body, "cancelled");
    json_decref(body);
    return rc;
}

enum { H_TO };
static const struct args_spec handover_spec[] = {
    [H_TO] = {"to", ARGS_VALUE},
};

static int run_handover(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    int64_t id, buddy;
    int rc = cli_parse(cli, cmd, handover_spec, CLI_COUNT(handover_spec), visit_pos, 1, 1, argc,
                       argv, &a);
    if (rc || a.help)
        goto done;
    rc = body ? cli_parse_id(cli, cmd, "VISIT", a.pos[0], &id) : cli_fail(cli, "out of memory");
    if (!rc && !a.value[H_TO])
        rc = cli_usage_error(cli, cmd, "missing --to");
    if (!rc)
        rc = cli_resolve_user(cli, a.value[H_TO], &buddy);
    if (!rc)
        rc = cli_set_int(cli, body, "buddy_id", buddy);
    if (!rc)
        rc = visits_act(cli, id, "buddy", body, "handed over: the new buddy must accept", NULL);
done:
    json_decref(body);
    args_fini(&a);
    return rc;
}

/* How the worker travels, for people, into dst (size n). */
static const char *transport_text(const json_t *t, char *dst, size_t n)
{
    char x[256], y[256];
    const char *mode = json_string_value(json_object_get(t, "mode"));
    if (!mode)
        (void)snprintf(dst, n, "-");
    else if (strcmp(mode, "car") == 0)
        (void)snprintf(dst, n, "car (vehicle %s)",
                       output_text(json_object_get(t, "vehicle_id"), x, sizeof(x)));
    else if (strcmp(mode, "public_transport") == 0)
        (void)snprintf(dst, n, "public transport, route %s",
                       output_text(json_object_get(t, "route"), x, sizeof(x)));
    else if (strcmp(mode, "taxi") == 0)
        (void)snprintf(dst, n, "taxi: %s, call sign %s",
                       output_text(json_object_get(t, "company"), x, sizeof(x)),
                       output_text(json_object_get(t, "call_sign"), y, sizeof(y)));
    else if (strcmp(mode, "other") == 0)
        (void)snprintf(dst, n, "other: %s",
                       output_text(json_object_get(t, "detail"), x, sizeof(x)));
    else
        output_text(json_object_get(t, "mode"), dst, n);
    return dst;
}

static void add_text(struct table *t, const char *label, const char *value)
{
    const char *row[2] = {label, value};
    table_add_row(t, row);
}

/* Who, where and how of visit v. */
static void show_who_where(struct cli *cli, struct names *names, const json_t *v, struct table *t)
{
    char text[1024], x[64], y[64], z[64];
    (void)snprintf(text, sizeof(text), "%s (%s, %s)",
                   output_text(json_object_get(v, "id"), x, sizeof(x)),
                   output_text(json_object_get(v, "kind"), y, sizeof(y)),
                   output_text(json_object_get(v, "state"), z, sizeof(z)));
    add_text(t, "visit", text);
    add_text(t, "worker",
             names_get(cli, names, json_object_get(v, "worker_id"), true, text, sizeof(text)));
    add_text(t, "buddy", visits_buddy_text(cli, names, v, text, sizeof(text)));
    table_add_field(t, "address", json_object_get(v, "address"));
    if (json_is_number(json_object_get(v, "latitude"))) {
        (void)snprintf(text, sizeof(text), "%.6f, %.6f",
                       json_number_value(json_object_get(v, "latitude")),
                       json_number_value(json_object_get(v, "longitude")));
        add_text(t, "location", text);
    }
    table_add_field(t, "people", json_object_get(v, "people"));
    table_add_field(t, "phones", json_object_get(v, "phones"));
    add_text(t, "transport", transport_text(json_object_get(v, "transport"), text, sizeof(text)));
    table_add_field(t, "accompanied by", json_object_get(v, "accompanied_by"));
    table_add_field(t, "notes", json_object_get(v, "notes"));
}

/* When: the times, the deadline and the outcome of visit v. */
static void show_when(const json_t *v, int64_t now, struct table *t)
{
    static const struct cli_column times[] = {
        {"arrival", "expected_arrival"}, {"until", "expected_departure"},
        {"started", "started_at"},       {"last check-in", "last_checkin_at"},
        {"closed", "closed_at"},
    };
    char text[VISITS_TEXT];
    const json_t *every = json_object_get(v, "checkin_interval");
    if (json_is_integer(every))
        when_format_span(json_integer_value(every) * 1000, text, sizeof(text));
    add_text(t, "check-in every", json_is_integer(every) ? text : "-");
    for (size_t i = 0; i < CLI_COUNT(times); i++)
        add_text(t, times[i].header,
                 visits_time_text(json_object_get(v, times[i].key), now, text, sizeof(text)));
    const char *state = json_string_value(json_object_get(v, "state"));
    if (state && strcmp(state, "active") == 0)
        add_text(t, "deadline",
                 visits_deadline_text(json_object_get(v, "deadline_at"), now, text, sizeof(text)));
    table_add_field(t, "outcome", json_object_get(v, "outcome"));
    table_add_field(t, "close note", json_object_get(v, "close_note"));
    table_add_field(t, "escalation", json_object_get(v, "escalation_id"));
}

static void show_timeline(struct cli *cli, struct names *names, const json_t *events, int64_t now)
{
    static const char *const headers[] = {"AT", "EVENT", "BY", "DETAIL"};
    char at[WHEN_TEXT], kind[64], by[NAMES_TEXT], detail[1024];
    struct table t;
    const json_t *e;
    size_t i;
    table_init(&t, 4, headers);
    json_array_foreach(events, i, e)
    {
        const char *row[4] = {
            visits_time_text(json_object_get(e, "at"), now, at, sizeof(at)),
            output_text(json_object_get(e, "kind"), kind, sizeof(kind)),
            names_get(cli, names, json_object_get(e, "actor_id"), false, by, sizeof(by)),
            output_text(json_object_get(e, "detail"), detail, sizeof(detail)),
        };
        table_add_row(&t, row);
    }
    printf("\ntimeline:\n");
    table_print(&t, stdout);
    table_fini(&t);
}

static int run_show(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct names names;
    struct table t;
    json_t *visit = NULL;
    char path[CLI_MAX_PATH];
    int64_t id, now;
    names_init(&names);
    int rc = cli_parse(cli, cmd, NULL, 0, visit_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_parse_id(cli, cmd, "VISIT", a.pos[0], &id);
    if (!rc)
        rc = visits_now(cli, &now);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/visits/%lld", (long long)id);
    if (!rc)
        rc = cli_request(cli, true, "GET", path, NULL, &visit);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, visit);
        goto done;
    }
    table_init(&t, 2, NULL);
    show_who_where(cli, &names, visit, &t);
    show_when(visit, now, &t);
    table_print(&t, stdout);
    table_fini(&t);
    show_timeline(cli, &names, json_object_get(visit, "events"), now);
done:
    json_decref(visit);
    names_fini(&names);
    args_fini(&a);
    return rc;
}

enum { L_STATE, L_WORKER, L_TEAM };
static const struct args_spec list_spec[] = {
    [L_STATE] = {"state", ARGS_VALUE},
    [L_WORKER] = {"worker", ARGS_VALUE},
    [L_TEAM] = {"team", ARGS_VALUE},
};

/* The list path of --state, --worker and --team into path (size CLI_MAX_PATH). */
static int list_path(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                     char *path)
{
    int64_t id;
    int rc = 0;
    const char *state = a->value[L_STATE];
    if (state && strcmp(state, "planned") != 0 && strcmp(state, "active") != 0 &&
        strcmp(state, "closed") != 0)
        return cli_usage_error(cli, cmd, "--state must be planned, active or closed");
    (void)snprintf(path, CLI_MAX_PATH, "/api/v1/visits");
    if (state)
        rc = cli_query_add(cli, path, "state", state);
    if (!rc && a->value[L_WORKER]) {
        rc = cli_resolve_user(cli, a->value[L_WORKER], &id);
        if (!rc)
            rc = cli_query_add_id(cli, path, "worker_id", id);
    }
    if (!rc && a->value[L_TEAM]) {
        rc = cli_resolve_team(cli, a->value[L_TEAM], &id);
        if (!rc)
            rc = cli_query_add_id(cli, path, "team_id", id);
    }
    return rc;
}

static void print_visits(struct cli *cli, struct names *names, const json_t *items, int64_t now)
{
    static const char *const headers[] = {"VISIT", "STATE",    "WORKER", "ADDRESS",
                                          "UNTIL", "DEADLINE", "BUDDY"};
    char id[32], state[32], worker[NAMES_TEXT], address[1024], until[WHEN_TEXT];
    char deadline[VISITS_TEXT], buddy[NAMES_TEXT];
    struct table t;
    const json_t *v;
    size_t i;
    table_init(&t, 7, headers);
    json_array_foreach(items, i, v)
    {
        const char *row[7] = {
            output_text(json_object_get(v, "id"), id, sizeof(id)),
            output_text(json_object_get(v, "state"), state, sizeof(state)),
            names_get(cli, names, json_object_get(v, "worker_id"), false, worker, sizeof(worker)),
            output_text(json_object_get(v, "address"), address, sizeof(address)),
            visits_time_text(json_object_get(v, "expected_departure"), now, until, sizeof(until)),
            visits_deadline_text(json_object_get(v, "deadline_at"), now, deadline,
                                 sizeof(deadline)),
            names_get(cli, names, json_object_get(v, "buddy_id"), false, buddy, sizeof(buddy)),
        };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
}

static int run_list(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    struct names names;
    json_t *items = NULL;
    char path[CLI_MAX_PATH];
    int64_t now;
    names_init(&names);
    int rc = cli_parse(cli, cmd, list_spec, CLI_COUNT(list_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = visits_now(cli, &now);
    if (!rc)
        rc = list_path(cli, cmd, &a, path);
    if (!rc)
        rc = cli_list(cli, path, &items);
    if (rc || cli->json) {
        rc = rc ? rc : cli_print_json(cli, items);
        goto done;
    }
    /* Many visits: one list of every user costs less than a request per worker. */
    if (json_array_size(items) > 10)
        rc = names_load_all(cli, &names);
    if (!rc)
        print_visits(cli, &names, items, now);
done:
    json_decref(items);
    names_fini(&names);
    args_fini(&a);
    return rc;
}

static const struct cli_command visit_cmds[] = {
    {"start",
     "visit start --address A --until TIME [--buddy USER] [--arrival TIME]\n"
     "                     [--checkin-every DURATION] [--people TEXT] [--phone P ...]\n"
     "                     [--car VEHICLE | --foot | --public-transport ROUTE |\n"
     "                      --taxi COMPANY --call-sign CS] [--accompanied-by TEXT]\n"
     "                     [--notes TEXT] [--lat X --lon Y] [--shift] [--plan-only]\n"
     "                     [--worker USER]",
     "Starts a visit (or with --plan-only plans it) and prints its id, deadline and buddy.\n"
     "--until is when you expect to leave; with --checkin-every the deadline is the next\n"
     "check-in when that comes sooner. A buddy is told and must accept; until then your\n"
     "line manager is the first contact. --shift records a working day: --until is the\n"
     "time you expect to be home safe. --worker plans for someone else (line managers,\n"
     "senior managers, admins). VEHICLE is a vehicle id or registration of the worker.",
     run_start},
    {"start-planned", "visit start-planned VISIT", "Starts a planned visit.", run_start_planned},
    {"cancel", "visit cancel VISIT", "Cancels a planned visit.", run_cancel},
    {"show", "visit show VISIT", "Shows a visit and its timeline.", run_show},
    {"list", "visit list [--state planned|active|closed] [--worker USER] [--team TEAM]",
     "Lists the visits you may see.", run_list},
    {"accept", "visit accept VISIT", "Accepts being the buddy of a visit.", run_accept},
    {"handover", "visit handover VISIT --to USER",
     "Hands a visit to another buddy, who must accept.", run_handover},
};

const struct cli_group cmd_visit_group = {"visit", visit_cmds, CLI_COUNT(visit_cmds)};
