/* notalone alert red, amber, test, cancel, profile: what a worker sends when at risk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli/alerts.h"
#include "cli/cmd.h"
#include "cli/output.h"
#include "cli/prompt.h"
#include "cli/visits.h"
#include "util/error.h"

void cmd_code_wipe(struct cmd_code *c)
{
    sodium_memzero(c->text, sizeof(c->text));
}

int cmd_read_code(struct cli *cli, const struct cli_command *cmd, const char *prompt,
                  struct cmd_code *out)
{
    int rc = prompt_stdin_is_tty() ? prompt_password(prompt, out->text, sizeof(out->text))
                                   : prompt_read_line(stdin, out->text, sizeof(out->text));
    if (rc == 0 && strlen(out->text) > CMD_CODE_MAX)
        rc = -NA_ETOOBIG;
    if (rc == -NA_ETOOBIG)
        return cli_usage_error(cli, cmd, "a code is longer than %d characters", CMD_CODE_MAX);
    if (rc || out->text[0] == '\0')
        return cli_usage_error(cli, cmd, "no code given");
    return 0;
}

int cmd_set_code(struct cli *cli, const struct cli_command *cmd, json_t *body, const char *key,
                 const char *prompt)
{
    struct cmd_code code;
    memset(&code, 0, sizeof(code));
    int rc = cmd_read_code(cli, cmd, prompt, &code);
    if (!rc)
        rc = cli_set_string(cli, cmd, body, key, "the code", code.text, false);
    cmd_code_wipe(&code);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/*
 * POSTs body to path, sending it again (same body, so the same alert id) up to
 * ALERTS_RETRIES times when the server cannot be reached or is unavailable. The last
 * failure is reported.
 */
static int post_alert(struct cli *cli, const char *path, const json_t *body, const char *what,
                      json_t **out)
{
    int rc = 0;
    for (int attempt = 0; attempt <= ALERTS_RETRIES; attempt++) {
        if (attempt > 0) {
            const struct client_error *e = client_last_error(cli->client);
            long ms = alerts_retry_delay_ms(attempt);
            /* libcurl's text for a transport failure; the server's own text is not shown. */
            fprintf(stderr, "notalone: %s%s; sending the %s again in %ld.%ld s (%d of %d)\n",
                    e->kind == CLIENT_ERR_TRANSPORT ? "cannot reach the server: "
                                                    : "the server is busy",
                    e->kind == CLIENT_ERR_TRANSPORT ? e->message : "", what, ms / 1000,
                    ms % 1000 / 100, attempt, ALERTS_RETRIES);
            sleep_ms(ms);
        }
        rc = cli_request_quiet(cli, "POST", path, body, out);
        /* Without a client the failure was reported when making it. */
        if (rc == 0 || !cli->client)
            return rc;
        const struct client_error *e = client_last_error(cli->client);
        if (!alerts_retryable(e->kind, e->status))
            break;
    }
    return cli_report(cli, rc);
}

/* Sets body's alert_id to id, or to a new random one when id is NULL. */
static int set_alert_id(struct cli *cli, const struct cli_command *cmd, json_t *body,
                        const char *id)
{
    unsigned char rnd[16];
    char made[ALERTS_ID_TEXT];
    if (id && id[0] == '\0')
        return cli_usage_error(cli, cmd, "--alert-id must not be empty");
    if (!id) {
        if (sodium_init() < 0)
            return cli_fail(cli, "cannot start libsodium");
        randombytes_buf(rnd, sizeof(rnd));
        if (alerts_format_id(rnd, made, sizeof(made)) != 0)
            return cli_fail(cli, "cannot make an alert id");
        id = made;
    }
    return cli_set_string(cli, cmd, body, "alert_id", "--alert-id", id, false);
}

void cmd_add_text(struct table *t, const char *label, const char *value)
{
    const char *row[2] = {label, value};
    table_add_row(t, row);
}

enum { R_MESSAGE, R_LAT, R_LON, R_ALERT_ID };
static const struct args_spec red_spec[] = {
    [R_MESSAGE] = {"message", ARGS_VALUE},
    [R_LAT] = {"lat", ARGS_VALUE},
    [R_LON] = {"lon", ARGS_VALUE},
    [R_ALERT_ID] = {"alert-id", ARGS_VALUE},
};

static void print_red(const json_t *answer, int64_t now)
{
    char text[128], id[32];
    struct table t;
    long long alarm = (long long)json_integer_value(json_object_get(answer, "alarm_id"));
    if (json_is_true(json_object_get(answer, "duplicate")))
        printf("Red alert already received: alarm %lld is open.\n", alarm);
    else
        printf("Red alert sent: alarm %lld is open and the operators are told.\n", alarm);
    table_init(&t, 2, NULL);
    cmd_add_text(&t, "  alarm", output_text(json_object_get(answer, "alarm_id"), id, sizeof(id)));
    cmd_add_text(&t, "  alert id",
                 output_text(json_object_get(answer, "alert_id"), text, sizeof(text)));
    cmd_add_text(&t, "  opened",
                 visits_time_text(json_object_get(answer, "opened_at"), now, text, sizeof(text)));
    cmd_add_text(
        &t, "  cancel until",
        visits_time_text(json_object_get(answer, "cancel_until"), now, text, sizeof(text)));
    table_print(&t, stdout);
    table_fini(&t);
    printf("Pressed by accident? 'notalone alert cancel %lld' (asks for your code) before then.\n",
           alarm);
}

static int run_red(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *answer = NULL;
    int64_t now;
    int rc = cli_parse(cli, cmd, red_spec, CLI_COUNT(red_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = body ? visits_set_location(cli, cmd, body, a.value[R_LAT], a.value[R_LON])
              : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cli_set_string(cli, cmd, body, "message", "--message", a.value[R_MESSAGE], false);
    if (!rc)
        rc = set_alert_id(cli, cmd, body, a.value[R_ALERT_ID]);
    if (!rc)
        rc = visits_now(cli, &now);
    if (!rc)
        rc = post_alert(cli, "/api/v1/alerts/red", body, "red alert", &answer);
    if (rc)
        goto done;
    if (cli->json)
        rc = cli_print_json(cli, answer);
    else
        print_red(answer, now);
done:
    json_decref(answer);
    json_decref(body);
    args_fini(&a);
    return rc;
}

enum { A_DEADLINE, A_LAT, A_LON };
static const struct args_spec amber_spec[] = {
    [A_DEADLINE] = {"deadline", ARGS_VALUE},
    [A_LAT] = {"lat", ARGS_VALUE},
    [A_LON] = {"lon", ARGS_VALUE},
};

/* body's deadline from a DURATION (or +DURATION) from now, or a TIME. */
static int set_deadline(struct cli *cli, const struct cli_command *cmd, json_t *body,
                        const char *arg, int64_t now)
{
    int64_t secs;
    struct when w;
    if (!arg)
        return 0;
    if (when_parse_duration(arg[0] == '+' ? arg + 1 : arg, &secs) == 0)
        return visits_set_time(cli, body, "deadline", now + secs * 1000);
    int rc = visits_parse_time(cli, cmd, "--deadline", arg, now, &w);
    return rc ? rc : visits_set_time(cli, body, "deadline", w.ms);
}

static void print_amber(const json_t *amber, int64_t now)
{
    char text[VISITS_TEXT], status[600];
    const json_t *deadline = json_object_get(amber, "deadline_at");
    printf("Amber alert %lld recorded: %s\n",
           (long long)json_integer_value(json_object_get(amber, "id")),
           output_text(json_object_get(amber, "status"), status, sizeof(status)));
    if (json_is_string(deadline))
        printf("  deadline %s: if you are not heard from by then (a check-in, the end of\n"
               "  your visit, another amber alert), the operators are alarmed.\n",
               visits_deadline_text(deadline, now, text, sizeof(text)));
    else
        printf("  no deadline: it is kept, not escalated.\n");
}

static int run_amber(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    static const char *const pos[] = {"STATUS"};
    struct args a;
    json_t *body = json_object();
    json_t *amber = NULL;
    int64_t now;
    int rc = cli_parse(cli, cmd, amber_spec, CLI_COUNT(amber_spec), pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = body ? cli_set_string(cli, cmd, body, "status", "STATUS", a.pos[0], false)
              : cli_fail(cli, "out of memory");
    if (!rc)
        rc = visits_set_location(cli, cmd, body, a.value[A_LAT], a.value[A_LON]);
    if (!rc)
        rc = visits_now(cli, &now);
    if (!rc)
        rc = set_deadline(cli, cmd, body, a.value[A_DEADLINE], now);
    if (!rc)
        rc = set_alert_id(cli, cmd, body, NULL);
    if (!rc)
        rc = post_alert(cli, "/api/v1/alerts/amber", body, "amber alert", &amber);
    if (rc)
        goto done;
    if (cli->json)
        rc = cli_print_json(cli, amber);
    else
        print_amber(amber, now);
done:
    json_decref(amber);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_test(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *answer = NULL;
    char at[WHEN_TEXT];
    int64_t now;
    int rc = cli_parse(cli, cmd, NULL, 0, NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = body ? set_alert_id(cli, cmd, body, NULL) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = visits_now(cli, &now);
    if (!rc)
        rc = post_alert(cli, "/api/v1/alerts/test", body, "test alert", &answer);
    if (rc)
        goto done;
    if (cli->json)
        rc = cli_print_json(cli, answer);
    else
        printf("Test alert received at %s: alarm %lld, closed as a test. Nobody was alarmed.\n",
               visits_time_text(json_object_get(answer, "tested_at"), now, at, sizeof(at)),
               (long long)json_integer_value(json_object_get(answer, "alarm_id")));
done:
    json_decref(answer);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static int run_cancel(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    static const char *const pos[] = {"ALARM"};
    struct args a;
    json_t *body = json_object();
    json_t *answer = NULL;
    char at[WHEN_TEXT];
    int64_t id, now;
    int rc = cli_parse(cli, cmd, NULL, 0, pos, 1, 1, argc, argv, &a);
    if (rc || a.help)
        goto done;
    rc = cli_parse_id(cli, cmd, "ALARM", a.pos[0], &id);
    if (!rc)
        rc = body ? visits_now(cli, &now) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cmd_set_code(cli, cmd, body, "code", "Your code: ");
    if (!rc)
        rc = visits_post(cli, "alarm", id, "cancel", body, &answer);
    if (rc)
        goto done;
    if (cli->json)
        rc = cli_print_json(cli, answer);
    else
        printf("Alarm %lld cancelled at %s. An operator closes it as a false alarm and may\n"
               "call you to make sure you are safe.\n",
               (long long)id,
               visits_time_text(json_object_get(answer, "cancelled_at"), now, at, sizeof(at)));
done:
    json_decref(answer);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static void print_profile(const json_t *p, int64_t now)
{
    char text[VISITS_TEXT];
    const json_t *device = json_object_get(p, "device");
    struct table t;
    table_init(&t, 2, NULL);
    cmd_add_text(&t, "code", json_is_true(json_object_get(p, "has_code")) ? "set" : "not set");
    cmd_add_text(&t, "duress code",
                 json_is_true(json_object_get(p, "has_duress_code")) ? "set" : "not set");
    table_add_field(&t, "location consent", json_object_get(p, "location_consent"));
    cmd_add_text(
        &t, "consent changed",
        visits_time_text(json_object_get(p, "consent_changed_at"), now, text, sizeof(text)));
    table_add_field(&t, "battery %", json_object_get(device, "battery_pct"));
    cmd_add_text(&t, "battery read",
                 visits_time_text(json_object_get(device, "battery_at"), now, text, sizeof(text)));
    cmd_add_text(&t, "device tested",
                 visits_time_text(json_object_get(device, "tested_at"), now, text, sizeof(text)));
    cmd_add_text(
        &t, "next test due",
        visits_deadline_text(json_object_get(device, "test_due_at"), now, text, sizeof(text)));
    table_print(&t, stdout);
    table_fini(&t);
}

enum { P_SET_CODE, P_SET_DURESS, P_CONSENT };
static const struct args_spec profile_spec[] = {
    [P_SET_CODE] = {"set-code", ARGS_FLAG},
    [P_SET_DURESS] = {"set-duress-code", ARGS_FLAG},
    [P_CONSENT] = {"consent", ARGS_VALUE},
};

/* A new code, asked twice on a terminal so that a typo does not lock the worker out. */
static int set_new_code(struct cli *cli, const struct cli_command *cmd, json_t *body,
                        const char *key, const char *what)
{
    char prompt[64];
    struct cmd_code again;
    (void)snprintf(prompt, sizeof(prompt), "New %s: ", what);
    int rc = cmd_set_code(cli, cmd, body, key, prompt);
    if (rc || !prompt_stdin_is_tty())
        return rc;
    memset(&again, 0, sizeof(again));
    (void)snprintf(prompt, sizeof(prompt), "New %s again: ", what);
    rc = cmd_read_code(cli, cmd, prompt, &again);
    if (!rc && strcmp(again.text, json_string_value(json_object_get(body, key))) != 0)
        rc = cli_usage_error(cli, cmd, "the new %ss differ", what);
    cmd_code_wipe(&again);
    return rc;
}

/*
 * The body of a change of profile p: the codes asked for (the current code first when one
 * is set), and consent (-1: unchanged).
 */
static int profile_body(struct cli *cli, const struct cli_command *cmd, const struct args *a,
                        const json_t *p, int consent, json_t *body)
{
    int rc = 0;
    if (a->set[P_SET_CODE] || a->set[P_SET_DURESS]) {
        if (json_is_true(json_object_get(p, "has_code")))
            rc = cmd_set_code(cli, cmd, body, "current_code", "Current code: ");
        if (!rc && a->set[P_SET_CODE])
            rc = set_new_code(cli, cmd, body, "code", "code");
        if (!rc && a->set[P_SET_DURESS])
            rc = set_new_code(cli, cmd, body, "duress_code", "duress code");
    }
    if (rc || consent < 0)
        return rc;
    if (json_object_set_new(body, "location_consent", json_boolean(consent)) != 0)
        return cli_fail(cli, "out of memory");
    return 0;
}

static int run_profile(struct cli *cli, const struct cli_command *cmd, int argc, char **argv)
{
    struct args a;
    json_t *body = json_object();
    json_t *profile = NULL, *changed = NULL;
    bool yes = false;
    int64_t now;
    int rc = cli_parse(cli, cmd, profile_spec, CLI_COUNT(profile_spec), NULL, 0, 0, argc, argv, &a);
    if (rc || a.help)
        goto done;
    /* Checked before any prompt, so that a typo never wastes the codes typed. */
    if (a.value[P_CONSENT] && alerts_parse_yes_no(a.value[P_CONSENT], &yes) != 0) {
        rc = cli_usage_error(cli, cmd, "--consent must be yes or no");
        goto done;
    }
    rc = body ? visits_now(cli, &now) : cli_fail(cli, "out of memory");
    if (!rc)
        rc = cli_request(cli, true, "GET", "/api/v1/me/alert-profile", NULL, &profile);
    if (!rc)
        rc = profile_body(cli, cmd, &a, profile, a.value[P_CONSENT] ? yes : -1, body);
    if (!rc && json_object_size(body) > 0)
        rc = cli_request(cli, true, "PUT", "/api/v1/me/alert-profile", body, &changed);
    if (rc)
        goto done;
    const json_t *shown = changed ? changed : profile;
    if (cli->json) {
        rc = cli_print_json(cli, shown);
        goto done;
    }
    if (changed)
        puts("Alert profile changed.");
    print_profile(shown, now);
done:
    json_decref(changed);
    json_decref(profile);
    json_decref(body);
    args_fini(&a);
    return rc;
}

static const struct cli_command alert_cmds[] = {
    {"red", "alert red [--message TEXT] [--lat X --lon Y] [--alert-id ID]",
     "Asks for help now: opens an alarm at the top of the operators' queue and tells your\n"
     "red-alert path. Sent again with the same alert id (made up when not given) when the\n"
     "server cannot be reached, so that it opens one alarm however often it is sent.",
     run_red},
    {"amber", "alert amber STATUS [--deadline DURATION|TIME] [--lat X --lon Y]",
     "Records where you are and what you are doing, before a risky moment. It is kept,\n"
     "not escalated, unless --deadline passes before you are heard from again. Sent again\n"
     "with the same alert id when the server cannot be reached, as a red alert is.",
     run_amber},
    {"test", "alert test",
     "Sends a test alert through the whole path; closed as a test at once, nobody alarmed.",
     run_test},
    {"cancel", "alert cancel ALARM",
     "Cancels your red alert pressed by accident, within the time to cancel. Asks for your\n"
     "code (a line of standard input when it is not a terminal).",
     run_cancel},
    {"profile", "alert profile [--set-code] [--set-duress-code] [--consent yes|no]",
     "Shows your alert profile; changes your code, your duress code or your consent to\n"
     "share your location with operators on a red alert. Codes are asked for, never taken\n"
     "from the command line: the current code first (when you have one), then each new\n"
     "code, twice on a terminal, once a line from standard input otherwise.",
     run_profile},
};

const struct cli_group cmd_alert_group = {"alert", alert_cmds, CLI_COUNT(alert_cmds)};
