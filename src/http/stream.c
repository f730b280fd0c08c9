/*
 * The live event stream of one node (stream.h): the hub's thread, which follows the
 * events table and hands each event to the streams that may see it; the listener's
 * thread on a shared database; and the streams themselves, read by libmicrohttpd.
 *
 * One mutex guards the hub and every stream. libmicrohttpd's suspend and resume are
 * called under it, so a connection is resumed only once it was suspended; neither takes
 * a lock of libmicrohttpd's that is held while it calls into this file (its cleanup lock
 * is taken around callbacks only in thread-per-connection mode, which the server does
 * not use).
 */
#include "http/stream.h"

#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store_alarms.h"
#include "store/store_cluster.h"
#include "store/store_watch.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/secret.h"

/* Rows read at a time, and batches handled before keepalives get a turn. */
#define HUB_BATCH      256
#define HUB_MAX_ROUNDS 64
/* Looks at the table this often even when nobody said so (a notification lost with its
 * connection): an event is late by at most this much, never missed. */
#define HUB_POLL_MS 2000
/* The listener's wait for the database, doubling up to the most. */
#define LISTEN_BACKOFF_MIN_MS 100
#define LISTEN_BACKOFF_MAX_MS 5000
/* A stream's buffer above this, once drained, gives its memory back. */
#define STREAM_KEEP_BYTES (64u << 10)

struct stream {
    struct stream_hub *hub;
    struct stream *prev, *next; /* in hub->streams while attached */
    bool attached;
    struct MHD_Connection *conn;
    struct principal who;
    int64_t *teams; /* who.managed_team_ids, owned */
    char token_hash[SECRET_HASH_HEX + 1];
    uint64_t serial; /* names the stream while the lock is let go */
    int64_t cursor;  /* the last event id handled for this stream */
    struct buf out;  /* bytes to send: out.data[head..out.len) */
    size_t head;
    bool suspended; /* its connection is suspended, waiting for bytes */
    bool ending;    /* send what is left, then end */
    bool failed;    /* end now, with an error: the client could not keep up */
};

struct stream_hub {
    struct stream_hub_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the hub's thread waits here (monotonic clock) */
    pthread_cond_t gone; /* a stream was freed */
    bool woken, closing, stopping;
    struct stream *streams; /* attached streams */
    size_t n_streams;       /* streams that exist, attached or not */
    uint64_t next_serial;
    int64_t last_id;  /* events up to here are handled */
    struct store *st; /* the hub thread's connection */
    bool read_failing;
    pthread_t thread;
    bool listening; /* a listener thread runs */
    pthread_t listener;
    int stop_pipe[2]; /* readable once stopping: wakes the listener */
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec monotonic_at(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    return ts;
}

/* ---- a stream's bytes (hub lock held) ---- */

static void stream_resume_locked(struct stream *s)
{
    if (!s->suspended)
        return;
    s->suspended = false;
    MHD_resume_connection(s->conn);
}

/* Appends len bytes; a stream that cannot take them is ended with an error. */
static void stream_push_locked(struct stream *s, const char *text, size_t len)
{
    if (s->ending)
        return;
    if (s->head && s->out.len + len > s->out.max) {
        memmove(s->out.data, s->out.data + s->head, s->out.len - s->head);
        s->out.len -= s->head;
        s->out.data[s->out.len] = '\0';
        s->head = 0;
    }
    if (buf_append(&s->out, text, len)) {
        /* The client reads slower than events come: it reconnects with Last-Event-ID. */
        s->ending = s->failed = true;
        log_warn("stream_dropped", "user_id=%lld reason=slow_client", (long long)s->who.user_id);
    }
    stream_resume_locked(s);
}

/* ---- formatting ---- */

static bool kind_ok(const char *kind)
{
    size_t n = 0;
    for (const char *p = kind; p && *p; p++, n++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_'))
            return false;
    return n > 0 && n <= 64;
}

/*
 * The event as Server-Sent Events text: id, event and data lines, then a blank line.
 * data is the stored payload with id and kind added, on one line. Caller frees; NULL
 * (logged) for a row that cannot be shown.
 */
static char *event_text(const struct event_row *e, size_t *out_len)
{
    json_error_t jerr;
    json_t *o = e->payload ? json_loads(e->payload, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    char *data = NULL, *text = NULL;

    if (!json_is_object(o) || !kind_ok(e->kind)) {
        log_error("event_damaged", "event_id=%lld", (long long)e->id);
        json_decref(o);
        return NULL;
    }
    json_t *all = json_pack("{s:I,s:s}", "id", (json_int_t)e->id, "kind", e->kind);
    if (all && !json_object_update(all, o))
        data = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    json_decref(o);
    if (data) {
        size_t n = strlen(data) + strlen(e->kind) + 64;
        text = xmalloc(n);
        int w =
            snprintf(text, n, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)e->id, e->kind, data);
        *out_len = w > 0 && (size_t)w < n ? (size_t)w : 0;
    }
    free(data);
    if (text && !*out_len) {
        free(text);
        text = NULL;
    }
    return text;
}

/* ---- the hub's thread ---- */

/* Who may see one event: its visit's (or alarm's) worker, buddy and the worker's teams. */
struct audience {
    bool known; /* the visit or alarm was found (else nobody sees the event) */
    bool alarm; /* an alarm's event: access_sees_alarm decides */
    int64_t worker_id, buddy_id;
    int64_t *teams;
    size_t n_teams;
    char *text;
    size_t len;
};

static void audience_fini(struct audience *a)
{
    free(a->teams);
    free(a->text);
    memset(a, 0, sizeof *a);
}

/* The worker and buddy of e's alarm (its visit's buddy) or visit; -NA_ENOTFOUND when gone. */
static int audience_subject(struct stream_hub *h, const struct event_row *e, struct audience *a)
{
    struct visit_row v = {0};
    int64_t visit_id = e->visit_id;
    int rc = 0;
    /* An alarm's event names its worker and visit (events_add_alarm): read neither. */
    a->alarm = e->alarm_id != 0;
    if (a->alarm)
        a->worker_id = e->worker_id;
    if (!rc && visit_id)
        rc = store_visit_get_any(h->st, visit_id, &v);
    if (!rc && visit_id && v.organisation_id != e->organisation_id)
        rc = -NA_ENOTFOUND;
    if (!rc && visit_id) {
        a->buddy_id = v.buddy_id;
        if (!a->alarm)
            a->worker_id = v.worker_id;
    }
    /* An alarm whose visit is gone is still seen by the alarm's people, without a buddy. */
    if (rc == -NA_ENOTFOUND && a->alarm && a->worker_id) {
        a->buddy_id = 0;
        rc = 0;
    }
    visit_row_fini(&v);
    return rc;
}

/* Reads who may see e (hub thread, no lock held). A storage error leaves e for later. */
static int audience_load(struct stream_hub *h, const struct event_row *e, struct audience *a)
{
    int rc = audience_subject(h, e, a);
    if (rc == -NA_ENOTFOUND)
        return 0;
    /* A worker gone from the organisation has no teams: the worker, buddy and the roles
     * that see everything remain. */
    if (!rc)
        rc = store_user_team_ids(h->st, e->organisation_id, a->worker_id, &a->teams, &a->n_teams);
    if (!rc) {
        a->known = true;
        a->text = event_text(e, &a->len);
    }
    return rc;
}

/* Whether who sees the event of audience a: the alarm's rule or the visit's. */
static bool audience_sees(const struct audience *a, const struct principal *who)
{
    if (!a->known || !a->text)
        return false;
    if (a->alarm)
        return access_sees_alarm(who, a->worker_id, a->buddy_id, a->teams, a->n_teams);
    return access_sees_visit(who, a->worker_id, a->buddy_id, a->teams, a->n_teams);
}

/* Whether an attached stream of e's organisation has not had e yet (lock held). */
static bool hub_wants_locked(const struct stream_hub *h, const struct event_row *e)
{
    for (const struct stream *s = h->streams; s; s = s->next)
        if (s->who.organisation_id == e->organisation_id && s->cursor < e->id)
            return true;
    return false;
}

/* Hands e to the streams that see it and marks it handled. */
static int hub_deliver(struct stream_hub *h, const struct event_row *e)
{
    struct audience a = {0};
    bool loaded = false;
    int rc = 0;

    pthread_mutex_lock(&h->lock);
    /* Streams come and go meanwhile: the lock is let go only to read the database. */
    while (!loaded && hub_wants_locked(h, e)) {
        pthread_mutex_unlock(&h->lock);
        rc = audience_load(h, e, &a);
        if (rc) {
            audience_fini(&a);
            return rc;
        }
        loaded = true;
        pthread_mutex_lock(&h->lock);
    }
    for (struct stream *s = h->streams; s; s = s->next) {
        if (s->who.organisation_id != e->organisation_id || s->cursor >= e->id)
            continue;
        s->cursor = e->id;
        if (audience_sees(&a, &s->who))
            stream_push_locked(s, a.text, a.len);
    }
    h->last_id = e->id;
    pthread_mutex_unlock(&h->lock);
    audience_fini(&a);
    return 0;
}

/* Handles every event committed since the last one handled (a bounded number of rounds). */
static void hub_catch_up(struct stream_hub *h)
{
    for (int round = 0; round < HUB_MAX_ROUNDS; round++) {
        struct event_row *rows = NULL;
        size_t n = 0;
        int rc = store_events_next(h->st, h->last_id, HUB_BATCH, &rows, &n);
        for (size_t i = 0; !rc && i < n; i++)
            rc = hub_deliver(h, &rows[i]);
        event_rows_free(rows, n);
        if (rc) {
            /* The database is away: tried again at the next poll, from the same event. */
            if (!h->read_failing)
                log_warn("events_read_failed", "code=%s", na_error_code(rc));
            h->read_failing = true;
            return;
        }
        if (h->read_failing)
            log_info("events_read_recovered", "last_id=%lld", (long long)h->last_id);
        h->read_failing = false;
        if (n < HUB_BATCH)
            return;
    }
    /* More is waiting: go round again after the keepalives. */
    pthread_mutex_lock(&h->lock);
    h->woken = true;
    pthread_mutex_unlock(&h->lock);
}

static void hub_keepalive_locked(struct stream_hub *h)
{
    static const char line[] = ": keepalive\n\n";
    for (struct stream *s = h->streams; s; s = s->next)
        stream_push_locked(s, line, sizeof line - 1);
}

/* A stream's credential, looked up without the lock. */
struct cred_check {
    uint64_t serial;
    char hash[SECRET_HASH_HEX + 1];
    unsigned roles; /* as when the stream opened */
    int64_t *teams; /* the teams it managed then (owned copy) */
    size_t n_teams;
    bool revoked;
};

/* Whether the teams user_id manages now are those the stream opened with. */
static bool same_teams(struct store *st, const struct credential *cred, const struct cred_check *c)
{
    int64_t *now_ids = NULL;
    size_t n = 0;
    if (store_teams_managed_by(st, cred->organisation_id, cred->user_id, &now_ids, &n))
        return true; /* a storage error is not a change: look again next round */
    bool same = n == c->n_teams && (n == 0 || !memcmp(now_ids, c->teams, n * sizeof *now_ids));
    free(now_ids);
    return same;
}

/*
 * Ends the streams whose credential no longer holds (logged out, expired, revoked, user
 * disabled, a password change now required), as a request with it would be refused now,
 * and those whose user's roles or managed teams changed (a demoted operator must stop
 * seeing everything; reconnecting gets what the new ones allow). A storage error leaves them be
 * until the next round.
 */
static void hub_check_credentials(struct stream_hub *h)
{
    struct cred_check *c = NULL;
    size_t n = 0, i = 0;

    if (!h->cfg.clock)
        return;
    pthread_mutex_lock(&h->lock);
    for (struct stream *s = h->streams; s; s = s->next)
        n++;
    c = n ? xcalloc(n, sizeof *c) : NULL;
    for (struct stream *s = h->streams; s; s = s->next, i++) {
        c[i].serial = s->serial;
        c[i].roles = s->who.roles;
        c[i].n_teams = s->who.n_managed_team_ids;
        if (c[i].n_teams) {
            c[i].teams = xcalloc(c[i].n_teams, sizeof *c[i].teams);
            memcpy(c[i].teams, s->who.managed_team_ids, c[i].n_teams * sizeof *c[i].teams);
        }
        memcpy(c[i].hash, s->token_hash, sizeof c[i].hash);
    }
    pthread_mutex_unlock(&h->lock);
    int64_t now = clock_now_ms(h->cfg.clock);
    for (i = 0; i < n; i++) {
        struct credential cred;
        int rc = store_credential_lookup(h->st, c[i].hash, now, &cred);
        c[i].revoked = rc == -NA_ENOTFOUND ||
                       (!rc && (cred.disabled || cred.password_change_required ||
                                cred.roles != c[i].roles || !same_teams(h->st, &cred, &c[i])));
    }
    pthread_mutex_lock(&h->lock);
    for (struct stream *s = h->streams; s; s = s->next) {
        for (i = 0; i < n; i++) {
            if (c[i].serial != s->serial || !c[i].revoked || s->ending)
                continue;
            s->ending = true;
            stream_resume_locked(s);
            log_info("stream_ended", "user_id=%lld reason=credential", (long long)s->who.user_id);
        }
    }
    pthread_mutex_unlock(&h->lock);
    for (i = 0; i < n; i++)
        free(c[i].teams);
    free(c);
}

static void *hub_main(void *arg)
{
    struct stream_hub *h = arg;
    int64_t next_keepalive = monotonic_ms() + h->cfg.keepalive_ms;
    int64_t next_poll = monotonic_ms() + HUB_POLL_MS;

    for (;;) {
        pthread_mutex_lock(&h->lock);
        while (!h->stopping && !h->woken) {
            int64_t due = next_keepalive < next_poll ? next_keepalive : next_poll;
            if (monotonic_ms() >= due)
                break;
            struct timespec at = monotonic_at(due);
            pthread_cond_timedwait(&h->wake, &h->lock, &at);
        }
        if (h->stopping) {
            pthread_mutex_unlock(&h->lock);
            break;
        }
        h->woken = false;
        bool keepalive = monotonic_ms() >= next_keepalive;
        if (keepalive) {
            hub_keepalive_locked(h);
            next_keepalive = monotonic_ms() + h->cfg.keepalive_ms;
        }
        pthread_mutex_unlock(&h->lock);
        hub_catch_up(h);
        if (keepalive)
            hub_check_credentials(h);
        next_poll = monotonic_ms() + HUB_POLL_MS;
    }
    return NULL;
}

/* ---- the listener's thread (shared database) ---- */

/* Sleeps ms, or less when the hub stops. */
static void listener_pause(struct stream_hub *h, int ms)
{
    struct pollfd p = {.fd = h->stop_pipe[0], .events = POLLIN};
    poll(&p, 1, ms);
}

static bool hub_stopping(struct stream_hub *h)
{
    pthread_mutex_lock(&h->lock);
    bool stopping = h->stopping;
    pthread_mutex_unlock(&h->lock);
    return stopping;
}

/* A connection that listens, or NULL (logged) when the database cannot be reached. */
static struct store *listener_open(struct stream_hub *h)
{
    struct store *st = NULL;
    int rc = store_open(h->cfg.store, &st);
    if (!rc)
        rc = store_events_listen(st);
    if (!rc)
        return st;
    log_warn("events_listen_failed", "code=%s", na_error_code(rc));
    store_close(st);
    return NULL;
}

static void *listener_main(void *arg)
{
    struct stream_hub *h = arg;
    struct store *st = NULL;
    int backoff = LISTEN_BACKOFF_MIN_MS;
    bool lost = false;

    while (!hub_stopping(h)) {
        bool notified = false;
        if (!st) {
            st = listener_open(h);
            if (!st) {
                listener_pause(h, backoff);
                backoff = backoff * 2 > LISTEN_BACKOFF_MAX_MS ? LISTEN_BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            if (lost)
                log_info("events_listen_reconnected", "%s", "");
            backoff = LISTEN_BACKOFF_MIN_MS;
            /* Commits while nobody listened were not told: look for them now. */
            stream_hub_wake(h);
        }
        int rc = store_events_wait(st, 60 * 1000, h->stop_pipe[0], &notified);
        if (rc) {
            log_warn("events_listen_lost", "code=%s", na_error_code(rc));
            store_close(st);
            st = NULL;
            lost = true;
            continue;
        }
        if (notified)
            stream_hub_wake(h);
    }
    store_close(st);
    return NULL;
}

/* ---- the hub ---- */

static int hub_pipe(int fds[2])
{
    if (pipe(fds))
        return -NA_EIO;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

static void hub_sync_init(struct stream_hub *h)
{
    pthread_condattr_t attr;
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->wake, &attr);
    pthread_cond_init(&h->gone, &attr);
    pthread_condattr_destroy(&attr);
}

int stream_hub_new(const struct stream_hub_config *cfg, struct stream_hub **out)
{
    struct stream_hub *h = xcalloc(1, sizeof *h);
    int rc;

    *out = NULL;
    h->cfg = *cfg;
    h->stop_pipe[0] = h->stop_pipe[1] = -1;
    hub_sync_init(h);
    rc = hub_pipe(h->stop_pipe);
    if (!rc)
        rc = store_open(cfg->store, &h->st);
    if (!rc)
        rc = store_events_last_id(h->st, &h->last_id);
    if (!rc && pthread_create(&h->thread, NULL, hub_main, h))
        rc = -NA_EIO;
    if (rc)
        goto fail;
    if (store_shared(h->st)) {
        if (pthread_create(&h->listener, NULL, listener_main, h)) {
            rc = -NA_EIO;
            stream_hub_free(h);
            return rc;
        }
        h->listening = true;
    }
    log_info("events_hub_started", "last_id=%lld listening=%d", (long long)h->last_id,
             h->listening);
    *out = h;
    return 0;
fail:
    store_close(h->st);
    for (int i = 0; i < 2; i++)
        if (h->stop_pipe[i] >= 0)
            close(h->stop_pipe[i]);
    pthread_cond_destroy(&h->wake);
    pthread_cond_destroy(&h->gone);
    pthread_mutex_destroy(&h->lock);
    free(h);
    return rc;
}

void stream_hub_free(struct stream_hub *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    h->closing = true;
    if (h->n_streams)
        log_error("events_hub_streams_left", "streams=%zu", h->n_streams);
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    if (write(h->stop_pipe[1], "x", 1) != 1)
        log_warn("events_hub_stop_signal_failed", "%s", "");
    pthread_join(h->thread, NULL);
    if (h->listening)
        pthread_join(h->listener, NULL);
    store_close(h->st);
    close(h->stop_pipe[0]);
    close(h->stop_pipe[1]);
    pthread_cond_destroy(&h->wake);
    pthread_cond_destroy(&h->gone);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void stream_hub_wake(void *arg)
{
    struct stream_hub *h = arg;
    pthread_mutex_lock(&h->lock);
    h->woken = true;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
}

void stream_hub_close(struct stream_hub *h)
{
    pthread_mutex_lock(&h->lock);
    h->closing = true;
    for (struct stream *s = h->streams; s; s = s->next) {
        s->ending = true;
        stream_resume_locked(s);
    }
    pthread_mutex_unlock(&h->lock);
}

bool stream_hub_wait_empty(struct stream_hub *h, int timeout_ms)
{
    struct timespec at = monotonic_at(monotonic_ms() + timeout_ms);
    pthread_mutex_lock(&h->lock);
    while (h->n_streams > 0 && pthread_cond_timedwait(&h->gone, &h->lock, &at) == 0)
        ;
    bool empty = h->n_streams == 0;
    pthread_mutex_unlock(&h->lock);
    return empty;
}

size_t stream_hub_count(struct stream_hub *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = h->n_streams;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* ---- streams ---- */

int stream_new(struct stream_hub *h, const struct principal *who, const char *token_hash,
               struct stream **out)
{
    static const char hello[] = ": events of notalone\n\n";
    struct stream *s;
    uint64_t serial = 0;

    *out = NULL;
    pthread_mutex_lock(&h->lock);
    bool refused = h->closing || h->n_streams >= h->cfg.max_streams;
    if (!refused) {
        h->n_streams++;
        serial = ++h->next_serial;
    }
    pthread_mutex_unlock(&h->lock);
    if (refused)
        return -NA_EUNAVAILABLE;
    s = xcalloc(1, sizeof *s);
    s->hub = h;
    s->serial = serial;
    snprintf(s->token_hash, sizeof s->token_hash, "%s", token_hash ? token_hash : "");
    s->who = *who;
    if (who->n_managed_team_ids) {
        s->teams = xcalloc(who->n_managed_team_ids, sizeof *s->teams);
        memcpy(s->teams, who->managed_team_ids, who->n_managed_team_ids * sizeof *s->teams);
    }
    s->who.managed_team_ids = s->teams;
    buf_init(&s->out, h->cfg.max_buffer_bytes);
    /* Something to send at once, so that the client has the headers without waiting. */
    buf_append(&s->out, hello, sizeof hello - 1);
    *out = s;
    return 0;
}

void stream_free(struct stream *s)
{
    if (!s)
        return;
    struct stream_hub *h = s->hub;
    pthread_mutex_lock(&h->lock);
    if (s->attached) {
        if (s->prev)
            s->prev->next = s->next;
        else
            h->streams = s->next;
        if (s->next)
            s->next->prev = s->prev;
    }
    h->n_streams--;
    pthread_cond_broadcast(&h->gone);
    pthread_mutex_unlock(&h->lock);
    buf_fini(&s->out);
    free(s->teams);
    free(s);
}

int stream_replay(struct stream *s, const struct event_row *e)
{
    size_t len = 0;
    char *text = event_text(e, &len);
    int rc = text ? buf_append(&s->out, text, len) : 0;
    free(text);
    if (!rc)
        s->cursor = e->id;
    return rc;
}

int stream_attach(struct stream *s, int64_t cursor, int64_t *out_hub_last)
{
    struct stream_hub *h = s->hub;
    int rc = 0;

    pthread_mutex_lock(&h->lock);
    *out_hub_last = h->last_id;
    if (h->closing)
        rc = -NA_EUNAVAILABLE;
    else if (cursor != STREAM_FROM_NOW && cursor < h->last_id)
        rc = -NA_ECONFLICT;
    if (!rc) {
        s->cursor = cursor == STREAM_FROM_NOW ? h->last_id : cursor;
        s->attached = true;
        s->prev = NULL;
        s->next = h->streams;
        if (h->streams)
            h->streams->prev = s;
        h->streams = s;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void stream_set_connection(struct stream *s, void *conn)
{
    s->conn = conn;
}

ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream *s = cls;
    struct stream_hub *h = s->hub;
    ssize_t n = 0;
    (void)pos;

    pthread_mutex_lock(&h->lock);
    if (s->failed) {
        n = MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (s->out.len > s->head) {
        size_t left = s->out.len - s->head;
        size_t take = left < max ? left : max;
        memcpy(out, s->out.data + s->head, take);
        s->head += take;
        n = (ssize_t)take;
        if (s->head == s->out.len) {
            s->head = 0;
            if (s->out.cap > STREAM_KEEP_BYTES)
                buf_fini(&s->out);
            else
                buf_reset(&s->out);
        }
    } else if (s->ending) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* Nothing to send: the worker thread goes on to other connections until the hub
         * resumes this one. */
        s->suspended = true;
        MHD_suspend_connection(s->conn);
    }
    pthread_mutex_unlock(&h->lock);
    return n;
}

void stream_response_free(void *cls)
{
    stream_free(cls);
}
