/* The watch's life: start (rebuilding the timetable from storage), scheduling, stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch_internal.h"

#define SCHED_MAX_BATCH 512

int watch_new(const struct watch_config *cfg, struct watch **out)
{
    struct watch *w = xcalloc(1, sizeof *w);
    w->cfg = *cfg;
    w->public_url = xstrdup(cfg->public_url);
    w->email_enabled = cfg->notify.smtp_url != NULL;
    int rc = store_open(cfg->store, &w->st);
    if (!rc)
        rc = sched_new(cfg->clock, engine_fire, w, SCHED_MAX_BATCH, &w->sched);
    if (rc) {
        watch_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

/*
 * A final delivery failure hands the scheduler an "unreachable" job that lives only in
 * memory; after a restart or a takeover it is found again from the case's failed
 * notices, so a level nobody could be told is still passed over at once. on_unreachable
 * ignores those that no longer apply (another level, a case now held).
 */
static int schedule_unreachable(struct watch *w, struct store *st, int64_t case_id, int64_t now)
{
    struct outbox_row *rows = NULL;
    size_t m = 0;
    int rc = store_outbox_for_escalation(st, case_id, &rows, &m);
    for (size_t j = 0; !rc && j < m; j++)
        if (strcmp(rows[j].state, "failed") == 0 && strcmp(rows[j].event, "escalation.notify") == 0)
            sched_add(w->sched, (struct sched_job){now, JOB_UNREACHABLE, rows[j].id});
    outbox_rows_free(rows, m);
    return rc;
}

void watch_schedule_rows(struct watch *w, struct store *st, enum due_kind kind,
                         const struct adopted_row *rows, size_t n)
{
    int64_t now = clock_now_ms(w->cfg.clock);
    struct sched_job *jobs = xcalloc(2 * n + 1, sizeof *jobs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct adopted_row *r = &rows[i];
        if (kind == DUE_VISIT && r->due_at)
            jobs[k++] = (struct sched_job){r->due_at, JOB_DEADLINE, r->id};
        if (kind == DUE_VISIT && r->reminder_at)
            jobs[k++] = (struct sched_job){r->reminder_at, JOB_REMINDER, r->id};
        if (kind == DUE_ESCALATION && r->due_at)
            jobs[k++] = (struct sched_job){r->due_at, JOB_ESCALATION, r->id};
        if (kind == DUE_OUTBOX)
            jobs[k++] = (struct sched_job){r->due_at, JOB_DELIVER, r->id};
        if (kind == DUE_ALARM && r->due_at)
            jobs[k++] = (struct sched_job){r->due_at, JOB_ALARM, r->id};
        if (kind == DUE_AMBER && r->due_at)
            jobs[k++] = (struct sched_job){r->due_at, JOB_AMBER, r->id};
        if (kind == DUE_DEVICE && r->due_at)
            jobs[k++] = (struct sched_job){r->due_at, JOB_DEVICE, r->id};
        if (kind == DUE_DC09 && r->due_at)
            jobs[k++] = (struct sched_job){r->due_at, JOB_DC09, r->id};
        if (kind == DUE_SILENT && r->due_at)
            jobs[k++] = (struct sched_job){r->due_at, JOB_SILENT, r->id};
        /* A storage error here leaves the level to its limit, which climbs it anyway. */
        if (kind == DUE_ESCALATION && schedule_unreachable(w, st, r->id, now))
            log_error("unreachable_check_failed", "escalation_id=%lld", (long long)r->id);
    }
    sched_add_many(w->sched, jobs, k);
    free(jobs);
}

int watch_schedule_owned(struct watch *w, struct store *st, int64_t until, size_t *count)
{
    static const enum due_kind kinds[] = {DUE_VISIT, DUE_ESCALATION, DUE_OUTBOX, DUE_ALARM,
                                          DUE_AMBER, DUE_DEVICE,     DUE_DC09,   DUE_SILENT};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct adopted_row *rows = NULL;
        size_t n = 0;
        int rc = store_owned_due(st, kinds[i], until, &rows, &n);
        if (rc)
            return rc;
        watch_schedule_rows(w, st, kinds[i], rows, n);
        free(rows);
        *count += n;
    }
    return 0;
}

int watch_start(struct watch *w)
{
    size_t n = 0;
    int64_t t0 = clock_system_ms();
    /* Its own rows first, then (cluster) those of nodes that are gone. */
    int rc = watch_schedule_owned(w, w->st, INT64_MAX, &n);
    if (!rc)
        rc = deliver_new(w, &w->deliver);
    if (!rc)
        rc = cluster_start(w, &w->cluster);
    if (!rc)
        rc = sched_start(w->sched);
    if (!rc)
        log_info("watch_started", "rows=%zu rebuild_ms=%lld", n,
                 (long long)(clock_system_ms() - t0));
    return rc;
}

void watch_free(struct watch *w)
{
    if (!w)
        return;
    /* The scheduler's thread hands work to the senders and the senders schedule retries:
     * stop the thread, then the senders, and only then free the timetable. The cluster's
     * thread schedules work taken over: it stops first; the node leaves (the others take
     * its work at once) only when it no longer fires or sends anything itself. */
    cluster_stop(w->cluster);
    sched_stop(w->sched);
    deliver_free(w->deliver);
    cluster_free(w->cluster);
    sched_free(w->sched);
    store_close(w->st);
    free(w->public_url);
    free(w);
}

void watch_visit_changed(struct watch *w, const struct visit_row *v)
{
    if (v->clock.state != VISIT_ACTIVE) {
        sched_cancel(w->sched, JOB_DEADLINE, v->id);
        sched_cancel(w->sched, JOB_REMINDER, v->id);
        return;
    }
    sched_add(w->sched, (struct sched_job){v->clock.deadline_at, JOB_DEADLINE, v->id});
    if (v->reminder_at)
        sched_add(w->sched, (struct sched_job){v->reminder_at, JOB_REMINDER, v->id});
    else
        sched_cancel(w->sched, JOB_REMINDER, v->id);
}

void watch_escalation_changed(struct watch *w, const struct escalation_row *e)
{
    if (e->c.state == ESCALATION_OPEN)
        sched_add(w->sched, (struct sched_job){e->c.level_due_at, JOB_ESCALATION, e->id});
    else
        sched_cancel(w->sched, JOB_ESCALATION, e->id);
}

void watch_deliver(struct watch *w, const int64_t *outbox_ids, size_t n)
{
    if (n)
        deliver_submit(w->deliver, outbox_ids, n);
}

int watch_settle(struct watch *w, int64_t timeout_ms)
{
    int64_t until = clock_system_ms() + timeout_ms;
    /* Deliveries can schedule jobs due now (a last failure), and jobs can queue
     * deliveries: go round until a round delivers nothing new. A delivery schedules its
     * follow-up before it counts as finished, so nothing falls between the rounds. */
    for (;;) {
        if (sched_wait_idle(w->sched, until - clock_system_ms()))
            return -NA_EUNAVAILABLE;
        uint64_t before = deliver_wait_idle(w->deliver);
        if (sched_wait_idle(w->sched, until - clock_system_ms()))
            return -NA_EUNAVAILABLE;
        if (deliver_wait_idle(w->deliver) == before)
            return 0;
    }
}

void watch_get_stats(struct watch *w, struct watch_stats *out)
{
    struct sched_stats s;
    sched_get_stats(w->sched, &s);
    out->scheduled = sched_count(w->sched);
    out->fired = s.fired;
    out->max_lateness_ms = s.max_lateness_ms;
    out->taken_over = cluster_taken_over(w->cluster);
}
