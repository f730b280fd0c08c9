/*
 * The delivery thread: sends outbox rows through the notifier and records the result.
 * A failed attempt is retried with backoff through the scheduler; the last failure is
 * handed back to the scheduler as "unreachable", which passes the level over. Sending
 * happens outside any transaction: a crash between sending and recording means one more
 * send with the same idempotency key, never a lost one.
 */
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch_internal.h"

struct deliver {
    struct watch *w;
    struct store *st;
    struct notifier *nt;
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t idle;
    int64_t *queue;
    size_t n;
    bool busy;
    bool stop;
    uint64_t finished;
};

static enum notify_channel channel_of(const char *kind)
{
    if (strcmp(kind, "webhook") == 0)
        return NOTIFY_WEBHOOK;
    if (strcmp(kind, "email") == 0)
        return NOTIFY_EMAIL;
    return NOTIFY_LOG;
}

static int record_step(struct deliver *d, const struct outbox_row *o, const char *kind,
                       const char *detail, int64_t now)
{
    if (!o->escalation_id)
        return 0;
    struct escalation_step s = {.escalation_id = o->escalation_id,
                                .organisation_id = o->organisation_id,
                                .at = now,
                                .level = o->level,
                                .kind = kind,
                                .user_id = o->user_id,
                                .channel_id = o->channel_id,
                                .outbox_id = o->id,
                                .detail = detail};
    return store_escalation_step_add(d->st, &s);
}

/* Stores the outcome of one attempt and schedules what follows. */
static void record(struct deliver *d, const struct outbox_row *o, int sent, const char *err)
{
    int64_t now = clock_now_ms(d->w->cfg.clock);
    int attempts = o->attempts + 1;
    bool final = sent != 0 && (sent == -NA_EINVAL || attempts >= NOTIFY_MAX_ATTEMPTS);
    const char *state = sent == 0 ? "sent" : final ? "failed" : "pending";
    int64_t next = sent == 0 || final ? 0 : now + notify_backoff_ms(attempts);
    int rc = store_begin(d->st);
    if (!rc)
        rc = store_outbox_mark(d->st, o->id, state, attempts, next, sent ? err : NULL, now);
    if (!rc && (sent == 0 || final))
        rc = record_step(d, o, sent == 0 ? "delivered" : "delivery_failed", sent ? err : NULL, now);
    if (!rc)
        rc = store_commit(d->st);
    if (rc) {
        store_rollback(d->st);
        /* Still pending in storage: try again later rather than lose it. */
        log_error("delivery_record_failed", "outbox_id=%lld code=%s", (long long)o->id,
                  na_error_code(rc));
        sched_add(d->w->sched, (struct sched_job){now + notify_backoff_ms(1), JOB_DELIVER, o->id});
        return;
    }
    if (final)
        sched_add(d->w->sched, (struct sched_job){now, JOB_UNREACHABLE, o->id});
    else if (next)
        sched_add(d->w->sched, (struct sched_job){next, JOB_DELIVER, o->id});
}

static void deliver_one(struct deliver *d, int64_t id)
{
    struct outbox_row o = {0};
    struct channel_row c = {0};
    char err[256] = "";
    if (store_outbox_get(d->st, id, &o) || strcmp(o.state, "pending")) {
        outbox_row_fini(&o);
        return;
    }
    if (o.channel_id && store_channel_get(d->st, o.organisation_id, o.channel_id, &c)) {
        record(d, &o, -NA_EINVAL, "channel removed");
        outbox_row_fini(&o);
        return;
    }
    struct notify_message m = {.channel = channel_of(o.channel),
                               .address = o.address,
                               .secret = c.secret,
                               .event = o.event,
                               .subject = o.subject,
                               .body = o.body,
                               .idempotency_key = o.idempotency_key,
                               .outbox_id = o.id};
    int rc = notifier_send(d->nt, &m, err, sizeof err);
    if (rc)
        log_warn("delivery_failed", "outbox_id=%lld attempt=%d code=%s", (long long)o.id,
                 o.attempts + 1, na_error_code(rc));
    record(d, &o, rc, err);
    outbox_row_fini(&o);
    channel_row_fini(&c);
}

static void *run(void *arg)
{
    struct deliver *d = arg;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (!d->n && !d->stop)
            pthread_cond_wait(&d->wake, &d->lock);
        if (d->stop)
            break;
        int64_t *batch = d->queue;
        size_t n = d->n;
        d->queue = NULL;
        d->n = 0;
        d->busy = true;
        pthread_mutex_unlock(&d->lock);
        for (size_t i = 0; i < n; i++)
            deliver_one(d, batch[i]);
        free(batch);
        pthread_mutex_lock(&d->lock);
        d->busy = false;
        d->finished += n;
        pthread_cond_broadcast(&d->idle);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

int deliver_new(struct watch *w, struct deliver **out)
{
    struct deliver *d = xcalloc(1, sizeof *d);
    d->w = w;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    pthread_cond_init(&d->idle, NULL);
    int rc = store_open(w->cfg.store, &d->st);
    if (!rc)
        rc = notifier_new(&w->cfg.notify, &d->nt);
    if (!rc && pthread_create(&d->thread, NULL, run, d))
        rc = -NA_EIO;
    if (rc) {
        deliver_free(d);
        return rc;
    }
    d->running = true;
    *out = d;
    return 0;
}

void deliver_free(struct deliver *d)
{
    if (!d)
        return;
    if (d->running) {
        pthread_mutex_lock(&d->lock);
        d->stop = true;
        pthread_cond_signal(&d->wake);
        pthread_mutex_unlock(&d->lock);
        pthread_join(d->thread, NULL);
    }
    notifier_free(d->nt);
    store_close(d->st);
    free(d->queue);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->wake);
    pthread_cond_destroy(&d->idle);
    free(d);
}

void deliver_submit(struct deliver *d, const int64_t *ids, size_t n)
{
    pthread_mutex_lock(&d->lock);
    d->queue = xrealloc(d->queue, d->n + n, sizeof *d->queue);
    memcpy(d->queue + d->n, ids, n * sizeof *ids);
    d->n += n;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
}

uint64_t deliver_wait_idle(struct deliver *d)
{
    pthread_mutex_lock(&d->lock);
    while (d->n || d->busy)
        pthread_cond_wait(&d->idle, &d->lock);
    uint64_t finished = d->finished;
    pthread_mutex_unlock(&d->lock);
    return finished;
}
