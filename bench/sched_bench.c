/*
 * Benchmark of the scheduler (src/sched), printing one key=value figure per line:
 *
 *   1. rebuild: 1,000,000 visit deadlines spread over the next 8 hours handed over with
 *      sched_add_many, timed until the scheduler's thread has built its timetable;
 *   2. lateness: on the system clock, 1,000,000 deadlines of which the first 10,000 fall
 *      due at 1,000 per second for 10 s, while another thread moves 1,000 later deadlines
 *      per second (check-ins). Each fired job's lateness is recorded by the wall clock
 *      (ms, what the scheduler sees) and by CLOCK_MONOTONIC (us);
 *   3. the process's peak resident memory (VmHWM).
 *
 * fire() only formats the log line the daemon would write and records the lateness: the
 * daemon's database work is measured end to end by the daemon, not here.
 *
 *   na_sched_bench
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/sched.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/str.h"

#define JOBS         1000000
#define EIGHT_HOURS  (8 * 3600 * INT64_C(1000))
#define BURST_JOBS   10000 /* due one per ms for 10 s */
#define BURST_LEAD   1000  /* ms from the start of phase 2 to the first burst deadline */
#define KIND_VISIT   1
#define WAIT_IDLE_MS 60000

static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* What fire() records; written on the scheduler's thread only. */
struct probe {
    int64_t real_minus_mono_ns; /* maps a wall-clock due time onto CLOCK_MONOTONIC */
    int64_t *late_ms;
    int64_t *late_us;
    _Atomic size_t n;
    size_t max;
    size_t log_bytes;
};

static void probe_fire(void *ctx, const struct sched_job *jobs, size_t n, int64_t now)
{
    struct probe *p = ctx;
    char line[160];
    size_t have = atomic_load(&p->n);
    for (size_t k = 0; k < n; k++) {
        int64_t wall = clock_system_ms();
        int64_t due_mono = jobs[k].due_at * 1000000 - p->real_minus_mono_ns;
        int len = snprintf(line, sizeof(line),
                           "level=warn event=deadline_due kind=%d visit_id=%" PRId64
                           " due_at=%" PRId64 " now=%" PRId64,
                           jobs[k].kind, jobs[k].id, jobs[k].due_at, now);
        if (len > 0)
            p->log_bytes += (size_t)len;
        if (have < p->max) {
            p->late_ms[have] = wall - jobs[k].due_at;
            p->late_us[have] = (mono_ns() - due_mono) / 1000;
            have++;
        }
    }
    atomic_store(&p->n, have);
}

/* Deadlines for visit ids 1..JOBS; the first `burst` one per ms from start + lead. */
static struct sched_job *make_jobs(int64_t start, size_t burst, int64_t lead)
{
    struct sched_job *jobs = xcalloc(JOBS, sizeof(*jobs));
    uint64_t rng = 0x853C49E6748FEA9Bu;
    int64_t later = lead + (int64_t)burst + 1000;
    for (size_t k = 0; k < JOBS; k++) {
        jobs[k].kind = KIND_VISIT;
        jobs[k].id = (int64_t)k + 1;
        if (k < burst)
            jobs[k].due_at = start + lead + (int64_t)k;
        else
            jobs[k].due_at = start + later + (int64_t)(rng_next(&rng) % EIGHT_HOURS);
    }
    return jobs;
}

static void noop_fire(void *ctx, const struct sched_job *jobs, size_t n, int64_t now)
{
    (void)ctx;
    (void)jobs;
    (void)n;
    (void)now;
}

static int bench_rebuild(void)
{
    struct clock clock = clock_system();
    struct sched *s = NULL;
    if (sched_new(&clock, noop_fire, NULL, 512, &s) != 0 || sched_start(s) != 0)
        goto fail;
    /* Due after a minute at the earliest: nothing fires while the timetable is built. */
    struct sched_job *jobs = make_jobs(clock_now_ms(&clock), 0, 60000);
    int64_t t0 = mono_ns();
    sched_add_many(s, jobs, JOBS);
    int64_t t1 = mono_ns();
    int err = sched_wait_idle(s, WAIT_IDLE_MS);
    int64_t t2 = mono_ns();
    free(jobs);
    if (err != 0 || sched_count(s) != JOBS)
        goto fail;
    printf("rebuild_jobs=%d\n", JOBS);
    printf("rebuild_handover_ms=%.1f\n", (double)(t1 - t0) / 1e6);
    printf("rebuild_ms=%.1f\n", (double)(t2 - t0) / 1e6);
    sched_free(s);
    return 0;
fail:
    fprintf(stderr, "rebuild failed\n");
    sched_free(s);
    return 1;
}

/* Check-ins: moves 1,000 later deadlines per second (10 every 10 ms) until told to stop. */
struct mover {
    struct sched *s;
    const struct clock *clock;
    atomic_int stop;
    uint64_t moved;
};

static void *mover_main(void *arg)
{
    struct mover *m = arg;
    uint64_t rng = 7;
    while (!atomic_load(&m->stop)) {
        int64_t now = clock_now_ms(m->clock);
        for (int k = 0; k < 10; k++) {
            struct sched_job job = {
                .kind = KIND_VISIT,
                .id = BURST_JOBS + 1 + (int64_t)(rng_next(&rng) % (JOBS - BURST_JOBS)),
                .due_at = now + 60000 + (int64_t)(rng_next(&rng) % EIGHT_HOURS),
            };
            sched_add(m->s, job);
            m->moved++;
        }
        sleep_ms(10);
    }
    return NULL;
}

static void print_lateness(struct probe *p, size_t n)
{
    qsort(p->late_ms, n, sizeof(int64_t), cmp_i64);
    qsort(p->late_us, n, sizeof(int64_t), cmp_i64);
    size_t p50 = n / 2;
    size_t p99 = n * 99 / 100;
    printf("lateness_jobs=%zu\n", n);
    printf("lateness_ms_p50=%" PRId64 "\n", p->late_ms[p50]);
    printf("lateness_ms_p99=%" PRId64 "\n", p->late_ms[p99]);
    printf("lateness_ms_max=%" PRId64 "\n", p->late_ms[n - 1]);
    printf("lateness_us_p50=%" PRId64 "\n", p->late_us[p50]);
    printf("lateness_us_p99=%" PRId64 "\n", p->late_us[p99]);
    printf("lateness_us_max=%" PRId64 "\n", p->late_us[n - 1]);
}

/* Waits for the burst to fire: its 10 s plus the lead plus a generous margin. */
static size_t wait_burst(struct probe *p)
{
    for (int k = 0; k < (BURST_LEAD + BURST_JOBS + 5000) / 10; k++) {
        if (atomic_load(&p->n) >= BURST_JOBS)
            break;
        sleep_ms(10);
    }
    return atomic_load(&p->n);
}

static int bench_lateness(void)
{
    struct clock clock = clock_system();
    struct probe p = {.max = BURST_JOBS};
    struct mover m = {.clock = &clock};
    struct sched *s = NULL;
    pthread_t mover;
    int mover_started = 0, rc = 1;
    p.late_ms = xcalloc(BURST_JOBS, sizeof(int64_t));
    p.late_us = xcalloc(BURST_JOBS, sizeof(int64_t));
    p.real_minus_mono_ns = real_ns() - mono_ns();
    if (sched_new(&clock, probe_fire, &p, 512, &s) != 0 || sched_start(s) != 0)
        goto fail;
    struct sched_job *jobs = make_jobs(clock_now_ms(&clock), BURST_JOBS, BURST_LEAD);
    sched_add_many(s, jobs, JOBS);
    free(jobs);
    m.s = s;
    if (pthread_create(&mover, NULL, mover_main, &m) != 0)
        goto fail;
    mover_started = 1;
    size_t n = wait_burst(&p);
    atomic_store(&m.stop, 1);
    pthread_join(mover, NULL);
    mover_started = 0;
    if (n < BURST_JOBS)
        goto fail;
    struct sched_stats st;
    sched_get_stats(s, &st);
    print_lateness(&p, n);
    printf("sched_fired=%" PRIu64 " sched_max_lateness_ms=%" PRId64 "\n", st.fired,
           st.max_lateness_ms);
    printf("checkins_moved=%" PRIu64 " scheduled_after=%zu\n", m.moved, sched_count(s));
    rc = 0;
fail:
    if (mover_started) {
        atomic_store(&m.stop, 1);
        pthread_join(mover, NULL);
    }
    if (rc != 0)
        fprintf(stderr, "lateness run failed\n");
    sched_free(s);
    free(p.late_ms);
    free(p.late_us);
    return rc;
}

/* Prints VmHWM from /proc/self/status. */
static int print_peak_rss(void)
{
    char line[256];
    int64_t kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) != 0)
            continue;
        const char *p = line + 6;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strspn(p, "0123456789");
        struct slice digits = {.ptr = p, .len = len};
        if (parse_int64(digits, 0, INT64_MAX, &kb) != 0)
            kb = -1;
    }
    fclose(f);
    if (kb < 0)
        return 1;
    printf("peak_rss_mib=%.1f\n", (double)kb / 1024.0);
    return 0;
}

int main(void)
{
    int rc = 0;
    rc |= bench_rebuild();
    rc |= bench_lateness();
    rc |= print_peak_rss();
    return rc;
}
