/*
 * Devices in the watch: what a DC-09 event does once stored (an alarm, a test, an amber
 * alert, a low-battery notice, a position on the trail, the device back after a loss of
 * signal; a panic or duress that no alarm can take, from a device issued to nobody or an
 * account no device has, told to the operators at once), and the loss-of-signal check of
 * a supervised device that went silent. Whom they tell is alarms.c's recipients. Both run
 * as scheduler jobs in the scheduler's transaction: each reads its row again and acts only
 * while it is still due, so a stale or repeated job is harmless, and what it does and the
 * mark that it was done commit together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/roles.h"
#include "dc09/codes.h"
#include "store/store_devices.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch_internal.h"

#define TEXT_MAX 1024

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

/* The worker's line managers; without any (or without a worker), the red-alert path's
 * operators (recipients_operators): a device nobody watches is still someone's. */
static int managers_of(struct store *st, int64_t org_id, int64_t worker_id, struct recipients *r)
{
    int rc = worker_id ? recipients_line_managers(st, org_id, worker_id, r) : 0;
    if (!rc && !r->n_users)
        rc = recipients_operators(st, org_id, r);
    return rc;
}

/* What the notice of a device says; step names it for idempotency. */
struct device_notice {
    const char *event; /* "device.signal_lost", ... */
    char step[48];
    char subject[400]; /* one line: names and the code's meaning, each at most 100 */
    char text[TEXT_MAX];
};

/* Tells everyone in r about device device_id (its worker: worker_id, may be 0). */
static int tell(struct watch *w, struct store *st, int64_t org_id, int64_t device_id,
                int64_t worker_id, const struct recipients *r, const struct device_notice *m,
                int64_t now, struct id_list *outbox)
{
    char key[96];
    json_t *payload = json_pack(
        "{s:s,s:I,s:o,s:s,s:s}", "event", m->event, "device_id", (json_int_t)device_id, "worker_id",
        worker_id ? json_integer(worker_id) : json_null(), "subject", m->subject, "text", m->text);
    struct notice n = {
        .event = m->event, .subject = m->subject, .text = m->text, .payload = payload};
    /* Apart from alarms.c's "device<user id>" keys: a clash would drop a notice. */
    snprintf(key, sizeof key, "dc09device%lld:%s", (long long)device_id, m->step);
    int rc = payload ? recipients_notify(w, st, org_id, r, &n, key, now, outbox) : -NA_EINVAL;
    json_decref(payload);
    return rc;
}

/* device_row_fini, its DC-09 key wiped first: the job reads the whole row, key too. */
static void device_done(struct device_row *d)
{
    if (d->dc09_key)
        sodium_memzero(d->dc09_key, strlen(d->dc09_key));
    device_row_fini(d);
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
    struct recipients r = {0};
    char name[128];
    int rc = worker_name(st, d->organisation_id, d->worker_id, name, sizeof name);
    if (!rc)
        rc = managers_of(st, d->organisation_id, d->worker_id, &r);
    size_t len = strlen(m->text);
    snprintf(m->text + len, sizeof m->text - len, " The device is issued to %s.", name);
    if (!rc)
        rc = tell(w, st, d->organisation_id, d->id, d->worker_id, &r, m, now, outbox);
    recipients_fini(&r);
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

/* Opens q's alarm, or finds the one an earlier try of the same job opened (by its alert
 * id): a (caller finis) gets it, *opened whether it is new. -NA_ENOTFOUND when the worker
 * is no longer in the organisation. */
static int alarm_open_once(struct watch *w, struct store *st, const struct alarm_request *q,
                           int64_t now, struct alarm_row *a, bool *opened, struct id_list *outbox)
{
    int rc = watch_alarm_open(w, st, q, now, a, outbox);
    *opened = rc == 0;
    if (rc == -NA_ECONFLICT && a->id)
        rc = 0;
    return rc;
}

/* Alert ids of DC-09 events are per message, not per stored row: one message that reached
 * two nodes at once (a transmitter's main and backup paths), stored once by each before
 * either saw the other's row, opens one alarm. Messages share an id only when they share
 * account, sequence and content within one window: what the receiver takes for a repeat
 * anyway. A pair straddling two windows opens two alarms, never none. */
#define ALERT_WINDOW_MS (10 * 60 * INT64_C(1000))

static void event_alert_id(const struct dc09_event_row *e, char *out, size_t n)
{
    snprintf(out, n, "dc09/%s/%d/%.16s/%lld", e->account, e->seq, e->digest,
             (long long)(e->received_at / ALERT_WINDOW_MS));
}

/* Opens the event's alarm of kind for its worker; *alarm_id gets it. */
static int event_alarm(struct watch *w, struct store *st, const struct dc09_event_row *e,
                       enum alarm_kind kind, int64_t now, int64_t *alarm_id, struct id_list *outbox)
{
    char alert_id[80], message[160];
    struct alarm_row a = {0};
    bool opened;
    event_alert_id(e, alert_id, sizeof alert_id);
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
    int rc = alarm_open_once(w, st, &q, now, &a, &opened, outbox);
    *alarm_id = rc ? 0 : a.id;
    /* Scheduled before the commit, as a test's device date is: a job for an alarm that
     * rolled back finds nothing to do. */
    if (opened)
        watch_alarm_changed(w, &a);
    alarm_row_fini(&a);
    return rc;
}

/* An amber alert without deadline, as the worker's own would be. */
static int event_amber(struct watch *w, struct store *st, const struct dc09_event_row *e,
                       int64_t now)
{
    char alert_id[80];
    struct amber_row a = {0};
    event_alert_id(e, alert_id, sizeof alert_id);
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
    struct recipients r = {0};
    const char *name = d ? device_name(d) : e->account;
    snprintf(m.step, sizeof m.step, "battery%lld", (long long)e->id);
    snprintf(m.subject, sizeof m.subject, "Low battery: %s", name);
    snprintf(m.text, sizeof m.text,
             "%s reports low battery. Charge it before working alone: a flat device cannot "
             "raise an alarm.",
             name);
    int rc = recipients_user(st, e->organisation_id, e->worker_id, &r);
    if (!rc)
        rc = recipients_line_managers(st, e->organisation_id, e->worker_id, &r);
    if (!rc)
        rc = tell(w, st, e->organisation_id, e->device_id, e->worker_id, &r, &m, now, outbox);
    recipients_fini(&r);
    return rc;
}

/* Applies action (e's) for its worker; *alarm_id gets the alarm it opened. */
static int event_apply(struct watch *w, struct store *st, const struct dc09_event_row *e,
                       enum dc09_action action, const struct device_row *d, int64_t now,
                       int64_t *alarm_id, struct id_list *outbox)
{
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

/* ---- a red or duress event no alarm can take ---- */

/* The host organisation (the one running the server) into *out; 0 when there is none. */
static int host_org(struct store *st, int64_t *out)
{
    struct org_row *rows = NULL;
    size_t n = 0;
    int64_t after = 0;
    int rc;
    *out = 0;
    do {
        rc = store_org_list(st, after, STORE_LIST_MAX, &rows, &n);
        for (size_t i = 0; !rc && i < n && !*out; i++)
            if (rows[i].is_host)
                *out = rows[i].id;
        after = n ? rows[n - 1].id : after;
        org_rows_free(rows, n);
    } while (!rc && !*out && n == STORE_LIST_MAX);
    return rc;
}

/* Whether worker_id is an enabled user of org_id: someone an alarm can be opened for. */
static int worker_active(struct store *st, int64_t org_id, int64_t worker_id, bool *out)
{
    struct user_row u = {0};
    int rc = store_user_get(st, org_id, worker_id, &u);
    *out = !rc && !u.disabled;
    user_row_fini(&u);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

/* Tells r of alert e (subject already in m), the text completed with what the event says
 * (meaning, position, event id) and todo. */
static int tell_alert(struct watch *w, struct store *st, int64_t org_id,
                      const struct dc09_event_row *e, bool duress, const struct recipients *r,
                      struct device_notice *m, const char *todo, int64_t now,
                      struct id_list *outbox)
{
    char what[160], at[40], where[128] = "Position: not given.";
    struct position p = event_position(e);
    event_message(e, what, sizeof what);
    if (p.known)
        snprintf(where, sizeof where, "Position: %.6f, %.6f at %s.", p.latitude, p.longitude,
                 time_format_iso(p.at, at, sizeof at));
    snprintf(m->text, sizeof m->text, "%s\n\n%s. %s\nDC-09 event %lld, received %s. %s%s",
             m->subject, what, where, (long long)e->id,
             time_format_iso(e->received_at, at, sizeof at), todo,
             duress ? " Someone may be forced to act: do not call them openly." : "");
    snprintf(m->step, sizeof m->step, "event%lld:alert", (long long)e->id);
    json_t *payload = json_pack(
        "{s:s,s:I,s:o,s:s,s:s,s:b,s:o,s:s,s:s}", "event", m->event, "dc09_event_id",
        (json_int_t)e->id, "device_id", e->device_id ? json_integer(e->device_id) : json_null(),
        "account", e->account, "action", e->action, "duress", duress, "position",
        p.known ? json_pack("{s:f,s:f}", "latitude", p.latitude, "longitude", p.longitude)
                : json_null(),
        "subject", m->subject, "text", m->text);
    struct notice n = {
        .event = m->event, .subject = m->subject, .text = m->text, .payload = payload};
    char key[96];
    snprintf(key, sizeof key, "dc09%s", m->step);
    int rc = payload ? recipients_notify(w, st, org_id, r, &n, key, now, outbox) : -NA_EINVAL;
    json_decref(payload);
    return rc;
}

/* A red or duress event of a device of an organisation with no worker to open an alarm
 * for (none issued, or theirs has left): its operators are told at once (the red-alert
 * path's fallback: operators, else senior managers, else admins). d may be NULL (the
 * device deleted since). */
static int alert_unissued(struct watch *w, struct store *st, const struct dc09_event_row *e,
                          const struct device_row *d, bool duress, int64_t now,
                          struct id_list *outbox)
{
    struct device_notice m = {.event = "device.unissued_alert"};
    struct recipients r = {.worker_id = e->worker_id};
    char what[160];
    event_message(e, what, sizeof what);
    snprintf(m.subject, sizeof m.subject, "%s from device %s (account %s): %s, %s%s",
             duress ? "SILENT ALARM" : "RED ALERT", d ? device_name(d) : "(deleted)", e->account,
             what, e->worker_id ? "its worker has left" : "no worker issued",
             duress ? ", do not call openly" : "");
    int rc = recipients_operators(st, e->organisation_id, &r);
    if (!rc)
        rc = tell_alert(w, st, e->organisation_id, e, duress, &r, &m,
                        "No alarm was opened: an alarm needs a worker. Find who carries the "
                        "device, and issue it to them.",
                        now, outbox);
    size_t told = r.n_users;
    recipients_fini(&r);
    if (!rc)
        log_warn("dc09_alert_unissued", "event_id=%lld device_id=%lld told=%zu", (long long)e->id,
                 (long long)e->device_id, told);
    return rc;
}

/* A red or duress event of an account no device has: the host organisation's operators
 * (else its admins), who alone see unassigned events, are told at once. */
static int alert_unassigned(struct watch *w, struct store *st, const struct dc09_event_row *e,
                            bool duress, int64_t now, struct id_list *outbox)
{
    static const unsigned roles[] = {ROLE_OPERATOR, ROLE_ADMIN};
    struct device_notice m = {.event = "dc09.unassigned_alert"};
    struct recipients r = {0};
    int64_t host = 0;
    snprintf(m.subject, sizeof m.subject, "%s from unregistered DC-09 account %s (peer %s)%s",
             duress ? "SILENT ALARM" : "RED ALERT", e->account, e->peer ? e->peer : "unknown",
             duress ? ", do not call openly" : "");
    int rc = host_org(st, &host);
    if (!rc && host)
        rc = recipients_first_role(st, host, roles, sizeof roles / sizeof roles[0], &r);
    if (!rc && host)
        rc = tell_alert(w, st, host, e, duress, &r, &m,
                        "No device has this account: find whose it is and register it.", now,
                        outbox);
    size_t told = r.n_users;
    recipients_fini(&r);
    if (!rc)
        log_warn("dc09_alert_unassigned", "event_id=%lld told=%zu", (long long)e->id, told);
    return rc;
}

/* Does what e asks: its action for its worker; a red or duress event without a worker to
 * open an alarm for is told to people at once instead. *alarm_id gets the alarm opened. */
static int event_act(struct watch *w, struct store *st, const struct dc09_event_row *e,
                     const struct device_row *d, int64_t now, int64_t *alarm_id,
                     struct id_list *outbox)
{
    enum dc09_action action;
    bool active = false;
    *alarm_id = 0;
    if (dc09_action_parse(e->action, &action))
        return 0; /* an action this version does not know: kept, not acted on */
    bool alert = action == DC09_ACTION_RED || action == DC09_ACTION_DURESS;
    bool duress = action == DC09_ACTION_DURESS;
    if (!e->organisation_id)
        return alert ? alert_unassigned(w, st, e, duress, now, outbox) : 0;
    int rc = e->worker_id ? worker_active(st, e->organisation_id, e->worker_id, &active) : 0;
    if (!rc && alert && !active)
        return alert_unissued(w, st, e, d, duress, now, outbox);
    if (!rc && e->worker_id)
        rc = event_apply(w, st, e, action, d, now, alarm_id, outbox);
    return rc;
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
    if (!rc)
        rc = event_act(w, st, &e, has_device ? &d : NULL, now, &alarm_id, outbox);
    if (rc == -NA_ENOTFOUND) {
        /* The worker left the organisation meanwhile: nothing can be done for them. */
        log_warn("dc09_event_not_applied", "event_id=%lld worker_id=%lld", (long long)e.id,
                 (long long)e.worker_id);
        rc = 0;
    }
    if (!rc)
        rc = store_dc09_event_applied(st, e.id, now, alarm_id);
done:
    device_done(&d);
    dc09_event_row_fini(&e);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

/* The loss's alarm, when the device says so and has a worker: *alarm_id gets it. */
static int lost_alarm(struct watch *w, struct store *st, const struct device_row *d, int64_t now,
                      int64_t *alarm_id, struct sched_job *next, struct id_list *outbox)
{
    char alert_id[80];
    struct alarm_row a = {0};
    bool opened;
    snprintf(alert_id, sizeof alert_id, "dc09/silent/%lld/%lld", (long long)d->id,
             (long long)d->lost_at);
    struct alarm_request q = {.organisation_id = d->organisation_id,
                              .worker_id = d->worker_id,
                              .kind = ALARM_OVERDUE,
                              .source = "dc09",
                              .alert_id = alert_id,
                              .message = "loss of signal"};
    int rc = alarm_open_once(w, st, &q, now, &a, &opened, outbox);
    *alarm_id = rc ? 0 : a.id;
    if (opened)
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
    device_done(&d);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}
