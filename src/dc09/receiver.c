/*
 * The receiver's network side: one libuv loop thread with a TCP listener and a UDP socket
 * on one address. It finds frames in what arrives (dc09_frame_next), queues them to the
 * writer thread (writer.c) with where they came from, and writes back the answers the
 * writer hands over once their transaction has committed.
 *
 * Limits, so that one transmitter cannot starve the others: connections at once and per
 * source address (closed at accept beyond), frames of a connection awaiting answers (its
 * reading pauses), UDP frames of a source awaiting answers (dropped beyond), a bounded read
 * buffer per connection, and an idle timeout checked by one periodic sweep.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "dc09/receiver_internal.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

/* libuv's suggestion for a read; also the most a paused connection keeps past max_frame. */
#define RX_READ_CHUNK 65536
#define RX_UDP_MAX    65536
#define RX_SOURCES    1024 /* hash buckets of sending addresses */
#define RX_BACKLOG    1024
#define RX_SWEEP_MAX  1000 /* ms between idle sweeps at most */
#define RX_BIND_TRIES 8    /* port 0: tries for a port free for both TCP and UDP */

/* A sending address: its TCP connections and its UDP frames awaiting answers. */
struct rx_source {
    struct rx_source *next;
    int family;
    uint8_t addr[16];
    size_t connections;
    size_t udp_in_flight;
};

struct rx_conn {
    uv_tcp_t tcp; /* first: the handle's address is the connection's */
    struct dc09_receiver *r;
    uint32_t slot, gen;
    struct rx_source *source;
    uint8_t *buf; /* bytes read but not yet framed */
    size_t len, cap;
    size_t in_flight;
    bool paused; /* reading stopped until answers drain */
    bool eof;    /* the peer is done sending: close once answered */
    uint64_t last_active;
    char peer[RX_PEER_MAX];
};

void dc09_receiver_config_init(struct dc09_receiver_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_connections = 4096;
    cfg->max_per_source = 64;
    cfg->idle_timeout_ms = 5 * 60 * 1000;
    cfg->max_frame = DC09_FRAME_MAX;
    cfg->max_in_flight = 64;
    cfg->batch_max = 1024;
    cfg->ingest.repeat_window_ms = 10 * 60 * 1000;
    cfg->ingest.past_ms = 40 * 1000;
    cfg->ingest.future_ms = 20 * 1000;
}

/* ---- sending addresses ---- */

static size_t source_key(const struct sockaddr *sa, int *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    *family = sa->sa_family;
    if (sa->sa_family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 16;
    }
    memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 4;
}

static size_t source_bucket(const struct dc09_receiver *r, int family, const uint8_t addr[16])
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)family; /* FNV-1a */
    for (size_t i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 1099511628211ULL;
    return (size_t)(h % r->n_buckets);
}

/* The entry of sa's address, made when missing. */
static struct rx_source *source_get(struct dc09_receiver *r, const struct sockaddr *sa)
{
    int family;
    uint8_t addr[16];
    source_key(sa, &family, addr);
    size_t b = source_bucket(r, family, addr);
    for (struct rx_source *s = r->sources[b]; s; s = s->next)
        if (s->family == family && memcmp(s->addr, addr, 16) == 0)
            return s;
    struct rx_source *s = xcalloc(1, sizeof *s);
    s->family = family;
    memcpy(s->addr, addr, 16);
    s->next = r->sources[b];
    r->sources[b] = s;
    return s;
}

/* Forgets s once nothing of it is counted. */
static void source_release(struct dc09_receiver *r, struct rx_source *s)
{
    if (s->connections || s->udp_in_flight)
        return;
    struct rx_source **p = &r->sources[source_bucket(r, s->family, s->addr)];
    while (*p != s)
        p = &(*p)->next;
    *p = s->next;
    free(s);
}

static void peer_name(const struct sockaddr *sa, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(a, host, sizeof host);
        snprintf(out, n, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        uv_ip4_name(a, host, sizeof host);
        snprintf(out, n, "%s:%u", host, (unsigned)ntohs(a->sin_port));
    }
}

/* ---- frames to the writer ---- */

static struct rx_item *item_new(const uint8_t *p, const struct dc09_span *sp, const char *peer)
{
    struct rx_item *it = xmalloc(sizeof *it + sp->len);
    memset(it, 0, sizeof *it);
    it->len = sp->len;
    it->bad_length = sp->bad_length;
    memcpy(it->frame, p, sp->len);
    snprintf(it->peer, sizeof it->peer, "%s", peer);
    return it;
}

/* Hands what one read found to the writer: one lock, one wake-up. */
static void send_to_writer(struct dc09_receiver *r, struct rx_queue *q)
{
    if (!q->n)
        return;
    atomic_fetch_add_explicit(&r->stats.frames, q->n, memory_order_relaxed);
    pthread_mutex_lock(&r->lock);
    rx_queue_join(&r->to_writer, q);
    pthread_cond_signal(&r->more);
    pthread_mutex_unlock(&r->lock);
}

/* ---- TCP connections ---- */

static void conn_closed(uv_handle_t *h)
{
    struct rx_conn *c = h->data;
    free(c->buf);
    free(c);
}

/* Closes c: its slot is freed at once, so that answers still to come find it gone. */
static void conn_close(struct rx_conn *c)
{
    struct dc09_receiver *r = c->r;
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    r->conns[c->slot] = NULL;
    r->free_slots[r->n_free++] = c->slot;
    c->source->connections--;
    source_release(r, c->source);
    atomic_fetch_sub_explicit(&r->stats.connections, 1, memory_order_relaxed);
    log_debug("dc09_close", "conn=%u in_flight=%zu", c->slot, c->in_flight);
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

/* Queues the frames of p[0..n) while c may have more in flight; returns the bytes used. */
static size_t conn_scan(struct rx_conn *c, const uint8_t *p, size_t n)
{
    struct dc09_receiver *r = c->r;
    struct rx_queue q = {0};
    size_t off = 0;
    while (off < n && c->in_flight < r->cfg.max_in_flight) {
        struct dc09_span sp;
        dc09_frame_next(p + off, n - off, r->cfg.max_frame, &sp);
        off += sp.skip;
        if (!sp.len)
            break;
        struct rx_item *it = item_new(p + off, &sp, c->peer);
        it->slot = c->slot;
        it->gen = c->gen;
        rx_queue_push(&q, it);
        c->in_flight++;
        off += sp.len;
    }
    send_to_writer(r, &q);
    return off;
}

/* Appends p[0..n) to what c keeps, bounded by max_frame + one read: only a connection
 * paused with a read's worth of frames in hand keeps more than a partial frame. */
static void conn_append(struct rx_conn *c, const uint8_t *p, size_t n)
{
    size_t max = c->r->cfg.max_frame + RX_READ_CHUNK;
    if (!n)
        return;
    if (n > max) {
        p += n - max;
        n = max;
    }
    if (c->len + n > max) {
        size_t drop = c->len + n - max;
        memmove(c->buf, c->buf + drop, c->len - drop);
        c->len -= drop;
    }
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n)
            cap *= 2;
        c->cap = cap < max ? cap : max;
        c->buf = xrealloc(c->buf, c->cap, 1);
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
}

/* Drops the first used bytes c keeps. */
static void conn_consume(struct rx_conn *c, size_t used)
{
    if (!used)
        return;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
}

static void conn_pause_or_resume(struct rx_conn *c);

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct dc09_receiver *r = h->loop->data;
    (void)suggested;
    *out = uv_buf_init((char *)r->read_buf, RX_READ_CHUNK);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct rx_conn *c = s->data;
    const uint8_t *p = (const uint8_t *)b->base;
    if (nread < 0) {
        /* The peer is done sending; the answers it is owed go out before the close. */
        uv_read_stop(s);
        c->eof = true;
        if (nread != UV_EOF || !c->in_flight)
            conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    c->last_active = uv_now(s->loop);
    if (c->len == 0) {
        /* The common case, whole frames: framed straight from the read buffer. */
        size_t used = conn_scan(c, p, (size_t)nread);
        conn_append(c, p + used, (size_t)nread - used);
    } else {
        conn_append(c, p, (size_t)nread);
        conn_consume(c, conn_scan(c, c->buf, c->len));
    }
    conn_pause_or_resume(c);
}

/* Reading stops while c has max_in_flight frames awaiting answers, and resumes (after
 * framing what it kept) once they drain. */
static void conn_pause_or_resume(struct rx_conn *c)
{
    struct dc09_receiver *r = c->r;
    if (c->eof || r->reading_stopped)
        return;
    if (c->paused && c->in_flight < r->cfg.max_in_flight && c->len)
        conn_consume(c, conn_scan(c, c->buf, c->len));
    bool full = c->in_flight >= r->cfg.max_in_flight;
    if (full && !c->paused) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->paused = true;
    } else if (!full && c->paused) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->paused = false;
        else
            conn_close(c);
    }
}

/* Closes a connection refused at accept (no slot or source counted). */
static void refuse(struct rx_conn *c)
{
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

/* Counts c against the limits and gives it a slot; false when over a limit. */
static bool conn_admit(struct dc09_receiver *r, struct rx_conn *c, const struct sockaddr *sa)
{
    struct rx_source *src = source_get(r, sa);
    if (src->connections >= r->cfg.max_per_source || !r->n_free) {
        log_debug("dc09_refused", "from_source=%zu free_slots=%zu", src->connections, r->n_free);
        source_release(r, src);
        return false;
    }
    c->slot = r->free_slots[--r->n_free];
    c->gen = ++r->gens[c->slot];
    c->source = src;
    src->connections++;
    r->conns[c->slot] = c;
    atomic_fetch_add_explicit(&r->stats.connections, 1, memory_order_relaxed);
    return true;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct dc09_receiver *r = server->loop->data;
    if (status < 0) {
        log_warn("dc09_accept_failed", "error=%s", uv_err_name(status));
        return;
    }
    struct rx_conn *c = xcalloc(1, sizeof *c);
    c->r = r;
    if (uv_tcp_init(&r->loop, &c->tcp)) {
        free(c);
        return;
    }
    c->tcp.data = c;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    /* Accepted even when refused: libuv stops listening until a connection is taken. */
    if (uv_accept(server, (uv_stream_t *)&c->tcp) ||
        uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) ||
        !conn_admit(r, c, (struct sockaddr *)&ss)) {
        refuse(c);
        return;
    }
    peer_name((struct sockaddr *)&ss, c->peer, sizeof c->peer);
    c->last_active = uv_now(&r->loop);
    /* Answers are a few dozen bytes each: Nagle's delay would only add latency. */
    uv_tcp_nodelay(&c->tcp, 1);
    log_debug("dc09_open", "conn=%u", c->slot);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
        conn_close(c);
}

/* ---- UDP ---- */

static void on_udp(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *sa,
                   unsigned flags)
{
    struct dc09_receiver *r = h->loop->data;
    if (nread <= 0 || !sa)
        return;
    if (flags & UV_UDP_PARTIAL) {
        atomic_fetch_add_explicit(&r->stats.dropped, 1, memory_order_relaxed);
        return;
    }
    const uint8_t *p = (const uint8_t *)b->base;
    size_t n = (size_t)nread, off = 0, dropped = 0;
    struct rx_source *src = source_get(r, sa);
    char peer[RX_PEER_MAX];
    peer_name(sa, peer, sizeof peer);
    struct rx_queue q = {0};
    while (off < n) {
        struct dc09_span sp;
        dc09_frame_next(p + off, n - off, r->cfg.max_frame, &sp);
        off += sp.skip;
        if (!sp.len)
            break;
        if (src->udp_in_flight >= r->cfg.max_in_flight) {
            dropped++;
        } else {
            struct rx_item *it = item_new(p + off, &sp, peer);
            it->slot = RX_SLOT_UDP;
            it->source = src;
            memcpy(&it->addr, sa,
                   sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                             : sizeof(struct sockaddr_in));
            src->udp_in_flight++;
            rx_queue_push(&q, it);
        }
        off += sp.len;
    }
    if (dropped) {
        atomic_fetch_add_explicit(&r->stats.frames, dropped, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->stats.dropped, dropped, memory_order_relaxed);
    }
    source_release(r, src);
    send_to_writer(r, &q);
}

/* ---- answers ---- */

static void on_written(uv_write_t *req, int status)
{
    struct rx_item *it = req->data;
    if (status < 0 && status != UV_ECANCELED) {
        struct rx_conn *c = req->handle->data;
        conn_close(c);
    }
    free(it);
}

static void on_udp_sent(uv_udp_send_t *req, int status)
{
    (void)status; /* a lost datagram is sent again by its transmitter */
    free(req->data);
}

static void drop(struct dc09_receiver *r, struct rx_item *it)
{
    atomic_fetch_add_explicit(&r->stats.dropped, 1, memory_order_relaxed);
    free(it);
}

static void deliver_udp(struct dc09_receiver *r, struct rx_item *it)
{
    it->source->udp_in_flight--;
    source_release(r, it->source);
    it->source = NULL;
    if (!it->answer_len) {
        drop(r, it);
        return;
    }
    uv_buf_t b = uv_buf_init(it->answer, (unsigned)it->answer_len);
    it->req.send.data = it;
    if (uv_udp_send(&it->req.send, &r->udp, &b, 1, (struct sockaddr *)&it->addr, on_udp_sent))
        drop(r, it);
}

/* Writes an answer on its connection, in the order the frames came: one writer, FIFO
 * queues, and uv_write keeps the order of a stream's writes. */
static void deliver(struct dc09_receiver *r, struct rx_item *it)
{
    if (it->slot == RX_SLOT_UDP) {
        deliver_udp(r, it);
        return;
    }
    struct rx_conn *c = it->slot < r->cfg.max_connections ? r->conns[it->slot] : NULL;
    if (!c || c->gen != it->gen) {
        drop(r, it);
        return;
    }
    c->in_flight--;
    c->last_active = uv_now(&r->loop);
    if (!it->answer_len) {
        drop(r, it);
    } else {
        uv_buf_t b = uv_buf_init(it->answer, (unsigned)it->answer_len);
        it->req.write.data = it;
        if (uv_write(&it->req.write, (uv_stream_t *)&c->tcp, &b, 1, on_written)) {
            drop(r, it);
            conn_close(c);
            return;
        }
    }
    if (c->eof && !c->in_flight)
        conn_close(c);
    else
        conn_pause_or_resume(c);
}

/* ---- the loop: idle sweep, wake-ups, stopping ---- */

static void on_sweep(uv_timer_t *t)
{
    struct dc09_receiver *r = t->data;
    uint64_t now = uv_now(&r->loop);
    for (size_t i = 0; i < r->cfg.max_connections; i++) {
        struct rx_conn *c = r->conns[i];
        /* A connection waiting for its answers is waiting for us, not idle. */
        if (c && !c->in_flight && now - c->last_active >= (uint64_t)r->cfg.idle_timeout_ms) {
            log_debug("dc09_idle", "conn=%u", c->slot);
            conn_close(c);
        }
    }
}

static void stop_reading(struct dc09_receiver *r)
{
    r->reading_stopped = true;
    uv_close((uv_handle_t *)&r->listener, NULL);
    r->tcp_ready = false;
    uv_udp_recv_stop(&r->udp);
    for (size_t i = 0; i < r->cfg.max_connections; i++)
        if (r->conns[i])
            uv_read_stop((uv_stream_t *)&r->conns[i]->tcp);
}

static void close_all(struct dc09_receiver *r)
{
    for (size_t i = 0; i < r->cfg.max_connections; i++)
        if (r->conns[i])
            conn_close(r->conns[i]);
    uv_close((uv_handle_t *)&r->udp, NULL);
    uv_close((uv_handle_t *)&r->sweep, NULL);
    uv_close((uv_handle_t *)&r->wake, NULL);
    r->udp_ready = r->sweep_ready = r->wake_ready = false;
}

static void on_wake(uv_async_t *a)
{
    struct dc09_receiver *r = a->data;
    pthread_mutex_lock(&r->lock);
    struct rx_queue q = r->to_loop;
    memset(&r->to_loop, 0, sizeof r->to_loop);
    enum rx_stop stop = r->stop;
    pthread_mutex_unlock(&r->lock);
    if (stop >= RX_STOP_READING && !r->reading_stopped)
        stop_reading(r);
    for (struct rx_item *it = q.head, *next; it; it = next) {
        next = it->next;
        deliver(r, it);
    }
    if (stop == RX_STOP_CLOSE)
        close_all(r);
}

static void *loop_main(void *arg)
{
    struct dc09_receiver *r = arg;
    uv_run(&r->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- start and stop ---- */

static int check_config(const struct dc09_receiver_config *cfg)
{
    if (!cfg->listen || !cfg->clock || !cfg->max_connections || !cfg->max_per_source ||
        cfg->idle_timeout_ms <= 0 || cfg->max_frame < 32 || cfg->max_frame > DC09_FRAME_MAX ||
        !cfg->max_in_flight || !cfg->batch_max || cfg->max_connections >= RX_SLOT_UDP)
        return -NA_EINVAL;
    return 0;
}

static int make_address(const char *listen, struct sockaddr_storage *ss)
{
    char host[256];
    int port;
    if (config_split_listen(listen, host, sizeof host, &port))
        return -NA_EINVAL;
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return -NA_EINVAL;
}

/* Binds TCP, then UDP on the port TCP got (the one picked for port 0). */
static int bind_sockets(struct dc09_receiver *r, struct sockaddr_storage *ss)
{
    struct sockaddr_storage got;
    int len = sizeof got;
    int rc = uv_tcp_init(&r->loop, &r->listener);
    if (rc)
        return rc;
    r->tcp_ready = true;
    rc = uv_tcp_bind(&r->listener, (struct sockaddr *)ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&r->listener, RX_BACKLOG, on_connection);
    if (!rc)
        rc = uv_tcp_getsockname(&r->listener, (struct sockaddr *)&got, &len);
    if (rc)
        return rc;
    r->port = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&got)->sin_port);
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)r->port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)r->port);
    rc = uv_udp_init(&r->loop, &r->udp);
    if (rc)
        return rc;
    r->udp_ready = true;
    rc = uv_udp_bind(&r->udp, (struct sockaddr *)ss, 0);
    if (!rc)
        rc = uv_udp_recv_start(&r->udp, on_alloc, on_udp);
    return rc;
}

/* The loop's handles and timer, before its thread starts. */
static int loop_setup(struct dc09_receiver *r, struct sockaddr_storage *ss)
{
    int rc = uv_loop_init(&r->loop);
    if (rc)
        return rc;
    r->loop_ready = true;
    r->loop.data = r;
    rc = bind_sockets(r, ss);
    if (rc)
        return rc;
    r->listener.data = r;
    r->udp.data = r;
    rc = uv_async_init(&r->loop, &r->wake, on_wake);
    if (rc)
        return rc;
    r->wake_ready = true;
    r->wake.data = r;
    rc = uv_timer_init(&r->loop, &r->sweep);
    if (rc)
        return rc;
    r->sweep_ready = true;
    r->sweep.data = r;
    uint64_t every = (uint64_t)r->cfg.idle_timeout_ms / 4;
    every = every < 10 ? 10 : every > RX_SWEEP_MAX ? RX_SWEEP_MAX : every;
    return uv_timer_start(&r->sweep, on_sweep, every, every);
}

/* Closes what loop_setup made, on the caller's thread (the loop's thread is not running). */
static void loop_teardown(struct dc09_receiver *r)
{
    if (!r->loop_ready)
        return;
    if (r->tcp_ready)
        uv_close((uv_handle_t *)&r->listener, NULL);
    if (r->udp_ready)
        uv_close((uv_handle_t *)&r->udp, NULL);
    if (r->wake_ready)
        uv_close((uv_handle_t *)&r->wake, NULL);
    if (r->sweep_ready)
        uv_close((uv_handle_t *)&r->sweep, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r->loop))
        log_error("dc09_loop_busy", "%s", "");
    r->loop_ready = false;
}

static void receiver_release(struct dc09_receiver *r)
{
    store_close(r->st);
    dc09_codes_free(r->codes);
    free(r->conns);
    free(r->gens);
    free(r->free_slots);
    for (size_t i = 0; i < r->n_buckets; i++) {
        for (struct rx_source *s = r->sources[i], *next; s; s = next) {
            next = s->next;
            free(s);
        }
    }
    free(r->sources);
    free(r->read_buf);
    pthread_cond_destroy(&r->more);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static struct dc09_receiver *receiver_alloc(const struct dc09_receiver_config *cfg)
{
    struct dc09_receiver *r = xcalloc(1, sizeof *r);
    r->cfg = *cfg;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->more, NULL);
    size_t n = cfg->max_connections;
    r->conns = xcalloc(n, sizeof *r->conns);
    r->gens = xcalloc(n, sizeof *r->gens);
    r->free_slots = xcalloc(n, sizeof *r->free_slots);
    for (size_t i = 0; i < n; i++)
        r->free_slots[i] = (uint32_t)(n - 1 - i);
    r->n_free = n;
    r->n_buckets = RX_SOURCES;
    r->sources = xcalloc(r->n_buckets, sizeof *r->sources);
    r->read_buf = xmalloc(RX_READ_CHUNK);
    return r;
}

int dc09_receiver_start(const struct dc09_receiver_config *cfg, struct dc09_receiver **out)
{
    struct sockaddr_storage ss;
    int rc = check_config(cfg);
    if (!rc)
        rc = make_address(cfg->listen, &ss);
    if (rc)
        return rc;
    struct dc09_receiver *r = receiver_alloc(cfg);
    char err[256];
    if (!cfg->ingest.codes) {
        if (dc09_codes_new(NULL, &r->codes, err, sizeof err)) {
            rc = -NA_EINVAL;
            goto fail;
        }
        r->cfg.ingest.codes = r->codes;
    }
    if (cfg->store && (rc = store_open(cfg->store, &r->st)))
        goto fail;
    if ((rc = loop_setup(r, &ss))) {
        log_error("dc09_bind_failed", "listen=%s error=%s", cfg->listen, uv_err_name(rc));
        rc = -NA_EIO;
        goto fail;
    }
    if (pthread_create(&r->writer, NULL, rx_writer_main, r)) {
        rc = -NA_EIO;
        goto fail;
    }
    if (pthread_create(&r->thread, NULL, loop_main, r)) {
        pthread_mutex_lock(&r->lock);
        r->writer_stop = true;
        pthread_cond_signal(&r->more);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->writer, NULL);
        rc = -NA_EIO;
        goto fail;
    }
    *out = r;
    return 0;
fail:
    loop_teardown(r);
    receiver_release(r);
    return rc;
}

int dc09_receiver_port(const struct dc09_receiver *r)
{
    return r->port;
}

void dc09_receiver_get_stats(struct dc09_receiver *r, struct dc09_receiver_stats *out)
{
    out->frames = atomic_load_explicit(&r->stats.frames, memory_order_relaxed);
    out->acks = atomic_load_explicit(&r->stats.acks, memory_order_relaxed);
    out->naks = atomic_load_explicit(&r->stats.naks, memory_order_relaxed);
    out->duhs = atomic_load_explicit(&r->stats.duhs, memory_order_relaxed);
    out->repeats = atomic_load_explicit(&r->stats.repeats, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&r->stats.dropped, memory_order_relaxed);
    out->batches = atomic_load_explicit(&r->stats.batches, memory_order_relaxed);
    out->connections = atomic_load_explicit(&r->stats.connections, memory_order_relaxed);
}

/* Moves the loop to the next stopping step. The wake-up is sent under the lock: the loop
 * closes its async handle only after reading RX_STOP_CLOSE under the same lock, so no
 * wake-up can reach a closed handle. */
static void loop_step(struct dc09_receiver *r, enum rx_stop step)
{
    pthread_mutex_lock(&r->lock);
    r->stop = step;
    uv_async_send(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

void dc09_receiver_free(struct dc09_receiver *r)
{
    if (!r)
        return;
    loop_step(r, RX_STOP_READING);
    /* The writer finishes the batch in progress and hands its answers to the loop. */
    pthread_mutex_lock(&r->lock);
    r->writer_stop = true;
    pthread_cond_signal(&r->more);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->writer, NULL);
    loop_step(r, RX_STOP_CLOSE);
    pthread_join(r->thread, NULL);
    size_t unanswered = rx_queue_free(&r->to_writer) + rx_queue_free(&r->to_loop);
    atomic_fetch_add_explicit(&r->stats.dropped, unanswered, memory_order_relaxed);
    if (uv_loop_close(&r->loop))
        log_error("dc09_loop_busy", "%s", "");
    log_info("dc09_stopped", "unanswered=%zu", unanswered);
    receiver_release(r);
}
