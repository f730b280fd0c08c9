/*
 * This node's part among the nodes on one database (store_cluster.h): a thread that
 * refreshes the node's heartbeat and takes over the due work of nodes silent for longer
 * than the lease, scheduling it here, where it fires at once if it is already due. A
 * SQLite file is one node's: there the start takes over every row an earlier run left
 * under another name, and no thread runs.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "store/store_cluster.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch_internal.h"

/* Rows taken over per transaction: short transactions, and the first ones fire early. */
#define ADOPT_BATCH 500
/* Passes between looks for rows no node owns (a scan of the rows with due work). */
#define ORPHAN_EVERY 30
/* Passes between looks at this node's own rows due soon (see resync). */
#define RESYNC_EVERY 10

struct cluster {
    struct watch *w;
    struct store *st; /* the thread's own connection */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    bool running; /* the thread was started (a shared database) */
    bool joined;
    int64_t lease_ms;
    int64_t period_ms; /* real time between passes */
    unsigned passes;
    _Atomic uint64_t taken_over; /* rows from silent nodes (not those of no node) */
};

/* Takes over one kind of work of node from (NULL: of no node), batch by batch. */
static int adopt_kind(struct cluster *c, enum due_kind kind, const char *from, int64_t older_than,
                      size_t *count)
{
    for (;;) {
        struct adopted_row *rows = NULL;
        size_t n = 0;
        int rc = store_begin(c->st);
        if (!rc)
            rc = store_adopt(c->st, kind, from, older_than, ADOPT_BATCH, &rows, &n);
        if (!rc)
            rc = store_commit(c->st);
        if (rc) {
            store_rollback(c->st);
            free(rows);
            return rc;
        }
        /* Committed: the rows are this node's now, and nobody else schedules them. */
        watch_schedule_rows(c->w, c->st, kind, rows, n);
        free(rows);
        *count += n;
        if (n < ADOPT_BATCH)
            return 0;
    }
}

static int adopt_from(struct cluster *c, const char *from, int64_t older_than)
{
    static const enum due_kind kinds[] = {DUE_VISIT, DUE_ESCALATION, DUE_OUTBOX, DUE_ALARM,
                                          DUE_AMBER, DUE_DEVICE,     DUE_DC09,   DUE_SILENT};
    size_t count = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof kinds / sizeof kinds[0]; i++)
        rc = adopt_kind(c, kinds[i], from, older_than, &count);
    if (count)
        log_warn("work_taken_over", "from=%s rows=%zu", from ? from : "(none)", count);
    if (from)
        atomic_fetch_add(&c->taken_over, count);
    if (!rc && from)
        rc = store_node_forget(c->st, from, older_than);
    return rc;
}

/*
 * Puts this node's rows due before the next look in the timetable again. A commit whose
 * answer was lost with the connection (the database went away just then) may have
 * written work this node owns but never scheduled; this finds it within RESYNC_EVERY
 * passes. Rows already scheduled are only scheduled again at the same time.
 */
static int resync(struct cluster *c, int64_t now)
{
    size_t n = 0;
    return watch_schedule_owned(c->w, c->st, now + (RESYNC_EVERY + 1) * c->period_ms, &n);
}

/* One pass: heartbeat, then the work of silent nodes (at start on SQLite: of all). */
static int pass(struct cluster *c, bool first)
{
    int64_t now = clock_now_ms(c->w->cfg.clock);
    int64_t silent_before = first && !store_shared(c->st) ? INT64_MAX : now - c->lease_ms;
    char **names = NULL;
    size_t n = 0;
    int rc = store_node_heartbeat(c->st, now);
    if (!rc)
        rc = store_nodes_silent(c->st, silent_before, &names, &n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = adopt_from(c, names[i], silent_before);
    store_names_free(names, n);
    if (!rc && (first || c->passes % ORPHAN_EVERY == 0))
        rc = adopt_from(c, NULL, silent_before);
    if (!rc && !first && c->passes % RESYNC_EVERY == 0)
        rc = resync(c, now);
    c->passes++;
    return rc;
}

static void *run(void *arg)
{
    struct cluster *c = arg;
    bool failing = false;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (c->period_ms % 1000) * 1000000;
        until.tv_sec += (time_t)(c->period_ms / 1000 + ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        while (!c->stop && pthread_cond_timedwait(&c->wake, &c->lock, &until) != ETIMEDOUT)
            ;
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->lock);
        int rc = pass(c, false);
        /* Logged when it starts and ends failing, not once a period through an outage. */
        if (rc && !failing)
            log_error("cluster_pass_failed", "code=%s", na_error_code(rc));
        else if (!rc && failing)
            log_info("cluster_pass_recovered", "%s", "");
        failing = rc != 0;
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int cluster_start(struct watch *w, struct cluster **out)
{
    struct cluster *c = xcalloc(1, sizeof *c);
    c->w = w;
    c->lease_ms = w->cfg.store->lease_ms > 0 ? w->cfg.store->lease_ms : 10000;
    /* Four heartbeats a lease: one late heartbeat never passes for a death. */
    c->period_ms = c->lease_ms / 4 < 1000 ? c->lease_ms / 4 : 1000;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    int rc = store_open(w->cfg.store, &c->st);
    if (!rc)
        rc = pass(c, true);
    if (!rc && store_shared(c->st)) {
        if (pthread_create(&c->thread, NULL, run, c))
            rc = -NA_EIO;
        c->running = rc == 0;
    }
    if (rc) {
        cluster_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

uint64_t cluster_taken_over(struct cluster *c)
{
    return c ? atomic_load(&c->taken_over) : 0;
}

void cluster_stop(struct cluster *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
    if (c->running && !c->joined)
        pthread_join(c->thread, NULL);
    c->joined = true;
}

void cluster_free(struct cluster *c)
{
    if (!c)
        return;
    cluster_stop(c);
    if (c->running) {
        /* A node stopped on purpose (a rolling restart) need not be waited for: what it
         * still owns (deliveries left in its queue among them) is taken at once. */
        int rc = store_node_leave(c->st);
        if (rc)
            log_warn("node_leave_failed", "code=%s", na_error_code(rc));
    }
    store_close(c->st);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
}
