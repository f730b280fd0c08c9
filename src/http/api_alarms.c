/* Alarms, for those who handle them: the queue, claiming, calls, notes, escalation, closing
 * (§9.11); the figures, the settings and the police URNs (§9.3.6-9.3.7). */
#include <stdlib.h>
#include <string.h>

#include "core/alarm.h"
#include "core/roles.h"
#include "core/validate.h"
#include "http/api.h"
#include "http/json_in.h"
#include "http/metrics.h"
#include "http/render.h"
#include "store/store_alarms.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/events.h"
#include "watch/watch.h"

/* Who changes the settings and the URNs. */
#define ALARM_ADMIN_ROLES (ROLE_ADMIN | ROLE_LSMS)

#define DAY_MS           (24LL * 3600 * 1000)
#define FIGURES_DEFAULT  (30 * DAY_MS)
#define FIGURES_MAX      (366 * DAY_MS)
#define POLICE_PERIOD_MS (365 * DAY_MS)

/* ---- who sees an alarm ---- */

/* The buddy of the alarm's visit (0: no visit, no buddy). */
static int alarm_buddy(struct request *r, const struct alarm_row *a, int64_t *out)
{
    struct visit_row v = {0};
    *out = 0;
    if (!a->visit_id)
        return 0;
    int rc = store_visit_get(r->st, a->organisation_id, a->visit_id, &v);
    if (!rc)
        *out = v.buddy_id;
    visit_row_fini(&v);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

/* access_sees_alarm, reading the buddy and the worker's teams only when they matter. */
int api_alarm_visible(struct request *r, const struct alarm_row *a, bool *out)
{
    int64_t *teams = NULL;
    size_t n_teams = 0;
    int64_t buddy = 0;
    *out = access_sees_alarm(&r->who, a->worker_id, 0, NULL, 0);
    if (*out || a->worker_id == r->who.user_id)
        return 0;
    int rc = alarm_buddy(r, a, &buddy);
    if (rc)
        return rc;
    *out = access_sees_alarm(&r->who, a->worker_id, buddy, NULL, 0);
    if (*out || !r->who.n_managed_team_ids)
        return 0;
    rc = store_user_team_ids(r->st, r->who.organisation_id, a->worker_id, &teams, &n_teams);
    *out = !rc && access_sees_alarm(&r->who, a->worker_id, buddy, teams, n_teams);
    free(teams);
    return rc;
}

int api_alarm_load(struct request *r, bool worker_ok, struct alarm_row *a)
{
    int64_t id;
    bool visible = false;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_alarm_get(r->st, r->who.organisation_id, id, a);
    if (!rc)
        visible = worker_ok && a->worker_id == r->who.user_id &&
                  alarm_worker_raised(a->clock.kind, a->source);
    if (!rc && !visible)
        rc = api_alarm_visible(r, a, &visible);
    return !rc && !visible ? -NA_ENOTFOUND : rc;
}

/* The alarm with its worker's display name; NULL when storage fails. */
static json_t *alarm_json(struct request *r, const struct alarm_row *a, bool full)
{
    struct user_row u = {0};
    int rc = store_user_get(r->st, a->organisation_id, a->worker_id, &u);
    json_t *o = rc && rc != -NA_ENOTFOUND ? NULL : render_alarm(a, u.display_name, full);
    user_row_fini(&u);
    return o;
}

/* ---- the queue and the list ---- */

static int read_state(struct request *r, int *state, bool *queue)
{
    const char *s = request_query(r, "state");
    *queue = !s;
    *state = 0;
    if (!s || strcmp(s, "all") == 0)
        return 0;
    *state = alarm_state_parse(s);
    if (!*state)
        return request_fail(r, -NA_EMALFORMED, "state", "open, claimed, closed or all");
    return 0;
}

/* Items of the rows the caller sees; worker_id (0: any) filters the queue. */
static int list_items(struct request *r, const struct alarm_row *rows, size_t n, int64_t worker_id,
                      json_t *items)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        bool visible = false;
        if (worker_id && rows[i].worker_id != worker_id)
            continue;
        rc = api_alarm_visible(r, &rows[i], &visible);
        if (rc || !visible)
            continue;
        json_t *o = alarm_json(r, &rows[i], false);
        if (!o)
            rc = -NA_ESTORE;
        else
            json_array_append_new(items, o);
    }
    return rc;
}

int api_alarm_list(struct request *r)
{
    struct alarm_filter f = {0};
    struct alarm_row *rows = NULL;
    size_t n = 0;
    int limit;
    int64_t before;
    bool queue;
    int rc = read_state(r, &f.state, &queue);
    if (!rc)
        rc = request_query_id(r, "worker_id", &f.worker_id);
    if (!rc)
        rc = request_page(r, "before", &limit, &before);
    if (!rc && queue && before)
        rc = request_fail(r, -NA_EMALFORMED, "before", "the queue is not paged: give a state");
    if (rc)
        return rc;
    if (queue)
        rc = store_alarm_queue(r->st, r->who.organisation_id, limit, &rows, &n);
    else
        rc = store_alarm_list(r->st, r->who.organisation_id, &f, before, limit + 1, &rows, &n);
    if (rc)
        return rc;
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    rc = list_items(r, rows, shown, queue ? f.worker_id : 0, items);
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    alarm_rows_free(rows, n);
    if (rc) {
        json_decref(items);
        return rc;
    }
    return request_answer(r, 200, render_page(items, "next_before", next));
}

/* ---- one alarm ---- */

/* Coordinates a timeline line might carry, shown only when the worker consented. */
static void scrub_location(json_t *line)
{
    static const char *const keys[] = {"latitude", "longitude", "accuracy_m", "position",
                                       "location"};
    json_t *data = json_object_get(line, "data");
    if (!json_is_object(data))
        return;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_del(data, keys[i]);
}

static json_t *timeline_json(const struct alarm_event_row *rows, size_t n, bool located)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *line = render_alarm_event(&rows[i]);
        if (!located)
            scrub_location(line);
        json_array_append_new(a, line);
    }
    return a;
}

static json_t *evidence_hashes(const struct evidence_row *rows, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, render_evidence(&rows[i], false));
    return a;
}

/* The read of the pack (personal data, perhaps a location) in the audit log. */
static int audit_read(struct request *r, int64_t alarm_id)
{
    int rc = store_begin(r->st);
    if (!rc)
        rc = api_audit(r, "alarm.read", "alarm", alarm_id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc;
}

int api_alarm_get(struct request *r)
{
    struct alarm_row a = {0};
    struct alarm_event_row *lines = NULL;
    struct evidence_row *files = NULL;
    size_t n_lines = 0, n_files = 0;
    json_t *o = NULL, *pack = NULL;
    int rc = api_alarm_load(r, false, &a);
    if (!rc)
        rc = store_alarm_events(r->st, a.organisation_id, a.id, &lines, &n_lines);
    if (!rc)
        rc = store_evidence_list(r->st, a.organisation_id, a.id, &files, &n_files);
    if (!rc && !(pack = watch_alarm_pack(r->st, &a, r->now)))
        rc = -NA_ESTORE;
    if (!rc && !(o = alarm_json(r, &a, true)))
        rc = -NA_ESTORE;
    if (!rc)
        rc = audit_read(r, a.id);
    if (!rc) {
        bool located = json_is_true(json_object_get(pack, "location_shared"));
        json_object_set_new(o, "timeline", timeline_json(lines, n_lines, located));
        json_object_set_new(o, "evidence", evidence_hashes(files, n_files));
        json_object_set(o, "pack", pack);
        request_answer(r, 200, o);
        o = NULL;
    }
    json_decref(o);
    json_decref(pack);
    alarm_event_rows_free(lines, n_lines);
    evidence_rows_free(files, n_files);
    alarm_row_fini(&a);
    return rc;
}

/* ---- changes: one transaction each, with a timeline line and an event ---- */

/*
 * Begins the change of the alarm of the path. holder: only the one holding the claim may
 * make it, and not once it is closed.
 */
static int change_begin(struct request *r, bool holder, struct alarm_row *a)
{
    int rc = store_begin(r->st);
    if (!rc)
        rc = api_alarm_load(r, false, a);
    if (rc || !holder)
        return rc;
    if (a->clock.state == ALARM_CLOSED)
        return request_fail(r, -NA_ECONFLICT, NULL, "the alarm is closed");
    if (a->clock.state != ALARM_CLAIMED || a->clock.claimed_by != r->who.user_id)
        return request_fail(r, -NA_ECONFLICT, NULL, "claim the alarm first");
    return 0;
}

/* Writes the alarm back, its timeline line (data: a JSON object or NULL) and its event. */
static int change_record(struct request *r, struct alarm_row *a, const char *kind,
                         const char *detail, json_t *data, const char *event_kind)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    struct alarm_event e = {.alarm_id = a->id,
                            .organisation_id = a->organisation_id,
                            .at = r->now,
                            .kind = kind,
                            .actor_id = r->who.user_id,
                            .detail = detail,
                            .data = text};
    a->updated_at = r->now;
    int rc = data && !text ? -NA_ESTORE : store_alarm_update(r->st, a);
    if (!rc)
        rc = store_alarm_event_add(r->st, &e);
    if (!rc) {
        json_t *extra = strcmp(event_kind, EVENT_ALARM_UPDATED) == 0
                            ? json_pack("{s:s}", "change", kind)
                            : NULL;
        rc = events_add_alarm(r->st, event_kind, a, r->who.user_id, r->now, extra);
        json_decref(extra);
    }
    free(text);
    return rc;
}

/* Commits, hands the notifications and the alarm to the watch, answers the alarm. */
static int change_commit(struct request *r, struct alarm_row *a, struct id_list *outbox,
                         const char *what)
{
    int rc = store_commit(r->st);
    if (rc)
        return rc;
    log_info("alarm_changed", "alarm_id=%lld change=%s user_id=%lld", (long long)a->id, what,
             (long long)r->who.user_id);
    if (outbox && outbox->n)
        watch_deliver(r->api->watch, outbox->ids, outbox->n);
    watch_alarm_changed(r->api->watch, a);
    json_t *o = alarm_json(r, a, true);
    return o ? request_answer(r, 200, o) : -NA_ESTORE;
}

int api_alarm_claim(struct request *r)
{
    static const char *const fields[] = {"take_over", NULL};
    struct alarm_row a = {0};
    bool take_over = false, present;
    char detail[64] = "";
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_bool(r, r->body, "take_over", 0, &take_over, &present);
    if (!rc)
        rc = change_begin(r, false, &a);
    int64_t before = a.clock.claimed_by;
    bool again = !rc && before == r->who.user_id && a.clock.state == ALARM_CLAIMED;
    if (!rc) {
        rc = alarm_claim(&a.clock, r->who.user_id, take_over, r->now);
        if (rc == -NA_ECONFLICT)
            request_fail(r, rc, NULL,
                         a.clock.state == ALARM_CLOSED
                             ? "the alarm is closed"
                             : "another operator holds the alarm: take it over explicitly");
    }
    if (!rc && before && before != r->who.user_id)
        snprintf(detail, sizeof detail, "taken over from user %lld", (long long)before);
    if (!rc && !again)
        rc = change_record(r, &a, "claimed", detail[0] ? detail : NULL, NULL, EVENT_ALARM_CLAIMED);
    if (!rc)
        rc = change_commit(r, &a, NULL, "claimed");
    alarm_row_fini(&a);
    return rc;
}

/* ---- calls ---- */

static const char *const call_targets[] = {"worker",     "contact",    "emergency_services",
                                           "police_101", "police_urn", NULL};

static int check_call_target(const char *s)
{
    for (size_t i = 0; call_targets[i]; i++)
        if (strcmp(s, call_targets[i]) == 0)
            return 0;
    return -NA_EINVAL;
}

static int check_name(const char *s)
{
    return validate_text(s, 1, 200);
}

static int check_number(const char *s)
{
    return validate_text(s, 1, 40);
}

static int check_outcome_text(const char *s)
{
    return validate_text(s, 1, 500);
}

static int check_reference(const char *s)
{
    return validate_text(s, 1, 64);
}

/* Reads the call into data (to, name, number, outcome, police_reference). */
static int read_call(struct request *r, json_t *data, const char **to, const char **reference)
{
    static const char *const fields[] = {"to", "name", "number", "outcome", "police_reference",
                                         NULL};
    const char *name = NULL, *number = NULL, *outcome = NULL;
    bool present;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "to", JIN_REQUIRED, check_call_target,
                     "worker, contact, emergency_services, police_101 or police_urn", to, &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "name", JIN_NULLABLE, check_name, "1-200 characters", &name,
                     &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "number", JIN_NULLABLE, check_number, "1-40 characters",
                     &number, &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "outcome", JIN_REQUIRED, check_outcome_text,
                     "1-500 characters: what came of the call", &outcome, &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "police_reference", JIN_NULLABLE, check_reference,
                     "1-64 characters", reference, &present);
    if (rc)
        return rc;
    json_object_set_new(data, "to", json_string(*to));
    json_object_set_new(data, "name", name ? json_string(name) : json_null());
    json_object_set_new(data, "number", number ? json_string(number) : json_null());
    json_object_set_new(data, "outcome", json_string(outcome));
    json_object_set_new(data, "police_reference",
                        *reference ? json_string(*reference) : json_null());
    return 0;
}

/* Passing the alarm to the police under the worker's URN: red and duress alarms only. */
static int take_urn(struct request *r, struct alarm_row *a, json_t *data)
{
    struct urn_row u = {0};
    if (a->clock.kind != ALARM_RED && a->clock.kind != ALARM_DURESS && !a->clock.duress)
        return request_fail(r, -NA_EINVAL, "to",
                            "an overdue worker is not a URN case: use the escalation path, 999 "
                            "or 101");
    int rc = store_urn_for_worker(r->st, a->organisation_id, a->worker_id, &u);
    if (rc == -NA_ENOTFOUND)
        return request_fail(r, -NA_EINVAL, "to",
                            "no police URN is set for the worker's team or organisation");
    if (!rc) {
        free(a->police_urn);
        a->police_urn = xstrdup(u.urn);
        json_object_set_new(data, "urn", json_string(u.urn));
    }
    urn_row_fini(&u);
    return rc;
}

int api_alarm_call(struct request *r)
{
    struct alarm_row a = {0};
    json_t *data = json_object();
    const char *to = NULL, *reference = NULL;
    int rc = change_begin(r, true, &a);
    if (!rc)
        rc = read_call(r, data, &to, &reference);
    if (!rc && strcmp(to, "police_urn") == 0)
        rc = take_urn(r, &a, data);
    if (!rc && reference) {
        free(a.police_reference);
        a.police_reference = xstrdup(reference);
    }
    if (!rc)
        rc = change_record(r, &a, "call", to, data, EVENT_ALARM_UPDATED);
    if (!rc)
        rc = change_commit(r, &a, NULL, "call");
    json_decref(data);
    alarm_row_fini(&a);
    return rc;
}

static int check_note(const char *s)
{
    return validate_text(s, 1, 2000);
}

int api_alarm_note(struct request *r)
{
    static const char *const fields[] = {"text", NULL};
    struct alarm_row a = {0};
    const char *text = NULL;
    bool present;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "text", JIN_REQUIRED, check_note, "1-2000 characters", &text,
                     &present);
    if (!rc)
        rc = change_begin(r, false, &a);
    if (!rc)
        rc = change_record(r, &a, "note", text, NULL, EVENT_ALARM_UPDATED);
    if (!rc)
        rc = change_commit(r, &a, NULL, "note");
    alarm_row_fini(&a);
    return rc;
}

static int check_contact(const char *s)
{
    return alarm_path_contact_parse(s) ? 0 : -NA_EINVAL;
}

static int read_escalation(struct request *r, struct alarm_path_step *to, const char **note)
{
    static const char *const fields[] = {"contact", "target_id", "note", NULL};
    const char *contact = NULL;
    bool present;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "contact", JIN_REQUIRED, check_contact,
                     "operators, buddy, line_manager, senior_manager, user or channel", &contact,
                     &present);
    if (rc)
        return rc;
    to->contact = alarm_path_contact_parse(contact);
    bool targeted = to->contact == PATH_USER || to->contact == PATH_CHANNEL;
    rc = jin_id(r, r->body, "target_id", targeted ? JIN_REQUIRED : 0, &to->target_id, &present);
    if (!rc && present && !targeted)
        rc = request_fail(r, -NA_EINVAL, "target_id", "only for a user or a channel");
    if (!rc)
        rc = jin_str(r, r->body, NULL, "note", JIN_NULLABLE, check_outcome_text, "1-500 characters",
                     note, &present);
    return rc;
}

int api_alarm_escalate(struct request *r)
{
    struct alarm_row a = {0};
    struct alarm_path_step to = {0};
    struct id_list outbox = {0};
    const char *note = NULL;
    int rc = change_begin(r, true, &a);
    if (!rc)
        rc = read_escalation(r, &to, &note);
    if (!rc) {
        rc = watch_alarm_escalate(r->api->watch, r->st, &a, &to, note, r->who.user_id, r->now,
                                  &outbox);
        if (rc == -NA_ENOTFOUND)
            request_fail(r, rc, to.target_id ? "target_id" : "contact",
                         "nobody to tell: no such contact for this alarm");
    }
    if (!rc)
        rc = change_commit(r, &a, &outbox, "escalated");
    id_list_fini(&outbox);
    alarm_row_fini(&a);
    return rc;
}

static int check_close_outcome(const char *s)
{
    enum alarm_outcome o = alarm_outcome_parse(s);
    return o ? 0 : -NA_EINVAL;
}

int api_alarm_close(struct request *r)
{
    static const char *const fields[] = {"outcome", "found_safe", "note", NULL};
    struct alarm_row a = {0};
    struct id_list outbox = {0};
    const char *outcome = NULL, *found_safe = NULL, *note = NULL;
    bool present;
    int rc = change_begin(r, true, &a);
    if (!rc)
        rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "outcome", JIN_REQUIRED, check_close_outcome,
                     "genuine, false_accidental, false_malicious or test", &outcome, &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "found_safe", JIN_REQUIRED, check_outcome_text,
                     "1-500 characters: how the worker was confirmed safe", &found_safe, &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "note", JIN_NULLABLE, check_note, "1-2000 characters", &note,
                     &present);
    if (!rc) {
        rc = watch_alarm_close(r->api->watch, r->st, &a, alarm_outcome_parse(outcome), found_safe,
                               note, r->who.user_id, r->now, &outbox);
        if (rc == -NA_ECONFLICT)
            request_fail(r, rc, NULL, "the alarm is closed");
    }
    if (!rc)
        rc = change_commit(r, &a, &outbox, "closed");
    id_list_fini(&outbox);
    alarm_row_fini(&a);
    return rc;
}

/* ---- figures ---- */

static int read_period(struct request *r, int64_t *from, int64_t *to)
{
    const char *f = request_query(r, "from"), *t = request_query(r, "to");
    *to = r->now;
    if (t && time_parse_iso(t, to))
        return request_fail(r, -NA_EMALFORMED, "to", "an RFC 3339 time in UTC");
    *from = *to - FIGURES_DEFAULT;
    if (f && time_parse_iso(f, from))
        return request_fail(r, -NA_EMALFORMED, "from", "an RFC 3339 time in UTC");
    if (*from >= *to)
        return request_fail(r, -NA_EINVAL, "from", "must be before to");
    if (*to - *from > FIGURES_MAX)
        return request_fail(r, -NA_EINVAL, "from", "a period of at most 366 days");
    return 0;
}

static json_t *spread_json(const struct alarm_spread *s, bool shares)
{
    json_t *o = json_pack("{s:I,s:f,s:f,s:f}", "n", (json_int_t)s->n, "median_s",
                          (double)s->median_ms / 1000.0, "p90_s", (double)s->p90_ms / 1000.0,
                          "p99_s", (double)s->p99_ms / 1000.0);
    if (o && shares) {
        json_object_set_new(o, "within_10s", json_real(s->within_10s));
        json_object_set_new(o, "within_40s", json_real(s->within_40s));
    }
    return o;
}

int api_alarm_figures(struct request *r)
{
    struct alarm_figures f;
    int64_t from, to;
    if (!access_has_role(&r->who, ACCESS_ALARM_ROLES))
        return -NA_EFORBIDDEN;
    int rc = read_period(r, &from, &to);
    if (!rc)
        rc = metrics_alarm_figures(r->st, r->who.organisation_id, from, to, r->now, &f);
    if (rc == -NA_ETOOBIG)
        return request_fail(r, rc, "from", "too many alarms in the period: ask for a shorter one");
    if (rc)
        return rc;
    json_t *claim = spread_json(&f.claim, true);
    if (claim) {
        json_object_set_new(claim, "unclaimed", json_integer((json_int_t)f.unclaimed));
        json_object_set_new(claim, "target_within_10s", json_real(ALARM_TARGET_WITHIN_10S));
        json_object_set_new(claim, "target_within_40s", json_real(ALARM_TARGET_WITHIN_40S));
        json_object_set_new(claim, "meets_targets", json_boolean(f.meets_targets));
    }
    return request_answer(
        r, 200,
        json_pack("{s:o,s:o,s:I,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "from", render_time(from), "to",
                  render_time(to), "red_alarms", (json_int_t)f.red_alarms, "claim", claim, "close",
                  spread_json(&f.close, false), "outcomes", "genuine", (json_int_t)f.genuine,
                  "false_accidental", (json_int_t)f.false_accidental, "false_malicious",
                  (json_int_t)f.false_malicious, "test", (json_int_t)f.test, "still_open",
                  (json_int_t)f.still_open));
}

/* ---- settings ---- */

int api_alarm_settings_get(struct request *r)
{
    struct alarm_settings s;
    if (!access_has_role(&r->who, ACCESS_ALARM_ROLES))
        return -NA_EFORBIDDEN;
    int rc = alarm_settings_load(r->st, r->who.organisation_id, &s);
    return rc ? rc : request_answer(r, 200, alarm_settings_to_json(&s));
}

/* The settings in force with the fields of the body put over them. */
static int merge_settings(struct request *r, struct alarm_settings *s, char **text)
{
    char field[128] = "";
    json_t *merged = alarm_settings_to_json(s);
    int rc = merged ? json_object_update(merged, r->body) ? -NA_ESTORE : 0 : -NA_ESTORE;
    if (!rc && alarm_settings_from_json(merged, s, field, sizeof field))
        rc = request_fail(r, -NA_EINVAL, field, NULL);
    json_decref(merged);
    json_t *out = rc ? NULL : alarm_settings_to_json(s);
    if (!rc && !(*text = out ? json_dumps(out, JSON_COMPACT) : NULL))
        rc = -NA_ESTORE;
    json_decref(out);
    return rc;
}

int api_alarm_settings_put(struct request *r)
{
    struct alarm_settings s;
    char *text = NULL;
    if (!access_has_role(&r->who, ALARM_ADMIN_ROLES))
        return -NA_EFORBIDDEN;
    int rc = store_begin(r->st);
    if (!rc)
        rc = store_org_lock(r->st, r->who.organisation_id);
    if (!rc)
        rc = alarm_settings_load(r->st, r->who.organisation_id, &s);
    if (!rc)
        rc = merge_settings(r, &s, &text);
    if (!rc)
        rc = store_alarm_settings_put(r->st, r->who.organisation_id, text, r->now);
    if (!rc)
        rc = api_audit(r, "alarm_settings.update", "organisation", r->who.organisation_id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    free(text);
    return rc ? rc : request_answer(r, 200, alarm_settings_to_json(&s));
}

/* ---- police URNs ---- */

static int urn_json(struct request *r, const struct urn_row *u, int limit, json_t **out)
{
    int64_t n = 0;
    int rc = store_alarm_count_false_urn(r->st, u->organisation_id, u->urn,
                                         r->now - POLICE_PERIOD_MS, &n);
    if (rc)
        return rc;
    *out = json_pack("{s:I,s:s,s:o,s:o,s:o,s:I,s:i,s:b}", "id", (json_int_t)u->id, "urn", u->urn,
                     "team_id", u->team_id ? json_integer(u->team_id) : json_null(), "label",
                     u->label ? json_string(u->label) : json_null(), "created_at",
                     render_time(u->created_at), "false_calls_12m", (json_int_t)n, "limit", limit,
                     "at_risk", n >= limit - 1);
    return *out ? 0 : -NA_ESTORE;
}

int api_urn_list(struct request *r)
{
    struct alarm_settings s;
    struct urn_row *rows = NULL;
    size_t n = 0;
    if (!access_has_role(&r->who, ACCESS_ALARM_ROLES))
        return -NA_EFORBIDDEN;
    int rc = alarm_settings_load(r->st, r->who.organisation_id, &s);
    if (!rc)
        rc = store_urn_list(r->st, r->who.organisation_id, &rows, &n);
    json_t *items = json_array();
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *o;
        rc = urn_json(r, &rows[i], s.police_false_limit, &o);
        if (!rc)
            json_array_append_new(items, o);
    }
    urn_rows_free(rows, n);
    if (rc) {
        json_decref(items);
        return rc;
    }
    return request_answer(r, 200, json_pack("{s:o}", "items", items));
}

static int check_urn(const char *s)
{
    return validate_text(s, 1, 64);
}

static int read_urn(struct request *r, struct urn_row *u)
{
    static const char *const fields[] = {"urn", "team_id", "label", NULL};
    const char *urn = NULL, *label = NULL;
    bool present;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "urn", JIN_REQUIRED, check_urn,
                     "1-64 printable characters, kept exactly as given", &urn, &present);
    if (!rc)
        rc = jin_id(r, r->body, "team_id", JIN_NULLABLE, &u->team_id, &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "label", JIN_NULLABLE, check_name, "1-200 characters",
                     &label, &present);
    if (rc)
        return rc;
    u->urn = xstrdup(urn);
    u->label = label ? xstrdup(label) : NULL;
    return 0;
}

int api_urn_create(struct request *r)
{
    struct alarm_settings s;
    struct urn_row u = {.organisation_id = r->who.organisation_id, .created_at = r->now};
    struct team_row t = {0};
    json_t *o = NULL;
    if (!access_has_role(&r->who, ALARM_ADMIN_ROLES))
        return -NA_EFORBIDDEN;
    int rc = read_urn(r, &u);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc && u.team_id) {
        rc = store_team_get(r->st, u.organisation_id, u.team_id, &t);
        if (rc == -NA_ENOTFOUND)
            rc = request_fail(r, -NA_EINVAL, "team_id", "no such team");
    }
    if (!rc) {
        rc = store_urn_create(r->st, &u, &u.id);
        if (rc == -NA_ECONFLICT)
            request_fail(r, rc, "team_id",
                         u.team_id ? "the team already has a URN" : "the organisation has a URN");
    }
    if (!rc)
        rc = api_audit(r, "police_urn.create", "police_urn", u.id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc)
        rc = alarm_settings_load(r->st, r->who.organisation_id, &s);
    if (!rc)
        rc = urn_json(r, &u, s.police_false_limit, &o);
    if (!rc)
        request_answer(r, 201, o);
    team_row_fini(&t);
    urn_row_fini(&u);
    return rc;
}

int api_urn_delete(struct request *r)
{
    int64_t id;
    if (!access_has_role(&r->who, ALARM_ADMIN_ROLES))
        return -NA_EFORBIDDEN;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_urn_delete(r->st, r->who.organisation_id, id);
    if (!rc)
        rc = api_audit(r, "police_urn.delete", "police_urn", id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc ? rc : request_answer(r, 204, NULL);
}
