/*
 * Alerts of workers and their devices (seed 002 §9.3-9.7): red alerts, device tests,
 * amber alerts, positions, the worker's alert profile (codes, consent, device) and the
 * worker's own cancel of an accidental red alert. Codes are Argon2id hashes, checked
 * outside transactions so that the single writer is never held while hashing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/validate.h"
#include "http/api.h"
#include "http/json_in.h"
#include "http/render.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/events.h"
#include "watch/watch.h"

#define ALERT_ID_MAX       64
#define ALERT_TEXT_MAX     500
#define ACCURACY_MAX_M     100000.0
#define FIX_FUTURE_MAX_MS  (5LL * 60 * 1000)
#define AMBER_DEADLINE_MAX (24LL * 3600 * 1000)
#define CODE_MIN_DIGITS    4
#define CODE_MAX_DIGITS    12
#define CURRENT_CODE_MAX   64
/* Active visits read per page when looking for a worker's most recent one. */
#define ACTIVE_PAGE 100

/* ---- reading alerts ---- */

/* 1-64 of A-Z a-z 0-9 . _ : - */
static int check_alert_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > ALERT_ID_MAX)
        return -NA_EINVAL;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == ':' || *p == '-'))
            return -NA_EINVAL;
    return 0;
}

static int check_message(const char *s)
{
    return validate_text(s, 0, ALERT_TEXT_MAX);
}

static int check_status(const char *s)
{
    return validate_text(s, 1, ALERT_TEXT_MAX);
}

static int check_iso_time(const char *s)
{
    int64_t ms;
    return time_parse_iso(s, &ms);
}

/* 4-12 digits. */
static int check_code(const char *s)
{
    size_t n = strlen(s);
    if (n < CODE_MIN_DIGITS || n > CODE_MAX_DIGITS)
        return -NA_EINVAL;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -NA_EINVAL;
    return 0;
}

static int read_alert_id(struct request *r, const char **out)
{
    bool present;
    return jin_str(r, r->body, NULL, "alert_id", JIN_NULLABLE, check_alert_id,
                   "1-64 characters of A-Z a-z 0-9 . _ : -", out, &present);
}

/* An optional time field; *out keeps its value when absent. */
static int read_iso_time(struct request *r, const char *key, int64_t *out)
{
    const char *s;
    bool present;
    int rc = jin_str(r, r->body, NULL, key, JIN_NULLABLE, check_iso_time, "an RFC 3339 time in UTC",
                     &s, &present);
    if (!rc && s)
        time_parse_iso(s, out);
    return rc;
}

/* A number field in [min, max]; absent or null leaves *out. */
static int read_number(struct request *r, const char *key, double min, double max, double *out,
                       const char *why)
{
    json_t *v = json_object_get(r->body, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max)
        return request_fail(r, -NA_EINVAL, key, why);
    *out = json_number_value(v);
    return 0;
}

static bool given(struct request *r, const char *key)
{
    json_t *v = json_object_get(r->body, key);
    return v && !json_is_null(v);
}

/*
 * latitude and longitude (both or neither; both when required), accuracy (metres) and the
 * time of the fix under at_key (not more than 5 minutes ahead; default now).
 */
static int read_position(struct request *r, const char *at_key, bool required, struct position *p)
{
    memset(p, 0, sizeof *p);
    if (!given(r, "latitude") && !given(r, "longitude") && !required) {
        if (given(r, "accuracy") || given(r, at_key))
            return request_fail(r, -NA_EINVAL, given(r, "accuracy") ? "accuracy" : at_key,
                                "only with latitude and longitude");
        return 0;
    }
    p->latitude = NAN;
    p->longitude = NAN;
    p->at = r->now;
    int rc = read_number(r, "latitude", -90, 90, &p->latitude,
                         "a number from -90 to 90, with longitude");
    if (!rc)
        rc = read_number(r, "longitude", -180, 180, &p->longitude,
                         "a number from -180 to 180, with latitude");
    if (!rc && isnan(p->latitude))
        rc = request_fail(r, -NA_EINVAL, "latitude", "a number from -90 to 90, with longitude");
    if (!rc && isnan(p->longitude))
        rc = request_fail(r, -NA_EINVAL, "longitude", "a number from -180 to 180, with latitude");
    if (!rc)
        rc = read_number(r, "accuracy", 0, ACCURACY_MAX_M, &p->accuracy_m,
                         "metres, from 0 to 100000");
    if (!rc)
        rc = read_iso_time(r, at_key, &p->at);
    if (!rc && p->at > r->now + FIX_FUTURE_MAX_MS)
        rc = request_fail(r, -NA_EINVAL, at_key, "not more than 5 minutes in the future");
    p->known = rc == 0;
    return rc;
}

/* ---- rendering ---- */

/* {"latitude", "longitude", "accuracy", "at"} or null. */
static json_t *render_position(const struct position *p)
{
    if (!p->known)
        return json_null();
    json_t *o = json_pack("{s:f,s:f}", "latitude", p->latitude, "longitude", p->longitude);
    json_object_set_new(o, "accuracy", p->accuracy_m > 0 ? json_real(p->accuracy_m) : json_null());
    render_set_time(o, "at", p->at);
    return o;
}

static const char *amber_state_name(int state)
{
    return state == AMBER_WATCHING ? "watching" : state == AMBER_ALARMED ? "alarmed" : "kept";
}

/* An amber alert; its location only when shown; the alarm only to others than its worker. */
static json_t *render_amber(const struct amber_row *a, bool show_location, bool show_alarm)
{
    json_t *o = json_pack("{s:I,s:I,s:s,s:s}", "id", (json_int_t)a->id, "worker_id",
                          (json_int_t)a->worker_id, "status", a->status ? a->status : "", "state",
                          amber_state_name(a->state));
    render_set_id(o, "visit_id", a->visit_id);
    render_set_str(o, "alert_id", a->alert_id);
    json_object_set_new(o, "location", show_location ? render_position(&a->position) : json_null());
    json_object_set_new(o, "location_shared", json_boolean(show_location));
    render_set_time(o, "deadline_at", a->deadline_at);
    render_set_time(o, "cleared_at", a->cleared_at);
    if (show_alarm)
        render_set_id(o, "alarm_id", a->alarm_id);
    render_set_time(o, "created_at", a->created_at);
    return o;
}

static json_t *render_device(const struct alert_profile *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "battery_pct",
                        p->battery_pct >= 0 ? json_integer(p->battery_pct) : json_null());
    render_set_time(o, "battery_at", p->battery_at);
    render_set_time(o, "tested_at", p->device_tested_at);
    render_set_time(o, "test_due_at", p->test_due_at);
    return o;
}

/* The profile as its worker sees it: never a hash. */
static json_t *render_profile(const struct alert_profile *p)
{
    json_t *o = json_pack("{s:b,s:b,s:b}", "has_code", p->code_hash != NULL, "has_duress_code",
                          p->duress_hash != NULL, "location_consent", p->location_consent);
    render_set_time(o, "consent_changed_at", p->consent_changed_at);
    json_object_set_new(o, "device", render_device(p));
    return o;
}

/* ---- shared steps ---- */

/* The profile of user_id; a fresh one (no codes, no battery reading) when never set. */
static int load_profile(struct request *r, int64_t user_id, struct alert_profile *p)
{
    int rc = store_alert_profile_get(r->st, r->who.organisation_id, user_id, p);
    if (rc == -NA_ENOTFOUND) {
        alert_profile_fini(p);
        memset(p, 0, sizeof *p);
        p->user_id = user_id;
        p->organisation_id = r->who.organisation_id;
        p->battery_pct = -1;
        rc = 0;
    }
    return rc;
}

/* The id of the worker's most recent active visit (0: none). */
static int active_visit_id(struct request *r, int64_t worker_id, int64_t *out)
{
    struct visit_filter f = {.state = VISIT_ACTIVE, .worker_id = worker_id};
    int64_t after = 0;
    int rc;
    size_t n;
    *out = 0;
    do {
        struct visit_row *rows = NULL;
        n = 0;
        rc = store_visit_list(r->st, r->who.organisation_id, &f, after, ACTIVE_PAGE, &rows, &n);
        if (!rc && n)
            *out = after = rows[n - 1].id;
        visit_rows_free(rows, n);
    } while (!rc && n == ACTIVE_PAGE);
    return rc;
}

/*
 * Opens q's alarm in a transaction of its own and, after the commit, schedules it and
 * hands its notifications over. *duplicate when the worker already used the alert id: a
 * then is that first alarm and nothing was written.
 */
static int open_alarm(struct request *r, const struct alarm_request *q, struct alarm_row *a,
                      bool *duplicate)
{
    struct id_list outbox = {0};
    int rc = store_begin(r->st);
    if (!rc)
        rc = watch_alarm_open(r->api->watch, r->st, q, r->now, a, &outbox);
    *duplicate = rc == -NA_ECONFLICT && a->id;
    if (*duplicate) {
        store_rollback(r->st);
        rc = a->clock.kind == q->kind ? 0
                                      : request_fail(r, -NA_ECONFLICT, "alert_id",
                                                     "already used for another kind of alert");
    } else if (!rc) {
        rc = store_commit(r->st);
    }
    if (!rc && !*duplicate) {
        watch_alarm_changed(r->api->watch, a);
        watch_deliver(r->api->watch, outbox.ids, outbox.n);
    }
    id_list_fini(&outbox);
    return rc;
}

/* ---- red alerts and tests ---- */

int api_alert_red(struct request *r)
{
    static const char *const fields[] = {"alert_id", "message",     "latitude", "longitude",
                                         "accuracy", "location_at", NULL};
    struct alarm_request q = {.organisation_id = r->who.organisation_id,
                              .worker_id = r->who.user_id,
                              .kind = ALARM_RED,
                              .source = "api",
                              .by = r->who.user_id};
    struct alarm_row a = {0};
    struct alarm_settings s;
    bool present, duplicate;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = read_alert_id(r, &q.alert_id);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "message", JIN_NULLABLE, check_message,
                     "at most 500 characters", &q.message, &present);
    if (!rc)
        rc = read_position(r, "location_at", false, &q.position);
    /* Read before the transaction, so that the writer waits for none of it. */
    if (!rc)
        rc = alarm_settings_load(r->st, r->who.organisation_id, &s);
    q.settings = &s;
    if (!rc)
        rc = open_alarm(r, &q, &a, &duplicate);
    if (rc) {
        alarm_row_fini(&a);
        return rc;
    }
    json_t *o =
        json_pack("{s:I,s:o,s:o,s:o,s:b}", "alarm_id", (json_int_t)a.id, "alert_id",
                  a.alert_id ? json_string(a.alert_id) : json_null(), "opened_at",
                  render_time(a.clock.opened_at), "cancel_until",
                  render_time(a.clock.opened_at + s.cancel_window_ms), "duplicate", duplicate);
    alarm_row_fini(&a);
    return request_answer(r, duplicate ? 200 : 201, o);
}

int api_alert_test(struct request *r)
{
    static const char *const fields[] = {"alert_id", NULL};
    struct alarm_request q = {.organisation_id = r->who.organisation_id,
                              .worker_id = r->who.user_id,
                              .kind = ALARM_TEST,
                              .source = "api",
                              .by = r->who.user_id};
    struct alarm_row a = {0};
    bool duplicate;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = read_alert_id(r, &q.alert_id);
    if (!rc)
        rc = open_alarm(r, &q, &a, &duplicate);
    if (!rc)
        rc = request_answer(r, duplicate ? 200 : 201,
                            json_pack("{s:I,s:s,s:o,s:b}", "alarm_id", (json_int_t)a.id, "outcome",
                                      alarm_outcome_name(ALARM_OUTCOME_TEST), "tested_at",
                                      render_time(a.clock.opened_at), "duplicate", duplicate));
    alarm_row_fini(&a);
    return rc;
}

/* ---- codes ---- */

/*
 * Wrong codes are throttled per worker like passwords (core/throttle.h), so that a phone
 * in the wrong hands cannot try every code; the count is kept beside the logins' under a
 * key no username can be (usernames have no ':').
 */
static void code_attempts_key(const struct request *r, char *key, size_t n)
{
    snprintf(key, n, "code:%lld", (long long)r->who.user_id);
}

int api_alert_code_check(struct request *r, const char *code, bool *duress)
{
    struct alert_profile p = {0};
    struct login_attempts attempts;
    char key[48];
    *duress = false;
    if (check_code(code))
        return request_fail(r, -NA_EINVAL, "code", "not your code");
    code_attempts_key(r, key, sizeof key);
    int throttled = api_count_attempt(r, key, &attempts);
    if (throttled && throttled != -NA_ERATE)
        return throttled;
    int rc = load_profile(r, r->who.user_id, &p);
    if (rc) {
        alert_profile_fini(&p);
        return rc;
    }
    /* Both are verified every time, a missing one against a dummy hash: the time taken
     * tells nobody watching which code was given, or whether there is a duress code. */
    const char *dummy = r->api->dummy_password_hash;
    size_t len = strlen(code);
    bool normal = secret_password_verify(p.code_hash ? p.code_hash : dummy, code, len);
    bool forced = secret_password_verify(p.duress_hash ? p.duress_hash : dummy, code, len);
    normal = normal && p.code_hash;
    forced = forced && p.duress_hash && !normal;
    alert_profile_fini(&p);
    if (throttled) {
        /* Made to wait, the duress code still raises its alarm: the answer is the same
         * wait everyone gets, and the worker is helped. */
        if (forced)
            api_duress_alarm_alone(r, "code_throttled");
        return request_fail(r, -NA_ERATE, "code", "too many wrong codes; wait and try again");
    }
    if (!normal && !forced)
        return request_fail(r, -NA_EINVAL, "code", "not your code");
    rc = store_login_attempts_clear(r->st, key);
    if (rc)
        return rc;
    *duress = forced;
    return 0;
}

int api_duress_alarm(struct request *r, const char *source, struct alarm_row *out,
                     struct id_list *outbox)
{
    struct alarm_request q = {.organisation_id = r->who.organisation_id,
                              .worker_id = r->who.user_id,
                              .kind = ALARM_DURESS,
                              .duress = true,
                              .source = source,
                              .by = r->who.user_id};
    return watch_alarm_open(r->api->watch, r->st, &q, r->now, out, outbox);
}

void api_duress_alarm_alone(struct request *r, const char *source)
{
    struct alarm_row a = {0};
    struct id_list outbox = {0};
    store_rollback(r->st);
    int rc = store_begin(r->st);
    if (!rc)
        rc = api_duress_alarm(r, source, &a, &outbox);
    if (!rc)
        rc = store_commit(r->st);
    if (rc) {
        store_rollback(r->st);
        log_error("duress_alarm_failed", "worker_id=%lld source=%s code=%s",
                  (long long)r->who.user_id, source, na_error_code(rc));
    } else {
        watch_deliver(r->api->watch, outbox.ids, outbox.n);
        watch_alarm_changed(r->api->watch, &a);
    }
    id_list_fini(&outbox);
    alarm_row_fini(&a);
}

/* ---- cancelling a red alert ---- */

/*
 * The caller's own alarm, raised by them (a red alert); anybody else's, and their own
 * silent ones (a duress code on a check-in, an end, an amber clear), are not there for
 * them: whoever holds the phone must not find those by trying ids.
 */
static int load_own_alarm(struct request *r, int64_t id, struct alarm_row *a)
{
    int rc = store_alarm_get(r->st, r->who.organisation_id, id, a);
    if (!rc && (a->worker_id != r->who.user_id || !alarm_worker_raised(a->clock.kind, a->source)))
        rc = -NA_ENOTFOUND;
    return rc;
}

/* Why a cancel is refused (rc from alarm_cancel). */
static int cancel_refused(struct request *r, const struct alarm_clock *c, int rc)
{
    if (rc == -NA_EINVAL)
        return request_fail(r, -NA_ECONFLICT, NULL,
                            "the time to cancel has passed: an operator will call you");
    if (rc == -NA_ECONFLICT)
        return request_fail(r, rc, NULL,
                            c->state == ALARM_CLOSED ? "the alarm is already closed"
                                                     : "the alarm is already cancelled");
    return rc;
}

/* Timeline line and live event of a change by the worker, then the row written back. */
static int alarm_changed_by_worker(struct request *r, struct alarm_row *a, const char *change,
                                   const char *detail)
{
    struct alarm_event e = {.alarm_id = a->id,
                            .organisation_id = a->organisation_id,
                            .at = r->now,
                            .kind = change,
                            .actor_id = r->who.user_id,
                            .detail = detail};
    a->updated_at = r->now;
    int rc = store_alarm_update(r->st, a);
    if (!rc)
        rc = store_alarm_event_add(r->st, &e);
    if (!rc) {
        json_t *extra = json_pack("{s:s}", "change", change);
        rc = events_add_alarm(r->st, EVENT_ALARM_UPDATED, a, r->who.user_id, r->now, extra);
        json_decref(extra);
    }
    return rc;
}

/* What a cancel did: a normal one's answer, and the alarm a duress code raised anew. */
struct cancel_result {
    int refused; /* what a normal cancel answers: 0 or an error of alarm_cancel */
    struct alarm_row raised;
    struct id_list outbox;
};

/*
 * In the open transaction: the duress code first marks a duress (its path is told not to
 * call openly; it goes on at the top of the queue); an alarm already closed has nobody
 * left to see the mark, so a new silent alarm opens instead. Then a is cancelled as with
 * the normal code, so that the worker's view (the answer, a second cancel, the window) is
 * the same with either code: res->refused is what alarm_cancel answered.
 */
static int cancel_or_mark(struct request *r, struct alarm_row *a, bool duress,
                          struct cancel_result *res)
{
    struct alarm_settings s;
    int rc = alarm_settings_load(r->st, a->organisation_id, &s);
    if (!rc && duress && a->clock.state == ALARM_CLOSED)
        rc = api_duress_alarm(r, "cancel", &res->raised, &res->outbox);
    else if (!rc && duress && !a->clock.duress)
        rc = watch_alarm_duress(r->api->watch, r->st, a, r->who.user_id, r->now, &res->outbox);
    if (rc)
        return rc;
    res->refused = alarm_cancel(&a->clock, s.cancel_window_ms, r->now);
    return res->refused ? 0 : alarm_changed_by_worker(r, a, "cancelled", NULL);
}

int api_alarm_cancel(struct request *r)
{
    static const char *const fields[] = {"code", NULL};
    struct alarm_row a = {0};
    struct cancel_result res = {0};
    const char *code;
    bool present, duress = false;
    int64_t id;
    int rc = request_param_id(r, 0, &id);
    /* Whose alarm it is comes first: to anyone else it does not exist, code or not. */
    if (!rc)
        rc = load_own_alarm(r, id, &a);
    alarm_row_fini(&a);
    memset(&a, 0, sizeof a);
    if (!rc)
        rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "code", JIN_REQUIRED, NULL, NULL, &code, &present);
    if (!rc)
        rc = api_alert_code_check(r, code, &duress);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = load_own_alarm(r, id, &a);
    if (!rc)
        rc = cancel_or_mark(r, &a, duress, &res);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc) {
        watch_alarm_changed(r->api->watch, res.raised.id ? &res.raised : &a);
        watch_deliver(r->api->watch, res.outbox.ids, res.outbox.n);
    }
    if (!rc && res.refused)
        rc = cancel_refused(r, &a.clock, res.refused);
    if (!rc)
        rc = request_answer(r, 200,
                            json_pack("{s:I,s:b,s:o}", "alarm_id", (json_int_t)a.id, "cancelled", 1,
                                      "cancelled_at", render_time(r->now)));
    id_list_fini(&res.outbox);
    alarm_row_fini(&res.raised);
    alarm_row_fini(&a);
    return rc;
}

/* ---- amber alerts ---- */

struct amber_in {
    struct amber_row a;
    const char *alert_id;
    const char *status;
};

static int read_amber(struct request *r, struct amber_in *in)
{
    static const char *const fields[] = {"alert_id", "status",      "latitude", "longitude",
                                         "accuracy", "location_at", "deadline", NULL};
    bool present;
    int64_t deadline = 0;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = read_alert_id(r, &in->alert_id);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "status", JIN_REQUIRED, check_status, "1-500 characters",
                     &in->status, &present);
    if (!rc)
        rc = read_position(r, "location_at", false, &in->a.position);
    if (!rc)
        rc = read_iso_time(r, "deadline", &deadline);
    if (!rc && deadline && (deadline <= r->now || deadline > r->now + AMBER_DEADLINE_MAX))
        rc = request_fail(r, -NA_EINVAL, "deadline", "in the future, at most 24 hours ahead");
    in->a.organisation_id = r->who.organisation_id;
    in->a.worker_id = r->who.user_id;
    in->a.deadline_at = deadline;
    in->a.state = deadline ? AMBER_WATCHING : AMBER_KEPT;
    in->a.created_at = r->now;
    return rc;
}

/* In the open transaction: stores the new amber alert (after clearing the older ones). */
static int amber_store(struct request *r, struct amber_in *in)
{
    struct amber_row *a = &in->a;
    a->alert_id = in->alert_id ? xstrdup(in->alert_id) : NULL;
    a->status = xstrdup(in->status);
    return watch_amber_add(r->api->watch, r->st, a, r->now);
}

int api_amber_create(struct request *r)
{
    struct amber_in in = {0};
    struct amber_row first = {0};
    int rc = read_amber(r, &in);
    if (!rc)
        rc = store_begin(r->st);
    /* A retry answers with the first; checked before anything is written. */
    if (!rc && in.alert_id)
        rc = store_amber_by_alert_id(r->st, r->who.organisation_id, r->who.user_id, in.alert_id,
                                     &first);
    bool retry = !rc && first.id;
    if (rc == -NA_ENOTFOUND || (!rc && !retry))
        rc = amber_store(r, &in);
    if (rc == -NA_ECONFLICT && in.alert_id) {
        /* A concurrent request stored the same alert id after this one checked (both may
         * check first on PostgreSQL): the insert failed alone under its savepoint, and the
         * alert it stored is the answer, as for a retry. */
        store_rollback(r->st);
        int again = store_amber_by_alert_id(r->st, r->who.organisation_id, r->who.user_id,
                                            in.alert_id, &first);
        retry = again == 0;
        rc = again == -NA_ENOTFOUND ? rc : again;
    } else if (!rc) {
        rc = store_commit(r->st);
    }
    if (!rc && !retry) {
        watch_amber_changed(r->api->watch, &in.a);
        log_info("amber_alert", "amber_id=%lld worker_id=%lld watching=%d", (long long)in.a.id,
                 (long long)in.a.worker_id, in.a.state == AMBER_WATCHING);
    }
    if (!rc)
        rc =
            request_answer(r, retry ? 200 : 201, render_amber(retry ? &first : &in.a, true, false));
    amber_row_fini(&first);
    amber_row_fini(&in.a);
    return rc;
}

/* Whether the caller sees the worker's amber alerts: the visit rule, and the LSMS. */
static int sees_worker(struct request *r, int64_t worker_id, bool *out)
{
    struct user_row u = {0};
    *out = access_sees_visit(&r->who, worker_id, 0, NULL, 0) || access_has_role(&r->who, ROLE_LSMS);
    int rc = store_user_get(r->st, r->who.organisation_id, worker_id, &u);
    if (!rc && !*out)
        *out = access_sees_visit(&r->who, worker_id, 0, u.team_ids, u.n_team_ids);
    user_row_fini(&u);
    return rc;
}

int api_amber_list(struct request *r)
{
    struct amber_row *rows = NULL;
    struct alert_profile p = {0};
    size_t n = 0;
    int limit;
    int64_t worker_id, before;
    bool visible = false;
    int rc = request_query_id(r, "worker_id", &worker_id);
    if (!rc)
        rc = request_page(r, "before", &limit, &before);
    if (!rc && !worker_id)
        worker_id = r->who.user_id;
    if (!rc)
        rc = sees_worker(r, worker_id, &visible);
    if (rc == -NA_ENOTFOUND)
        rc = request_fail(r, rc, "worker_id", "no such worker");
    if (!rc && !visible)
        rc = -NA_EFORBIDDEN;
    if (!rc)
        rc = load_profile(r, worker_id, &p);
    if (!rc)
        rc = store_amber_list(r->st, r->who.organisation_id, worker_id, before, limit + 1, &rows,
                              &n);
    if (!rc) {
        bool own = worker_id == r->who.user_id;
        json_t *items = json_array();
        size_t shown = n > (size_t)limit ? (size_t)limit : n;
        for (size_t i = 0; i < shown; i++)
            json_array_append_new(items, render_amber(&rows[i], own || p.location_consent, !own));
        rc = request_answer(r, 200,
                            render_page(items, "next_before", n > shown ? rows[shown - 1].id : 0));
    }
    amber_rows_free(rows, n);
    alert_profile_fini(&p);
    return rc;
}

static int load_own_amber(struct request *r, int64_t id, struct amber_row *a)
{
    int rc = store_amber_get(r->st, r->who.organisation_id, id, a);
    if (!rc && a->worker_id != r->who.user_id)
        rc = -NA_ENOTFOUND;
    return rc;
}

int api_amber_clear(struct request *r)
{
    static const char *const fields[] = {"code", NULL};
    struct amber_row a = {0};
    struct alarm_row alarm = {0};
    struct id_list outbox = {0};
    const char *code;
    bool present, duress = false, passed = false;
    int64_t id;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = load_own_amber(r, id, &a);
    amber_row_fini(&a);
    memset(&a, 0, sizeof a);
    if (!rc)
        rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "code", JIN_NULLABLE, NULL, NULL, &code, &present);
    if (!rc && code)
        rc = api_alert_code_check(r, code, &duress);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = load_own_amber(r, id, &a);
    /* A passed deadline is refused alike with either code; the duress alarm still opens. */
    passed = !rc && a.state == AMBER_ALARMED;
    if (!rc && !passed)
        rc = watch_amber_clear(r->api->watch, r->st, a.organisation_id, a.worker_id, r->now, NULL);
    if (!rc && duress)
        rc = api_duress_alarm(r, "amber", &alarm, &outbox);
    if (!rc && !passed) {
        amber_row_fini(&a);
        rc = store_amber_get(r->st, r->who.organisation_id, id, &a);
    }
    if (!rc)
        rc = store_commit(r->st);
    if (!rc) {
        watch_amber_changed(r->api->watch, &a);
        if (duress)
            watch_alarm_changed(r->api->watch, &alarm);
        watch_deliver(r->api->watch, outbox.ids, outbox.n);
    }
    if (!rc && passed)
        rc = request_fail(r, -NA_ECONFLICT, NULL,
                          "the deadline has passed: an operator will call you");
    if (!rc)
        rc = request_answer(r, 200, render_amber(&a, true, false));
    id_list_fini(&outbox);
    alarm_row_fini(&alarm);
    amber_row_fini(&a);
    return rc;
}

/* ---- positions ---- */

/* A device fix goes to the trail alone (marked with the active visit): only the alarm
 * pack shows the trail, and only with the worker's consent (§9.7.3). */
int api_position_add(struct request *r)
{
    static const char *const fields[] = {"latitude", "longitude", "accuracy", "at", NULL};
    struct position_new p = {.organisation_id = r->who.organisation_id,
                             .worker_id = r->who.user_id,
                             .source = "device",
                             .received_at = r->now};
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = read_position(r, "at", true, &p.position);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = active_visit_id(r, p.worker_id, &p.visit_id);
    if (!rc)
        rc = store_position_add(r->st, &p);
    if (!rc)
        rc = store_commit(r->st);
    if (rc)
        return rc;
    json_t *o = json_pack("{s:o}", "received_at", render_time(r->now));
    render_set_id(o, "visit_id", p.visit_id);
    return request_answer(r, 201, o);
}

/* ---- the worker's alert profile and device ---- */

int api_alert_profile_get(struct request *r)
{
    struct alert_profile p = {0};
    int rc = load_profile(r, r->who.user_id, &p);
    if (!rc)
        rc = request_answer(r, 200, render_profile(&p));
    alert_profile_fini(&p);
    return rc;
}

/* What a PUT asks for. */
struct profile_change {
    bool code_given, duress_given, consent_given;
    const char *code, *duress, *current; /* NULL: clear (code, duress), none (current) */
    bool consent;
    char code_hash[SECRET_PWHASH_MAX];
    char duress_hash[SECRET_PWHASH_MAX];
};

static int read_profile_change(struct request *r, struct profile_change *c)
{
    static const char *const fields[] = {"code", "duress_code", "current_code", "location_consent",
                                         NULL};
    bool present;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "code", JIN_NULLABLE, check_code, "4-12 digits", &c->code,
                     &c->code_given);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "duress_code", JIN_NULLABLE, check_code, "4-12 digits",
                     &c->duress, &c->duress_given);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "current_code", JIN_NULLABLE, NULL, NULL, &c->current,
                     &present);
    if (!rc && c->current && strlen(c->current) > CURRENT_CODE_MAX)
        rc = request_fail(r, -NA_EINVAL, "current_code", "not your code");
    if (!rc)
        rc = jin_bool(r, r->body, "location_consent", JIN_NULLABLE, &c->consent, &c->consent_given);
    return rc;
}

static bool code_matches(const char *hash, const char *code)
{
    return hash && code && secret_password_verify(hash, code, strlen(code));
}

/* The codes as they will be: the normal one first, the duress code apart from it. */
static int check_codes(struct request *r, const struct alert_profile *p,
                       const struct profile_change *c)
{
    bool code_after = c->code_given ? c->code != NULL : p->code_hash != NULL;
    bool duress_after = c->duress_given ? c->duress != NULL : p->duress_hash != NULL;
    if ((c->code_given || c->duress_given) && p->code_hash &&
        !code_matches(p->code_hash, c->current))
        return request_fail(r, -NA_EINVAL, "current_code",
                            c->current ? "not your code" : "required to change a code");
    if (duress_after && !code_after)
        return request_fail(r, -NA_EINVAL, c->duress_given ? "duress_code" : "code",
                            "a duress code needs a normal code");
    bool same = false;
    if (c->code && c->duress)
        same = strcmp(c->code, c->duress) == 0;
    else if (c->duress && !c->code_given)
        same = code_matches(p->code_hash, c->duress);
    else if (c->code && !c->duress_given)
        same = code_matches(p->duress_hash, c->code);
    if (same)
        return request_fail(r, -NA_EINVAL, "duress_code", "must differ from the normal code");
    return 0;
}

static int hash_codes(struct profile_change *c)
{
    int rc = 0;
    if (c->code)
        rc = secret_password_hash(c->code, strlen(c->code), c->code_hash);
    if (!rc && c->duress)
        rc = secret_password_hash(c->duress, strlen(c->duress), c->duress_hash);
    return rc;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* p with the change applied; *what names the changes for the audit log (size n). */
static void apply_change(struct request *r, struct alert_profile *p, const struct profile_change *c,
                         char *what, size_t n)
{
    what[0] = '\0';
    if (c->code_given) {
        free(p->code_hash);
        p->code_hash = c->code ? xstrdup(c->code_hash) : NULL;
        snprintf(what, n, "%s", "code");
    }
    if (c->duress_given) {
        free(p->duress_hash);
        p->duress_hash = c->duress ? xstrdup(c->duress_hash) : NULL;
        snprintf(what + strlen(what), n - strlen(what), "%sduress_code", what[0] ? "," : "");
    }
    if (c->consent_given && c->consent != p->location_consent) {
        p->location_consent = c->consent;
        p->consent_changed_at = r->now;
        snprintf(what + strlen(what), n - strlen(what), "%slocation_consent", what[0] ? "," : "");
    }
    p->updated_at = r->now;
}

int api_alert_profile_put(struct request *r)
{
    struct profile_change c = {0};
    struct alert_profile before = {0}, p = {0};
    char what[64];
    int rc = read_profile_change(r, &c);
    /* Hashing and verifying take tens of milliseconds: done before the transaction. */
    if (!rc)
        rc = load_profile(r, r->who.user_id, &before);
    if (!rc)
        rc = check_codes(r, &before, &c);
    if (!rc)
        rc = hash_codes(&c);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = load_profile(r, r->who.user_id, &p);
    if (!rc &&
        !(same_text(p.code_hash, before.code_hash) && same_text(p.duress_hash, before.duress_hash)))
        rc = request_fail(r, -NA_ECONFLICT, NULL, "the codes changed meanwhile: try again");
    if (!rc) {
        apply_change(r, &p, &c, what, sizeof what);
        rc = watch_device_test_start(r->st, &p, r->now);
    }
    if (!rc)
        rc = store_alert_profile_put(r->st, &p);
    if (!rc && what[0])
        rc = api_audit(r, "alert_profile.update", "user", r->who.user_id, what);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc) {
        /* The row (and its device date) may have moved to this node: its job too. */
        watch_device_changed(r->api->watch, &p);
        rc = request_answer(r, 200, render_profile(&p));
    }
    alert_profile_fini(&before);
    alert_profile_fini(&p);
    return rc;
}

int api_device_report(struct request *r)
{
    static const char *const fields[] = {"battery_pct", NULL};
    struct alert_profile p = {0};
    struct id_list outbox = {0};
    json_t *b = json_object_get(r->body, "battery_pct");
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc && (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 100))
        rc = request_fail(r, -NA_EINVAL, "battery_pct", "an integer from 0 to 100");
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = load_profile(r, r->who.user_id, &p);
    if (!rc)
        rc = watch_device_report(r->api->watch, r->st, &p, (int)json_integer_value(b), r->now,
                                 &outbox);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc) {
        watch_device_changed(r->api->watch, &p);
        watch_deliver(r->api->watch, outbox.ids, outbox.n);
        rc = request_answer(r, 200, render_device(&p));
    }
    id_list_fini(&outbox);
    alert_profile_fini(&p);
    return rc;
}
