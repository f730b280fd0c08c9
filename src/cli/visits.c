#include "cli/visits.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "util/clock.h"
#include "util/error.h"

int visits_now(struct cli *cli, int64_t *out_ms)
{
    const char *env = getenv("NOTALONE_NOW");
    struct when w;
    if (!env || !env[0]) {
        *out_ms = clock_system_ms();
        return 0;
    }
    /* Only an absolute time: anything else would need a "now" of its own. */
    if (when_parse(env, 0, &w) || w.kind != WHEN_ABSOLUTE)
        return cli_usage_error(cli, NULL, "NOTALONE_NOW must be an RFC 3339 time");
    *out_ms = w.ms;
    return 0;
}

int visits_me(struct cli *cli, int64_t *out)
{
    json_t *me = NULL;
    int rc = cli_request(cli, true, "GET", "/api/v1/me", NULL, &me);
    if (rc)
        return rc;
    const json_t *id = json_object_get(json_object_get(me, "user"), "id");
    if (json_is_integer(id) && json_integer_value(id) > 0)
        *out = (int64_t)json_integer_value(id);
    else
        rc = cli_fail(cli, "invalid reply from %s: no user id in /api/v1/me", cli->server);
    json_decref(me);
    return rc;
}

/* "7, 9, 12" of the ids of up to the first 10 items into dst (size n). */
static void list_ids(const json_t *items, char *dst, size_t n)
{
    size_t used = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < json_array_size(items) && i < 10 && used < n; i++) {
        json_int_t id = json_integer_value(json_object_get(json_array_get(items, i), "id"));
        int k = snprintf(dst + used, n - used, "%s%lld", i ? ", " : "", (long long)id);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

int visits_resolve(struct cli *cli, const struct cli_command *cmd, const char *arg, int64_t *out)
{
    char path[CLI_MAX_PATH];
    char ids[128];
    json_t *items = NULL;
    int64_t me;
    if (arg)
        return cli_parse_id(cli, cmd, "VISIT", arg, out);
    int rc = visits_me(cli, &me);
    if (!rc)
        rc = cli_path(cli, path, "/api/v1/visits?state=active&worker_id=%lld", (long long)me);
    if (!rc)
        rc = cli_list(cli, path, &items);
    if (rc)
        return rc;
    size_t n = json_array_size(items);
    list_ids(items, ids, sizeof(ids));
    if (n == 0)
        rc = cli_usage_error(cli, cmd, "you have no active visit: give the VISIT id");
    else if (n > 1)
        rc =
            cli_usage_error(cli, cmd, "you have %zu active visits (%s): give the VISIT id", n, ids);
    else
        *out = (int64_t)json_integer_value(json_object_get(json_array_get(items, 0), "id"));
    json_decref(items);
    return rc;
}

int visits_post(struct cli *cli, const char *what, int64_t id, const char *action,
                const json_t *body, json_t **out)
{
    char path[CLI_MAX_PATH];
    json_t *empty = NULL;
    *out = NULL;
    int rc = cli_path(cli, path, "/api/v1/%ss/%lld/%s", what, (long long)id, action);
    if (rc)
        return rc;
    /* A route that takes a body refuses an empty one; {} suits those that take none too. */
    if (!body && !(body = empty = json_object()))
        return cli_fail(cli, "out of memory");
    rc = cli_request(cli, true, "POST", path, body, out);
    json_decref(empty);
    return rc;
}

int visits_parse_time(struct cli *cli, const struct cli_command *cmd, const char *option,
                      const char *text, int64_t now_ms, struct when *out)
{
    char when[WHEN_TEXT];
    if (when_parse(text, now_ms, out))
        return cli_usage_error(cli, cmd,
                               "%s '%s' is not a TIME (HH:MM, +DURATION like +45m, or an "
                               "RFC 3339 time)",
                               option, text);
    if (out->tomorrow) {
        when_format(out->ms, now_ms, when, sizeof(when));
        fprintf(stderr, "notalone: %s %s has passed today: taking tomorrow, %s\n", option, text,
                when);
    }
    return 0;
}

int visits_set_time(struct cli *cli, json_t *o, const char *key, int64_t ms)
{
    char iso[32];
    time_format_iso(ms, iso, sizeof(iso));
    if (json_object_set_new(o, key, json_string(iso)) != 0)
        return cli_fail(cli, "out of memory");
    return 0;
}

/* Parses a coordinate within [-limit, limit]. */
static int coordinate(const char *s, double limit, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < -limit || v > limit)
        return -NA_EINVAL;
    *out = v;
    return 0;
}

int visits_set_location(struct cli *cli, const struct cli_command *cmd, json_t *o, const char *lat,
                        const char *lon)
{
    double la, lo;
    if (!lat && !lon)
        return 0;
    if (!lat || !lon)
        return cli_usage_error(cli, cmd, "--lat and --lon go together");
    if (coordinate(lat, 90.0, &la))
        return cli_usage_error(cli, cmd, "--lat must be a latitude from -90 to 90");
    if (coordinate(lon, 180.0, &lo))
        return cli_usage_error(cli, cmd, "--lon must be a longitude from -180 to 180");
    if (json_object_set_new(o, "latitude", json_real(la)) ||
        json_object_set_new(o, "longitude", json_real(lo)))
        return cli_fail(cli, "out of memory");
    return 0;
}

const char *visits_time_text(const json_t *v, int64_t now_ms, char *dst, size_t n)
{
    int64_t ms;
    if (!v || json_is_null(v))
        (void)snprintf(dst, n, "-");
    else if (when_from_json(v, &ms) == 0)
        when_format(ms, now_ms, dst, n);
    else
        output_text(v, dst, n);
    return dst;
}

const char *visits_deadline_text(const json_t *v, int64_t now_ms, char *dst, size_t n)
{
    char when[WHEN_TEXT];
    char left[WHEN_TEXT];
    int64_t ms;
    if (!v || json_is_null(v) || when_from_json(v, &ms) != 0)
        return visits_time_text(v, now_ms, dst, n);
    when_format(ms, now_ms, when, sizeof(when));
    when_format_span(ms > now_ms ? ms - now_ms : now_ms - ms, left, sizeof(left));
    if (ms > now_ms)
        (void)snprintf(dst, n, "%s (in %s)", when, left);
    else
        (void)snprintf(dst, n, "%s (%s OVERDUE)", when, left);
    return dst;
}

const char *visits_buddy_text(struct cli *cli, struct names *names, const json_t *v, char *dst,
                              size_t n)
{
    char who[NAMES_TEXT];
    const json_t *buddy = json_object_get(v, "buddy_id");
    if (!json_is_integer(buddy)) {
        (void)snprintf(dst, n, "none");
        return dst;
    }
    names_get(cli, names, buddy, true, who, sizeof(who));
    bool accepted = json_is_true(json_object_get(v, "buddy_accepted"));
    (void)snprintf(dst, n, "%s, %s", who, accepted ? "accepted" : "has not accepted yet");
    return dst;
}

static void add_line(struct table *t, const char *label, const char *value)
{
    const char *row[2] = {label, value};
    table_add_row(t, row);
}

int visits_print_brief(struct cli *cli, struct names *names, const json_t *v, int64_t now_ms,
                       const char *headline)
{
    char text[NAMES_TEXT + 64];
    struct table t;
    if (cli->json)
        return cli_print_json(cli, v);
    printf("%s\n", headline);
    table_init(&t, 2, NULL);
    add_line(&t, "  address", output_text(json_object_get(v, "address"), text, sizeof(text)));
    add_line(&t, "  state", output_text(json_object_get(v, "state"), text, sizeof(text)));
    if (json_is_string(json_object_get(v, "outcome")))
        add_line(&t, "  outcome", output_text(json_object_get(v, "outcome"), text, sizeof(text)));
    else
        add_line(
            &t, "  deadline",
            visits_deadline_text(json_object_get(v, "deadline_at"), now_ms, text, sizeof(text)));
    add_line(
        &t, "  until",
        visits_time_text(json_object_get(v, "expected_departure"), now_ms, text, sizeof(text)));
    add_line(&t, "  buddy", visits_buddy_text(cli, names, v, text, sizeof(text)));
    const json_t *esc = json_object_get(v, "escalation_id");
    if (json_is_integer(esc)) {
        (void)snprintf(text, sizeof(text), "%lld is open", (long long)json_integer_value(esc));
        add_line(&t, "  escalation", text);
    }
    table_print(&t, stdout);
    table_fini(&t);
    return 0;
}

const char *visits_headline(const json_t *v, const char *done, char *dst, size_t n)
{
    const char *kind = json_string_value(json_object_get(v, "kind"));
    long long id = (long long)json_integer_value(json_object_get(v, "id"));
    bool shift = kind && strcmp(kind, "shift") == 0;
    (void)snprintf(dst, n, "%s %lld: %s.", shift ? "Shift" : "Visit", id, done);
    return dst;
}

int visits_act(struct cli *cli, int64_t id, const char *action, const json_t *body,
               const char *done, json_t **out)
{
    struct names names;
    char headline[128];
    json_t *visit = NULL;
    int64_t now;
    if (out)
        *out = NULL;
    int rc = visits_now(cli, &now);
    if (!rc)
        rc = visits_post(cli, "visit", id, action, body, &visit);
    if (rc)
        return rc;
    names_init(&names);
    visits_headline(visit, done, headline, sizeof(headline));
    rc = visits_print_brief(cli, &names, visit, now, headline);
    names_fini(&names);
    if (out && !rc)
        *out = visit;
    else
        json_decref(visit);
    return rc;
}

const char *visits_escalation_text(struct cli *cli, struct names *names, const json_t *e,
                                   int64_t now_ms, char *dst, size_t n)
{
    char contact[64], who[NAMES_TEXT], since[WHEN_TEXT], due[WHEN_TEXT];
    const json_t *holder = json_object_get(e, "acknowledged_by");
    output_text(json_object_get(e, "level_contact"), contact, sizeof(contact));
    visits_time_text(json_object_get(e, "level_due_at"), now_ms, due, sizeof(due));
    long long level = (long long)json_integer_value(json_object_get(e, "level"));
    if (json_is_integer(holder)) {
        names_get(cli, names, holder, false, who, sizeof(who));
        visits_time_text(json_object_get(e, "acknowledged_at"), now_ms, since, sizeof(since));
        (void)snprintf(dst, n, "level %lld (%s), held by %s since %s, next step %s", level, contact,
                       who, since, due);
    } else {
        (void)snprintf(dst, n, "level %lld (%s), not acknowledged, next step %s", level, contact,
                       due);
    }
    return dst;
}
