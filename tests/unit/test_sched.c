/*
 * Tests of the scheduler (src/sched): its heap with key tracking, and the thread that
 * fires jobs by a simulated clock, checked against a simple reference model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "sched/heap.h"
#include "sched/sched.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/error.h"

#define T0      INT64_C(1700000000000)
#define WAIT_MS 5000

/* ---- helpers ---- */

/* xorshift64*: a fixed, reproducible sequence for the random tests. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int job_cmp(const void *a, const void *b)
{
    const struct sched_job *x = a;
    const struct sched_job *y = b;
    if (x->due_at != y->due_at)
        return x->due_at < y->due_at ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return 0;
}

/* What fire() saw. Written on the scheduler's thread, read after sched_wait_idle. */
struct rec {
    struct sched_job *jobs;
    size_t len;
    size_t cap;
    size_t batches;
    size_t batch_sizes[64];
    size_t max_batch;
    int64_t last_now;
    int bad; /* a job fired before it was due, a batch out of order or too large */
    const struct clock *clock;
};

static void rec_fire(void *ctx, const struct sched_job *jobs, size_t n, int64_t now)
{
    struct rec *r = ctx;
    if (n == 0 || n > r->max_batch)
        r->bad = 1;
    if (r->batches < 64)
        r->batch_sizes[r->batches] = n;
    r->batches++;
    r->last_now = now;
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->jobs = xrealloc(r->jobs, r->cap, sizeof(*r->jobs));
    }
    for (size_t k = 0; k < n; k++) {
        if (jobs[k].due_at > now || (k > 0 && job_cmp(&jobs[k - 1], &jobs[k]) > 0))
            r->bad = 1;
        r->jobs[r->len++] = jobs[k];
    }
}

struct fixture {
    struct clock clock;
    struct rec rec;
    struct sched *s;
};

static struct fixture *fixture_new(size_t max_batch, int start)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->clock = clock_simulated(T0);
    f->rec.max_batch = max_batch;
    f->rec.clock = &f->clock;
    assert_int_equal(sched_new(&f->clock, rec_fire, &f->rec, max_batch, &f->s), 0);
    if (start)
        assert_int_equal(sched_start(f->s), 0);
    return f;
}

static void fixture_free(struct fixture *f)
{
    sched_free(f->s);
    free(f->rec.jobs);
    free(f);
}

static void add(struct sched *s, int64_t due_at, int kind, int64_t id)
{
    struct sched_job job = {.due_at = due_at, .kind = kind, .id = id};
    sched_add(s, job);
}

static void advance_and_wait(struct fixture *f, int64_t ms)
{
    clock_advance(&f->clock, ms);
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
}

/* ---- heap ---- */

static void test_heap_put_replace_remove_pop(void **state)
{
    struct sched_heap h;
    struct sched_job out;
    (void)state;
    sched_heap_init(&h);
    assert_null(sched_heap_peek(&h));
    assert_int_equal(sched_heap_pop(&h, &out), -NA_ENOTFOUND);
    sched_heap_put(&h, (struct sched_job){.due_at = 30, .kind = 1, .id = 1});
    sched_heap_put(&h, (struct sched_job){.due_at = 10, .kind = 1, .id = 2});
    sched_heap_put(&h, (struct sched_job){.due_at = 20, .kind = 2, .id = 1});
    sched_heap_put(&h, (struct sched_job){.due_at = 5, .kind = 1, .id = 1}); /* replaces */
    assert_int_equal(h.len, 3);
    assert_int_equal(sched_heap_check(&h), 0);
    assert_int_equal(sched_heap_remove(&h, 1, 2), 1);
    assert_int_equal(sched_heap_remove(&h, 1, 2), 0);
    assert_int_equal(sched_heap_remove(&h, 9, 9), 0);
    assert_int_equal(sched_heap_check(&h), 0);
    assert_int_equal(sched_heap_pop(&h, &out), 0);
    assert_int_equal(out.due_at, 5);
    assert_int_equal(out.id, 1);
    assert_int_equal(sched_heap_pop(&h, &out), 0);
    assert_int_equal(out.kind, 2);
    assert_int_equal(h.len, 0);
    sched_heap_fini(&h);
}

/* Random puts, removes and batches (both paths of sched_heap_apply), invariants checked. */
static void test_heap_random_invariants(void **state)
{
    enum { KEYS = 2000, OPS = 300 };
    struct sched_heap h;
    struct sched_op *ops = xcalloc(OPS, sizeof(*ops));
    uint64_t rng = 42;
    (void)state;
    sched_heap_init(&h);
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(rng_next(&rng) % OPS) + 1;
        for (size_t k = 0; k < n; k++) {
            uint64_t r = rng_next(&rng);
            ops[k].cancel = r % 4 == 0;
            ops[k].job.kind = (int)(r >> 8) % 3 + 1;
            ops[k].job.id = (int64_t)((r >> 16) % KEYS);
            ops[k].job.due_at = (int64_t)((r >> 32) % 1000);
        }
        if (round % 2) {
            sched_heap_apply(&h, ops, n);
        } else {
            for (size_t k = 0; k < n; k++) {
                if (ops[k].cancel)
                    sched_heap_remove(&h, ops[k].job.kind, ops[k].job.id);
                else
                    sched_heap_put(&h, ops[k].job);
            }
        }
        assert_int_equal(sched_heap_check(&h), 0);
    }
    struct sched_job prev = {0}, out;
    for (size_t k = 0; sched_heap_pop(&h, &out) == 0; k++) {
        if (k > 0)
            assert_true(job_cmp(&prev, &out) < 0);
        prev = out;
        if (k % 97 == 0)
            assert_int_equal(sched_heap_check(&h), 0);
    }
    sched_heap_fini(&h);
    free(ops);
}

/* ---- scheduler on a simulated clock ---- */

static void test_new_rejects_bad_arguments(void **state)
{
    struct clock c = clock_simulated(T0);
    struct sched *s;
    (void)state;
    assert_int_equal(sched_new(&c, NULL, NULL, 8, &s), -NA_EINVAL);
    assert_null(s);
    assert_int_equal(sched_new(&c, rec_fire, NULL, 0, &s), -NA_EINVAL);
    assert_int_equal(sched_new(NULL, rec_fire, NULL, 8, &s), -NA_EINVAL);
    assert_int_equal(sched_new(&c, rec_fire, NULL, (size_t)1 << 20, &s), -NA_EINVAL);
    sched_free(NULL);
}

static void test_fires_in_due_order_only_when_due(void **state)
{
    struct fixture *f = fixture_new(512, 0);
    (void)state;
    /* Handed over before the thread starts, as the rebuild at start does. */
    add(f->s, T0 + 300, 1, 3);
    add(f->s, T0 + 100, 1, 1);
    add(f->s, T0 + 200, 2, 2);
    assert_int_equal(sched_start(f->s), 0);
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    assert_int_equal(f->rec.len, 0);
    assert_int_equal(sched_count(f->s), 3);
    advance_and_wait(f, 99);
    assert_int_equal(f->rec.len, 0);
    advance_and_wait(f, 1);
    assert_int_equal(f->rec.len, 1);
    assert_int_equal(f->rec.jobs[0].id, 1);
    assert_int_equal(f->rec.last_now, T0 + 100);
    advance_and_wait(f, 150);
    assert_int_equal(f->rec.len, 2);
    assert_int_equal(f->rec.jobs[1].kind, 2);
    advance_and_wait(f, 10000);
    assert_int_equal(f->rec.len, 3);
    assert_int_equal(f->rec.jobs[2].due_at, T0 + 300);
    assert_int_equal(sched_count(f->s), 0);
    assert_false(f->rec.bad);
    struct sched_stats st;
    sched_get_stats(f->s, &st);
    assert_int_equal(st.fired, 3);
    assert_int_equal(st.max_lateness_ms, T0 + 10250 - (T0 + 300));
    fixture_free(f);
}

static void test_replace_moves_job(void **state)
{
    struct fixture *f = fixture_new(512, 1);
    (void)state;
    add(f->s, T0 + 100, 1, 7);
    add(f->s, T0 + 1000, 1, 8);
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    add(f->s, T0 + 500, 1, 7); /* later: a check-in moved the deadline */
    add(f->s, T0 + 50, 1, 8);  /* earlier */
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    assert_int_equal(sched_count(f->s), 2);
    advance_and_wait(f, 60);
    assert_int_equal(f->rec.len, 1);
    assert_int_equal(f->rec.jobs[0].id, 8);
    assert_int_equal(f->rec.jobs[0].due_at, T0 + 50);
    advance_and_wait(f, 200); /* past the old due time of 7 */
    assert_int_equal(f->rec.len, 1);
    advance_and_wait(f, 240);
    assert_int_equal(f->rec.len, 2);
    assert_int_equal(f->rec.jobs[1].id, 7);
    assert_int_equal(f->rec.jobs[1].due_at, T0 + 500);
    advance_and_wait(f, 10000); /* neither fires again */
    assert_int_equal(f->rec.len, 2);
    assert_false(f->rec.bad);
    fixture_free(f);
}

static void test_cancel(void **state)
{
    struct fixture *f = fixture_new(512, 1);
    (void)state;
    add(f->s, T0 + 10, 1, 1);
    add(f->s, T0 + 20, 1, 2);
    add(f->s, T0 + 30, 2, 1);
    sched_cancel(f->s, 1, 2);
    sched_cancel(f->s, 3, 99); /* not scheduled: nothing happens */
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    assert_int_equal(sched_count(f->s), 2);
    sched_cancel(f->s, 2, 1);
    advance_and_wait(f, 100);
    assert_int_equal(f->rec.len, 1);
    assert_int_equal(f->rec.jobs[0].id, 1);
    assert_int_equal(f->rec.jobs[0].kind, 1);
    assert_int_equal(sched_count(f->s), 0);
    fixture_free(f);
}

static void test_past_due_fires_at_once(void **state)
{
    struct fixture *f = fixture_new(512, 1);
    (void)state;
    /* A deadline that passed while the server was down. */
    add(f->s, T0 - 5000, 1, 1);
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    assert_int_equal(f->rec.len, 1);
    assert_int_equal(f->rec.last_now, T0);
    struct sched_stats st;
    sched_get_stats(f->s, &st);
    assert_int_equal(st.fired, 1);
    assert_int_equal(st.max_lateness_ms, 5000);
    fixture_free(f);
}

static void test_batches_respect_max_batch(void **state)
{
    struct fixture *f = fixture_new(3, 1);
    (void)state;
    for (int64_t id = 10; id > 0; id--)
        add(f->s, T0 + 10, 1, id);
    add(f->s, T0 + 11, 1, 100);
    advance_and_wait(f, 10);
    assert_int_equal(f->rec.len, 10);
    assert_int_equal(f->rec.batches, 4);
    assert_int_equal(f->rec.batch_sizes[0], 3);
    assert_int_equal(f->rec.batch_sizes[1], 3);
    assert_int_equal(f->rec.batch_sizes[2], 3);
    assert_int_equal(f->rec.batch_sizes[3], 1);
    for (size_t k = 0; k < 10; k++)
        assert_int_equal(f->rec.jobs[k].id, (int64_t)k + 1);
    assert_false(f->rec.bad);
    fixture_free(f);
}

static void test_kick_and_wait_idle(void **state)
{
    struct fixture *f = fixture_new(512, 0);
    (void)state;
    /* Not started: nothing can become idle. */
    assert_int_equal(sched_wait_idle(f->s, 20), -NA_EUNAVAILABLE);
    assert_int_equal(sched_start(f->s), 0);
    add(f->s, T0 + 5, 1, 1);
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    clock_advance(&f->clock, 5);
    sched_kick(f->s);
    /* The thread may still be answering the kick: wait_idle must wait for the clock read. */
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    assert_int_equal(f->rec.len, 1);
    /* Repeatedly: every move of the clock is seen by the next wait. */
    for (int64_t k = 0; k < 200; k++) {
        add(f->s, T0 + 6 + k, 2, k);
        clock_advance(&f->clock, 1);
        sched_kick(f->s);
        assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
        assert_int_equal(f->rec.len, (size_t)k + 2);
    }
    fixture_free(f);
}

struct adder {
    struct sched *s;
    int kind;
};

static void *adder_main(void *arg)
{
    struct adder *a = arg;
    for (int64_t id = 0; id < 2500; id++) {
        add(a->s, T0 + 1 + id % 100, a->kind, id);
        if (id % 5 == 0)
            sched_cancel(a->s, a->kind, id);
    }
    return NULL;
}

static void test_adds_from_other_threads(void **state)
{
    struct fixture *f = fixture_new(64, 1);
    struct adder adders[4];
    pthread_t threads[4];
    (void)state;
    for (int t = 0; t < 4; t++) {
        adders[t].s = f->s;
        adders[t].kind = t + 1;
        assert_int_equal(pthread_create(&threads[t], NULL, adder_main, &adders[t]), 0);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(threads[t], NULL);
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    assert_int_equal(sched_count(f->s), 8000);
    advance_and_wait(f, 1000);
    assert_int_equal(f->rec.len, 8000);
    for (size_t k = 1; k < f->rec.len; k++)
        assert_true(job_cmp(&f->rec.jobs[k - 1], &f->rec.jobs[k]) < 0);
    for (size_t k = 0; k < f->rec.len; k++)
        assert_true(f->rec.jobs[k].id % 5 != 0);
    assert_false(f->rec.bad);
    fixture_free(f);
}

static void test_free_with_jobs_scheduled(void **state)
{
    (void)state;
    /* Started, with jobs in the heap and more still in the queue. */
    struct fixture *f = fixture_new(512, 1);
    for (int64_t id = 0; id < 1000; id++)
        add(f->s, T0 + 1000 + id, 1, id);
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    for (int64_t id = 0; id < 1000; id++)
        add(f->s, T0 + 1000 + id, 2, id);
    fixture_free(f);
    /* Never started, jobs only in the queue. */
    f = fixture_new(512, 0);
    for (int64_t id = 0; id < 100; id++)
        add(f->s, T0 + id, 1, id);
    fixture_free(f);
}

struct slow {
    atomic_int started;
    atomic_int finished;
};

static void slow_fire(void *ctx, const struct sched_job *jobs, size_t n, int64_t now)
{
    struct slow *sl = ctx;
    (void)jobs;
    (void)n;
    (void)now;
    atomic_store(&sl->started, 1);
    sleep_ms(30);
    atomic_store(&sl->finished, 1);
}

static void test_free_completes_fire_in_progress(void **state)
{
    struct clock c = clock_simulated(T0);
    struct slow sl;
    struct sched *s;
    (void)state;
    atomic_init(&sl.started, 0);
    atomic_init(&sl.finished, 0);
    assert_int_equal(sched_new(&c, slow_fire, &sl, 1, &s), 0);
    assert_int_equal(sched_start(s), 0);
    for (int64_t id = 0; id < 100; id++)
        add(s, T0 - 1, 1, id);
    for (int k = 0; k < 5000 && !atomic_load(&sl.started); k++)
        sleep_ms(1);
    assert_true(atomic_load(&sl.started));
    sched_free(s);
    assert_true(atomic_load(&sl.finished));
}

/* ---- 100k random operations against a reference model ---- */

enum { MODEL_KINDS = 3, MODEL_IDS = 1000, MODEL_KEYS = MODEL_KINDS * MODEL_IDS };
#define MODEL_NONE INT64_MIN

/* The reference: a due time per key; due jobs are collected and sorted at each step. */
struct model {
    int64_t due[MODEL_KEYS];
    struct sched_job expect[MODEL_KEYS];
};

static size_t model_fire(struct model *m, int64_t now)
{
    size_t n = 0;
    for (int key = 0; key < MODEL_KEYS; key++) {
        if (m->due[key] == MODEL_NONE || m->due[key] > now)
            continue;
        m->expect[n].due_at = m->due[key];
        m->expect[n].kind = key / MODEL_IDS + 1;
        m->expect[n].id = key % MODEL_IDS;
        m->due[key] = MODEL_NONE;
        n++;
    }
    qsort(m->expect, n, sizeof(m->expect[0]), job_cmp);
    return n;
}

static struct sched_job random_job(uint64_t *rng, int64_t now)
{
    uint64_t r = rng_next(rng);
    struct sched_job job = {
        .kind = (int)(r % MODEL_KINDS) + 1,
        .id = (int64_t)((r >> 8) % MODEL_IDS),
        .due_at = now + 1 + (int64_t)((r >> 24) % 5000), /* strictly future: see below */
    };
    return job;
}

static void model_step(struct fixture *f, struct model *m, uint64_t *rng, size_t *checked)
{
    /*
     * Drain first, so the clock moves only when the thread has applied every operation;
     * then the fire order is fully determined.
     */
    assert_int_equal(sched_wait_idle(f->s, WAIT_MS), 0);
    advance_and_wait(f, (int64_t)(rng_next(rng) % 3000));
    size_t n = model_fire(m, clock_now_ms(&f->clock));
    assert_int_equal(f->rec.len - *checked, n);
    for (size_t k = 0; k < n; k++) {
        const struct sched_job *got = &f->rec.jobs[*checked + k];
        assert_int_equal(job_cmp(got, &m->expect[k]), 0);
    }
    *checked += n;
}

static void test_random_against_model(void **state)
{
    struct fixture *f = fixture_new(7, 1);
    struct model *m = xcalloc(1, sizeof(*m));
    struct sched_job many[400];
    uint64_t rng = 0x9E3779B97F4A7C15u;
    size_t checked = 0;
    (void)state;
    for (int key = 0; key < MODEL_KEYS; key++)
        m->due[key] = MODEL_NONE;
    for (int op = 0; op < 100000; op++) {
        int64_t now = clock_now_ms(&f->clock);
        uint64_t r = rng_next(&rng) % 1000;
        if (r < 600) {
            struct sched_job job = random_job(&rng, now);
            sched_add(f->s, job);
            m->due[(job.kind - 1) * MODEL_IDS + job.id] = job.due_at;
        } else if (r < 985) {
            struct sched_job job = random_job(&rng, now);
            sched_cancel(f->s, job.kind, job.id);
            m->due[(job.kind - 1) * MODEL_IDS + job.id] = MODEL_NONE;
        } else if (r < 990) {
            size_t n = (size_t)(rng_next(&rng) % 400) + 1;
            for (size_t k = 0; k < n; k++) {
                many[k] = random_job(&rng, now);
                m->due[(many[k].kind - 1) * MODEL_IDS + many[k].id] = many[k].due_at;
            }
            sched_add_many(f->s, many, n);
        } else {
            model_step(f, m, &rng, &checked);
        }
    }
    model_step(f, m, &rng, &checked);
    assert_true(checked > 10000);
    assert_false(f->rec.bad);
    free(m);
    fixture_free(f);
}

/* ---- the system clock, with one short real delay ---- */

static void test_system_clock_fires_when_due(void **state)
{
    struct clock c = clock_system();
    struct rec r = {.max_batch = 16};
    struct sched *s;
    (void)state;
    assert_int_equal(sched_new(&c, rec_fire, &r, 16, &s), 0);
    assert_int_equal(sched_start(s), 0);
    int64_t due = clock_now_ms(&c) + 50;
    add(s, due, 1, 1);
    add(s, due + 3600 * 1000, 1, 2);
    struct sched_stats st = {0};
    for (int k = 0; k < 400 && st.fired == 0; k++) {
        sleep_ms(5);
        sched_get_stats(s, &st);
    }
    assert_int_equal(st.fired, 1);
    assert_true(st.max_lateness_ms < 2000);
    assert_int_equal(sched_wait_idle(s, WAIT_MS), 0);
    assert_int_equal(r.len, 1);
    assert_true(r.last_now >= due);
    assert_int_equal(sched_count(s), 1);
    sched_free(s);
    free(r.jobs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_put_replace_remove_pop),
        cmocka_unit_test(test_heap_random_invariants),
        cmocka_unit_test(test_new_rejects_bad_arguments),
        cmocka_unit_test(test_fires_in_due_order_only_when_due),
        cmocka_unit_test(test_replace_moves_job),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_past_due_fires_at_once),
        cmocka_unit_test(test_batches_respect_max_batch),
        cmocka_unit_test(test_kick_and_wait_idle),
        cmocka_unit_test(test_adds_from_other_threads),
        cmocka_unit_test(test_free_with_jobs_scheduled),
        cmocka_unit_test(test_free_completes_fire_in_progress),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_system_clock_fires_when_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
