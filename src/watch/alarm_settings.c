/* An organisation's alarm settings between JSON (API, storage) and struct alarm_settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/log.h"
#include "watch/watch.h"

#define SECOND_MS (1000LL)
#define DAY_MS    (24LL * 3600 * 1000)

static const char *const contact_names[] = {
    [PATH_OPERATORS] = "operators",
    [PATH_BUDDY] = "buddy",
    [PATH_LINE_MANAGER] = "line_manager",
    [PATH_SENIOR_MANAGER] = "senior_manager",
    [PATH_USER] = "user",
    [PATH_CHANNEL] = "channel",
};

enum alarm_path_contact alarm_path_contact_parse(const char *s)
{
    for (size_t i = PATH_OPERATORS; s && i <= PATH_CHANNEL; i++)
        if (strcmp(s, contact_names[i]) == 0)
            return (enum alarm_path_contact)i;
    return 0;
}

const char *alarm_path_contact_name(enum alarm_path_contact c)
{
    return c >= PATH_OPERATORS && c <= PATH_CHANNEL ? contact_names[c] : "";
}

void alarm_settings_default(struct alarm_settings *s)
{
    memset(s, 0, sizeof *s);
    s->n_path = 2;
    s->path[0] = (struct alarm_path_step){.contact = PATH_OPERATORS};
    s->path[1] = (struct alarm_path_step){.contact = PATH_BUDDY};
    s->renotify_ms = 60 * SECOND_MS;
    s->cancel_window_ms = 60 * SECOND_MS;
    s->false_alarm_limit = 3;
    s->false_alarm_period_ms = 90 * DAY_MS;
    s->police_false_limit = 3;
    s->device_test_ms = 30 * DAY_MS;
    s->low_battery_pct = 20;
    s->trail_ms = 2 * 3600 * SECOND_MS;
}

static int bad(char *field, size_t n, const char *name)
{
    snprintf(field, n, "%s", name);
    return -NA_EINVAL;
}

/* One entry of "path": a contact's name, or {"user": id} / {"channel": id}. */
static int step_from_json(json_t *v, size_t i, struct alarm_path_step *out, char *field, size_t n)
{
    char name[32];
    snprintf(name, sizeof name, "path[%zu]", i);
    memset(out, 0, sizeof *out);
    if (json_is_string(v)) {
        out->contact = alarm_path_contact_parse(json_string_value(v));
        if (!out->contact || out->contact == PATH_USER || out->contact == PATH_CHANNEL)
            return bad(field, n, name);
        return 0;
    }
    if (!json_is_object(v) || json_object_size(v) != 1)
        return bad(field, n, name);
    json_t *user = json_object_get(v, "user"), *channel = json_object_get(v, "channel");
    json_t *id = user ? user : channel;
    if (!json_is_integer(id) || json_integer_value(id) <= 0)
        return bad(field, n, name);
    out->contact = user ? PATH_USER : PATH_CHANNEL;
    out->target_id = (int64_t)json_integer_value(id);
    return 0;
}

static int path_from_json(json_t *v, struct alarm_settings *s, char *field, size_t n)
{
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > ALARM_PATH_MAX)
        return bad(field, n, "path");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        int rc = step_from_json(e, i, &s->path[i], field, n);
        if (rc)
            return rc;
    }
    s->n_path = json_array_size(v);
    return 0;
}

/* A whole number in [min, max] times unit into *out. */
static int number(json_t *v, const char *name, int64_t min, int64_t max, int64_t unit, int64_t *out,
                  char *field, size_t n)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return bad(field, n, name);
    *out = (int64_t)json_integer_value(v) * unit;
    return 0;
}

/* The settings' fields other than the path: name, limits and unit. */
struct number_field {
    const char *name;
    int64_t min, max, unit;
};
static const struct number_field numbers[] = {
    {"renotify_interval", 10, 3600, SECOND_MS},
    {"cancel_window", 0, 600, SECOND_MS},
    {"false_alarm_limit", 1, 100, 1},
    {"false_alarm_period_days", 1, 365, DAY_MS},
    {"police_false_limit", 1, 10, 1},
    {"device_test_days", 0, 365, DAY_MS},
    {"low_battery_pct", 0, 100, 1},
    {"trail_minutes", 0, 1440, 60 * SECOND_MS},
};
#define N_NUMBERS (sizeof numbers / sizeof numbers[0])

/* Where each numeric field lives in s, in the order of numbers[]. */
static void number_slots(struct alarm_settings *s, int64_t *slots[N_NUMBERS], int64_t *ints)
{
    slots[0] = &s->renotify_ms;
    slots[1] = &s->cancel_window_ms;
    slots[2] = &ints[0];
    slots[3] = &s->false_alarm_period_ms;
    slots[4] = &ints[1];
    slots[5] = &s->device_test_ms;
    slots[6] = &ints[2];
    slots[7] = &s->trail_ms;
}

int alarm_settings_from_json(json_t *root, struct alarm_settings *s, char *field, size_t n)
{
    struct alarm_settings t;
    int64_t *slots[N_NUMBERS], ints[3];
    const char *key;
    json_t *v;
    alarm_settings_default(&t);
    ints[0] = t.false_alarm_limit;
    ints[1] = t.police_false_limit;
    ints[2] = t.low_battery_pct;
    number_slots(&t, slots, ints);
    if (!json_is_object(root))
        return bad(field, n, "settings");
    json_object_foreach(root, key, v)
    {
        int rc = bad(field, n, key); /* an unknown field */
        if (strcmp(key, "path") == 0)
            rc = path_from_json(v, &t, field, n);
        for (size_t i = 0; i < N_NUMBERS; i++)
            if (strcmp(key, numbers[i].name) == 0)
                rc = number(v, numbers[i].name, numbers[i].min, numbers[i].max, numbers[i].unit,
                            slots[i], field, n);
        if (rc)
            return rc;
    }
    t.false_alarm_limit = (int)ints[0];
    t.police_false_limit = (int)ints[1];
    t.low_battery_pct = (int)ints[2];
    *s = t;
    return 0;
}

json_t *alarm_settings_to_json(const struct alarm_settings *s)
{
    json_t *path = json_array();
    for (size_t i = 0; i < s->n_path; i++) {
        const struct alarm_path_step *p = &s->path[i];
        if (p->contact == PATH_USER || p->contact == PATH_CHANNEL)
            json_array_append_new(path, json_pack("{s:I}", alarm_path_contact_name(p->contact),
                                                  (json_int_t)p->target_id));
        else
            json_array_append_new(path, json_string(alarm_path_contact_name(p->contact)));
    }
    return json_pack(
        "{s:o,s:I,s:I,s:i,s:I,s:i,s:I,s:i,s:I}", "path", path, "renotify_interval",
        (json_int_t)(s->renotify_ms / SECOND_MS), "cancel_window",
        (json_int_t)(s->cancel_window_ms / SECOND_MS), "false_alarm_limit", s->false_alarm_limit,
        "false_alarm_period_days", (json_int_t)(s->false_alarm_period_ms / DAY_MS),
        "police_false_limit", s->police_false_limit, "device_test_days",
        (json_int_t)(s->device_test_ms / DAY_MS), "low_battery_pct", s->low_battery_pct,
        "trail_minutes", (json_int_t)(s->trail_ms / (60 * SECOND_MS)));
}

/* Whether the user or channel a step names is (still) in the organisation. */
static int step_exists(struct store *st, int64_t org_id, const struct alarm_path_step *p, bool *out)
{
    struct user_row u = {0};
    struct channel_row c = {0};
    int rc = 0;
    *out = true;
    if (p->contact == PATH_USER)
        rc = store_user_get(st, org_id, p->target_id, &u);
    else if (p->contact == PATH_CHANNEL)
        rc = store_channel_get(st, org_id, p->target_id, &c);
    user_row_fini(&u);
    channel_row_fini(&c);
    if (rc == -NA_ENOTFOUND) {
        *out = false;
        rc = 0;
    }
    return rc;
}

int alarm_settings_load(struct store *st, int64_t org_id, struct alarm_settings *out)
{
    char *text = NULL, field[64] = "";
    alarm_settings_default(out);
    int rc = store_alarm_settings_get(st, org_id, &text);
    if (rc == -NA_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    if (!root || alarm_settings_from_json(root, out, field, sizeof field)) {
        /* An alarm must reach someone: damaged settings fall back to the defaults. */
        log_error("alarm_settings_damaged", "organisation_id=%lld field=%s", (long long)org_id,
                  field);
        alarm_settings_default(out);
    }
    json_decref(root);
    /* A user or channel removed since the settings were written is passed over. */
    size_t k = 0;
    for (size_t i = 0; !rc && i < out->n_path; i++) {
        bool exists;
        rc = step_exists(st, org_id, &out->path[i], &exists);
        if (!rc && exists)
            out->path[k++] = out->path[i];
        else if (!rc)
            log_warn("alarm_path_contact_gone", "organisation_id=%lld contact=%s target_id=%lld",
                     (long long)org_id, alarm_path_contact_name(out->path[i].contact),
                     (long long)out->path[i].target_id);
    }
    out->n_path = k;
    if (!rc && k == 0) {
        struct alarm_settings d;
        alarm_settings_default(&d);
        out->n_path = d.n_path;
        memcpy(out->path, d.path, sizeof d.path);
    }
    return rc;
}
