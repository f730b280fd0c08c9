/* notalone checkin, extend, end, withdraw, status: what a worker does during a visit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/output.h"
#include "cli/visits.h"
#include "util/error.h"

static const char *const visit_pos[] = {"VISIT"};
static const char *const extend_pos[] = {"DURATION|TIME"};

enum { C_LAT, C_LON, C_NOTE, C_CODE };
static const struct args_spec checkin_spec[] = {
    [C_LAT] = {"lat", ARGS_VALUE},
    [C_LON] = {"lon", ARGS_VALUE},
    [C_NOTE] = {"note", ARGS_VALUE},
    [C_CODE] = {"code", ARGS_FLAG},
};

/*
 * A check-in cannot move the expected departure: once that has passed the deadline stays
 * behind and the visit escalates again. Says so, and what to do instead.
 */
static int warn_past_departure(struct cli *cli, const json_t *visit)
{
    int64_t now, deadline;
    int rc = visits_now(cli, &now);
    if (rc || cli->json || when_from_json(json_object_get(visit, "deadline_at"), &deadline) != 0 ||
        deadline > now)
        return rc;
    printf("Your expected departure has passed, so the visit is still overdue: extend it\n"
           "('notalone extend 30m --reason TEXT') or end it ('notalone end').\n");
    return 0;
}

static int run_checkin(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *visit = NULL;
    int64_t id;
    int rc =
        cli_parse(cli, cmd, checkin_spec, CLI_COUNT(checkin_spec), visit_pos, 1, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = body ? visits_set_location(cli, cmd, body, a.value[C_LAT], a.value[C_LON])
              : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "note", "--note", a.value[C_NOTE], false);
    if (!rc)
        rc = visits_resolve(cli, cmd, a.npos ? a.pos[0] : NULL, &id);
    if (!rc && a.set[C_CODE])
        rc = cmd_set_code(cli, cmd, body, "code", "Your code: ");
    if (!rc)
        rc = visits_act(cli, id, "checkin", body, "check-in recorded", &visit);
    if (!rc)
        rc = warn_past_departure(cli, visit);
done:
    json_decref(visit);
    json_decref(body);
    args_fini(&a);
    return rc;
}

enum { X_REASON, X_VISIT };
static const struct args_spec extend_spec[] = {
    [X_REASON] = {"reason", ARGS_VALUE},
    [X_VISIT] = {"visit", ARGS_VALUE},
};

/* {"by": seconds} for a DURATION or "+DURATION", else {"until": TIME}. */
static int extend_body(struct cli *cli, const struct cli_command *cmd, const char *arg,
                       json_t *body)
{
    int64_t secs, now;
    struct when w;
    if (when_parse_duration(arg[0] == '+' ? arg + 1 : arg, &secs) == 0)
        return cli_set_int(cli, body, "by", secs);
    int rc = visits_now(cli, &now);
    if (!rc)
        rc = visits_parse_time(cli, cmd, "the new time", arg, now, &w);
    return rc ? rc : visits_set_time(cli, body, "until", w.ms);
}

static int run_extend(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    int64_t id;
    int rc =
        cli_parse(cli, cmd, extend_spec, CLI_COUNT(extend_spec), extend_pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (!a.value[X_REASON]) {
        rc = cli_usage_error(cli, cmd, "missing --reason");
        goto done;
    }
    rc = body ? extend_body(cli, cmd, a.pos[0], body) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "reason", "--reason", a.value[X_REASON], false);
    if (!rc)
        rc = visits_resolve(cli, cmd, a.value[X_VISIT], &id);
    if (!rc)
        rc = visits_act(cli, id, "extend", body, "extended", NULL);
done:
    json_decref(body);
    args_fini(&a);
    return rc;
}

enum { E_NOTE, E_CODE };
static const struct args_spec end_spec[] = {
    [E_NOTE] = {"note", ARGS_VALUE},
    [E_CODE] = {"code", ARGS_FLAG},
};

/* end and withdraw: POST .../end with outcome and --note. */
static int close_visit(struct cli *cli, const struct cli_command *cmd, int argc, char **argv,
                       const char *outcome, json_t **out)
{
    struct args a;
    json_t *body = json_pack("{s:s}", "outcome", outcome);
    int64_t id;
    bool withdrawn = strcmp(outcome, "withdrawn") == 0;
    int rc = cli_parse(cli, cmd, end_spec, CLI_COUNT(end_spec), visit_pos, 1, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    if (withdrawn && !a.value[E_NOTE]) {
        rc = cli_usage_error(cli, cmd, "missing --note: say what made you leave");
        goto done;
    }
    rc = body ? cli_set_string(cli, cmd, body, "note", "--note", a.value[E_NOTE], false)
              : cli_fail(cli, "out of memory");
    if (!rc)
        rc = visits_resolve(cli, cmd, a.npos ? a.pos[0] : NULL, &id);
    if (!rc && a.set[E_CODE])
        rc = cmd_set_code(cli, cmd, body, "code", "Your code: ");
    if (!rc)
        rc =
            visits_act(cli, id, "end", body, withdrawn ? "withdrawn, you left" : "ended safe", out);
done:
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_end(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    return close_visit(cli, cmd, argc, argv, "safe", NULL);
}

static int run_withdraw(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    json_t *visit = NULL;
    int rc = close_visit(cli, cmd, argc, argv, "withdrawn", &visit);
    if (rc == 0 && visit && !cli->json)
        printf("Leaving was the right call and is never held against you.\n%s\n",
               json_is_true(json_object_get(visit, "incident_report_prompted"))
                   ? "An incident report is prompted: please file one about what happened."
                   : "Please file an incident report about what happened.");
    json_decref(visit);
    return rc;
}

/* The caller's visits in state (with role "worker_id" or "buddy_id") into *out. */
static int my_visits(struct cli *cli, int64_t me, const char *state, const char *role, json_t **out)
{
    char path[CLI_MAX_PATH];
    int rc = cli_path(cli, path, "/api/v1/visits?state=%s&%s=%lld", state, role, (long long)me);
    return rc ? rc : cli_list(cli, path, out);
}

/* The open escalation of visit v on one line, when there is one. */
static int print_escalation(struct cli *cli, struct names *names, const json_t *v, int64_t now)
{
    char path[CLI_MAX_PATH];
    char text[512];
    json_t *e = NULL;
    const json_t *id = json_object_get(v, "escalation_id");
    if (!json_is_integer(id))
        return 0;
    int rc = cli_path(cli, path, "/api/v1/escalations/%lld", (long long)json_integer_value(id));
    if (!rc)
        rc = cli_request(cli, true, "GET", path, NULL, &e);
    if (!rc)
        printf("  ESCALATION %lld on visit %lld: %s\n", (long long)json_integer_value(id),
               (long long)json_integer_value(json_object_get(v, "id")),
               visits_escalation_text(cli, names, e, now, text, sizeof(text)));
    json_decref(e);
    return rc;
}

static int print_mine(struct cli *cli, struct names *names, const json_t *items, int64_t now,
                      const char *title)
{
    static const char *const headers[] = {"VISIT", "ADDRESS", "DEADLINE", "UNTIL", "BUDDY"};
    char id[32], address[1024], deadline[VISITS_TEXT], until[WHEN_TEXT], buddy[NAMES_TEXT + 32];
    struct table t;
    const json_t *v;
    size_t i;
    int rc = 0;
    if (json_array_size(items) == 0)
        return 0;
    printf("%s:\n", title);
    table_init(&t, 5, headers);
    json_array_foreach(items, i, v)
    {
        const char *row[5] = {
            output_text(json_object_get(v, "id"), id, sizeof(id)),
            output_text(json_object_get(v, "address"), address, sizeof(address)),
            visits_deadline_text(json_object_get(v, "deadline_at"), now, deadline,
                                 sizeof(deadline)),
            visits_time_text(json_object_get(v, "expected_departure"), now, until, sizeof(until)),
            visits_buddy_text(cli, names, v, buddy, sizeof(buddy)),
        };
        table_add_row(&t, row);
    }
    table_print(&t, stdout);
    table_fini(&t);
    json_array_foreach(items, i, v)
    {
        int64_t due;
        if (!rc)
            rc = print_escalation(cli, names, v, now);
        if (!rc && when_from_json(json_object_get(v, "deadline_at"), &due) == 0 && due <= now)
            printf("  Visit %lld is overdue: if you are safe, run 'notalone checkin %lld' now.\n",
                   (long long)json_integer_value(json_object_get(v, "id")),
                   (long long)json_integer_value(json_object_get(v, "id")));
    }
    return rc;
}

/* Prints the status from the three lists. */
static int print_status(struct cli *cli, const json_t *active, const json_t *planned,
                        const json_t *buddying, int64_t now)
{
    struct names names;
    names_init(&names);
    int rc = print_mine(cli, &names, active, now, "Your active visits");
    if (!rc)
        rc = print_mine(cli, &names, planned, now, "Your planned visits");
    names_fini(&names);
    if (rc)
        return rc;
    if (json_array_size(active) + json_array_size(planned) == 0)
        puts("You have no active or planned visit.");
    if (json_array_size(buddying) > 0)
        printf("You are the buddy of %zu active visit%s: 'notalone watch' shows them.\n",
               json_array_size(buddying), json_array_size(buddying) == 1 ? "" : "s");
    return 0;
}

static int run_status(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *active = NULL, *planned = NULL, *buddying = NULL;
    int64_t me, now;
    int rc = cli_parse(cli, cmd, NULL, 0, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = visits_now(cli, &now);
    if (!rc)
        rc = visits_me(cli, &me);
    if (!rc)
        rc = my_visits(cli, me, "active", "worker_id", &active);
    if (!rc)
        rc = my_visits(cli, me, "planned", "worker_id", &planned);
    if (!rc)
        rc = my_visits(cli, me, "active", "buddy_id", &buddying);
    if (rc)
        goto done;
    if (cli->json) {
        json_t *all =
            json_pack("{s:O,s:O,s:O}", "active", active, "planned", planned, "buddy", buddying);
        rc = all ? cli_print_json(cli, all) : cli_fail(cli, "out of memory");
        json_decref(all);
    } else {
        rc = print_status(cli, active, planned, buddying, now);
    }
done:
    json_decref(active);
    json_decref(planned);
    json_decref(buddying);
    args_fini(&a);
    return rc;
}

static const struct cli_command checkin_cmds[] = {
    {"checkin", "checkin [VISIT] [--lat X --lon Y] [--note TEXT] [--code]",
     "Tells the server you are fine; sets the next deadline. Resolves an open escalation\n"
     "as safe. VISIT defaults to your only active visit. --code asks for your code (a line\n"
     "of standard input when it is not a terminal) and sends it with the check-in.",
     run_checkin},
    {"extend", "extend DURATION|TIME --reason TEXT [--visit VISIT]",
     "You are delayed: moves the expected departure by DURATION (20m) or to TIME (15:30,\n"
     "+45m, an RFC 3339 time). Counts as a check-in.",
     run_extend},
    {"end", "end [VISIT] [--note TEXT] [--code]",
     "Ends your visit: you are safe. --code asks for your code, as for checkin.", run_end},
    {"withdraw", "withdraw [VISIT] --note TEXT [--code]",
     "You left because you felt unsafe: ends the visit as withdrawn, which is recorded and\n"
     "never penalised, and prompts an incident report.",
     run_withdraw},
    {"status", "status",
     "Your active and planned visits with their deadlines and time left, and any open\n"
     "escalation.",
     run_status},
};

const struct cli_group cmd_checkin_group = {NULL, checkin_cmds, CLI_COUNT(checkin_cmds)};
