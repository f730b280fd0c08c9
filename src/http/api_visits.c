/* Visits: the visiting log (§6.17), check-ins, extensions, the end, and the buddy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "core/validate.h"
#include "http/api.h"
#include "http/json_in.h"
#include "http/render.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/events.h"
#include "watch/watch.h"

#define WATCH_ROLES ACCESS_VISIT_ROLES

/* ---- who may do what ---- */

/* True when the caller manages one of the teams of user_id. */
static int manages_user(struct request *r, int64_t user_id, bool *out)
{
    struct user_row u = {0};
    int rc = store_user_get(r->st, r->who.organisation_id, user_id, &u);
    *out = !rc && access_manages_any(&r->who, u.team_ids, u.n_team_ids);
    user_row_fini(&u);
    return rc;
}

int api_visit_visible(struct request *r, const struct visit_row *v, bool *out)
{
    struct user_row worker = {0};
    /* The worker's teams only matter to a line manager: read them only then. */
    *out = access_sees_visit(&r->who, v->worker_id, v->buddy_id, NULL, 0);
    if (*out || !r->who.n_managed_team_ids)
        return 0;
    int rc = store_user_get(r->st, r->who.organisation_id, v->worker_id, &worker);
    *out = !rc && access_sees_visit(&r->who, v->worker_id, v->buddy_id, worker.team_ids,
                                    worker.n_team_ids);
    user_row_fini(&worker);
    return rc;
}

/* Planning for someone: themselves, their line manager, a senior manager, an admin. */
static int can_plan_for(struct request *r, int64_t worker_id, bool *out)
{
    *out =
        worker_id == r->who.user_id || access_has_role(&r->who, ROLE_ADMIN | ROLE_SENIOR_MANAGER);
    return *out ? 0 : manages_user(r, worker_id, out);
}

/* Loads the visit of the path; 404 when it is not there or the caller may not see it. */
static int load_visit(struct request *r, struct visit_row *v)
{
    int64_t id;
    bool visible;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_visit_get(r->st, r->who.organisation_id, id, v);
    if (!rc)
        rc = api_visit_visible(r, v, &visible);
    if (!rc && !visible)
        rc = -NA_ENOTFOUND;
    return rc;
}

static int add_event(struct request *r, const struct visit_row *v, const char *kind,
                     const char *detail, bool has_location, double lat, double lon)
{
    struct visit_event e = {.visit_id = v->id,
                            .organisation_id = v->organisation_id,
                            .kind = kind,
                            .actor_id = r->who.user_id,
                            .at = r->now,
                            .detail = detail,
                            .has_location = has_location,
                            .latitude = lat,
                            .longitude = lon};
    return store_visit_event_add(r->st, &e);
}

/* Answers with the visit, after commit; tells the watch what changed. */
static int answer_visit(struct request *r, int status, const struct visit_row *v,
                        const struct escalation_row *closed_case, struct id_list *outbox)
{
    watch_visit_changed(r->api->watch, v);
    if (closed_case && closed_case->id)
        watch_escalation_changed(r->api->watch, closed_case);
    if (outbox)
        watch_deliver(r->api->watch, outbox->ids, outbox->n);
    return request_answer(r, status, render_visit(v, 0));
}

/* ---- reading a plan ---- */

static int check_time(const char *s)
{
    int64_t ms;
    return time_parse_iso(s, &ms);
}

static int read_time(struct request *r, const char *key, unsigned flags, int64_t *out,
                     bool *present)
{
    const char *s;
    int rc =
        jin_str(r, r->body, NULL, key, flags, check_time, "an RFC 3339 time in UTC", &s, present);
    if (!rc && s)
        time_parse_iso(s, out);
    return rc;
}

static int read_location(struct request *r, json_t *o, bool *has, double *lat, double *lon)
{
    json_t *a = json_object_get(o, "latitude"), *b = json_object_get(o, "longitude");
    *has = false;
    if ((!a || json_is_null(a)) && (!b || json_is_null(b)))
        return 0;
    if (!json_is_number(a) || fabs(json_number_value(a)) > 90)
        return request_fail(r, -NA_EINVAL, "latitude", "a number from -90 to 90, with longitude");
    if (!json_is_number(b) || fabs(json_number_value(b)) > 180)
        return request_fail(r, -NA_EINVAL, "longitude", "a number from -180 to 180");
    *has = true;
    *lat = json_number_value(a);
    *lon = json_number_value(b);
    return 0;
}

static int check_short_text(const char *s)
{
    return validate_text(s, 0, 500);
}

/* Notes: up to 2,000 characters; newlines allowed, other control characters not. */
static int check_notes(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            return -NA_EINVAL;
    return utf8_length(s) > 2000 ? -NA_EINVAL : 0;
}

/* phones: up to 5 phone numbers, stored as JSON text. */
static int read_phones(struct request *r, char **out)
{
    json_t *a = json_object_get(r->body, "phones"), *p;
    size_t i;
    *out = NULL;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > 5)
        return request_fail(r, -NA_EINVAL, "phones", "a list of at most 5 phone numbers");
    json_array_foreach(a, i, p)
    {
        if (!json_is_string(p) || validate_phone(json_string_value(p)))
            return request_fail(r, -NA_EINVAL, "phones", "3-32 of 0-9 + - ( ) . and space");
    }
    *out = json_dumps(a, JSON_COMPACT);
    return 0;
}

static int check_companion(const char *s)
{
    return validate_text(s, 0, 200);
}

/* The field each mode needs (two for a taxi), so the pack can say how to find the worker. */
static int transport_needs(struct request *r, json_t *t, const char *mode)
{
    static const struct {
        const char *mode, *field;
    } needs[] = {{"car", "vehicle_id"},
                 {"public_transport", "route"},
                 {"taxi", "company"},
                 {"taxi", "call_sign"},
                 {"other", "detail"}};
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
        json_t *v = json_object_get(t, needs[i].field);
        if (strcmp(mode, needs[i].mode) == 0 && (!v || json_is_null(v))) {
            char field[64];
            snprintf(field, sizeof field, "transport.%s", needs[i].field);
            return request_fail(r, -NA_EINVAL, field, "required for this mode of transport");
        }
    }
    return 0;
}

static int check_transport_text(const char *s)
{
    return validate_text(s, 1, 200);
}

/* transport: {"mode": ..., and the fields of that mode}; stored as JSON text. */
static int read_transport(struct request *r, const struct user_row *worker, char **out)
{
    static const char *const fields[] = {"mode",      "vehicle_id", "route", "company",
                                         "call_sign", "detail",     NULL};
    static const char *const modes[] = {"car", "foot", "public_transport", "taxi", "other", NULL};
    json_t *t = json_object_get(r->body, "transport");
    const char *mode, *text;
    bool present, known = false;
    int64_t vehicle;
    *out = NULL;
    if (!t || json_is_null(t))
        return 0;
    if (!json_is_object(t))
        return request_fail(r, -NA_EINVAL, "transport", "must be an object");
    int rc = jin_only(r, t, "transport.", fields);
    if (!rc)
        rc = jin_str(r, t, "transport.", "mode", JIN_REQUIRED, NULL, NULL, &mode, &present);
    for (size_t i = 0; !rc && modes[i]; i++)
        known = known || strcmp(mode, modes[i]) == 0;
    if (!rc && !known)
        rc = request_fail(r, -NA_EINVAL, "transport.mode",
                          "car, foot, public_transport, taxi or other");
    for (size_t i = 2; !rc && fields[i]; i++)
        rc = jin_str(r, t, "transport.", fields[i], JIN_NULLABLE, check_transport_text,
                     "1-200 characters", &text, &present);
    if (!rc)
        rc = transport_needs(r, t, mode);
    if (!rc)
        rc = jin_id(r, t, "vehicle_id", JIN_NULLABLE, &vehicle, &present);
    if (rc == -NA_EINVAL && strcmp(r->err_field, "vehicle_id") == 0)
        request_fail(r, rc, "transport.vehicle_id", "must be a positive integer id");
    bool owned = false;
    for (size_t i = 0; !rc && vehicle && i < worker->n_vehicles; i++)
        owned = owned || worker->vehicles[i].id == vehicle;
    if (!rc && vehicle && !owned)
        rc =
            request_fail(r, -NA_EINVAL, "transport.vehicle_id", "not one of the worker's vehicles");
    if (!rc)
        *out = json_dumps(t, JSON_COMPACT);
    return rc;
}

/* The buddy: an enabled user of the organisation other than the worker. */
static int check_buddy(struct request *r, int64_t buddy_id, int64_t worker_id)
{
    struct user_row b = {0};
    int rc = store_user_get(r->st, r->who.organisation_id, buddy_id, &b);
    if (rc == -NA_ENOTFOUND || (!rc && (b.disabled || b.id == worker_id)))
        rc = request_fail(r, -NA_EINVAL, "buddy_id",
                          "must be an enabled colleague other than the worker");
    else if (!rc && b.off_duty_since)
        rc = request_fail(r, -NA_EINVAL, "buddy_id", "is off duty");
    user_row_fini(&b);
    return rc;
}

struct plan {
    struct visit_row v;
    bool start;
};

static void plan_fini(struct plan *p)
{
    visit_row_fini(&p->v);
}

/* Text fields of a plan, copied into the row. */
static int read_plan_texts(struct request *r, struct visit_row *v)
{
    struct {
        const char *key;
        int (*check)(const char *);
        const char *why;
        unsigned flags;
        char **dst;
    } texts[] = {
        {"address", validate_address, "1-500 characters", JIN_REQUIRED, &v->address},
        {"people", check_short_text, "at most 500 characters", JIN_NULLABLE, &v->people},
        {"accompanied_by", check_companion, "at most 200 characters", JIN_NULLABLE,
         &v->accompanied_by},
        {"notes", check_notes, "at most 2000 characters", JIN_NULLABLE, &v->notes},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *s;
        bool present;
        int rc = jin_str(r, r->body, NULL, texts[i].key, texts[i].flags, texts[i].check,
                         texts[i].why, &s, &present);
        if (rc)
            return rc;
        *texts[i].dst = s && s[0] ? xstrdup(s) : NULL;
    }
    return 0;
}

static int read_kind(struct request *r, struct visit_row *v)
{
    const char *kind;
    bool present;
    int rc = jin_str(r, r->body, NULL, "kind", JIN_NULLABLE, NULL, NULL, &kind, &present);
    if (!rc && kind && strcmp(kind, "visit") && strcmp(kind, "shift"))
        rc = request_fail(r, -NA_EINVAL, "kind", "visit or shift");
    if (!rc)
        v->kind = xstrdup(kind ? kind : "visit");
    return rc;
}

static int read_times(struct request *r, struct visit_row *v)
{
    bool present;
    int64_t interval = 0;
    v->clock.expected_arrival = r->now;
    int rc = read_time(r, "expected_arrival", JIN_NULLABLE, &v->clock.expected_arrival, &present);
    if (!rc)
        rc = read_time(r, "expected_departure", JIN_REQUIRED, &v->clock.expected_departure,
                       &present);
    json_t *i = json_object_get(r->body, "checkin_interval");
    if (!rc && i && !json_is_null(i)) {
        if (!json_is_integer(i))
            return request_fail(r, -NA_EINVAL, "checkin_interval", "seconds, 60 to 86400");
        interval = (int64_t)json_integer_value(i);
        if (interval < 60 || interval > 86400)
            return request_fail(r, -NA_EINVAL, "checkin_interval", "seconds, 60 to 86400");
    }
    v->clock.checkin_interval = interval * 1000;
    const char *field;
    v->clock.state = VISIT_PLANNED;
    if (!rc && visit_plan_check(&v->clock, r->now, &field))
        rc = request_fail(r, -NA_EINVAL, field,
                          "departure after arrival and in the future, arrival not in the past, "
                          "at most 7 days");
    return rc;
}

/* The worker (defaults to the caller) and whether the caller may plan for them. */
static int read_worker(struct request *r, struct user_row *worker)
{
    int64_t id;
    bool present, allowed;
    int rc = jin_id(r, r->body, "worker_id", JIN_NULLABLE, &id, &present);
    if (!rc && !id)
        id = r->who.user_id;
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, id, worker);
    if (rc == -NA_ENOTFOUND)
        return request_fail(r, -NA_EINVAL, "worker_id", "no such user");
    if (!rc && worker->disabled)
        return request_fail(r, -NA_EINVAL, "worker_id", "the user is disabled");
    if (!rc)
        rc = can_plan_for(r, id, &allowed);
    if (!rc && !allowed)
        rc = -NA_EFORBIDDEN;
    return rc;
}

static int read_plan(struct request *r, struct plan *p)
{
    static const char *const fields[] = {"kind",     "worker_id",        "address",
                                         "latitude", "longitude",        "people",
                                         "phones",   "transport",        "buddy_id",
                                         "notes",    "accompanied_by",   "checkin_interval",
                                         "start",    "expected_arrival", "expected_departure",
                                         NULL};
    struct user_row worker = {0};
    struct visit_row *v = &p->v;
    bool present;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = read_worker(r, &worker);
    if (!rc)
        rc = read_kind(r, v);
    if (!rc)
        rc = read_plan_texts(r, v);
    if (!rc)
        rc = read_location(r, r->body, &v->has_location, &v->latitude, &v->longitude);
    if (!rc)
        rc = read_phones(r, &v->phones);
    if (!rc)
        rc = read_transport(r, &worker, &v->transport);
    if (!rc)
        rc = read_times(r, v);
    if (!rc)
        rc = jin_id(r, r->body, "buddy_id", JIN_NULLABLE, &v->buddy_id, &present);
    if (!rc && v->buddy_id)
        rc = check_buddy(r, v->buddy_id, worker.id);
    if (!rc)
        rc = jin_bool(r, r->body, "start", 0, &p->start, &present);
    v->organisation_id = r->who.organisation_id;
    v->worker_id = worker.id;
    v->created_by = r->who.user_id;
    v->created_at = v->updated_at = r->now;
    user_row_fini(&worker);
    return rc;
}

/* ---- handlers ---- */

/* Starts the (planned) visit in v at now, in the open transaction. */
static int start_visit(struct request *r, struct visit_row *v)
{
    int rc = visit_start(&v->clock, r->now);
    if (rc == -NA_EINVAL)
        return request_fail(r, rc, "expected_departure", "already passed");
    v->reminder_at = watch_reminder_at(r->api->watch, v, r->now);
    v->updated_at = r->now;
    if (!rc)
        rc = store_visit_update(r->st, v);
    if (!rc)
        rc = add_event(r, v, "started", NULL, false, 0, 0);
    if (!rc)
        rc = events_add_visit(r->st, EVENT_VISIT_STARTED, v, r->who.user_id, r->now);
    return rc;
}

int api_visit_create(struct request *r)
{
    struct plan p = {0};
    struct id_list outbox = {0};
    int rc = read_plan(r, &p);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_visit_create(r->st, &p.v, &p.v.id);
    if (!rc)
        rc = add_event(r, &p.v, "planned", NULL, false, 0, 0);
    if (!rc && p.v.buddy_id)
        rc = add_event(r, &p.v, "buddy_nominated", NULL, false, 0, 0);
    if (!rc && p.v.buddy_id)
        rc = watch_buddy_nominated(r->api->watch, r->st, &p.v, r->now, &outbox);
    if (!rc && p.start)
        rc = start_visit(r, &p.v);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc) {
        log_info("visit_planned", "visit_id=%lld worker_id=%lld started=%d", (long long)p.v.id,
                 (long long)p.v.worker_id, p.start);
        rc = answer_visit(r, 201, &p.v, NULL, &outbox);
    }
    id_list_fini(&outbox);
    plan_fini(&p);
    return rc;
}

static int list_filter(struct request *r, struct visit_filter *f)
{
    const char *state = request_query(r, "state");
    if (state) {
        for (int s = VISIT_PLANNED; s <= VISIT_CLOSED; s++)
            if (strcmp(state, visit_state_name((enum visit_state)s)) == 0)
                f->state = s;
        if (!f->state)
            return request_fail(r, -NA_EMALFORMED, "state", "planned, active or closed");
    }
    int rc = request_query_id(r, "worker_id", &f->worker_id);
    if (!rc)
        rc = request_query_id(r, "buddy_id", &f->buddy_id);
    if (!rc)
        rc = request_query_id(r, "team_id", &f->team_id);
    if (!access_has_role(&r->who, WATCH_ROLES)) {
        f->restrict_to_user = r->who.user_id;
        f->teams = r->who.managed_team_ids;
        f->n_teams = r->who.n_managed_team_ids;
    }
    return rc;
}

/* The open case of each visit shown (0: none). */
static int64_t open_case_of(struct request *r, const struct visit_row *v)
{
    struct escalation_row e = {0};
    int64_t id = 0;
    if (v->clock.state == VISIT_ACTIVE &&
        store_escalation_open_for_visit(r->st, v->organisation_id, v->id, &e) == 0)
        id = e.id;
    escalation_row_fini(&e);
    return id;
}

int api_visit_list(struct request *r)
{
    struct visit_filter f = {0};
    struct visit_row *rows = NULL;
    size_t n = 0;
    int limit;
    int64_t after;
    int rc = list_filter(r, &f);
    if (!rc)
        rc = request_page(r, "after", &limit, &after);
    if (!rc)
        rc = store_visit_list(r->st, r->who.organisation_id, &f, after, limit + 1, &rows, &n);
    if (rc)
        return rc;
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(items, render_visit(&rows[i], open_case_of(r, &rows[i])));
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    visit_rows_free(rows, n);
    return request_answer(r, 200, render_page(items, "next_after", next));
}

int api_visit_get(struct request *r)
{
    struct visit_row v = {0};
    struct visit_event_row *events = NULL;
    size_t n = 0;
    int rc = load_visit(r, &v);
    if (!rc)
        rc = store_visit_events(r->st, v.organisation_id, v.id, &events, &n);
    if (!rc) {
        json_t *o = render_visit(&v, open_case_of(r, &v)), *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, render_visit_event(&events[i]));
        json_object_set_new(o, "events", list);
        request_answer(r, 200, o);
    }
    visit_event_rows_free(events, n);
    visit_row_fini(&v);
    return rc;
}

/* Loads the visit for a change only its worker may make. */
static int load_own_visit(struct request *r, struct visit_row *v)
{
    int rc = load_visit(r, v);
    if (!rc && v->worker_id != r->who.user_id)
        rc = request_fail(r, -NA_EFORBIDDEN, NULL, "only the worker can do this");
    return rc;
}

int api_visit_start(struct request *r)
{
    struct visit_row v = {0};
    /* Read inside the transaction: a concurrent change must not be written over. */
    int rc = store_begin(r->st);
    if (!rc)
        rc = load_own_visit(r, &v);
    if (!rc)
        rc = start_visit(r, &v);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc)
        rc = answer_visit(r, 200, &v, NULL, NULL);
    visit_row_fini(&v);
    return rc;
}

/*
 * The worker was heard from (check-in, extension, end): any open case is resolved as
 * safe and everyone told is told; then the visit is written.
 */
static int worker_heard(struct request *r, struct visit_row *v, const char *how,
                        struct escalation_row *e, struct id_list *outbox)
{
    bool had_case;
    v->reminder_at = watch_reminder_at(r->api->watch, v, r->now);
    v->updated_at = r->now;
    int rc = watch_worker_safe(r->api->watch, r->st, v, how, r->now, &had_case, e, outbox);
    if (!rc)
        rc = store_visit_update(r->st, v);
    return rc;
}

/*
 * The optional "code" of a check-in or an end, checked before any transaction (hashing
 * takes tens of milliseconds): *duress when it is the caller's duress code, which then
 * does exactly what the normal code does and also opens a silent alarm.
 */
static int read_worker_code(struct request *r, bool *duress)
{
    const char *code;
    bool present;
    *duress = false;
    int rc = jin_str(r, r->body, NULL, "code", JIN_NULLABLE, NULL, NULL, &code, &present);
    if (!rc && code)
        rc = api_alert_code_check(r, code, duress);
    return rc;
}

/* The worker was heard from: their amber alerts' deadlines stop watching. */
static int amber_heard(struct request *r, const struct visit_row *v)
{
    if (v->worker_id != r->who.user_id)
        return 0;
    return watch_amber_clear(r->api->watch, r->st, v->organisation_id, v->worker_id, r->now, NULL);
}

int api_visit_checkin(struct request *r)
{
    static const char *const fields[] = {"latitude", "longitude", "note", "code", NULL};
    struct visit_row v = {0};
    struct escalation_row e = {0};
    struct alarm_row alarm = {0};
    struct id_list outbox = {0};
    const char *note;
    bool present, has_loc, duress = false;
    double lat = 0, lon = 0;
    int rc = read_worker_code(r, &duress);
    /* Read inside the transaction: a concurrent change must not be written over. */
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = load_own_visit(r, &v);
    if (!rc)
        rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = read_location(r, r->body, &has_loc, &lat, &lon);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "note", JIN_NULLABLE, check_short_text,
                     "at most 500 characters", &note, &present);
    if (!rc)
        rc = visit_checkin(&v.clock, r->now);
    if (!rc && has_loc) {
        v.has_last_location = true;
        v.last_latitude = lat;
        v.last_longitude = lon;
        v.last_location_at = r->now;
    }
    if (!rc)
        rc = add_event(r, &v, "checkin", note, has_loc, lat, lon);
    if (!rc)
        rc = events_add_visit(r->st, EVENT_VISIT_CHECKIN, &v, r->who.user_id, r->now);
    if (!rc && duress)
        rc = api_duress_alarm(r, "checkin", &alarm, &outbox);
    if (!rc)
        rc = worker_heard(r, &v, "the worker checked in", &e, &outbox);
    if (!rc)
        rc = amber_heard(r, &v);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc && duress)
        watch_alarm_changed(r->api->watch, &alarm);
    else if (rc && duress)
        api_duress_alarm_alone(r, "checkin");
    if (!rc)
        rc = answer_visit(r, 200, &v, &e, &outbox);
    id_list_fini(&outbox);
    alarm_row_fini(&alarm);
    escalation_row_fini(&e);
    visit_row_fini(&v);
    return rc;
}

static int check_reason(const char *s)
{
    return validate_text(s, 1, 500);
}

/* The new departure: "until" (a time) or "by" (seconds later than the current one). */
static int read_extension(struct request *r, const struct visit_row *v, int64_t *until)
{
    bool has_until;
    json_t *by = json_object_get(r->body, "by");
    int rc = read_time(r, "until", JIN_NULLABLE, until, &has_until);
    if (rc)
        return rc;
    if (has_until == (by != NULL))
        return request_fail(r, -NA_EINVAL, "until", "give until or by, not both");
    if (by) {
        if (!json_is_integer(by) || json_integer_value(by) < 60 || json_integer_value(by) > 86400)
            return request_fail(r, -NA_EINVAL, "by", "seconds, 60 to 86400");
        *until = v->clock.expected_departure + (int64_t)json_integer_value(by) * 1000;
    }
    return 0;
}

int api_visit_extend(struct request *r)
{
    static const char *const fields[] = {"until", "by", "reason", NULL};
    struct visit_row v = {0};
    struct escalation_row e = {0};
    struct id_list outbox = {0};
    const char *reason;
    bool present;
    int64_t until = 0;
    /* Read inside the transaction: a concurrent change must not be written over. */
    int rc = store_begin(r->st);
    if (!rc)
        rc = load_own_visit(r, &v);
    if (!rc)
        rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "reason", JIN_REQUIRED, check_reason, "1-500 characters",
                     &reason, &present);
    if (!rc)
        rc = read_extension(r, &v, &until);
    if (!rc) {
        rc = visit_extend(&v.clock, until, r->now);
        if (rc == -NA_EINVAL)
            rc = request_fail(r, rc, "until",
                              "later than the current departure, in the future, within 7 days");
    }
    if (!rc)
        rc = add_event(r, &v, "extended", reason, false, 0, 0);
    if (!rc)
        rc = events_add_visit(r->st, EVENT_VISIT_EXTENDED, &v, r->who.user_id, r->now);
    if (!rc && v.clock.state == VISIT_ACTIVE)
        rc = worker_heard(r, &v, "the worker extended the visit", &e, &outbox);
    else if (!rc)
        rc = store_visit_update(r->st, &v);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc)
        rc = answer_visit(r, 200, &v, &e, &outbox);
    id_list_fini(&outbox);
    escalation_row_fini(&e);
    visit_row_fini(&v);
    return rc;
}

/*
 * Who may end a visit with outcome: the worker; planners too for cancelling, and for
 * ending it safe (a manager who has confirmed the worker is back, e.g. after a case
 * handed to the police). Withdrawing is the worker's own statement.
 */
static int may_end(struct request *r, const struct visit_row *v, enum visit_outcome outcome)
{
    bool allowed = v->worker_id == r->who.user_id;
    int rc = 0;
    if (!allowed && outcome != VISIT_OUTCOME_WITHDRAWN)
        rc = can_plan_for(r, v->worker_id, &allowed);
    if (!rc && !allowed)
        rc = request_fail(r, -NA_EFORBIDDEN, NULL, "only the worker can do this");
    return rc;
}

int api_visit_end(struct request *r)
{
    static const char *const fields[] = {"outcome", "note", "code", NULL};
    struct visit_row v = {0};
    struct escalation_row e = {0};
    struct alarm_row alarm = {0};
    struct id_list outbox = {0};
    const char *name, *note;
    bool present, duress = false;
    enum visit_outcome outcome = VISIT_OUTCOME_NONE;
    int rc = read_worker_code(r, &duress);
    /* Read inside the transaction: a concurrent change must not be written over. */
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = load_visit(r, &v);
    if (!rc)
        rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "outcome", JIN_REQUIRED, NULL, NULL, &name, &present);
    if (!rc && !(outcome = visit_outcome_parse(name)))
        rc = request_fail(r, -NA_EINVAL, "outcome", "safe, withdrawn or cancelled");
    if (!rc)
        rc = jin_str(r, r->body, NULL, "note", JIN_NULLABLE, check_short_text,
                     "at most 500 characters", &note, &present);
    if (!rc)
        rc = may_end(r, &v, outcome);
    /* Opened while the visit is still active, so that the alarm carries it. */
    if (!rc && duress)
        rc = api_duress_alarm(r, "visit_end", &alarm, &outbox);
    if (!rc)
        rc = visit_close(&v.clock, outcome, r->now);
    if (!rc) {
        free(v.close_note);
        v.close_note = note ? xstrdup(note) : NULL;
        rc = add_event(r, &v, "ended", visit_outcome_name(outcome), false, 0, 0);
    }
    if (!rc)
        rc = events_add_visit(r->st, EVENT_VISIT_CLOSED, &v, r->who.user_id, r->now);
    if (!rc)
        rc = worker_heard(r, &v,
                          outcome == VISIT_OUTCOME_WITHDRAWN ? "the worker withdrew from the visit"
                                                             : "the worker ended the visit safe",
                          &e, &outbox);
    if (!rc)
        rc = amber_heard(r, &v);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc && duress)
        watch_alarm_changed(r->api->watch, &alarm);
    else if (rc && duress)
        api_duress_alarm_alone(r, "visit_end");
    if (!rc)
        rc = answer_visit(r, 200, &v, &e, &outbox);
    /* Withdrawing is recorded, never penalised, and prompts an incident report (§6.2.1). */
    if (!rc)
        json_object_set_new(r->answer, "incident_report_prompted",
                            json_boolean(outcome == VISIT_OUTCOME_WITHDRAWN));
    id_list_fini(&outbox);
    alarm_row_fini(&alarm);
    escalation_row_fini(&e);
    visit_row_fini(&v);
    return rc;
}

int api_visit_buddy_accept(struct request *r)
{
    struct visit_row v = {0};
    /* Read inside the transaction: a concurrent change must not be written over. */
    int rc = store_begin(r->st);
    if (!rc)
        rc = load_visit(r, &v);
    if (!rc && v.buddy_id != r->who.user_id)
        rc = request_fail(r, -NA_EFORBIDDEN, NULL, "only the nominated buddy can accept");
    if (!rc && v.clock.state == VISIT_CLOSED)
        rc = request_fail(r, -NA_ECONFLICT, NULL, "the visit is closed");
    if (!rc && !v.buddy_accepted_at) {
        v.buddy_accepted_at = r->now;
        v.updated_at = r->now;
        rc = store_visit_update(r->st, &v);
        if (!rc)
            rc = add_event(r, &v, "buddy_accepted", NULL, false, 0, 0);
    }
    if (!rc)
        rc = store_commit(r->st);
    if (!rc)
        rc = answer_visit(r, 200, &v, NULL, NULL);
    visit_row_fini(&v);
    return rc;
}

int api_visit_buddy_change(struct request *r)
{
    static const char *const fields[] = {"buddy_id", NULL};
    struct visit_row v = {0};
    struct id_list outbox = {0};
    int64_t buddy;
    bool present, allowed = false;
    /* Read inside the transaction: a concurrent change must not be written over. */
    int rc = store_begin(r->st);
    if (!rc)
        rc = load_visit(r, &v);
    if (!rc)
        allowed = v.worker_id == r->who.user_id || v.buddy_id == r->who.user_id;
    if (!rc && !allowed)
        rc = can_plan_for(r, v.worker_id, &allowed);
    if (!rc && !allowed)
        rc = -NA_EFORBIDDEN;
    if (!rc)
        rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_id(r, r->body, "buddy_id", JIN_REQUIRED, &buddy, &present);
    if (!rc)
        rc = check_buddy(r, buddy, v.worker_id);
    if (!rc && v.clock.state == VISIT_CLOSED)
        rc = request_fail(r, -NA_ECONFLICT, NULL, "the visit is closed");
    if (!rc) {
        /* The new buddy must accept; until then the line manager is the first contact. */
        v.buddy_id = buddy;
        v.buddy_accepted_at = 0;
        v.updated_at = r->now;
        rc = store_visit_update(r->st, &v);
    }
    if (!rc)
        rc = add_event(r, &v, "buddy_nominated", NULL, false, 0, 0);
    if (!rc)
        rc = watch_buddy_nominated(r->api->watch, r->st, &v, r->now, &outbox);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc)
        rc = answer_visit(r, 200, &v, NULL, &outbox);
    id_list_fini(&outbox);
    visit_row_fini(&v);
    return rc;
}

/* ---- duty (§6.17.3, §6.18.3) ---- */

/* Going off duty with workers still out is refused until they are handed over. */
static int check_handed_over(struct request *r)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = store_visits_buddied_by(r->st, r->who.organisation_id, r->who.user_id, &ids, &n);
    if (!rc && n) {
        char message[200];
        snprintf(message, sizeof message,
                 "you are the buddy of %zu planned or active visit%s (first: %lld): hand %s over "
                 "first",
                 n, n == 1 ? "" : "s", (long long)ids[0], n == 1 ? "it" : "them");
        rc = request_fail(r, -NA_ECONFLICT, "on_duty", message);
    }
    free(ids);
    return rc;
}

int api_me_duty(struct request *r)
{
    static const char *const fields[] = {"on_duty", NULL};
    bool on_duty = true, present;
    struct user_row u = {0};
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_bool(r, r->body, "on_duty", JIN_REQUIRED, &on_duty, &present);
    if (rc)
        return rc;
    rc = store_begin(r->st);
    if (!rc && !on_duty)
        rc = check_handed_over(r);
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, r->who.user_id, &u);
    /* Staying off duty keeps the time it began. */
    int64_t since = on_duty ? 0 : (u.off_duty_since ? u.off_duty_since : r->now);
    if (!rc)
        rc = store_user_set_duty(r->st, r->who.organisation_id, r->who.user_id, since, r->now);
    user_row_fini(&u);
    if (!rc)
        rc = store_user_get(r->st, r->who.organisation_id, r->who.user_id, &u);
    json_t *answer = rc ? NULL : render_user(&u, USER_LAYER_PRIVATE);
    user_row_fini(&u);
    if (!rc)
        rc = store_commit(r->st);
    if (rc) {
        json_decref(answer);
        return rc;
    }
    return request_answer(r, 200, answer);
}
