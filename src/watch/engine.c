/*
 * What the scheduler's jobs do (its thread, its own storage connection): a passed
 * deadline opens a case, a level's limit climbs it, a reminder is sent, a notification
 * that finally failed passes its level over; an unclaimed alarm is told again, a passed
 * amber deadline opens an alarm, an untested device is told (alarms.c); a DC-09 event's action
 * is applied, a silent device's loss of signal told (devices.c). A batch of due jobs is
 * handled in one transaction, so a thousand deadlines a second cost a few commits, not a thousand;
 * if the batch fails, each job is retried alone so one bad row cannot hold up the others.
 */
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/cases.h"
#include "watch/events.h"

#define RETRY_FAILED_JOB_MS  (30 * 1000)
#define RETRY_UNAVAILABLE_MS 1000

/* Follow-ups of a batch, applied after its commit. */
struct followups {
    struct id_list outbox;
    struct sched_job *jobs;
    size_t n_jobs;
};

static void later(struct followups *f, int kind, int64_t id, int64_t due)
{
    f->jobs = xrealloc(f->jobs, f->n_jobs + 1, sizeof *f->jobs);
    f->jobs[f->n_jobs++] = (struct sched_job){.due_at = due, .kind = kind, .id = id};
}

static void followups_fini(struct followups *f)
{
    id_list_fini(&f->outbox);
    free(f->jobs);
    memset(f, 0, sizeof *f);
}

static int on_deadline(struct watch *w, int64_t visit_id, int64_t now, struct followups *f)
{
    struct visit_row v = {0};
    struct escalation_row e = {0};
    int rc = store_visit_get_any(w->st, visit_id, &v);
    if (rc == -NA_ENOTFOUND)
        return 0;
    if (rc || v.clock.state != VISIT_ACTIVE)
        goto done;
    if (v.clock.deadline_at > now) { /* moved since it was scheduled */
        later(f, JOB_DEADLINE, v.id, v.clock.deadline_at);
        goto done;
    }
    rc = store_escalation_open_for_visit(w->st, v.organisation_id, v.id, &e);
    if (rc != -NA_ENOTFOUND)
        goto done; /* a case is already open (or an error) */
    escalation_row_fini(&e);
    /* A case handed to the police leaves the visit past this very deadline: it must not
     * open again, now or after a restart. A new deadline (check-in, extension) is new. */
    bool handled;
    rc = store_escalation_exists_for_deadline(w->st, v.organisation_id, v.id, v.clock.deadline_at,
                                              &handled);
    if (rc || handled)
        goto done;
    struct visit_event ev = {.visit_id = v.id,
                             .organisation_id = v.organisation_id,
                             .kind = "deadline_missed",
                             .at = now};
    rc = store_visit_event_add(w->st, &ev);
    if (!rc)
        rc = events_add_visit(w->st, EVENT_VISIT_OVERDUE, &v, 0, now);
    if (!rc)
        rc = case_open(w, w->st, &v, now, &e, &f->outbox);
    if (!rc)
        later(f, JOB_ESCALATION, e.id, e.c.level_due_at);
done:
    escalation_row_fini(&e);
    visit_row_fini(&v);
    return rc;
}

static int send_reminder(struct watch *w, struct visit_row *v, int64_t now, struct followups *f)
{
    char subject[128], text[512], at[40], key[96];
    time_format_iso(v->clock.deadline_at, at, sizeof at);
    snprintf(subject, sizeof subject, "Reminder: check in by %s", at);
    snprintf(text, sizeof text,
             "Your next check-in for the visit at %s is due by %s. Check in, extend the visit "
             "if you are delayed, or end it when you are safe; otherwise your contacts will be "
             "told.",
             v->address ? v->address : "your visit", at);
    snprintf(key, sizeof key, "visit%lld:reminder:%lld", (long long)v->id,
             (long long)v->clock.deadline_at);
    json_t *payload = json_pack("{s:s,s:I,s:s}", "event", "visit.reminder", "visit_id",
                                (json_int_t)v->id, "deadline_at", at);
    struct notice n = {.event = "visit.reminder",
                       .subject = subject,
                       .text = text,
                       .payload = payload,
                       .key = key};
    int rc = notice_user(w, w->st, v->organisation_id, v->worker_id, &n, now, &f->outbox);
    json_decref(payload);
    struct visit_event ev = {.visit_id = v->id,
                             .organisation_id = v->organisation_id,
                             .kind = "reminder_sent",
                             .at = now};
    if (!rc)
        rc = store_visit_event_add(w->st, &ev);
    v->reminder_at = 0;
    v->updated_at = now;
    if (!rc)
        rc = store_visit_update(w->st, v);
    return rc;
}

static int on_reminder(struct watch *w, int64_t visit_id, int64_t now, struct followups *f)
{
    struct visit_row v = {0};
    int rc = store_visit_get_any(w->st, visit_id, &v);
    if (rc == -NA_ENOTFOUND)
        return 0;
    if (!rc && v.clock.state == VISIT_ACTIVE && v.reminder_at) {
        if (v.reminder_at > now)
            later(f, JOB_REMINDER, v.id, v.reminder_at);
        else if (v.clock.deadline_at > now)
            rc = send_reminder(w, &v, now, f);
    }
    visit_row_fini(&v);
    return rc;
}

static int on_escalation(struct watch *w, int64_t id, int64_t now, struct followups *f)
{
    struct escalation_row e = {0};
    int rc = store_escalation_get_any(w->st, id, &e);
    if (rc == -NA_ENOTFOUND)
        return 0;
    if (!rc && e.c.state == ESCALATION_OPEN) {
        if (e.c.level_due_at > now)
            later(f, JOB_ESCALATION, e.id, e.c.level_due_at);
        else
            rc = case_climb(w, w->st, &e, "timeout", now, &f->outbox);
        if (!rc && e.c.level_due_at > now)
            later(f, JOB_ESCALATION, e.id, e.c.level_due_at);
    }
    escalation_row_fini(&e);
    return rc;
}

/* True when some notification of the case's current level may still arrive. */
static int level_still_reachable(struct watch *w, const struct escalation_row *e, bool *out)
{
    struct outbox_row *rows = NULL;
    size_t n = 0;
    int64_t entered;
    int rc = case_level_entered_at(w->st, e, &entered);
    if (!rc)
        rc = store_outbox_for_escalation(w->st, e->id, &rows, &n);
    *out = false;
    for (size_t i = 0; !rc && i < n; i++)
        if (rows[i].level == e->c.level && rows[i].created_at >= entered &&
            strcmp(rows[i].event, "escalation.notify") == 0 && strcmp(rows[i].state, "failed"))
            *out = true;
    outbox_rows_free(rows, n);
    return rc;
}

static int on_unreachable(struct watch *w, int64_t outbox_id, int64_t now, struct followups *f)
{
    struct outbox_row o = {0};
    struct escalation_row e = {0};
    bool reachable = true, mine = false;
    int rc = store_outbox_get(w->st, outbox_id, &o);
    if (rc || !o.escalation_id || strcmp(o.event, "escalation.notify") != 0)
        goto done;
    /* The case is what changes, so the case's owner acts (a failed notice itself is no
     * longer anyone's work: after a takeover it still names the node that sent it). */
    rc = store_owns(w->st, DUE_ESCALATION, o.escalation_id, &mine);
    if (rc || !mine)
        goto done;
    rc = store_escalation_get_any(w->st, o.escalation_id, &e);
    /* Only the level now being told matters, and not once someone holds the case. */
    if (rc || e.c.state != ESCALATION_OPEN || e.c.level != o.level || e.c.acknowledged_by)
        goto done;
    rc = level_still_reachable(w, &e, &reachable);
    if (!rc && !reachable)
        rc = case_climb(w, w->st, &e, "unreachable", now, &f->outbox);
    if (!rc && !reachable)
        later(f, JOB_ESCALATION, e.id, e.c.level_due_at);
done:
    outbox_row_fini(&o);
    escalation_row_fini(&e);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

/* The table a job's row is in; 0 for a delivery, whose sender checks for itself. */
static enum due_kind job_row(int kind)
{
    switch (kind) {
    case JOB_DEADLINE:
    case JOB_REMINDER:
        return DUE_VISIT;
    case JOB_ESCALATION:
        return DUE_ESCALATION;
    case JOB_ALARM:
        return DUE_ALARM;
    case JOB_AMBER:
        return DUE_AMBER;
    case JOB_DEVICE:
        return DUE_DEVICE;
    case JOB_DC09:
        return DUE_DC09;
    case JOB_SILENT:
        return DUE_SILENT;
    }
    return 0; /* an unreachable notice acts on its case: on_unreachable checks that */
}

/* An alarm job, with the job it asks for next. */
static int alarm_job(struct watch *w, const struct sched_job *j, int64_t now, struct followups *f)
{
    struct sched_job next;
    int rc = j->kind == JOB_ALARM   ? alarm_job_renotify(w, w->st, j->id, now, &next, &f->outbox)
             : j->kind == JOB_AMBER ? alarm_job_amber(w, w->st, j->id, now, &next, &f->outbox)
                                    : alarm_job_device(w, w->st, j->id, now, &next, &f->outbox);
    if (!rc && next.due_at)
        later(f, next.kind, next.id, next.due_at);
    return rc;
}

/* A device job (devices.c), with the job it asks for next. */
static int device_job(struct watch *w, const struct sched_job *j, int64_t now, struct followups *f)
{
    struct sched_job next;
    int rc = j->kind == JOB_DC09 ? device_job_dc09(w, w->st, j->id, now, &next, &f->outbox)
                                 : device_job_silent(w, w->st, j->id, now, &next, &f->outbox);
    if (!rc && next.due_at)
        later(f, next.kind, next.id, next.due_at);
    return rc;
}

static int run_job(struct watch *w, const struct sched_job *j, int64_t now, struct followups *f)
{
    /* Another node may have taken the row over (this one was silent) or changed it since
     * (a check-in there): then it is that node's to fire. The row stays locked until the
     * commit, so two nodes never both act on it. */
    enum due_kind row = job_row(j->kind);
    bool mine = true;
    int rc = row ? store_owns(w->st, row, j->id, &mine) : 0;
    if (rc == -NA_ENOTFOUND || (!rc && !mine))
        return 0;
    if (rc)
        return rc;
    switch (j->kind) {
    case JOB_DEADLINE:
        return on_deadline(w, j->id, now, f);
    case JOB_REMINDER:
        return on_reminder(w, j->id, now, f);
    case JOB_ESCALATION:
        return on_escalation(w, j->id, now, f);
    case JOB_UNREACHABLE:
        return on_unreachable(w, j->id, now, f);
    case JOB_ALARM:
    case JOB_AMBER:
    case JOB_DEVICE:
        return alarm_job(w, j, now, f);
    case JOB_DC09:
    case JOB_SILENT:
        return device_job(w, j, now, f);
    case JOB_DELIVER:
        id_list_push(&f->outbox, j->id); /* no storage work: straight to the sender */
        return 0;
    }
    return 0;
}

/* Runs jobs[0..n) in one transaction; follow-ups only count when it commits. */
static int run_batch(struct watch *w, const struct sched_job *jobs, size_t n, int64_t now,
                     struct followups *f)
{
    int rc = store_begin(w->st);
    for (size_t i = 0; !rc && i < n; i++)
        rc = run_job(w, &jobs[i], now, f);
    if (!rc)
        rc = store_commit(w->st);
    if (rc) {
        store_rollback(w->st);
        followups_fini(f);
    }
    return rc;
}

static void apply(struct watch *w, struct followups *f)
{
    if (f->n_jobs)
        sched_add_many(w->sched, f->jobs, f->n_jobs);
    if (f->outbox.n)
        deliver_submit(w->deliver, f->outbox.ids, f->outbox.n);
    followups_fini(f);
}

void engine_fire(void *ctx, const struct sched_job *jobs, size_t n, int64_t now)
{
    struct watch *w = ctx;
    struct followups f = {0};
    int rc = run_batch(w, jobs, n, now, &f);
    if (rc == 0) {
        apply(w, &f);
        return;
    }
    if (rc == -NA_EUNAVAILABLE) {
        /* The database is away (restarting, unreachable): every job would fail alone
         * too. Try the whole batch again soon; nothing is dropped. */
        log_error("jobs_deferred", "jobs=%zu code=%s", n, na_error_code(rc));
        for (size_t i = 0; i < n; i++)
            later(&f, jobs[i].kind, jobs[i].id, now + RETRY_UNAVAILABLE_MS);
        apply(w, &f);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        rc = run_batch(w, &jobs[i], 1, now, &f);
        if (rc) {
            /* Deadlines are data: the job is tried again, never dropped. */
            log_error("job_failed", "kind=%d id=%lld code=%s", jobs[i].kind, (long long)jobs[i].id,
                      na_error_code(rc));
            later(&f, jobs[i].kind, jobs[i].id,
                  now + (rc == -NA_EUNAVAILABLE ? RETRY_UNAVAILABLE_MS : RETRY_FAILED_JOB_MS));
        }
        apply(w, &f);
    }
}
