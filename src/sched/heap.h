#ifndef NA_SCHED_HEAP_H
#define NA_SCHED_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"

/*
 * The scheduler's timetable: a binary min-heap of jobs ordered by (due_at, kind, id), with
 * an open-addressing hash map from (kind, id) to the job's position in the heap, so that
 * replacing or removing a job by key costs O(log n) and the heap never holds stale
 * entries. Not thread-safe: one thread owns a heap (the scheduler's thread).
 *
 * Memory: 32 bytes per job in the heap plus 16 to 32 bytes per job in the hash map.
 */

/* One job in the heap and the hash map slot that points back at it. */
struct sched_heap_node {
    struct sched_job job;
    size_t slot;
};

struct sched_heap {
    struct sched_heap_node *nodes; /* owned; nodes[0] is the earliest job */
    size_t len;
    size_t cap;
    size_t *slots; /* owned; heap positions, SIZE_MAX when the slot is empty */
    size_t mask;   /* number of slots - 1 (a power of two), 0 before the first add */
};

/* One operation handed to the scheduler's thread: schedule job, or cancel its key. */
struct sched_op {
    struct sched_job job; /* for a cancel only kind and id count */
    int cancel;
};

/* An empty heap. Release with sched_heap_fini. */
void sched_heap_init(struct sched_heap *h);
/* Frees everything h owns and leaves it empty (re-usable after sched_heap_init). */
void sched_heap_fini(struct sched_heap *h);

/* Adds job, or replaces the job of the same kind and id. O(log n) amortised. */
void sched_heap_put(struct sched_heap *h, struct sched_job job);
/* Removes the job of that kind and id. Returns 1 when one was removed, 0 when none. */
int sched_heap_remove(struct sched_heap *h, int kind, int64_t id);
/* The earliest job, borrowed until the next change to h; NULL when h is empty. */
const struct sched_job *sched_heap_peek(const struct sched_heap *h);
/* Removes the earliest job into *out. Returns 0, or -NA_ENOTFOUND when h is empty. */
int sched_heap_pop(struct sched_heap *h, struct sched_job *out);

/*
 * Applies n operations in order (ops borrowed). When n is large against the heap (the
 * rebuild at start) it places every job without ordering and then builds the heap in
 * O(len + n); otherwise it applies them one by one.
 */
void sched_heap_apply(struct sched_heap *h, const struct sched_op *ops, size_t n);

/* Checks the heap order and the hash map against each other (for tests). 0 or -NA_EINVAL. */
int sched_heap_check(const struct sched_heap *h);

#endif
