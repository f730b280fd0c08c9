/*
 * The operator's information pack of an alarm (§9.11, §6.17.6): who the worker is, what
 * they are doing, where they are when they agreed to say, and who has been told. It is
 * personal data: it goes to those who handle the alarm, never to the log. Without the
 * worker's consent to share their location (§9.7.3) it holds no coordinates at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/render.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch_internal.h"

/* Most positions of the trail in one pack. */
#define TRAIL_MAX 200

static json_t *position_json(const struct position *p, const char *source)
{
    json_t *o = json_pack("{s:f,s:f,s:o,s:o}", "latitude", p->latitude, "longitude", p->longitude,
                          "accuracy_m", p->accuracy_m > 0 ? json_real(p->accuracy_m) : json_null(),
                          "at", render_time(p->at));
    if (o && source)
        json_object_set_new(o, "source", json_string(source));
    return o;
}

static json_t *worker_part(struct store *st, const struct alarm_row *a, int *rc)
{
    struct user_row u = {0};
    *rc = store_user_get(st, a->organisation_id, a->worker_id, &u);
    json_t *o = *rc ? NULL
                    : json_pack("{s:I,s:s,s:o}", "id", (json_int_t)u.id, "display_name",
                                u.display_name ? u.display_name : u.username, "phone",
                                u.phone ? json_string(u.phone) : json_null());
    user_row_fini(&u);
    return o;
}

/* pack_visit of the alarm's visit; without consent, its locations go. */
static json_t *visit_part(struct store *st, const struct alarm_row *a, bool shared, int *rc)
{
    struct visit_row v = {0};
    *rc = a->visit_id ? store_visit_get(st, a->organisation_id, a->visit_id, &v) : -NA_ENOTFOUND;
    json_t *o = *rc ? NULL : pack_visit(st, &v);
    if (o && !shared) {
        json_t *visit = json_object_get(o, "visit");
        json_object_del(visit, "last_location");
        json_object_del(visit, "location");
    }
    visit_row_fini(&v);
    if (*rc == -NA_ENOTFOUND)
        *rc = 0;
    return o ? o : json_null();
}

static json_t *last_amber(struct store *st, const struct alarm_row *a, bool shared, int *rc)
{
    struct amber_row *rows = NULL;
    size_t n = 0;
    json_t *o = json_null();
    *rc = store_amber_list(st, a->organisation_id, a->worker_id, 0, 1, &rows, &n);
    if (!*rc && n) {
        json_decref(o);
        o = json_pack("{s:s,s:o,s:o}", "status", rows[0].status, "at",
                      render_time(rows[0].created_at), "position",
                      shared && rows[0].position.known ? position_json(&rows[0].position, NULL)
                                                       : json_null());
    }
    amber_rows_free(rows, n);
    return o;
}

static json_t *trail(struct store *st, const struct alarm_row *a, int64_t since, int *rc)
{
    struct position_row *rows = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    *rc = store_position_trail(st, a->organisation_id, a->worker_id, since, TRAIL_MAX, &rows, &n);
    for (size_t i = 0; !*rc && i < n; i++)
        json_array_append_new(arr, position_json(&rows[i].position, rows[i].source));
    position_rows_free(rows, n);
    return arr;
}

static json_t *urn_part(struct store *st, const struct alarm_row *a, int *rc)
{
    struct urn_row u = {0};
    *rc = store_urn_for_worker(st, a->organisation_id, a->worker_id, &u);
    json_t *o = *rc ? json_null()
                    : json_pack("{s:s,s:o}", "urn", u.urn, "label",
                                u.label ? json_string(u.label) : json_null());
    urn_row_fini(&u);
    if (*rc == -NA_ENOTFOUND)
        *rc = 0;
    return o;
}

static json_t *path_part(struct store *st, const struct alarm_settings *s, int64_t org_id)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n_path; i++) {
        const struct alarm_path_step *p = &s->path[i];
        struct user_row u = {0};
        char name[160];
        snprintf(name, sizeof name, "%s", alarm_path_contact_name(p->contact));
        if (p->contact == PATH_USER && store_user_get(st, org_id, p->target_id, &u) == 0)
            snprintf(name, sizeof name, "user %s", u.display_name ? u.display_name : u.username);
        else if (p->contact == PATH_USER || p->contact == PATH_CHANNEL)
            snprintf(name, sizeof name, "%s %lld", alarm_path_contact_name(p->contact),
                     (long long)p->target_id);
        user_row_fini(&u);
        json_array_append_new(arr, json_string(name));
    }
    return arr;
}

int alarm_told_users(struct store *st, const struct alarm_row *a, struct told_list *out)
{
    struct alarm_event_row *rows = NULL;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    int rc = store_alarm_events(st, a->organisation_id, a->id, &rows, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        if (strcmp(rows[i].kind, "notified") || !rows[i].data)
            continue;
        json_t *d = json_loads(rows[i].data, 0, NULL);
        json_t *user = json_object_get(d, "user_id");
        bool seen = !json_is_integer(user);
        for (size_t j = 0; !seen && j < out->n; j++)
            seen = out->items[j].user_id == json_integer_value(user);
        if (!seen) {
            out->items = xrealloc(out->items, out->n + 1, sizeof *out->items);
            out->items[out->n++] =
                (struct told){.user_id = (int64_t)json_integer_value(user), .at = rows[i].at};
        }
        json_decref(d);
    }
    alarm_event_rows_free(rows, n);
    return rc;
}

json_t *watch_alarm_pack(struct store *st, const struct alarm_row *a, int64_t now)
{
    return alarm_pack(st, a, NULL, now);
}

json_t *alarm_pack(struct store *st, const struct alarm_row *a, const struct alarm_settings *given,
                   int64_t now)
{
    struct alarm_settings s;
    struct alert_profile p = {0};
    struct told_list told = {0};
    int rc = given ? 0 : alarm_settings_load(st, a->organisation_id, &s);
    if (given)
        s = *given;
    if (!rc)
        rc = store_alert_profile_get(st, a->organisation_id, a->worker_id, &p);
    if (rc == -NA_ENOTFOUND)
        rc = 0; /* no profile: no consent */
    bool shared = !rc && p.location_consent;
    alert_profile_fini(&p);
    json_t *pack = rc ? NULL : json_object();
    if (pack)
        json_object_set_new(pack, "worker", worker_part(st, a, &rc));
    if (!rc)
        json_object_set_new(pack, "visit", visit_part(st, a, shared, &rc));
    if (!rc)
        json_object_set_new(pack, "last_amber", last_amber(st, a, shared, &rc));
    if (!rc) {
        json_object_set_new(pack, "location_shared", json_boolean(shared));
        json_object_set_new(pack, "position",
                            shared && a->position.known ? position_json(&a->position, NULL)
                                                        : json_null());
        json_object_set_new(pack, "trail",
                            shared && s.trail_ms ? trail(st, a, now - s.trail_ms, &rc)
                                                 : json_array());
    }
    if (!rc)
        json_object_set_new(pack, "police_urn", urn_part(st, a, &rc));
    /* The risk register comes with its own issue: its markers for the address go here. */
    if (!rc) {
        json_object_set_new(pack, "markers", json_array());
        json_object_set_new(pack, "path", path_part(st, &s, a->organisation_id));
        rc = alarm_told_users(st, a, &told);
    }
    if (!rc) {
        json_t *arr = json_array();
        for (size_t i = 0; i < told.n; i++)
            json_array_append_new(arr, json_pack("{s:I,s:o}", "user_id",
                                                 (json_int_t)told.items[i].user_id, "at",
                                                 render_time(told.items[i].at)));
        json_object_set_new(pack, "told", arr);
    }
    free(told.items);
    if (rc) {
        log_error("alarm_pack_failed", "alarm_id=%lld code=%s", (long long)a->id,
                  na_error_code(rc));
        json_decref(pack);
        return NULL;
    }
    return pack;
}

void alarm_pack_text(json_t *pack, struct buf *out)
{
    json_t *visit = json_object_get(pack, "visit"), *w = json_object_get(pack, "worker");
    if (json_is_object(visit)) {
        pack_text(visit, out);
    } else {
        json_t *only =
            json_pack("{s:{s:O,s:O}}", "worker", "name", json_object_get(w, "display_name"),
                      "phone", json_object_get(w, "phone"));
        pack_text(only, out);
        json_decref(only);
    }
    json_t *amber = json_object_get(pack, "last_amber"), *pos = json_object_get(pack, "position");
    if (json_is_object(amber))
        buf_appendf(out, "%-18s %s (%s)\n", "Last amber alert",
                    json_string_value(json_object_get(amber, "status")),
                    json_string_value(json_object_get(amber, "at")));
    if (json_is_object(pos))
        buf_appendf(out, "%-18s %.6f, %.6f at %s\n", "Position",
                    json_real_value(json_object_get(pos, "latitude")),
                    json_real_value(json_object_get(pos, "longitude")),
                    json_string_value(json_object_get(pos, "at")));
    else if (!json_is_true(json_object_get(pack, "location_shared")))
        buf_appendf(out, "%-18s %s\n", "Position", "not shared (no consent)");
    json_t *urn = json_object_get(pack, "police_urn");
    if (json_is_object(urn))
        buf_appendf(out, "%-18s %s\n", "Police URN",
                    json_string_value(json_object_get(urn, "urn")));
}
