#include "sched/sched.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/heap.h"
#include "util/alloc.h"
#include "util/error.h"

/* Largest fire() batch; the batch array is allocated once at this size. */
#define SCHED_MAX_BATCH 65536
/*
 * Longest sleep on the system clock. The sleep is measured on CLOCK_MONOTONIC but due
 * times are wall-clock: waking at least once a second bounds how late a job can fire
 * after the wall clock is stepped forward, for one wake-up per second when idle.
 */
#define SCHED_MAX_SLEEP_MS 1000
/* Drained operation buffers larger than this are freed (the rebuild's 1M-job buffer). */
#define SCHED_KEEP_OPS 4096

struct sched {
    const struct clock *clock; /* borrowed */
    sched_fire_fn fire;
    void *ctx;
    size_t max_batch;

    pthread_mutex_t mu;
    pthread_cond_t wake; /* the thread waits for work or its next due time (monotonic) */
    pthread_cond_t idle; /* sched_wait_idle callers wait for done_seq (monotonic) */
    /* Guarded by mu. */
    struct sched_op *ops; /* pending operations, in the order they were handed over */
    size_t ops_len;
    size_t ops_cap;
    uint64_t seq;      /* bumped by every operation, kick and wait_idle */
    uint64_t done_seq; /* the thread saw seq at this value, fired all due, found no more */
    int stop;
    int started;
    pthread_t thread;

    /* Owned by the thread while it runs (by the caller before start and after join). */
    struct sched_heap heap;
    struct sched_op *work; /* the drained operations, swapped with ops */
    size_t work_cap;
    struct sched_job *batch; /* max_batch jobs handed to fire() */

    /* Written by the thread, read by anyone. */
    _Atomic int stopping;
    _Atomic size_t count;
    _Atomic uint64_t fired;
    _Atomic int64_t max_lateness_ms;
};

/* CLOCK_MONOTONIC now + ms, for the condition variables' timed waits. */
static struct timespec mono_after(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ms < 0)
        ms = 0;
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int init_sync(struct sched *s)
{
    pthread_condattr_t attr;
    int inited = 0;
    if (pthread_condattr_init(&attr) != 0)
        return -NA_EIO;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0)
        goto fail;
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        goto fail;
    inited = 1;
    if (pthread_cond_init(&s->wake, &attr) != 0)
        goto fail;
    inited = 2;
    if (pthread_cond_init(&s->idle, &attr) != 0)
        goto fail;
    pthread_condattr_destroy(&attr);
    return 0;
fail:
    if (inited >= 2)
        pthread_cond_destroy(&s->wake);
    if (inited >= 1)
        pthread_mutex_destroy(&s->mu);
    pthread_condattr_destroy(&attr);
    return -NA_EIO;
}

int sched_new(const struct clock *clock, sched_fire_fn fire, void *ctx, size_t max_batch,
              struct sched **out)
{
    struct sched *s = NULL;
    int err = -NA_EINVAL;
    *out = NULL;
    if (clock == NULL || fire == NULL || max_batch == 0 || max_batch > SCHED_MAX_BATCH)
        goto fail;
    s = xcalloc(1, sizeof(*s));
    s->clock = clock;
    s->fire = fire;
    s->ctx = ctx;
    s->max_batch = max_batch;
    sched_heap_init(&s->heap);
    err = init_sync(s);
    if (err != 0)
        goto fail;
    s->batch = xcalloc(max_batch, sizeof(*s->batch));
    *out = s;
    return 0;
fail:
    free(s);
    return err;
}

/* Pops up to max_batch jobs due at now into s->batch. */
static size_t pop_due(struct sched *s, int64_t now)
{
    size_t n = 0;
    while (n < s->max_batch) {
        const struct sched_job *next = sched_heap_peek(&s->heap);
        if (next == NULL || next->due_at > now)
            break;
        if (sched_heap_pop(&s->heap, &s->batch[n]) != 0)
            break;
        n++;
    }
    return n;
}

/* Fires batches until nothing is due by the clock, or until sched_free asks to stop. */
static void fire_due(struct sched *s)
{
    while (!atomic_load(&s->stopping)) {
        int64_t now = clock_now_ms(s->clock);
        size_t n = pop_due(s, now);
        atomic_store(&s->count, s->heap.len);
        if (n == 0)
            return;
        s->fire(s->ctx, s->batch, n, now);
        /* The batch is ascending, so its first job is the latest. */
        int64_t late = now - s->batch[0].due_at;
        if (late > atomic_load(&s->max_lateness_ms))
            atomic_store(&s->max_lateness_ms, late);
        atomic_fetch_add(&s->fired, (uint64_t)n);
    }
}

/* Takes the pending operations (mu held) into s->work; returns how many. */
static size_t take_ops(struct sched *s)
{
    struct sched_op *ops = s->ops;
    size_t cap = s->ops_cap;
    size_t n = s->ops_len;
    s->ops = s->work;
    s->ops_cap = s->work_cap;
    s->ops_len = 0;
    s->work = ops;
    s->work_cap = cap;
    return n;
}

/* Sleeps (mu held) until an operation arrives, a stop, or the earliest job's due time. */
static void wait_for_work(struct sched *s, uint64_t seen)
{
    const struct sched_job *next = sched_heap_peek(&s->heap);
    if (next == NULL || clock_is_simulated(s->clock)) {
        /* A simulated clock only moves when a test moves it, and then it kicks. */
        while (s->seq == seen && !s->stop)
            pthread_cond_wait(&s->wake, &s->mu);
        return;
    }
    int64_t wait_ms = next->due_at - clock_now_ms(s->clock);
    if (wait_ms <= 0)
        return;
    if (wait_ms > SCHED_MAX_SLEEP_MS)
        wait_ms = SCHED_MAX_SLEEP_MS;
    struct timespec until = mono_after(wait_ms);
    while (s->seq == seen && !s->stop) {
        if (pthread_cond_timedwait(&s->wake, &s->mu, &until) == ETIMEDOUT)
            break;
    }
}

static void *sched_main(void *arg)
{
    struct sched *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        uint64_t seen = s->seq;
        size_t n = take_ops(s);
        pthread_mutex_unlock(&s->mu);
        /* Applied outside the lock: a rebuild must not block the threads handing over. */
        sched_heap_apply(&s->heap, s->work, n);
        if (s->work_cap > SCHED_KEEP_OPS) {
            free(s->work);
            s->work = NULL;
            s->work_cap = 0;
        }
        fire_due(s);
        pthread_mutex_lock(&s->mu);
        if (s->seq != seen)
            continue;
        s->done_seq = seen;
        pthread_cond_broadcast(&s->idle);
        wait_for_work(s, seen);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sched_start(struct sched *s)
{
    assert(!s->started);
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0)
        return -NA_EIO;
    s->started = 1;
    return 0;
}

void sched_stop(struct sched *s)
{
    if (s == NULL || !s->started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    atomic_store(&s->stopping, 1);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->started = 0;
}

void sched_free(struct sched *s)
{
    if (s == NULL)
        return;
    sched_stop(s);
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    sched_heap_fini(&s->heap);
    free(s->ops);
    free(s->work);
    free(s->batch);
    free(s);
}

/* Reserves room for n more pending operations (mu held). */
static void ops_reserve(struct sched *s, size_t n)
{
    if (s->ops_cap - s->ops_len >= n)
        return;
    size_t cap = s->ops_cap ? s->ops_cap * 2 : 64;
    if (cap - s->ops_len < n)
        cap = s->ops_len + n;
    s->ops = xrealloc(s->ops, cap, sizeof(*s->ops));
    s->ops_cap = cap;
}

/* Wakes the thread for new work (mu held). */
static void poke(struct sched *s)
{
    s->seq++;
    pthread_cond_signal(&s->wake);
}

void sched_add(struct sched *s, struct sched_job job)
{
    sched_add_many(s, &job, 1);
}

void sched_add_many(struct sched *s, const struct sched_job *jobs, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&s->mu);
    ops_reserve(s, n);
    for (size_t k = 0; k < n; k++) {
        assert(jobs[k].kind > 0);
        s->ops[s->ops_len].job = jobs[k];
        s->ops[s->ops_len].cancel = 0;
        s->ops_len++;
    }
    poke(s);
    pthread_mutex_unlock(&s->mu);
}

void sched_cancel(struct sched *s, int kind, int64_t id)
{
    struct sched_op op = {.job = {.due_at = 0, .kind = kind, .id = id}, .cancel = 1};
    pthread_mutex_lock(&s->mu);
    ops_reserve(s, 1);
    s->ops[s->ops_len++] = op;
    poke(s);
    pthread_mutex_unlock(&s->mu);
}

void sched_kick(struct sched *s)
{
    pthread_mutex_lock(&s->mu);
    poke(s);
    pthread_mutex_unlock(&s->mu);
}

int sched_wait_idle(struct sched *s, int64_t timeout_ms)
{
    struct timespec until = mono_after(timeout_ms);
    int err = 0;
    pthread_mutex_lock(&s->mu);
    /*
     * Waiting is itself a kick: the thread is idle for this call only once it has taken
     * the queue and read the clock after the call began, so a kick (or a clock move)
     * just before the call is never answered by an earlier idle.
     */
    uint64_t target = ++s->seq;
    pthread_cond_signal(&s->wake);
    while (s->done_seq < target) {
        if (pthread_cond_timedwait(&s->idle, &s->mu, &until) == ETIMEDOUT) {
            if (s->done_seq < target)
                err = -NA_EUNAVAILABLE;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

size_t sched_count(struct sched *s)
{
    return atomic_load(&s->count);
}

void sched_get_stats(struct sched *s, struct sched_stats *out)
{
    out->fired = atomic_load(&s->fired);
    out->max_lateness_ms = atomic_load(&s->max_lateness_ms);
}
