/*
 * Devices in the watch: what a DC-09 event does once stored (an alarm, a test, an amber
 * alert, a low-battery notice, a position on the trail, the device back after a loss of
 * signal), and the loss-of-signal check of a supervised device that went silent. Both run
 * as scheduler jobs in the scheduler's transaction: each reads its row again and acts only
 * while it is still due, so a stale or repeated job is harmless, and what it does and the
 * mark that it was done commit together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "dc09/codes.h"
#include "store/store_devices.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch_internal.h"

#define TEXT_MAX 512

void watch_dc09_event_changed(struct watch *w, int64_t event_id, int64_t pending_at)
{
    if (pending_at)
        sched_add(w->sched, (struct sched_job){pending_at, JOB_DC09, event_id});
    else
        sched_cancel(w->sched, JOB_DC09, event_id);
}

void watch_device_silent_changed(struct watch *w, int64_t device_id, int64_t silent_due_at)
{
    if (silent_due_at)
        sched_add(w->sched, (struct sched_job){silent_due_at, JOB_SILENT, device_id});
    else
        sched_cancel(w->sched, JOB_SILENT, device_id);
}

/* ---- whom a device's notices tell ---- */

struct people {
    int64_t *ids;
    size_t n;
};

static void people_add(struct people *p, int64_t id)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->ids[i] == id)
            return;
    p->ids = xrealloc(p->ids, p->n + 1, sizeof *p->ids);
    p->ids[p->n++] = id;
}

static int people_add_query(struct people *p, int rc, int64_t *ids, size_t n)
{
    for (size_t i = 0; !rc && i < n; i++)
        people_add(p, ids[i]);
    free(ids);
    return rc;
}

/* The worker's line managers; without any (or without a worker), the organisation's
 * operators, else its admins: a device nobody watches is still someone's. */
static int managers_of(struct store *st, int64_t org_id, int64_t worker_id, struct people *p)
{
    static const unsigned fallback[] = {ROLE_OPERATOR, ROLE_ADMIN};
    int64_t *ids = NULL;
    size_t n = 0, before = p->n;
    int rc = 0;
    if (worker_id) {
        rc = store_line_managers_of(st, org_id, worker_id, &ids, &n);
        rc = people_add_query(p, rc, ids, n);
    }
    for (size_t i = 0; !rc && p->n == before && i < sizeof fallback / sizeof fallback[0]; i++) {
        ids = NULL;
        n = 0;
        rc = store_user_ids_with_roles(st, org_id, fallback[i], &ids, &n);
        rc = people_add_query(p, rc, ids, n);
    }
    return rc;
}

/* What the notice of a device says; step names it for idempotency. */
struct device_notice {
    const char *event; /* "device.signal_lost", ... */
    char step[48];
    char subject[160];
    char text[TEXT_MAX];
};

/* Tells everyone in p about device d (its worker: worker_id, may be 0). */
static int tell(struct watch *w, struct store *st, int64_t org_id, int64_t device_id,
                int64_t worker_id, const struct people *p, const struct device_notice *m,
                int64_t now, struct id_list *outbox)
{
    char key[160];
    json_t *payload = json_pack(
        "{s:s,s:I,s:o,s:s,s:s}", "event", m->event, "device_id", (json_int_t)device_id, "worker_id",
        worker_id ? json_integer(worker_id) : json_null(), "subject", m->subject, "text", m->text);
    struct notice n = {
        .event = m->event, .subject = m->subject, .text = m->text, .payload = payload, .key = key};
    int rc = payload ? 0 : -NA_EINVAL;
    for (size_t i = 0; !rc && i < p->n; i++) {
        /* Apart from alarms.c's "device<user id>" keys: a clash would drop a notice. */
        snprintf(key, sizeof key, "dc09device%lld:%s:u%lld", (long long)device_id, m->step,
                 (long long)p->ids[i]);
        rc = notice_user(w, st, org_id, p->ids[i], &n, now, outbox);
    }
    json_decref(payload);
    return rc;
}

/* How notices name the device: its label, else its identifier. */
static const char *device_name(const struct device_row *d)
{
    return d->label ? d->label : d->identifier;
}

/* The worker's display name into out (size n); "nobody" without a worker. */
static int worker_name(struct store *st, int64_t org_id, int64_t worker_id, char *out, size_t n)
{
    struct user_row u = {0};
    int rc = worker_id ? store_user_get(st, org_id, worker_id, &u) : -NA_ENOTFOUND;
    snprintf(out, n, "%s",
             !rc && u.display_name ? u.display_name
             : worker_id           ? "a worker"
                                   : "nobody");
    user_row_fini(&u);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

/* Tells the device's managers (managers_of) about it, the worker's name added to the
 * text. */
static int tell_managers(struct watch *w, struct store *st, const struct device_row *d,
                         struct device_notice *m, int64_t now, struct id_list *outbox)
{
    struct people p = {0};
    char name[128];
    int rc = worker_name(st, d->organisation_id, d->worker_id, name, sizeof name);
    if (!rc)
        rc = managers_of(st, d->organisation_id, d->worker_id, &p);
    size_t len = strlen(m->text);
    snprintf(m->text + len, sizeof m->text - len, " The device is issued to %s.", name);
    if (!rc)
        rc = tell(w, st, d->organisation_id, d->id, d->worker_id, &p, m, now, outbox);
    free(p.ids);
    return rc;
}

/* ---- the event's action ---- */

/* The event's position, as of its event time or else its receipt. */
static struct position event_position(const struct dc09_event_row *e)
{
    struct position p = {0};
    if (!e->has_position)
        return p;
    p.known = true;
    p.latitude = e->latitude;
    p.longitude = e->longitude;
    p.at = e->event_at ? e->event_at : e->received_at;
    return p;
}

/* What opened the alarm, as its message: the code's meaning and zone. */
static void event_message(const struct dc09_event_row *e, char *out, size_t n)
{
    const char *what = e->label ? e->label : e->action;
    if (e->zone)
        snprintf(out, n, "%s zone %s", what, e->zone);
    else
        snprintf(out, n, "%s", what);
}

/* Opens the event's alarm of kind for its worker; *alarm_id gets it. Applied twice (a
 * retried job), the alert id finds the first. */
static int event_alarm(struct watch *w, struct store *st, const struct dc09_event_row *e,
                       enum alarm_kind kind, int64_t now, int64_t *alarm_id, struct id_list *outbox)
{
    char alert_id[48], message[160];
    struct alarm_row a = {0};
    snprintf(alert_id, sizeof alert_id, "dc09/%lld", (long long)e->id);
    event_message(e, message, sizeof message);
    struct alarm_request q = {.organisation_id = e->organisation_id,
                              .worker_id = e->worker_id,
                              .kind = kind,
                              .duress = kind == ALARM_DURESS,
                              .source = "dc09",
                              .alert_id = alert_id,
                              .message = message,
                              .position = event_position(e),
                              .by = e->worker_id};
    int rc = watch_alarm_open(w, st, &q, now, &a, outbox);
    bool again = rc == -NA_ECONFLICT && a.id;
    if (again)
        rc = 0;
    *alarm_id = rc ? 0 : a.id;
    /* Scheduled before the commit, as a test's device date is: a job for an alarm that
     * rolled back finds nothing to do. */
    if (!rc && !again)
        watch_alarm_changed(w, &a);
    alarm_row_fini(&a);
    return rc;
}

/* An amber alert without deadline, as the worker's own would be. */
static int event_amber(struct watch *w, struct store *st, const struct dc09_event_row *e,
                       int64_t now)
{
    char alert_id[48];
    struct amber_row a = {0};
    snprintf(alert_id, sizeof alert_id, "dc09/%lld", (long long)e->id);
    int rc = store_amber_by_alert_id(st, e->organisation_id, e->worker_id, alert_id, &a);
    amber_row_fini(&a);
    if (rc != -NA_ENOTFOUND)
        return rc; /* stored by an earlier try (or an error) */
    a.organisation_id = e->organisation_id;
    a.worker_id = e->worker_id;
    a.alert_id = xstrdup(alert_id);
    a.status = xstrdup(e->label ? e->label : "Amber alert");
    a.position = event_position(e);
    a.state = AMBER_KEPT;
    a.created_at = now;
    rc = watch_amber_add(w, st, &a, now);
    amber_row_fini(&a);
    return rc;
}

/* A fix on the worker's trail, when they agreed to share their location. */
static int event_position_add(struct store *st, const struct dc09_event_row *e, int64_t now)
{
    struct alert_profile p = {0};
    int rc = store_alert_profile_get(st, e->organisation_id, e->worker_id, &p);
    bool consent = !rc && p.location_consent;
    alert_profile_fini(&p);
    if (rc && rc != -NA_ENOTFOUND)
        return rc;
    if (!consent || !e->has_position)
        return 0;
    struct position_new pos = {.organisation_id = e->organisation_id,
                               .worker_id = e->worker_id,
                               .source = "dc09",
                               .position = event_position(e),
                               .received_at = now};
    return store_position_add(st, &pos);
}

/* Low battery: the worker and their line managers, once per low spell (the receiver makes
 * only a spell's first report pending). */
static int event_battery(struct watch *w, struct store *st, const struct dc09_event_row *e,
                         const struct device_row *d, int64_t now, struct id_list *outbox)
{
    struct device_notice m = {.event = "device.low_battery"};
    struct people p = {0};
    const char *name = d ? device_name(d) : e->account;
    int64_t *ids = NULL;
    size_t n = 0;
    snprintf(m.step, sizeof m.step, "battery%lld", (long long)e->id);
    snprintf(m.subject, sizeof m.subject, "Low battery: %s", name);
    snprintf(m.text, sizeof m.text,
             "%s reports low battery. Charge it before working alone: a flat device cannot "
             "raise an alarm.",
             name);
    people_add(&p, e->worker_id);
    int rc = store_line_managers_of(st, e->organisation_id, e->worker_id, &ids, &n);
    rc = people_add_query(&p, rc, ids, n);
    if (!rc)
        rc = tell(w, st, e->organisation_id, e->device_id, e->worker_id, &p, &m, now, outbox);
    free(p.ids);
    return rc;
}

/* Applies e's action for its worker; *alarm_id gets the alarm it opened. */
static int event_apply(struct watch *w, struct store *st, const struct dc09_event_row *e,
                       const struct device_row *d, int64_t now, int64_t *alarm_id,
                       struct id_list *outbox)
{
    enum dc09_action action;
    *alarm_id = 0;
    if (dc09_action_parse(e->action, &action))
        return 0; /* an action this version does not know: kept, not acted on */
    switch (action) {
    case DC09_ACTION_RED:
        return event_alarm(w, st, e, ALARM_RED, now, alarm_id, outbox);
    case DC09_ACTION_DURESS:
        return event_alarm(w, st, e, ALARM_DURESS, now, alarm_id, outbox);
    case DC09_ACTION_TEST:
        return event_alarm(w, st, e, ALARM_TEST, now, alarm_id, outbox);
    case DC09_ACTION_AMBER:
        return event_amber(w, st, e, now);
    case DC09_ACTION_BATTERY_LOW:
        return event_battery(w, st, e, d, now, outbox);
    case DC09_ACTION_POSITION:
        return event_position_add(st, e, now);
    default:
        return 0;
    }
}

/* The alarm the loss of signal opened, if still open: closed as genuine, the device is
 * heard again. */
static int close_lost_alarm(struct watch *w, struct store *st, const struct device_row *d,
                            int64_t alarm_id, int64_t now, struct id_list *outbox)
{
    struct alarm_row a = {0};
    char at[40], detail[96];
    int rc = store_alarm_get(st, d->organisation_id, alarm_id, &a);
    if (rc || a.clock.state == ALARM_CLOSED)
        goto done;
    snprintf(detail, sizeof detail, "device %lld back in contact at %s", (long long)d->id,
             time_format_iso(now, at, sizeof at));
    struct alarm_event line = {.alarm_id = a.id,
                               .organisation_id = a.organisation_id,
                               .at = now,
                               .kind = "note",
                               .detail = detail};
    rc = store_alarm_event_add(st, &line);
    if (!rc)
        rc = watch_alarm_close(w, st, &a, ALARM_OUTCOME_GENUINE, "device back in contact", NULL, 0,
                               now, outbox);
done:
    alarm_row_fini(&a);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

/* A lost device is heard again: in contact, supervised again, the loss's alarm closed and
 * those told of the loss told it is over. */
static int device_back(struct watch *w, struct store *st, struct device_row *d, int64_t now,
                       struct id_list *outbox)
{
    struct device_notice m = {.event = "device.signal_restored"};
    char since[40], at[40];
    int64_t alarm_id = d->lost_alarm_id;
    snprintf(m.step, sizeof m.step, "back%lld", (long long)d->lost_at);
    snprintf(m.subject, sizeof m.subject, "Signal restored: %s", device_name(d));
    snprintf(m.text, sizeof m.text, "Signal restored: %s is in contact again at %s (lost at %s).",
             device_name(d), time_format_iso(now, at, sizeof at),
             time_format_iso(d->lost_at, since, sizeof since));
    d->lost_at = 0;
    d->lost_alarm_id = 0;
    d->silent_due_at =
        d->supervision_ms ? (d->last_contact_at ? d->last_contact_at : now) + d->supervision_ms : 0;
    int rc = store_device_update(st, d);
    if (!rc)
        rc = tell_managers(w, st, d, &m, now, outbox);
    if (!rc && alarm_id)
        rc = close_lost_alarm(w, st, d, alarm_id, now, outbox);
    /* Before the commit, like the alarms: a check for a rolled-back date finds none. */
    if (!rc)
        watch_device_silent_changed(w, d->id, d->silent_due_at);
    if (!rc)
        log_info("device_signal_restored", "device_id=%lld", (long long)d->id);
    return rc;
}

/* *next: job kind for id at due_at (due_at 0: none). */
static void job_next(struct sched_job *next, int64_t due_at, int kind, int64_t id)
{
    if (due_at)
        *next = (struct sched_job){due_at, kind, id};
}

int device_job_dc09(struct watch *w, struct store *st, int64_t event_id, int64_t now,
                    struct sched_job *next, struct id_list *outbox)
{
    struct dc09_event_row e = {0};
    struct device_row d = {0};
    int64_t alarm_id = 0;
    memset(next, 0, sizeof *next);
    int rc = store_dc09_event_get_any(st, event_id, &e);
    if (rc || !e.pending_at)
        goto done;
    if (e.pending_at > now) {
        job_next(next, e.pending_at, JOB_DC09, e.id);
        goto done;
    }
    rc = e.device_id ? store_device_get_any(st, e.device_id, &d) : -NA_ENOTFOUND;
    bool has_device = rc == 0;
    if (rc == -NA_ENOTFOUND)
        rc = 0; /* none, or deleted since: its worker's event still counts */
    if (!rc && has_device && d.lost_at && e.received_at >= d.lost_at)
        rc = device_back(w, st, &d, now, outbox);
    /* Unassigned, or a device issued to nobody: there is nobody's alarm to open. */
    if (!rc && e.organisation_id && e.worker_id)
        rc = event_apply(w, st, &e, has_device ? &d : NULL, now, &alarm_id, outbox);
    if (rc == -NA_ENOTFOUND) {
        /* The worker left the organisation meanwhile: nothing can be done for them. */
        log_warn("dc09_event_not_applied", "event_id=%lld worker_id=%lld", (long long)e.id,
                 (long long)e.worker_id);
        rc = 0;
    }
    if (!rc)
        rc = store_dc09_event_applied(st, e.id, now, alarm_id);
done:
    device_row_fini(&d);
    dc09_event_row_fini(&e);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

/* The loss's alarm, when the device says so and has a worker: *alarm_id gets it. */
static int lost_alarm(struct watch *w, struct store *st, const struct device_row *d, int64_t now,
                      int64_t *alarm_id, struct sched_job *next, struct id_list *outbox)
{
    char alert_id[80];
    struct alarm_row a = {0};
    snprintf(alert_id, sizeof alert_id, "dc09/silent/%lld/%lld", (long long)d->id,
             (long long)d->lost_at);
    struct alarm_request q = {.organisation_id = d->organisation_id,
                              .worker_id = d->worker_id,
                              .kind = ALARM_OVERDUE,
                              .source = "dc09",
                              .alert_id = alert_id,
                              .message = "loss of signal"};
    int rc = watch_alarm_open(w, st, &q, now, &a, outbox);
    bool again = rc == -NA_ECONFLICT && a.id;
    if (again)
        rc = 0;
    *alarm_id = rc ? 0 : a.id;
    if (!rc && !again)
        job_next(next, a.clock.renotify_at, JOB_ALARM, a.id);
    /* The worker left the organisation meanwhile: the notice alone must do. */
    if (rc == -NA_ENOTFOUND)
        rc = 0;
    alarm_row_fini(&a);
    return rc;
}

/* The device is silent past its interval: lost, its managers told, maybe an alarm. */
static int device_lost(struct watch *w, struct store *st, struct device_row *d, int64_t now,
                       struct sched_job *next, struct id_list *outbox)
{
    struct device_notice m = {.event = "device.signal_lost"};
    char since[40];
    int64_t heard = d->last_contact_at ? d->last_contact_at : d->silent_due_at - d->supervision_ms;
    d->lost_at = now;
    d->silent_due_at = 0;
    snprintf(m.step, sizeof m.step, "lost%lld", (long long)now);
    time_format_iso(heard, since, sizeof since);
    snprintf(m.subject, sizeof m.subject, "Loss of signal: %s silent since %s", device_name(d),
             since);
    snprintf(m.text, sizeof m.text,
             "Loss of signal: %s silent since %s (it reports at least every %lld s). Check on "
             "the worker another way.",
             device_name(d), since, (long long)(d->supervision_ms / 1000));
    int rc = tell_managers(w, st, d, &m, now, outbox);
    if (!rc && d->supervision_alarm && d->worker_id)
        rc = lost_alarm(w, st, d, now, &d->lost_alarm_id, next, outbox);
    if (!rc)
        rc = store_device_update(st, d);
    if (!rc)
        log_warn("device_signal_lost", "device_id=%lld alarm_id=%lld", (long long)d->id,
                 (long long)d->lost_alarm_id);
    return rc;
}

int device_job_silent(struct watch *w, struct store *st, int64_t device_id, int64_t now,
                      struct sched_job *next, struct id_list *outbox)
{
    struct device_row d = {0};
    memset(next, 0, sizeof *next);
    int rc = store_device_get_any(st, device_id, &d);
    if (rc || !d.silent_due_at || !d.supervision_ms || d.lost_at)
        goto done;
    int64_t due = d.silent_due_at;
    if (d.last_contact_at && d.last_contact_at + d.supervision_ms > due)
        due = d.last_contact_at + d.supervision_ms;
    if (due > now) { /* heard from since it was scheduled */
        if (due != d.silent_due_at) {
            d.silent_due_at = due;
            rc = store_device_update(st, &d);
        }
        if (!rc)
            job_next(next, due, JOB_SILENT, d.id);
        goto done;
    }
    rc = device_lost(w, st, &d, now, next, outbox);
done:
    device_row_fini(&d);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}
