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

/*
 * Senders working through one queue, each with its own storage connection and notifier:
 * a webhook that hangs until its timeout holds up one sender, not every alarm behind it.
 */
#define DELIVER_SENDERS 4

struct deliver;

struct sender {
    struct deliver *d;
    struct store *st;
    struct notifier *nt;
    pthread_t thread;
    bool running;
    int64_t sending; /* the outbox id being sent, 0 when none (under the lock) */
};

struct deliver {
    struct watch *w;
    struct sender senders[DELIVER_SENDERS];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t idle;
    int64_t *queue; /* ids; taken from the front */
    size_t head;
    size_t n;
    int busy; /* senders sending */
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

static int record_step(struct sender *d, const struct outbox_row *o, const char *kind,
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
static void record(struct sender *d, const struct outbox_row *o, int sent, const char *err)
{
    int64_t now = clock_now_ms(d->d->w->cfg.clock);
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
    if (rc == -NA_ENOTFOUND) {
        /* Taken over while this node was sending: the new owner sends and records it. */
        store_rollback(d->st);
        log_warn("delivery_taken_over", "outbox_id=%lld", (long long)o->id);
        return;
    }
    if (rc) {
        store_rollback(d->st);
        /* Still pending in storage: try again later rather than lose it. */
        log_error("delivery_record_failed", "outbox_id=%lld code=%s", (long long)o->id,
                  na_error_code(rc));
        sched_add(d->d->w->sched,
                  (struct sched_job){now + notify_backoff_ms(1), JOB_DELIVER, o->id});
        return;
    }
    if (final)
        sched_add(d->d->w->sched, (struct sched_job){now, JOB_UNREACHABLE, o->id});
    else if (next)
        sched_add(d->d->w->sched, (struct sched_job){next, JOB_DELIVER, o->id});
}

static void deliver_one(struct sender *d, int64_t id)
{
    struct outbox_row o = {0};
    struct channel_row c = {0};
    char err[256] = "";
    bool mine = false;
    /* Sent by its owner only: a node taken for dead that comes back leaves to the node
     * that took its rows over what it had queued. */
    int rc = store_owns(d->st, DUE_OUTBOX, id, &mine);
    if (!rc && !mine)
        return;
    if (!rc)
        rc = store_outbox_get(d->st, id, &o);
    if (!rc && o.channel_id)
        rc = store_channel_get(d->st, o.organisation_id, o.channel_id, &c);
    if (rc && rc != -NA_ENOTFOUND) {
        /* Storage trouble is not an answer: the row is still pending, try again later. */
        log_error("delivery_read_failed", "outbox_id=%lld code=%s", (long long)id,
                  na_error_code(rc));
        int64_t now = clock_now_ms(d->d->w->cfg.clock);
        sched_add(d->d->w->sched, (struct sched_job){now + notify_backoff_ms(1), JOB_DELIVER, id});
    } else if (rc && o.id) {
        record(d, &o, -NA_EINVAL, "channel removed");
    }
    if (rc || strcmp(o.state, "pending")) {
        outbox_row_fini(&o);
        channel_row_fini(&c);
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
    rc = notifier_send(d->nt, &m, err, sizeof err);
    if (rc)
        log_warn("delivery_failed", "outbox_id=%lld attempt=%d code=%s", (long long)o.id,
                 o.attempts + 1, na_error_code(rc));
    record(d, &o, rc, err);
    outbox_row_fini(&o);
    channel_row_fini(&c);
}

/*
 * Whether another sender is sending id now (lock held). A row can be handed over twice
 * (its retry job and the periodic resync both find it due): the second hand-over is
 * dropped while the first is sending, which records the outcome and schedules any retry,
 * so that one row is never sent by two senders at once.
 */
static bool being_sent_locked(const struct deliver *d, int64_t id)
{
    for (size_t i = 0; i < DELIVER_SENDERS; i++)
        if (d->senders[i].sending == id)
            return true;
    return false;
}

static void *run(void *arg)
{
    struct sender *sd = arg;
    struct deliver *d = sd->d;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (d->head == d->n && !d->stop)
            pthread_cond_wait(&d->wake, &d->lock);
        if (d->stop)
            break;
        int64_t id = d->queue[d->head++];
        if (d->head == d->n)
            d->head = d->n = 0; /* drained: reuse the array from the start */
        if (being_sent_locked(d, id)) {
            pthread_cond_broadcast(&d->idle);
            continue;
        }
        d->busy++;
        sd->sending = id;
        pthread_mutex_unlock(&d->lock);
        deliver_one(sd, id);
        pthread_mutex_lock(&d->lock);
        sd->sending = 0;
        d->busy--;
        d->finished++;
        pthread_cond_broadcast(&d->idle);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static int sender_start(struct deliver *d, struct sender *sd)
{
    sd->d = d;
    int rc = store_open(d->w->cfg.store, &sd->st);
    if (!rc)
        rc = notifier_new(&d->w->cfg.notify, &sd->nt);
    if (!rc && pthread_create(&sd->thread, NULL, run, sd))
        rc = -NA_EIO;
    sd->running = rc == 0;
    return rc;
}

int deliver_new(struct watch *w, struct deliver **out)
{
    struct deliver *d = xcalloc(1, sizeof *d);
    d->w = w;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    pthread_cond_init(&d->idle, NULL);
    int rc = 0;
    for (size_t i = 0; !rc && i < DELIVER_SENDERS; i++)
        rc = sender_start(d, &d->senders[i]);
    if (rc) {
        deliver_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void deliver_free(struct deliver *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stop = true;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    for (size_t i = 0; i < DELIVER_SENDERS; i++) {
        struct sender *sd = &d->senders[i];
        if (sd->running)
            pthread_join(sd->thread, NULL);
        notifier_free(sd->nt);
        store_close(sd->st);
    }
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
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
}

uint64_t deliver_wait_idle(struct deliver *d)
{
    pthread_mutex_lock(&d->lock);
    while (d->head < d->n || d->busy)
        pthread_cond_wait(&d->idle, &d->lock);
    uint64_t finished = d->finished;
    pthread_mutex_unlock(&d->lock);
    return finished;
}
