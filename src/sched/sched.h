#ifndef NA_SCHED_SCHED_H
#define NA_SCHED_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "util/clock.h"

/*
 * The scheduler: an in-memory timetable of what falls due when (visit deadlines,
 * reminders, escalation steps, notification retries). It is a cache of rows in storage
 * (deadlines are data): at start the daemon rebuilds it from storage, and anything that
 * fell due while the server was down fires at once.
 *
 * One thread owns the timetable. Other threads hand it jobs through a queue
 * (sched_add); the thread sleeps until the earliest job is due (by the struct clock it
 * was given: real time, or a simulated clock that only moves when told) and then calls
 * fire() with every job due, in due order, in one batch so the callee can handle them in
 * one transaction.
 *
 * A job is keyed by (kind, id): adding a job for a key that is already scheduled replaces
 * it (a check-in moves a visit's deadline), and sched_cancel removes it. The callee must
 * still re-check its rows: a job is a hint that something may be due, not a command.
 */
struct sched;

struct sched_job {
    int64_t due_at; /* ms since the epoch, by the scheduler's clock */
    int kind;       /* caller-defined, > 0 */
    int64_t id;     /* caller-defined, e.g. a visit id */
};

/*
 * Called on the scheduler's thread with n >= 1 jobs due at or before now, ascending by
 * due_at. The jobs are borrowed for the call. Jobs the callee wants again it re-adds.
 */
typedef void (*sched_fire_fn)(void *ctx, const struct sched_job *jobs, size_t n, int64_t now);

/*
 * A stopped scheduler on clock (borrowed; must outlive it). max_batch caps the jobs per
 * fire() call (e.g. 512). Caller frees with sched_free. -NA_EINVAL when clock or fire is
 * NULL or max_batch is 0 or above 65536; -NA_EIO when the locks cannot be created.
 */
int sched_new(const struct clock *clock, sched_fire_fn fire, void *ctx, size_t max_batch,
              struct sched **out);
/* Stops the thread if running (the fire() in progress completes) and frees. NULL no-op. */
void sched_free(struct sched *s);

/*
 * Stops the thread (the fire() in progress completes); jobs may still be added and are
 * kept, unfired, until sched_free. Lets an owner stop what the thread calls into before
 * freeing what others call into. NULL or not started: no-op.
 */
void sched_stop(struct sched *s);

/* Starts the scheduler's thread. -NA_EIO when the thread cannot be created. */
int sched_start(struct sched *s);

/*
 * Schedules a job (replacing the job of the same kind and id). Any thread, including
 * fire() itself; the job is copied. Jobs handed over before sched_start wait for it.
 */
void sched_add(struct sched *s, struct sched_job job);
/* Schedules many jobs at once (the rebuild at start). Any thread. */
void sched_add_many(struct sched *s, const struct sched_job *jobs, size_t n);
/* Removes the job of that kind and id, if scheduled. Any thread. */
void sched_cancel(struct sched *s, int kind, int64_t id);

/* Wakes the thread to look at the clock again (after a simulated clock moved). */
void sched_kick(struct sched *s);
/*
 * Blocks until every job due at or before the clock's current time has been fired and
 * fire() has returned (tests on a simulated clock call it after moving the clock).
 * Returns 0, or -NA_EUNAVAILABLE when timeout_ms (real time) passes first (always when
 * the thread is not started). Never call it from fire(): the thread would wait on itself.
 */
int sched_wait_idle(struct sched *s, int64_t timeout_ms);

/*
 * Number of scheduled jobs (a gauge for /metrics), as of the thread's last pass: jobs
 * still in the queue are counted once the thread takes them. Any thread.
 */
size_t sched_count(struct sched *s);

/* Lateness statistics of fired jobs (now - due_at at fire time), for /metrics and bench. */
struct sched_stats {
    uint64_t fired;
    int64_t max_lateness_ms;
};
/* Copies the statistics so far into *out. Any thread. */
void sched_get_stats(struct sched *s, struct sched_stats *out);

#endif
