/*
 * The receiver's writer thread: takes every frame that has queued (up to batch_max),
 * ingests them in one transaction, commits, and only then hands the answers back to the
 * loop. One fsync covers the whole batch: while it runs, the next batch queues up, so the
 * batch grows with the load and durability costs one commit per batch, not per event.
 */
#include <stdlib.h>
#include <string.h>

#include "dc09/receiver_internal.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

void rx_queue_push(struct rx_queue *q, struct rx_item *it)
{
    it->next = NULL;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->n++;
}

void rx_queue_join(struct rx_queue *q, struct rx_queue *from)
{
    if (!from->head)
        return;
    if (q->tail)
        q->tail->next = from->head;
    else
        q->head = from->head;
    q->tail = from->tail;
    q->n += from->n;
    memset(from, 0, sizeof *from);
}

size_t rx_queue_free(struct rx_queue *q)
{
    size_t n = 0;
    for (struct rx_item *it = q->head, *next; it; it = next) {
        next = it->next;
        free(it);
        n++;
    }
    memset(q, 0, sizeof *q);
    return n;
}

static void count_answer(struct dc09_receiver *r, enum dc09_token answer)
{
    atomic_uint_fast64_t *c = answer == DC09_TOKEN_ACK   ? &r->stats.acks
                              : answer == DC09_TOKEN_DUH ? &r->stats.duhs
                                                         : &r->stats.naks;
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void set_answer(struct rx_item *it, const char *p, size_t len)
{
    if (len > sizeof it->answer)
        len = 0;
    memcpy(it->answer, p, len);
    it->answer_len = len;
}

/*
 * The NAK of a frame the database did not take (the transmitter sends it again), echoing
 * its receiver, prefix and CRC form: res's when dc09_ingest filled it (it does once it has
 * read the header), else one made here from the frame. Its time, like every answer's, is
 * the frame's receipt time.
 */
static void answer_nak(struct dc09_receiver *r, struct rx_item *it,
                       const struct dc09_ingest_result *res)
{
    if (res && res->nak_len) {
        set_answer(it, res->nak, res->nak_len);
    } else {
        struct dc09_frame f;
        size_t len = 0;
        /* Whatever its verdict, f holds the fields read before it (or none): those echo. */
        (void)dc09_frame_parse(it->frame, it->len, &f);
        if (dc09_answer_nak(&f, it->received_ms, it->answer, &len))
            len = 0;
        it->answer_len = len;
    }
    count_answer(r, DC09_TOKEN_NAK);
}

/*
 * Ingests n frames in one transaction, each judged at its receipt time. On success the
 * answers are in the items and the results in res; on a storage failure everything is
 * rolled back, every frame gets a NAK, the error is returned and *failed is the frame the
 * database refused (n: the transaction itself failed).
 */
static int ingest_batch(struct dc09_receiver *r, struct rx_item **items, size_t n,
                        struct dc09_ingest_result *res, size_t *failed)
{
    size_t done = 0, filled = 0; /* results dc09_ingest wrote, the refused frame's too */
    int rc = store_begin(r->st);
    for (; !rc && done < n; done++) {
        struct rx_item *it = items[done];
        const char *transport = it->slot == RX_SLOT_UDP ? "udp" : "tcp";
        rc = dc09_ingest(r->st, &r->cfg.ingest, it->frame, it->len, it->bad_length, transport,
                         it->peer, it->received_ms, &res[done]);
        filled = done + 1;
        if (rc)
            break;
    }
    *failed = rc ? done : n;
    if (!rc)
        rc = store_commit(r->st);
    if (rc) {
        store_rollback(r->st);
        for (size_t i = 0; i < n; i++)
            answer_nak(r, items[i], i < filled ? &res[i] : NULL);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        set_answer(items[i], res[i].reply, res[i].reply_len);
        count_answer(r, res[i].answer);
        if (res[i].repeat)
            atomic_fetch_add_explicit(&r->stats.repeats, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&r->stats.batches, 1, memory_order_relaxed);
    return 0;
}

/* Hands the committed results' due work to the watch. */
static void schedule(struct dc09_receiver *r, const struct dc09_ingest_result *res, size_t n)
{
    if (!r->cfg.watch)
        return;
    for (size_t i = 0; i < n; i++)
        dc09_ingest_schedule(r->cfg.watch, &res[i]);
}

/*
 * Stores and answers a batch. A busy database NAKs it all (the transmitters send again).
 * When the database refuses one frame for another reason, that frame alone is NAKed and
 * the frames before and after it are tried again without it: one frame that cannot be
 * stored must not take the rest of its batch down with it at every retry.
 */
static void store_batch(struct dc09_receiver *r, struct rx_item **items, size_t n,
                        struct dc09_ingest_result *res)
{
    size_t failed;
    int rc = ingest_batch(r, items, n, res, &failed);
    if (!rc) {
        schedule(r, res, n);
        return;
    }
    log_warn("dc09_batch_failed", "frames=%zu code=%s", n, na_error_code(rc));
    if (rc == -NA_EUNAVAILABLE || failed >= n || n == 1)
        return;
    /* Their NAKs are replaced by the answers of the second try. */
    atomic_fetch_sub_explicit(&r->stats.naks, n - 1, memory_order_relaxed);
    if (failed > 0)
        store_batch(r, items, failed, res);
    if (failed + 1 < n)
        store_batch(r, items + failed + 1, n - failed - 1, res + failed + 1);
}

/* Without storage (the benchmark's baseline): parse, and answer as if stored. */
static void answer_only(struct dc09_receiver *r, struct rx_item *it)
{
    int64_t now = it->received_ms;
    struct dc09_frame f;
    struct dc09_payload *p = NULL;
    size_t len = 0;
    enum dc09_token answer = DC09_TOKEN_NAK;
    int rc = dc09_frame_parse(it->frame, it->len, &f);
    if (rc == DC09_ETOKEN) {
        answer = DC09_TOKEN_DUH;
        rc = dc09_answer_duh(&f, it->answer, &len);
    } else if (rc || f.encrypted) {
        rc = dc09_answer_nak(rc == DC09_OK ? &f : NULL, now, it->answer, &len);
    } else {
        p = xmalloc(sizeof *p);
        if (dc09_payload_parse(&f, p) == DC09_OK) {
            answer = DC09_TOKEN_ACK;
            rc = dc09_answer_ack(&f, NULL, 0, now, NULL, it->answer, &len);
        } else {
            rc = dc09_answer_nak(&f, now, it->answer, &len);
        }
        free(p);
    }
    it->answer_len = rc ? 0 : len;
    count_answer(r, answer);
}

static void process(struct dc09_receiver *r, struct rx_queue *batch, struct dc09_ingest_result *res,
                    struct rx_item **items)
{
    size_t n = 0;
    for (struct rx_item *it = batch->head; it; it = it->next)
        items[n++] = it;
    if (r->st) {
        store_batch(r, items, n, res);
        return;
    }
    for (size_t i = 0; i < n; i++)
        answer_only(r, items[i]);
    atomic_fetch_add_explicit(&r->stats.batches, 1, memory_order_relaxed);
}

/* Takes up to max items from q into out. */
static void take(struct rx_queue *q, size_t max, struct rx_queue *out)
{
    memset(out, 0, sizeof *out);
    while (q->head && out->n < max) {
        struct rx_item *it = q->head;
        q->head = it->next;
        q->n--;
        rx_queue_push(out, it);
    }
    if (!q->head)
        q->tail = NULL;
}

void *rx_writer_main(void *arg)
{
    struct dc09_receiver *r = arg;
    size_t max = r->cfg.batch_max;
    struct dc09_ingest_result *res = xcalloc(max, sizeof *res);
    struct rx_item **items = xcalloc(max, sizeof *items);
    for (;;) {
        struct rx_queue batch;
        pthread_mutex_lock(&r->lock);
        while (!r->to_writer.head && !r->writer_stop)
            pthread_cond_wait(&r->more, &r->lock);
        if (r->writer_stop) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        take(&r->to_writer, max, &batch);
        pthread_mutex_unlock(&r->lock);
        process(r, &batch, res, items);
        pthread_mutex_lock(&r->lock);
        rx_queue_join(&r->to_loop, &batch);
        pthread_mutex_unlock(&r->lock);
        uv_async_send(&r->wake);
    }
    free(items);
    free(res);
    return NULL;
}
