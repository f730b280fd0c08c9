#include "sched/heap.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

#define HEAP_EMPTY     SIZE_MAX
#define HEAP_MIN_SLOTS 16
#define HEAP_MIN_NODES 64

/* splitmix64's finaliser over the key: ids are often sequential, the slots must not be. */
static uint64_t key_hash(int kind, int64_t id)
{
    uint64_t x = (uint64_t)id + (uint64_t)(uint32_t)kind * UINT64_C(0x9E3779B97F4A7C15);
    x ^= x >> 30;
    x *= UINT64_C(0xBF58476D1CE4E5B9);
    x ^= x >> 27;
    x *= UINT64_C(0x94D049BB133111EB);
    x ^= x >> 31;
    return x;
}

/* The heap order: due_at, then kind and id, so that the fire order is fully determined. */
static int job_before(const struct sched_job *a, const struct sched_job *b)
{
    if (a->due_at != b->due_at)
        return a->due_at < b->due_at;
    if (a->kind != b->kind)
        return a->kind < b->kind;
    return a->id < b->id;
}

void sched_heap_init(struct sched_heap *h)
{
    memset(h, 0, sizeof(*h));
}

void sched_heap_fini(struct sched_heap *h)
{
    free(h->nodes);
    free(h->slots);
    memset(h, 0, sizeof(*h));
}

/* The slot holding the key, or HEAP_EMPTY. */
static size_t slot_find(const struct sched_heap *h, int kind, int64_t id)
{
    if (h->slots == NULL)
        return HEAP_EMPTY;
    size_t i = key_hash(kind, id) & h->mask;
    while (h->slots[i] != HEAP_EMPTY) {
        const struct sched_job *job = &h->nodes[h->slots[i]].job;
        if (job->kind == kind && job->id == id)
            return i;
        i = (i + 1) & h->mask;
    }
    return HEAP_EMPTY;
}

/* Points a free slot at heap position pos, whose key is not in the map yet. */
static void slot_insert(struct sched_heap *h, size_t pos)
{
    const struct sched_job *job = &h->nodes[pos].job;
    size_t i = key_hash(job->kind, job->id) & h->mask;
    while (h->slots[i] != HEAP_EMPTY)
        i = (i + 1) & h->mask;
    h->slots[i] = pos;
    h->nodes[pos].slot = i;
}

/* Empties slot i and shifts later entries of its probe run back (no tombstones). */
static void slot_delete(struct sched_heap *h, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & h->mask;
        size_t pos = h->slots[j];
        if (pos == HEAP_EMPTY)
            break;
        const struct sched_job *job = &h->nodes[pos].job;
        size_t home = key_hash(job->kind, job->id) & h->mask;
        /* The entry may fill the hole unless its home lies cyclically in (i, j]. */
        if (((j - home) & h->mask) >= ((j - i) & h->mask)) {
            h->slots[i] = pos;
            h->nodes[pos].slot = i;
            i = j;
        }
    }
    h->slots[i] = HEAP_EMPTY;
}

/* Keeps the map at most half full for n keys; rehashing costs O(len) when it grows. */
static void slots_reserve(struct sched_heap *h, size_t n)
{
    size_t have = h->slots ? h->mask + 1 : 0;
    size_t want = have ? have : HEAP_MIN_SLOTS;
    while (want / 2 < n)
        want *= 2;
    if (want == have)
        return;
    free(h->slots);
    h->slots = xcalloc(want, sizeof(*h->slots));
    memset(h->slots, 0xff, want * sizeof(*h->slots)); /* every slot HEAP_EMPTY */
    h->mask = want - 1;
    for (size_t pos = 0; pos < h->len; pos++)
        slot_insert(h, pos);
}

static void nodes_reserve(struct sched_heap *h, size_t n)
{
    if (n <= h->cap)
        return;
    size_t cap = h->cap ? h->cap : HEAP_MIN_NODES;
    while (cap < n)
        cap *= 2;
    h->nodes = xrealloc(h->nodes, cap, sizeof(*h->nodes));
    h->cap = cap;
}

static void node_place(struct sched_heap *h, size_t pos, struct sched_heap_node node)
{
    h->nodes[pos] = node;
    h->slots[node.slot] = pos;
}

static void sift_up(struct sched_heap *h, size_t pos)
{
    struct sched_heap_node node = h->nodes[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!job_before(&node.job, &h->nodes[parent].job))
            break;
        node_place(h, pos, h->nodes[parent]);
        pos = parent;
    }
    node_place(h, pos, node);
}

static void sift_down(struct sched_heap *h, size_t pos)
{
    struct sched_heap_node node = h->nodes[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && job_before(&h->nodes[child + 1].job, &h->nodes[child].job))
            child++;
        if (!job_before(&h->nodes[child].job, &node.job))
            break;
        node_place(h, pos, h->nodes[child]);
        pos = child;
    }
    node_place(h, pos, node);
}

/* Restores the order around pos after its job changed. */
static void sift(struct sched_heap *h, size_t pos)
{
    if (pos > 0 && job_before(&h->nodes[pos].job, &h->nodes[(pos - 1) / 2].job))
        sift_up(h, pos);
    else
        sift_down(h, pos);
}

/* Adds or replaces; with ordered 0 the heap order is left for a later heapify. */
static void put(struct sched_heap *h, struct sched_job job, int ordered)
{
    size_t i = slot_find(h, job.kind, job.id);
    if (i != HEAP_EMPTY) {
        size_t pos = h->slots[i];
        h->nodes[pos].job.due_at = job.due_at;
        if (ordered)
            sift(h, pos);
        return;
    }
    nodes_reserve(h, h->len + 1);
    slots_reserve(h, h->len + 1);
    size_t pos = h->len++;
    h->nodes[pos].job = job;
    slot_insert(h, pos);
    if (ordered)
        sift_up(h, pos);
}

static void remove_at(struct sched_heap *h, size_t pos, int ordered)
{
    slot_delete(h, h->nodes[pos].slot);
    h->len--;
    if (pos == h->len)
        return;
    node_place(h, pos, h->nodes[h->len]);
    if (ordered)
        sift(h, pos);
}

void sched_heap_put(struct sched_heap *h, struct sched_job job)
{
    put(h, job, 1);
}

int sched_heap_remove(struct sched_heap *h, int kind, int64_t id)
{
    size_t i = slot_find(h, kind, id);
    if (i == HEAP_EMPTY)
        return 0;
    remove_at(h, h->slots[i], 1);
    return 1;
}

const struct sched_job *sched_heap_peek(const struct sched_heap *h)
{
    return h->len ? &h->nodes[0].job : NULL;
}

int sched_heap_pop(struct sched_heap *h, struct sched_job *out)
{
    if (h->len == 0)
        return -NA_ENOTFOUND;
    *out = h->nodes[0].job;
    remove_at(h, 0, 1);
    return 0;
}

void sched_heap_apply(struct sched_heap *h, const struct sched_op *ops, size_t n)
{
    /*
     * One by one costs about n log2(len) sift steps, a heapify about 2 (len + n): below
     * len / 8 operations sifting each is cheaper for any heap of interest.
     */
    if (n == 0)
        return;
    int ordered = n < h->len / 8;
    if (!ordered) {
        nodes_reserve(h, h->len + n);
        slots_reserve(h, h->len + n);
    }
    for (size_t k = 0; k < n; k++) {
        if (ops[k].cancel) {
            size_t i = slot_find(h, ops[k].job.kind, ops[k].job.id);
            if (i != HEAP_EMPTY)
                remove_at(h, h->slots[i], ordered);
        } else {
            put(h, ops[k].job, ordered);
        }
    }
    if (!ordered) {
        for (size_t pos = h->len / 2; pos-- > 0;)
            sift_down(h, pos);
    }
}

int sched_heap_check(const struct sched_heap *h)
{
    size_t used = 0;
    for (size_t pos = 0; pos < h->len; pos++) {
        const struct sched_heap_node *node = &h->nodes[pos];
        if (pos > 0 && job_before(&node->job, &h->nodes[(pos - 1) / 2].job))
            return -NA_EINVAL;
        if (h->slots == NULL || node->slot > h->mask || h->slots[node->slot] != pos)
            return -NA_EINVAL;
        if (slot_find(h, node->job.kind, node->job.id) != node->slot)
            return -NA_EINVAL;
    }
    for (size_t i = 0; h->slots && i <= h->mask; i++)
        used += h->slots[i] != HEAP_EMPTY;
    return used == h->len ? 0 : -NA_EINVAL;
}
