/*
 * Alarms inside the watch: opening one (a red alert, a duress code, a passed amber
 * deadline, an overdue worker's escalation, a device test), telling the organisation's
 * red-alert path with the pack, telling the operators again while nobody claims it,
 * escalating by hand, closing with an outcome (and counting false alarms per worker and per
 * police URN), and the device's notices (low battery, not tested). Used by the HTTP
 * handlers and the scheduler, always inside the caller's transaction. The alarm's own
 * worker is never told: a duress alarm must not show on their devices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "http/render.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/events.h"
#include "watch/watch_internal.h"

#define DAY_MS        (24LL * 3600 * 1000)
#define URN_PERIOD_MS (365 * DAY_MS)
#define TEXT_MAX      (64u * 1024)
#define DEVICE_NAG_MS DAY_MS

/* ---- recipients (watch_internal.h): whom alarms and device notices tell ---- */

void recipients_fini(struct recipients *r)
{
    free(r->users);
    free(r->channels);
    memset(r, 0, sizeof *r);
}

static void push_unique(int64_t **arr, size_t *n, int64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if ((*arr)[i] == id)
            return;
    *arr = xrealloc(*arr, *n + 1, sizeof **arr);
    (*arr)[(*n)++] = id;
}

static void add_user(struct recipients *r, int64_t id)
{
    if (id && id != r->worker_id)
        push_unique(&r->users, &r->n_users, id);
}

/* Enabled users of the organisation holding role; *added: how many were new. */
static int role_users(struct store *st, int64_t org_id, unsigned role, struct recipients *r,
                      size_t *added)
{
    int64_t *ids = NULL;
    size_t n = 0, before = r->n_users;
    int rc = store_user_ids_with_roles(st, org_id, role, &ids, &n);
    for (size_t i = 0; !rc && i < n; i++)
        add_user(r, ids[i]);
    free(ids);
    if (added)
        *added = r->n_users - before;
    return rc;
}

int recipients_user(struct store *st, int64_t org_id, int64_t user_id, struct recipients *r)
{
    struct user_row u = {0};
    int rc = store_user_get(st, org_id, user_id, &u);
    if (!rc && !u.disabled)
        add_user(r, user_id);
    user_row_fini(&u);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

int recipients_line_managers(struct store *st, int64_t org_id, int64_t worker_id,
                             struct recipients *r)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = store_line_managers_of(st, org_id, worker_id, &ids, &n);
    for (size_t i = 0; !rc && i < n; i++)
        add_user(r, ids[i]);
    free(ids);
    return rc;
}

int recipients_first_role(struct store *st, int64_t org_id, const unsigned *roles, size_t n,
                          struct recipients *r)
{
    size_t added = 0;
    int rc = 0;
    for (size_t i = 0; !rc && !added && i < n; i++)
        rc = role_users(st, org_id, roles[i], r, &added);
    return rc;
}

int recipients_operators(struct store *st, int64_t org_id, struct recipients *r)
{
    static const unsigned path[] = {ROLE_OPERATOR, ROLE_SENIOR_MANAGER, ROLE_ADMIN};
    return recipients_first_role(st, org_id, path, sizeof path / sizeof path[0], r);
}

int recipients_notify(struct watch *w, struct store *st, int64_t org_id, const struct recipients *r,
                      const struct notice *n, const char *key_base, int64_t now,
                      struct id_list *outbox)
{
    char key[192];
    struct notice keyed = *n;
    keyed.key = key;
    int rc = 0;
    for (size_t i = 0; !rc && i < r->n_users; i++) {
        snprintf(key, sizeof key, "%s:u%lld", key_base, (long long)r->users[i]);
        rc = notice_user(w, st, org_id, r->users[i], &keyed, now, outbox);
    }
    return rc;
}

/* Adds whom step p tells for alarm a (v: its visit, or NULL). */
static int step_recipients(struct store *st, const struct alarm_row *a, const struct visit_row *v,
                           const struct alarm_path_step *p, struct recipients *r)
{
    int64_t org = a->organisation_id;
    switch (p->contact) {
    case PATH_OPERATORS:
        /* Someone is always told: without operators, the senior managers, then admins. */
        return recipients_operators(st, org, r);
    case PATH_BUDDY:
        /* A buddy who has not accepted is not watching yet (§6.18.3). */
        return v && v->buddy_id && v->buddy_accepted_at ? recipients_user(st, org, v->buddy_id, r)
                                                        : 0;
    case PATH_LINE_MANAGER:
        return recipients_line_managers(st, org, a->worker_id, r);
    case PATH_SENIOR_MANAGER:
        return role_users(st, org, ROLE_SENIOR_MANAGER, r, NULL);
    case PATH_USER:
        return recipients_user(st, org, p->target_id, r);
    case PATH_CHANNEL:
        push_unique(&r->channels, &r->n_channels, p->target_id);
        return 0;
    }
    return 0;
}

/* The alarm's visit into v (*has set), when it has one. */
static int alarm_visit(struct store *st, const struct alarm_row *a, struct visit_row *v, bool *has)
{
    *has = false;
    if (!a->visit_id)
        return 0;
    int rc = store_visit_get(st, a->organisation_id, a->visit_id, v);
    *has = rc == 0;
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

/* Whom the steps path[0..n) tell (only the operators' steps when operators_only). */
static int path_recipients(struct store *st, const struct alarm_row *a,
                           const struct alarm_path_step *path, size_t n, bool operators_only,
                           struct recipients *r)
{
    struct visit_row v = {0};
    bool has_visit;
    memset(r, 0, sizeof *r);
    r->worker_id = a->worker_id;
    int rc = alarm_visit(st, a, &v, &has_visit);
    for (size_t i = 0; !rc && i < n; i++)
        if (!operators_only || path[i].contact == PATH_OPERATORS)
            rc = step_recipients(st, a, has_visit ? &v : NULL, &path[i], r);
    visit_row_fini(&v);
    return rc;
}

static int timeline(struct store *st, const struct alarm_row *a, const char *kind, int64_t actor,
                    const char *detail, json_t *data, int64_t now)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    struct alarm_event e = {.alarm_id = a->id,
                            .organisation_id = a->organisation_id,
                            .at = now,
                            .kind = kind,
                            .actor_id = actor,
                            .detail = detail,
                            .data = text};
    int rc = store_alarm_event_add(st, &e);
    free(text);
    return rc;
}

/* One message of an alarm to its recipients; step names the round for idempotency. */
struct alarm_message {
    const char *event;
    const char *step;
    const char *subject;
    const char *text;
    json_t *payload;
    const char *phone;
};

/* Tells every recipient, each with a "notified" line naming them on the timeline. */
static int tell(struct watch *w, struct store *st, const struct alarm_row *a,
                const struct alarm_message *m, const struct recipients *r, bool record, int64_t now,
                struct id_list *outbox)
{
    char key[160], detail[64];
    struct notice n = {.event = m->event,
                       .subject = m->subject,
                       .text = m->text,
                       .payload = m->payload,
                       .phone = m->phone,
                       .key = key};
    int rc = 0;
    for (size_t i = 0; !rc && i < r->n_users; i++) {
        snprintf(key, sizeof key, "alarm%lld:%s:u%lld", (long long)a->id, m->step,
                 (long long)r->users[i]);
        rc = notice_user(w, st, a->organisation_id, r->users[i], &n, now, outbox);
        snprintf(detail, sizeof detail, "user %lld", (long long)r->users[i]);
        json_t *data = json_pack("{s:I,s:s}", "user_id", (json_int_t)r->users[i], "step", m->step);
        if (!rc && record)
            rc = timeline(st, a, "notified", 0, detail, data, now);
        json_decref(data);
    }
    for (size_t i = 0; !rc && i < r->n_channels; i++) {
        struct channel_row c = {0};
        snprintf(key, sizeof key, "alarm%lld:%s:c%lld", (long long)a->id, m->step,
                 (long long)r->channels[i]);
        rc = store_channel_get(st, a->organisation_id, r->channels[i], &c);
        if (!rc)
            rc = notice_channel(w, st, &c, &n, now, outbox);
        channel_row_fini(&c);
        snprintf(detail, sizeof detail, "channel %lld", (long long)r->channels[i]);
        json_t *data =
            json_pack("{s:I,s:s}", "channel_id", (json_int_t)r->channels[i], "step", m->step);
        if (!rc && record)
            rc = timeline(st, a, "notified", 0, detail, data, now);
        json_decref(data);
        if (rc == -NA_ENOTFOUND)
            rc = 0; /* removed since the settings were read */
    }
    return rc;
}

static const char *pack_worker_name(json_t *pack)
{
    const char *s =
        json_string_value(json_object_get(json_object_get(pack, "worker"), "display_name"));
    return s ? s : "A worker";
}

/* The first line of an alarm's notices: what happened to whom. */
static void alarm_subject(const struct alarm_row *a, const char *name, struct buf *subject)
{
    bool device = a->source && strcmp(a->source, "dc09") == 0;
    if (a->clock.duress)
        buf_appendf(subject, "SILENT ALARM (duress code): %s; do not call the worker openly", name);
    else if (a->clock.kind == ALARM_AMBER)
        buf_appendf(subject, "Amber alert deadline passed: %s", name);
    else if (a->clock.kind == ALARM_OVERDUE && device)
        buf_appendf(subject, "LOSS OF SIGNAL: %s's device has gone silent", name);
    else if (a->clock.kind == ALARM_OVERDUE)
        buf_appendf(subject, "OVERDUE: %s has not checked in and escalation reached the ARC", name);
    else
        buf_appendf(subject, "RED ALERT: %s needs help now", name);
}

/* Tells recipients r about alarm a with its pack (round step: "open", "renotify2", ...). */
static int tell_alarm(struct watch *w, struct store *st, const struct alarm_row *a,
                      const struct alarm_settings *s, const struct recipients *r, const char *step,
                      const char *lead, int64_t now, struct id_list *outbox)
{
    struct buf subject, text;
    char at[40];
    json_t *pack = alarm_pack(st, a, s, now);
    if (!pack)
        return -NA_ESTORE;
    const char *name = pack_worker_name(pack);
    buf_init(&subject, 1024);
    buf_init(&text, TEXT_MAX);
    buf_appendf(&subject, "%s", lead ? lead : "");
    alarm_subject(a, name, &subject);
    buf_appendf(&text, "%s\n\nAlarm %lld, opened %s (%s). Claim it to take it.\n", subject.data,
                (long long)a->id, time_format_iso(a->clock.opened_at, at, sizeof at), a->source);
    if (a->message)
        buf_appendf(&text, "Message: %s\n", a->message);
    buf_append_str(&text, "\n");
    alarm_pack_text(pack, &text);
    json_t *payload = json_pack(
        "{s:s,s:I,s:s,s:b,s:I,s:o,s:o,s:O}", "event", "alarm.notify", "alarm_id", (json_int_t)a->id,
        "kind", alarm_kind_name(a->clock.kind), "duress", a->clock.duress, "worker_id",
        (json_int_t)a->worker_id, "visit_id", a->visit_id ? json_integer(a->visit_id) : json_null(),
        "opened_at", render_time(a->clock.opened_at), "pack", pack);
    struct alarm_message m = {
        .event = "alarm.notify",
        .step = step,
        .subject = subject.data,
        .text = text.data,
        .payload = payload,
        .phone = json_string_value(json_object_get(json_object_get(pack, "worker"), "phone"))};
    int rc = tell(w, st, a, &m, r, true, now, outbox);
    json_decref(payload);
    json_decref(pack);
    buf_fini(&subject);
    buf_fini(&text);
    return rc;
}

/* A short notice about alarm a (no pack) to r, not recorded as told. */
static int tell_short(struct watch *w, struct store *st, const struct alarm_row *a,
                      const struct recipients *r, const char *event, const char *step,
                      const char *subject, const char *text, int64_t now, struct id_list *outbox)
{
    json_t *payload =
        json_pack("{s:s,s:I,s:I,s:s,s:s}", "event", event, "alarm_id", (json_int_t)a->id,
                  "worker_id", (json_int_t)a->worker_id, "subject", subject, "text", text);
    struct alarm_message m = {
        .event = event, .step = step, .subject = subject, .text = text, .payload = payload};
    int rc = tell(w, st, a, &m, r, false, now, outbox);
    json_decref(payload);
    return rc;
}

/* The worker's most recent active visit (0: none). */
static int active_visit(struct store *st, int64_t org_id, int64_t worker_id, int64_t *out)
{
    struct visit_filter f = {.state = VISIT_ACTIVE, .worker_id = worker_id};
    struct visit_row *rows = NULL;
    size_t n = 0;
    int rc = store_visit_list(st, org_id, &f, 0, STORE_LIST_MAX, &rows, &n);
    *out = !rc && n ? rows[n - 1].id : 0;
    visit_rows_free(rows, n);
    return rc;
}

/* The worker's alert profile; a fresh one (no codes, no battery reading) when never set. */
static int profile_of(struct store *st, int64_t org_id, int64_t worker_id, struct alert_profile *p)
{
    int rc = store_alert_profile_get(st, org_id, worker_id, p);
    if (rc == -NA_ENOTFOUND) {
        rc = 0;
        p->user_id = worker_id;
        p->organisation_id = org_id;
    }
    return rc;
}

/* Starts p's "not tested" clock when it has none and the organisation tests devices;
 * true when it started. */
static bool device_clock_start(struct alert_profile *p, const struct alarm_settings *s, int64_t now)
{
    if (p->test_due_at || !s->device_test_ms)
        return false;
    p->test_due_at = now + s->device_test_ms;
    return true;
}

int watch_device_test_start(struct store *st, struct alert_profile *p, int64_t now)
{
    struct alarm_settings s;
    int rc = alarm_settings_load(st, p->organisation_id, &s);
    if (!rc)
        device_clock_start(p, &s, now);
    return rc;
}

/* An alarm of a worker whose device was never to be tested yet: the clock starts. */
static int alarm_device_clock(struct watch *w, struct store *st, const struct alarm_row *a,
                              const struct alarm_settings *s, int64_t now)
{
    struct alert_profile p = {0};
    int rc = profile_of(st, a->organisation_id, a->worker_id, &p);
    if (!rc && device_clock_start(&p, s, now)) {
        p.updated_at = now;
        rc = store_alert_profile_put(st, &p);
        /* Scheduled now, as a test's is: a job for a rolled-back date finds no date. */
        if (!rc)
            watch_device_changed(w, &p);
    }
    alert_profile_fini(&p);
    return rc;
}

/* A test: the worker hears it arrived, and their device's test date moves. */
static int test_received(struct watch *w, struct store *st, const struct alarm_row *a,
                         const struct alarm_settings *s, int64_t now, struct id_list *outbox)
{
    struct alert_profile p = {0};
    struct recipients r = {0};
    char at[40], text[256];
    int rc = timeline(st, a, "closed", a->clock.closed_by, alarm_outcome_name(ALARM_OUTCOME_TEST),
                      NULL, now);
    if (!rc)
        rc = events_add_alarm(st, EVENT_ALARM_CLOSED, a, 0, now, NULL);
    snprintf(text, sizeof text,
             "Your test alert of %s reached notalone: your device works. Nobody else was told.",
             time_format_iso(now, at, sizeof at));
    push_unique(&r.users, &r.n_users, a->worker_id);
    if (!rc)
        rc = tell_short(w, st, a, &r, "alarm.test", "test", "Test received", text, now, outbox);
    recipients_fini(&r);
    if (!rc)
        rc = profile_of(st, a->organisation_id, a->worker_id, &p);
    p.device_tested_at = now;
    p.test_due_at = s->device_test_ms ? now + s->device_test_ms : 0;
    p.updated_at = now;
    if (!rc)
        rc = store_alert_profile_put(st, &p);
    /* Scheduled now rather than after the commit: a job that fires for a rolled-back
     * date finds the row as it is and does what that says. */
    if (!rc && p.test_due_at)
        watch_device_changed(w, &p);
    alert_profile_fini(&p);
    return rc;
}

static void fill_alarm(struct alarm_row *a, const struct alarm_request *q, int64_t visit_id,
                       const struct alarm_settings *s, int64_t now)
{
    memset(a, 0, sizeof *a);
    a->organisation_id = q->organisation_id;
    a->worker_id = q->worker_id;
    a->visit_id = visit_id;
    a->amber_alert_id = q->amber_alert_id;
    alarm_open(&a->clock, q->kind, q->duress, s->renotify_ms, now);
    if (q->kind == ALARM_TEST)
        a->clock.closed_by = q->by;
    a->alert_id = q->alert_id ? xstrdup(q->alert_id) : NULL;
    a->source = xstrdup(q->source ? q->source : "api");
    a->message = q->message ? xstrdup(q->message) : NULL;
    a->position = q->position;
    a->updated_at = now;
}

int watch_alarm_open(struct watch *w, struct store *st, const struct alarm_request *q, int64_t now,
                     struct alarm_row *out, struct id_list *outbox)
{
    struct alarm_settings s;
    struct recipients r = {0};
    int64_t visit_id = 0;
    memset(out, 0, sizeof *out);
    int rc = q->settings ? 0 : alarm_settings_load(st, q->organisation_id, &s);
    if (!rc && q->settings)
        s = *q->settings;
    if (!rc && q->visit_id)
        visit_id = q->visit_id;
    else if (!rc)
        rc = active_visit(st, q->organisation_id, q->worker_id, &visit_id);
    if (rc)
        return rc;
    fill_alarm(out, q, visit_id, &s, now);
    rc = store_alarm_create(st, out, &out->id);
    if (rc == -NA_ECONFLICT && q->alert_id) {
        alarm_row_fini(out);
        rc = store_alarm_by_alert_id(st, q->organisation_id, q->worker_id, q->alert_id, out);
        return rc ? rc : -NA_ECONFLICT;
    }
    struct position_new pos = {.organisation_id = q->organisation_id,
                               .worker_id = q->worker_id,
                               .visit_id = visit_id,
                               .source = q->kind == ALARM_TEST ? "device" : "red",
                               .position = q->position,
                               .received_at = now};
    /* An amber alarm's position is the amber alert's, already on the trail. */
    if (!rc && q->position.known && q->kind != ALARM_AMBER)
        rc = store_position_add(st, &pos);
    if (!rc)
        rc = timeline(st, out, "opened", q->by, out->source, NULL, now);
    if (!rc)
        rc = events_add_alarm(st, EVENT_ALARM_OPENED, out, q->by, now, NULL);
    if (!rc && q->kind == ALARM_TEST)
        rc = test_received(w, st, out, &s, now, outbox);
    /* Not on a silent alarm: the worker's own profile must show nothing of it. */
    if (!rc && q->kind != ALARM_TEST && !out->clock.duress)
        rc = alarm_device_clock(w, st, out, &s, now);
    if (!rc && q->kind != ALARM_TEST)
        rc = path_recipients(st, out, s.path, s.n_path, false, &r);
    if (!rc && q->kind != ALARM_TEST)
        rc = tell_alarm(w, st, out, &s, &r, "open", NULL, now, outbox);
    recipients_fini(&r);
    if (!rc)
        log_warn("alarm_opened", "alarm_id=%lld kind=%s worker_id=%lld source=%s",
                 (long long)out->id, alarm_kind_name(out->clock.kind), (long long)q->worker_id,
                 out->source);
    return rc;
}

void watch_alarm_changed(struct watch *w, const struct alarm_row *a)
{
    if (a->clock.state == ALARM_OPEN && a->clock.renotify_at)
        sched_add(w->sched, (struct sched_job){a->clock.renotify_at, JOB_ALARM, a->id});
    else
        sched_cancel(w->sched, JOB_ALARM, a->id);
}

void watch_amber_changed(struct watch *w, const struct amber_row *a)
{
    if (a->state == AMBER_WATCHING && a->deadline_at)
        sched_add(w->sched, (struct sched_job){a->deadline_at, JOB_AMBER, a->id});
    else
        sched_cancel(w->sched, JOB_AMBER, a->id);
}

void watch_device_changed(struct watch *w, const struct alert_profile *p)
{
    if (p->test_due_at)
        sched_add(w->sched, (struct sched_job){p->test_due_at, JOB_DEVICE, p->user_id});
    else
        sched_cancel(w->sched, JOB_DEVICE, p->user_id);
}

int watch_amber_add(struct watch *w, struct store *st, struct amber_row *a, int64_t now)
{
    int rc = watch_amber_clear(w, st, a->organisation_id, a->worker_id, now, NULL);
    if (!rc)
        rc = active_visit(st, a->organisation_id, a->worker_id, &a->visit_id);
    if (!rc)
        rc = store_amber_create(st, a, &a->id);
    if (!rc && a->position.known) {
        struct position_new p = {.organisation_id = a->organisation_id,
                                 .worker_id = a->worker_id,
                                 .visit_id = a->visit_id,
                                 .source = "amber",
                                 .position = a->position,
                                 .received_at = now};
        rc = store_position_add(st, &p);
    }
    return rc;
}

int watch_amber_clear(struct watch *w, struct store *st, int64_t org_id, int64_t worker_id,
                      int64_t now, size_t *n_cleared)
{
    int64_t *ids = NULL;
    size_t n = 0, done = 0;
    (void)w; /* the deadlines' jobs find their rows kept when they fire */
    int rc = store_amber_watching(st, org_id, worker_id, &ids, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        struct amber_row a = {0};
        rc = store_amber_get(st, org_id, ids[i], &a);
        if (!rc && a.state == AMBER_WATCHING) {
            a.state = AMBER_KEPT;
            a.cleared_at = now;
            rc = store_amber_update(st, &a);
            done += rc == 0;
        }
        amber_row_fini(&a);
    }
    free(ids);
    if (n_cleared)
        *n_cleared = rc ? 0 : done;
    return rc;
}

int watch_alarm_escalate(struct watch *w, struct store *st, struct alarm_row *a,
                         const struct alarm_path_step *to, const char *note, int64_t by,
                         int64_t now, struct id_list *outbox)
{
    struct recipients r = {0};
    char step[64];
    if (a->clock.state == ALARM_CLOSED)
        return -NA_ECONFLICT;
    int rc = path_recipients(st, a, to, 1, false, &r);
    if (!rc && to->contact == PATH_CHANNEL) {
        struct channel_row c = {0};
        rc = store_channel_get(st, a->organisation_id, to->target_id, &c);
        channel_row_fini(&c);
    }
    if (!rc && !r.n_users && !r.n_channels)
        rc = -NA_ENOTFOUND;
    /* The moment makes the round: the same escalation asked again later tells again. */
    snprintf(step, sizeof step, "esc%lld:%s%lld", (long long)now,
             alarm_path_contact_name(to->contact), (long long)to->target_id);
    if (!rc)
        rc = tell_alarm(w, st, a, NULL, &r, step, NULL, now, outbox);
    json_t *data = json_pack("{s:s,s:o,s:o}", "contact", alarm_path_contact_name(to->contact),
                             "target_id", to->target_id ? json_integer(to->target_id) : json_null(),
                             "note", note ? json_string(note) : json_null());
    if (!rc)
        rc = timeline(st, a, "escalated", by, alarm_path_contact_name(to->contact), data, now);
    json_decref(data);
    a->updated_at = now;
    if (!rc)
        rc = store_alarm_update(st, a);
    json_t *extra = json_pack("{s:s,s:s}", "change", "escalated", "contact",
                              alarm_path_contact_name(to->contact));
    if (!rc)
        rc = events_add_alarm(st, EVENT_ALARM_UPDATED, a, by, now, extra);
    json_decref(extra);
    recipients_fini(&r);
    return rc;
}

/* Everyone of the organisation holding the LSMS role (never the worker). */
static int lsms_of(struct store *st, const struct alarm_row *a, struct recipients *r)
{
    memset(r, 0, sizeof *r);
    r->worker_id = a->worker_id;
    return role_users(st, a->organisation_id, ROLE_LSMS, r, NULL);
}

/* A false outcome: the worker's count against the limit, for the LSMS to review. */
static int misuse_check(struct watch *w, struct store *st, const struct alarm_row *a,
                        const struct alarm_settings *s, int64_t now, struct id_list *outbox)
{
    struct recipients r = {0};
    char text[512], detail[96];
    int64_t n = 0;
    int rc = store_alarm_count_false(st, a->organisation_id, a->worker_id,
                                     now - s->false_alarm_period_ms, &n);
    if (rc || n < s->false_alarm_limit)
        return rc;
    snprintf(detail, sizeof detail, "%lld false alarms in %lld days", (long long)n,
             (long long)(s->false_alarm_period_ms / DAY_MS));
    snprintf(text, sizeof text,
             "Worker %lld has had %s (the limit is %d; the latest is alarm %lld). Please review "
             "(§9.3.6-9.3.7).",
             (long long)a->worker_id, detail, s->false_alarm_limit, (long long)a->id);
    rc = lsms_of(st, a, &r);
    if (!rc)
        rc = tell_short(w, st, a, &r, "alarm.misuse_review", "misuse", "False alarms to review",
                        text, now, outbox);
    if (!rc)
        rc = timeline(st, a, "misuse_review", 0, detail, NULL, now);
    recipients_fini(&r);
    return rc;
}

/* A false call passed to the police under a URN: warn before they withdraw response. */
static int urn_check(struct watch *w, struct store *st, const struct alarm_row *a,
                     const struct alarm_settings *s, int64_t now, struct id_list *outbox)
{
    struct recipients r = {0};
    char text[512], detail[96];
    int64_t n = 0;
    int rc =
        store_alarm_count_false_urn(st, a->organisation_id, a->police_urn, now - URN_PERIOD_MS, &n);
    bool reached = n >= s->police_false_limit, warn = n == s->police_false_limit - 1;
    if (rc || (!reached && !warn))
        return rc;
    snprintf(detail, sizeof detail, "%lld false calls in 12 months (police limit %d)", (long long)n,
             s->police_false_limit);
    snprintf(text, sizeof text, "The police URN %s has %s. %s", a->police_urn, detail,
             reached ? "The limit is reached: the police may withdraw their response."
                     : "One more and the police may withdraw their response.");
    rc = lsms_of(st, a, &r);
    if (!rc)
        rc = tell_short(w, st, a, &r, "alarm.police_urn", reached ? "urn_limit" : "urn_warning",
                        reached ? "Police URN: false call limit reached"
                                : "Police URN: one false call from the limit",
                        text, now, outbox);
    if (!rc)
        rc = timeline(st, a, reached ? "police_urn_limit" : "police_urn_warning", 0, detail, NULL,
                      now);
    recipients_fini(&r);
    return rc;
}

/* Everyone told of the alarm so far, into r. */
static int told_recipients(struct store *st, const struct alarm_row *a, struct recipients *r)
{
    struct told_list told = {0};
    memset(r, 0, sizeof *r);
    r->worker_id = a->worker_id;
    int rc = alarm_told_users(st, a, &told);
    for (size_t i = 0; !rc && i < told.n; i++)
        add_user(r, told.items[i].user_id);
    free(told.items);
    return rc;
}

int watch_alarm_duress(struct watch *w, struct store *st, struct alarm_row *a, int64_t by,
                       int64_t now, struct id_list *outbox)
{
    struct alarm_settings s;
    struct recipients r = {0};
    char step[48];
    if (a->clock.state == ALARM_CLOSED)
        return -NA_ECONFLICT;
    int rc = alarm_settings_load(st, a->organisation_id, &s);
    if (rc)
        return rc;
    alarm_mark_duress(&a->clock, s.renotify_ms, now);
    a->updated_at = now;
    rc = store_alarm_update(st, a);
    if (!rc)
        rc = timeline(st, a, "duress", by, "the duress code was given to cancel", NULL, now);
    json_t *extra = json_pack("{s:s}", "change", "duress");
    if (!rc)
        rc = events_add_alarm(st, EVENT_ALARM_UPDATED, a, by, now, extra);
    json_decref(extra);
    /* Those told "needs help now" must hear, at once, not to call openly. */
    if (!rc)
        rc = told_recipients(st, a, &r);
    for (size_t i = 0; !rc && i < s.n_path; i++)
        if (s.path[i].contact == PATH_CHANNEL)
            push_unique(&r.channels, &r.n_channels, s.path[i].target_id);
    snprintf(step, sizeof step, "duress%lld", (long long)now);
    if (!rc)
        rc = tell_alarm(w, st, a, &s, &r, step, "NOW ", now, outbox);
    recipients_fini(&r);
    if (!rc)
        log_warn("alarm_duress", "alarm_id=%lld worker_id=%lld", (long long)a->id,
                 (long long)a->worker_id);
    return rc;
}

/* Everyone told of the alarm hears it is closed. */
static int tell_closed(struct watch *w, struct store *st, const struct alarm_row *a, int64_t now,
                       struct id_list *outbox)
{
    struct recipients r = {0};
    char subject[160], text[1024];
    int rc = told_recipients(st, a, &r);
    snprintf(subject, sizeof subject, "Alarm %lld closed: %s", (long long)a->id,
             alarm_outcome_name(a->clock.outcome));
    snprintf(text, sizeof text, "Alarm %lld is closed as %s. The worker was found safe: %s.%s%s",
             (long long)a->id, alarm_outcome_name(a->clock.outcome),
             a->found_safe ? a->found_safe : "(not given)", a->close_note ? " " : "",
             a->close_note ? a->close_note : "");
    if (!rc)
        rc = tell_short(w, st, a, &r, "alarm.closed", "closed", subject, text, now, outbox);
    recipients_fini(&r);
    return rc;
}

int watch_alarm_close(struct watch *w, struct store *st, struct alarm_row *a,
                      enum alarm_outcome outcome, const char *found_safe, const char *note,
                      int64_t by, int64_t now, struct id_list *outbox)
{
    struct alarm_settings s;
    int rc = alarm_close(&a->clock, outcome, by, now);
    if (rc)
        return rc;
    free(a->found_safe);
    free(a->close_note);
    a->found_safe = found_safe ? xstrdup(found_safe) : NULL;
    a->close_note = note ? xstrdup(note) : NULL;
    a->updated_at = now;
    json_t *data = json_pack("{s:s,s:o,s:o}", "outcome", alarm_outcome_name(outcome), "found_safe",
                             found_safe ? json_string(found_safe) : json_null(), "note",
                             note ? json_string(note) : json_null());
    rc = store_alarm_update(st, a);
    if (!rc)
        rc = timeline(st, a, "closed", by, alarm_outcome_name(outcome), data, now);
    json_decref(data);
    if (!rc)
        rc = events_add_alarm(st, EVENT_ALARM_CLOSED, a, by, now, NULL);
    if (!rc)
        rc = tell_closed(w, st, a, now, outbox);
    if (!rc)
        rc = alarm_settings_load(st, a->organisation_id, &s);
    if (!rc && alarm_outcome_is_false(outcome))
        rc = misuse_check(w, st, a, &s, now, outbox);
    if (!rc && alarm_outcome_is_false(outcome) && a->police_urn)
        rc = urn_check(w, st, a, &s, now, outbox);
    if (!rc)
        log_info("alarm_closed", "alarm_id=%lld outcome=%s", (long long)a->id,
                 alarm_outcome_name(outcome));
    return rc;
}

/* A device notice to the worker and their line managers (round step). */
static int tell_device(struct watch *w, struct store *st, const struct alert_profile *p,
                       const char *event, const char *step, const char *subject, const char *text,
                       int64_t now, struct id_list *outbox)
{
    struct recipients r = {0};
    char key[160];
    json_t *payload = json_pack("{s:s,s:I,s:s,s:s}", "event", event, "worker_id",
                                (json_int_t)p->user_id, "subject", subject, "text", text);
    struct notice n = {.event = event, .subject = subject, .text = text, .payload = payload};
    snprintf(key, sizeof key, "device%lld:%s", (long long)p->user_id, step);
    int rc = recipients_user(st, p->organisation_id, p->user_id, &r);
    if (!rc)
        rc = recipients_line_managers(st, p->organisation_id, p->user_id, &r);
    if (!rc)
        rc = recipients_notify(w, st, p->organisation_id, &r, &n, key, now, outbox);
    json_decref(payload);
    recipients_fini(&r);
    return rc;
}

int watch_device_report(struct watch *w, struct store *st, struct alert_profile *p, int battery_pct,
                        int64_t now, struct id_list *outbox)
{
    struct alarm_settings s;
    char step[48], subject[128], text[256];
    int rc = alarm_settings_load(st, p->organisation_id, &s);
    if (!rc)
        device_clock_start(p, &s, now);
    if (!rc && battery_pct >= 0) {
        p->battery_pct = battery_pct;
        p->battery_at = now;
        if (battery_pct > s.low_battery_pct) {
            p->low_battery_told_at = 0; /* the spell is over */
        } else if (!p->low_battery_told_at) {
            snprintf(step, sizeof step, "battery%lld", (long long)now);
            snprintf(subject, sizeof subject, "Low battery: %d%%", battery_pct);
            snprintf(text, sizeof text,
                     "The alert device of worker %lld reports %d%% battery. Charge it before "
                     "working alone: a flat device cannot raise an alarm.",
                     (long long)p->user_id, battery_pct);
            rc = tell_device(w, st, p, "device.low_battery", step, subject, text, now, outbox);
            p->low_battery_told_at = now;
        }
    }
    p->updated_at = now;
    if (!rc)
        rc = store_alert_profile_put(st, p);
    return rc;
}

/* ---- the scheduler's jobs ---- */

/* *next: job kind for id at due_at, when there is one (due_at 0: none). */
static void job_next(struct sched_job *next, int64_t due_at, int kind, int64_t id)
{
    if (due_at)
        *next = (struct sched_job){due_at, kind, id};
}

/* A job fired before due_at (its row moved the date on): *next is it, then. */
static bool job_later(struct sched_job *next, int64_t due_at, int64_t now, int kind, int64_t id)
{
    if (due_at <= now)
        return false;
    job_next(next, due_at, kind, id);
    return true;
}

/* A job's answer: a row gone meanwhile is no failure. */
static int job_done(int rc)
{
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

int alarm_job_renotify(struct watch *w, struct store *st, int64_t id, int64_t now,
                       struct sched_job *next, struct id_list *outbox)
{
    struct alarm_row a = {0};
    struct alarm_settings s;
    struct recipients r = {0};
    char step[32], lead[64];
    memset(next, 0, sizeof *next);
    int rc = store_alarm_get_any(st, id, &a);
    /* A duress alarm the worker "cancelled" is still no press: it goes on. */
    if (rc || a.clock.state != ALARM_OPEN || a.clock.claimed_by ||
        (a.clock.cancelled_at && !a.clock.duress) || !a.clock.renotify_at)
        goto done;
    if (job_later(next, a.clock.renotify_at, now, JOB_ALARM, a.id))
        goto done;
    rc = alarm_settings_load(st, a.organisation_id, &s);
    bool has_operators = false;
    for (size_t i = 0; i < s.n_path; i++)
        has_operators |= s.path[i].contact == PATH_OPERATORS;
    if (!rc)
        rc = path_recipients(st, &a, s.path, s.n_path, has_operators, &r);
    a.renotify_count++;
    snprintf(step, sizeof step, "renotify%d", a.renotify_count);
    snprintf(lead, sizeof lead, "STILL UNCLAIMED (%d): ", a.renotify_count);
    if (!rc)
        rc = tell_alarm(w, st, &a, &s, &r, step, lead, now, outbox);
    alarm_renotified(&a.clock, s.renotify_ms, now);
    a.updated_at = now;
    if (!rc)
        rc = store_alarm_update(st, &a);
    snprintf(step, sizeof step, "%d", a.renotify_count);
    if (!rc)
        rc = timeline(st, &a, "renotified", 0, step, NULL, now);
    json_t *extra = json_pack("{s:i}", "renotify_count", a.renotify_count);
    if (!rc)
        rc = events_add_alarm(st, EVENT_ALARM_RENOTIFIED, &a, 0, now, extra);
    json_decref(extra);
    if (!rc)
        job_next(next, a.clock.renotify_at, JOB_ALARM, a.id);
done:
    recipients_fini(&r);
    alarm_row_fini(&a);
    return job_done(rc);
}

int alarm_job_amber(struct watch *w, struct store *st, int64_t id, int64_t now,
                    struct sched_job *next, struct id_list *outbox)
{
    struct amber_row am = {0};
    struct alarm_row a = {0};
    memset(next, 0, sizeof *next);
    int rc = store_amber_get_any(st, id, &am);
    if (rc || am.state != AMBER_WATCHING || !am.deadline_at)
        goto done;
    if (job_later(next, am.deadline_at, now, JOB_AMBER, am.id))
        goto done;
    struct alarm_request q = {.organisation_id = am.organisation_id,
                              .worker_id = am.worker_id,
                              .kind = ALARM_AMBER,
                              .source = "amber",
                              .message = am.status,
                              .position = am.position,
                              .amber_alert_id = am.id};
    rc = watch_alarm_open(w, st, &q, now, &a, outbox);
    am.state = AMBER_ALARMED;
    am.alarm_id = a.id;
    if (!rc)
        rc = store_amber_update(st, &am);
    if (!rc)
        job_next(next, a.clock.renotify_at, JOB_ALARM, a.id);
done:
    alarm_row_fini(&a);
    amber_row_fini(&am);
    return job_done(rc);
}

int alarm_job_device(struct watch *w, struct store *st, int64_t user_id, int64_t now,
                     struct sched_job *next, struct id_list *outbox)
{
    struct alert_profile p = {0};
    struct alarm_settings s;
    char step[48], subject[128] = "", text[320];
    memset(next, 0, sizeof *next);
    int rc = store_alert_profile_get_any(st, user_id, &p);
    if (rc || !p.test_due_at)
        goto done;
    if (job_later(next, p.test_due_at, now, JOB_DEVICE, user_id))
        goto done;
    rc = alarm_settings_load(st, p.organisation_id, &s);
    if (!rc && s.device_test_ms && p.device_tested_at) {
        long long days = (long long)((now - p.device_tested_at) / DAY_MS);
        snprintf(subject, sizeof subject, "Device not tested for %lld days", days);
    } else if (!rc && s.device_test_ms) {
        snprintf(subject, sizeof subject, "Device never tested");
    }
    snprintf(text, sizeof text,
             "%s (worker %lld). Send a test alert from the device (§9.5.1): it checks the "
             "whole path without raising an alarm.",
             subject, (long long)user_id);
    snprintf(step, sizeof step, "untested%lld", (long long)p.test_due_at);
    if (!rc && s.device_test_ms)
        rc = tell_device(w, st, &p, "device.not_tested", step, subject, text, now, outbox);
    /* Told daily until a test; no interval set any more: never again. */
    p.test_due_at = s.device_test_ms ? now + DEVICE_NAG_MS : 0;
    p.updated_at = now;
    if (!rc)
        rc = store_alert_profile_put(st, &p);
    if (!rc)
        job_next(next, p.test_due_at, JOB_DEVICE, user_id);
done:
    alert_profile_fini(&p);
    return job_done(rc);
}
