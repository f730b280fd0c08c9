/*
 * The DC-09 writer's checkpoints, off its path: a thread of its own, with its own
 * connection, copies the log into the database file every CHECKPOINT_EVERY_MS, so that no
 * commit of the writer (whose answers wait for it) carries a checkpoint's copy and fsync.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "dc09/receiver_internal.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

/* Often enough that the log stays short at 40,000 events a second (a few MB). */
#define CHECKPOINT_EVERY_MS 250

struct rx_checkpointer {
    struct store *st;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t stop_cv;
    bool stop;
};

/* Waits until ms from now or a stop; true when stopping. */
static bool wait_or_stop(struct rx_checkpointer *c, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (ms % 1000) * 1000000L;
    until.tv_sec += ms / 1000 + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&c->lock);
    while (!c->stop && pthread_cond_timedwait(&c->stop_cv, &c->lock, &until) != ETIMEDOUT)
        ;
    bool stop = c->stop;
    pthread_mutex_unlock(&c->lock);
    return stop;
}

static void *checkpointer_main(void *arg)
{
    struct rx_checkpointer *c = arg;
    bool failing = false;
    while (!wait_or_stop(c, CHECKPOINT_EVERY_MS)) {
        int rc = store_checkpoint(c->st);
        /* Logged once per spell: a database that refuses keeps its log, nothing is lost. */
        if (rc && !failing)
            log_warn("dc09_checkpoint_failed", "error=%d", rc);
        failing = rc != 0;
    }
    return NULL;
}

int rx_checkpointer_start(const struct store_config *cfg, struct rx_checkpointer **out)
{
    struct rx_checkpointer *c = xcalloc(1, sizeof *c);
    int rc = store_open(cfg, &c->st);
    if (rc) {
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->stop_cv, NULL);
    if (pthread_create(&c->thread, NULL, checkpointer_main, c)) {
        c->thread = 0;
        rx_checkpointer_stop(c);
        return -NA_EIO;
    }
    *out = c;
    return 0;
}

void rx_checkpointer_stop(struct rx_checkpointer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->stop_cv);
    pthread_mutex_unlock(&c->lock);
    if (c->thread)
        pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->stop_cv);
    pthread_mutex_destroy(&c->lock);
    store_close(c->st);
    free(c);
}
