/*
 * The receiver's network side: one libuv loop thread with a TCP listener and a UDP socket
 * on one address. It finds frames in what arrives (dc09_frame_next), queues them to the
 * writer thread (writer.c) with where they came from, and writes back the answers the
 * writer hands over once their transaction has committed.
 *
 * Limits, so that no transmitter can starve the others or exhaust the memory: connections
 * at once and per source (IPv4 address or IPv6 /64); frames in flight per connection or
 * source, and in all (TCP reading pauses, UDP frames are dropped); answers libuv and the
 * kernel hold per connection; sources known from UDP alone; one read buffer per connection.
 * A sweep closes connections idle, not reading their answers, or trickling a frame.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "dc09/receiver_internal.h"
#include "store/store_cluster.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"

/* libuv's suggestion for a read; also the most a paused connection keeps past max_frame. */
#define RX_READ_CHUNK 65536
#define RX_SOURCES    1024 /* hash buckets of sending addresses */
#define RX_BACKLOG    1024
#define RX_SWEEP_MAX  1000 /* ms between sweeps at most */
#define RX_SWEEP_SIM  10   /* ms between sweeps under a simulated timeout clock */
#define RX_BIND_TRIES 8    /* port 0: tries for a port free for both TCP and UDP */
/* Bytes of a connection's answers libuv may hold (the kernel's buffer full) before its
 * reading pauses: a few dozen answers. */
#define RX_WRITE_QUEUE_MAX 4096
/* The kernel's buffer of a connection's answers: its own default grows to megabytes for a
 * peer that does not read. 1,500 answers or more; at 100 ms of round trip, 15,000 a
 * second on one connection. */
#define RX_SEND_BUFFER 65536
/* At stop, how long connections may take to send the answers handed to them. */
#define RX_STOP_FLUSH_MS 1000

/* A sending address: its TCP connections and its UDP frames awaiting answers. */
struct rx_source {
    struct rx_source *next;
    int family;
    uint8_t addr[16]; /* IPv4: the address; IPv6: its /64, the rest zero */
    size_t connections;
    size_t udp_in_flight;
};

struct rx_conn {
    uv_tcp_t tcp; /* first: the handle's address is the connection's */
    uv_shutdown_t shutdown;
    struct dc09_receiver *r;
    uint32_t slot, gen;
    struct rx_source *source;
    uint8_t *buf; /* bytes read but not yet framed */
    size_t len, cap;
    size_t queued;    /* frames with the writer, not yet answered */
    size_t writing;   /* answers handed to libuv, not yet written */
    bool paused;      /* reading stopped until answers drain */
    bool eof;         /* the peer is done sending: close once answered */
    bool finishing;   /* shut down: closes once its answers are written */
    bool has_partial; /* buf ends in a frame begun at partial_since */
    int64_t read_ms;  /* clock: the last read (a kept frame's receipt time) */
    /* Timeout clock (rx_now): */
    int64_t last_active;   /* a frame taken or an answer handed over */
    int64_t write_since;   /* an answer written, or the first of those pending handed over */
    int64_t partial_since; /* the read that began the partial frame */
    char peer[RX_PEER_MAX];
};

void dc09_receiver_config_init(struct dc09_receiver_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_connections = 4096;
    cfg->max_per_source = 64;
    cfg->idle_timeout_ms = 5 * 60 * 1000;
    cfg->frame_timeout_ms = 30 * 1000;
    cfg->max_frame = DC09_FRAME_MAX;
    cfg->max_in_flight = 64;
    cfg->max_queued = 65536;
    cfg->max_udp_sources = 4096;
    cfg->batch_max = 1024;
    cfg->unassigned_rate = 5;
    cfg->unassigned_burst = 300;
    cfg->ingest.repeat_window_ms = 10 * 60 * 1000;
    cfg->ingest.past_ms = 40 * 1000;
    cfg->ingest.future_ms = 20 * 1000;
}

/* The time deadlines are judged by: the loop's monotonic time (a step of the wall clock
 * must not close every connection, nor keep a trickling one open), or a test's clock. */
static int64_t rx_now(const struct dc09_receiver *r)
{
    if (r->cfg.timeout_clock)
        return clock_now_ms(r->cfg.timeout_clock);
    return (int64_t)uv_now(&r->loop);
}

/* ---- sending addresses ---- */

/* sa's source: an IPv4 address (also when mapped into IPv6), or an IPv6 /64, since one
 * host there can send from any of its 2^64 addresses. */
static void source_key(const struct sockaddr *sa, int *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    *family = AF_INET;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(addr, a->s6_addr + 12, 4);
        } else {
            *family = AF_INET6;
            memcpy(addr, a->s6_addr, 8);
        }
        return;
    }
    memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
}

_Static_assert(sizeof((struct dc09_receiver *)0)->hash_key == crypto_shorthash_KEYBYTES, "key");

/* Keyed (SipHash, a key drawn at start): spoofed senders cannot pick addresses that all
 * fall in one bucket. */
static size_t source_bucket(const struct dc09_receiver *r, int family, const uint8_t addr[16])
{
    uint8_t in[17], out[crypto_shorthash_BYTES];
    uint64_t h;
    in[0] = (uint8_t)family;
    memcpy(in + 1, addr, 16);
    crypto_shorthash(out, in, sizeof in, r->hash_key);
    memcpy(&h, out, sizeof h);
    return (size_t)(h % r->n_buckets);
}

/* The entry of sa's source, made when missing. NULL when udp and the entries without TCP
 * connections are max_udp_sources already: UDP senders are spoofable, and TCP ones are
 * bounded by max_connections. */
static struct rx_source *source_get(struct dc09_receiver *r, const struct sockaddr *sa, bool udp)
{
    int family;
    uint8_t addr[16];
    source_key(sa, &family, addr);
    size_t b = source_bucket(r, family, addr);
    for (struct rx_source *s = r->sources[b]; s; s = s->next)
        if (s->family == family && memcmp(s->addr, addr, 16) == 0)
            return s;
    if (udp && r->n_sources - r->n_tcp_sources >= r->cfg.max_udp_sources)
        return NULL;
    struct rx_source *s = xcalloc(1, sizeof *s);
    s->family = family;
    memcpy(s->addr, addr, 16);
    s->next = r->sources[b];
    r->sources[b] = s;
    r->n_sources++;
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
    r->n_sources--;
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

/* A new item of the frame p[0..sp->len), from where `from` says (its header copied). */
static struct rx_item *item_new(struct dc09_receiver *r, const struct rx_item *from,
                                const uint8_t *p, const struct dc09_span *sp)
{
    struct rx_item *it = xmalloc(sizeof *it + sp->len);
    memcpy(it, from, sizeof *it);
    it->next = NULL;
    it->len = sp->len;
    it->bad_length = sp->bad_length;
    memcpy(it->frame, p, sp->len);
    r->items++;
    return it;
}

/* Frees an item the loop is done with. */
static void item_free(struct dc09_receiver *r, struct rx_item *it)
{
    r->items--;
    free(it);
}

static void drop(struct dc09_receiver *r, struct rx_item *it)
{
    atomic_fetch_add_explicit(&r->stats.dropped, 1, memory_order_relaxed);
    item_free(r, it);
}

/* Frames one more sender may have alive: its own bound (in_flight of max_in_flight), and
 * what is left of max_queued. */
static size_t room_for(const struct dc09_receiver *r, size_t in_flight)
{
    size_t own = in_flight < r->cfg.max_in_flight ? r->cfg.max_in_flight - in_flight : 0;
    size_t all = r->items < r->cfg.max_queued ? r->cfg.max_queued - r->items : 0;
    return own < all ? own : all;
}

/*
 * Finds the frames in p[0..n) and queues the first `room` of them to q, as items from
 * where `from` says; with q NULL they are only counted. Stops before a frame past room
 * and at an incomplete one; *used gets the bytes done with. Returns the frames taken.
 */
static size_t scan_frames(struct dc09_receiver *r, const uint8_t *p, size_t n, size_t room,
                          const struct rx_item *from, struct rx_queue *q, size_t *used)
{
    size_t off = 0, taken = 0;
    while (off < n && taken < room) {
        struct dc09_span sp;
        dc09_frame_next(p + off, n - off, r->cfg.max_frame, &sp);
        off += sp.skip;
        if (!sp.len)
            break;
        if (q)
            rx_queue_push(q, item_new(r, from, p + off, &sp));
        taken++;
        off += sp.len;
    }
    *used = off;
    if (q && !r->capped && r->items >= r->cfg.max_queued) {
        r->capped = true;
        log_warn("dc09_queue_full", "frames=%zu", r->items);
    }
    return taken;
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

/* At stop, once every connection has closed, the timer bounding their flush goes too. */
static void stop_if_flushed(struct dc09_receiver *r)
{
    if (r->closing_all && r->sweep_ready && r->n_free == r->cfg.max_connections) {
        uv_close((uv_handle_t *)&r->sweep, NULL);
        r->sweep_ready = false;
    }
}

/* Closes c: its slot is freed at once, so that answers still to come find it gone. Its
 * answers not yet written are lost (conn_finish keeps them). */
static void conn_close(struct rx_conn *c)
{
    struct dc09_receiver *r = c->r;
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    r->conns[c->slot] = NULL;
    r->free_slots[r->n_free++] = c->slot;
    if (!--c->source->connections)
        r->n_tcp_sources--;
    source_release(r, c->source);
    atomic_fetch_sub_explicit(&r->stats.connections, 1, memory_order_relaxed);
    log_debug("dc09_close", "conn=%u queued=%zu writing=%zu", c->slot, c->queued, c->writing);
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
    stop_if_flushed(r);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status; /* written or not, the connection is done */
    conn_close(req->data);
}

/* Closes c once the answers handed to libuv are written: a shutdown waits for them. The
 * sweep's rule on unwritten answers, and at stop RX_STOP_FLUSH_MS, bound the wait. */
static void conn_finish(struct rx_conn *c)
{
    if (c->finishing || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (!c->writing) {
        conn_close(c);
        return;
    }
    c->finishing = true;
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown))
        conn_close(c);
}

/* Queues the frames of p[0..n) while c and the receiver have room; returns the bytes
 * done with. */
static size_t conn_scan(struct rx_conn *c, const uint8_t *p, size_t n)
{
    struct dc09_receiver *r = c->r;
    struct rx_item from = {.slot = c->slot, .gen = c->gen, .received_ms = c->read_ms};
    memcpy(from.peer, c->peer, sizeof from.peer);
    struct rx_queue q = {0};
    size_t used;
    size_t taken = scan_frames(r, p, n, room_for(r, c->queued + c->writing), &from, &q, &used);
    if (taken) {
        c->queued += taken;
        c->last_active = rx_now(r);
    }
    send_to_writer(r, &q);
    return used;
}

/* After framing (used bytes done with): whether c keeps the start of a frame, and since
 * when. Bytes that followed what was framed in this read came in it; bytes kept with
 * nothing framed began when they were first kept. */
static void conn_mark_partial(struct rx_conn *c, size_t used)
{
    if (!c->len) {
        c->has_partial = false;
    } else if (used || !c->has_partial) {
        c->has_partial = true;
        c->partial_since = rx_now(c->r);
    }
}

/* Appends p[0..n) to what c keeps, bounded by max_frame + one read: a connection reads
 * only while it keeps no more than a partial frame. */
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
    size_t n = (size_t)nread, used;
    if (nread < 0) {
        /* The peer is done sending; the answers it is owed go out before the close. */
        uv_read_stop(s);
        c->eof = true;
        c->has_partial = false; /* never to be finished: no deadline for it */
        if (nread != UV_EOF)
            conn_close(c);
        else if (!c->queued)
            conn_finish(c);
        return;
    }
    if (nread == 0)
        return;
    c->read_ms = clock_now_ms(c->r->cfg.clock);
    if (c->len == 0) {
        /* The common case, whole frames: framed straight from the read buffer. */
        used = conn_scan(c, p, n);
        conn_append(c, p + used, n - used);
    } else {
        conn_append(c, p, n);
        used = conn_scan(c, c->buf, c->len);
        conn_consume(c, used);
    }
    conn_mark_partial(c, used);
    conn_pause_or_resume(c);
}

/* Whether c may read: it has room for frames in flight, libuv holds few of its answers,
 * and the receiver is not at max_queued. */
static bool conn_may_read(struct rx_conn *c)
{
    const struct dc09_receiver *r = c->r;
    return !r->capped && c->queued + c->writing < r->cfg.max_in_flight &&
           uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= RX_WRITE_QUEUE_MAX;
}

/* Reading stops while c may not read, and resumes (after framing what it kept) once it
 * may again. */
static void conn_pause_or_resume(struct rx_conn *c)
{
    struct dc09_receiver *r = c->r;
    if (c->eof || c->finishing || r->reading_stopped || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->paused && c->len && conn_may_read(c)) {
        size_t used = conn_scan(c, c->buf, c->len);
        conn_consume(c, used);
        conn_mark_partial(c, used);
    }
    bool may = conn_may_read(c);
    if (!may && !c->paused) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->paused = true;
    } else if (may && c->paused) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
            conn_close(c);
            return;
        }
        c->paused = false;
        /* The pause was the receiver's: the frame's deadline starts again. */
        if (c->has_partial)
            c->partial_since = rx_now(r);
    }
}

/* Once the frames alive are well below max_queued, the connections paused by it read
 * again, starting after the one that reached it last time so that none is always last. */
static void resume_all(struct dc09_receiver *r)
{
    size_t max = r->cfg.max_queued, n = r->cfg.max_connections;
    if (!r->capped || r->items >= max - max / 4)
        return;
    r->capped = false;
    for (size_t i = 0; i < n && !r->capped; i++) {
        size_t slot = (r->resume_from + i) % n;
        if (r->conns[slot])
            conn_pause_or_resume(r->conns[slot]);
        if (r->capped)
            r->resume_from = (slot + 1) % n;
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
    struct rx_source *src = source_get(r, sa, false);
    if (src->connections >= r->cfg.max_per_source || !r->n_free) {
        log_debug("dc09_refused", "from_source=%zu free_slots=%zu", src->connections, r->n_free);
        source_release(r, src);
        return false;
    }
    c->slot = r->free_slots[--r->n_free];
    c->gen = ++r->gens[c->slot];
    c->source = src;
    if (!src->connections++)
        r->n_tcp_sources++;
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
    c->last_active = c->write_since = rx_now(r);
    /* Answers are a few dozen bytes each: Nagle's delay would only add latency. */
    uv_tcp_nodelay(&c->tcp, 1);
    int sndbuf = RX_SEND_BUFFER;
    if (uv_send_buffer_size((uv_handle_t *)&c->tcp, &sndbuf))
        log_debug("dc09_send_buffer_failed", "conn=%u", c->slot);
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
    size_t n = (size_t)nread, used, rest;
    struct rx_item from = {.slot = RX_SLOT_UDP, .received_ms = clock_now_ms(r->cfg.clock)};
    memcpy(&from.addr, sa,
           sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    peer_name(sa, from.peer, sizeof from.peer);
    from.source = source_get(r, sa, true);
    size_t room = from.source ? room_for(r, from.source->udp_in_flight) : 0;
    struct rx_queue q = {0};
    size_t taken = scan_frames(r, p, n, room, &from, &q, &used);
    /* Beyond the room: dropped unanswered, the transmitter sends them again. */
    size_t dropped = scan_frames(r, p + used, n - used, SIZE_MAX, NULL, NULL, &rest);
    if (dropped) {
        atomic_fetch_add_explicit(&r->stats.frames, dropped, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->stats.dropped, dropped, memory_order_relaxed);
    }
    if (from.source) {
        from.source->udp_in_flight += taken;
        source_release(r, from.source);
    }
    send_to_writer(r, &q);
}

/* ---- answers ---- */

static void on_written(uv_write_t *req, int status)
{
    struct rx_item *it = req->data;
    struct rx_conn *c = req->handle->data;
    struct dc09_receiver *r = c->r;
    c->writing--;
    c->write_since = rx_now(r);
    item_free(r, it);
    if (status < 0)
        conn_close(c); /* a no-op when closing already (UV_ECANCELED) */
    else
        conn_pause_or_resume(c);
    resume_all(r);
}

static void on_udp_sent(uv_udp_send_t *req, int status)
{
    struct dc09_receiver *r = req->handle->loop->data;
    (void)status; /* a lost datagram is sent again by its transmitter */
    item_free(r, req->data);
    resume_all(r);
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

/* Hands the answer of it to libuv; false when c was closed for it. The item stays alive, and
 * counted in c's frames in flight, until on_written. */
static bool conn_write(struct rx_conn *c, struct rx_item *it)
{
    uv_buf_t b = uv_buf_init(it->answer, (unsigned)it->answer_len);
    it->req.write.data = it;
    if (uv_write(&it->req.write, (uv_stream_t *)&c->tcp, &b, 1, on_written)) {
        drop(c->r, it);
        conn_close(c);
        return false;
    }
    if (!c->writing++)
        c->write_since = rx_now(c->r);
    return true;
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
    c->queued--;
    c->last_active = rx_now(r);
    if (!it->answer_len)
        drop(r, it);
    else if (!conn_write(c, it))
        return;
    if (c->eof && !c->queued)
        conn_finish(c);
    else
        conn_pause_or_resume(c);
}

/* ---- the loop: deadlines, wake-ups, stopping ---- */

/* Why c must be closed at now; NULL while it may stay. */
static const char *conn_overdue(const struct rx_conn *c, int64_t now)
{
    const struct dc09_receiver_config *cfg = &c->r->cfg;
    /* Its answers are not going out: the peer does not read them. */
    if (c->writing && now - c->write_since >= cfg->idle_timeout_ms)
        return "unread_answers";
    /* A connection waiting for its answers is waiting for us, not idle. */
    if (!c->queued && !c->writing && now - c->last_active >= cfg->idle_timeout_ms)
        return "idle";
    /* A paused connection reads nothing: its frame cannot be finished. */
    if (c->has_partial && !c->paused && now - c->partial_since >= cfg->frame_timeout_ms)
        return "partial_frame";
    return NULL;
}

static void on_sweep(uv_timer_t *t)
{
    struct dc09_receiver *r = t->data;
    int64_t now = rx_now(r);
    for (size_t i = 0; i < r->cfg.max_connections; i++) {
        struct rx_conn *c = r->conns[i];
        const char *why = c ? conn_overdue(c, now) : NULL;
        if (why) {
            log_debug("dc09_timeout", "conn=%u reason=%s", c->slot, why);
            conn_close(c);
        }
    }
    atomic_fetch_add_explicit(&r->sweeps, 1, memory_order_relaxed);
}

/* How often the sweep runs: a quarter of the shorter deadline, within bounds. A simulated
 * clock jumps when its test moves it: the sweep then runs often to see the jump soon. */
static uint64_t sweep_every(const struct dc09_receiver_config *cfg)
{
    if (cfg->timeout_clock && clock_is_simulated(cfg->timeout_clock))
        return RX_SWEEP_SIM;
    int64_t shorter =
        cfg->idle_timeout_ms < cfg->frame_timeout_ms ? cfg->idle_timeout_ms : cfg->frame_timeout_ms;
    uint64_t every = (uint64_t)shorter / 4;
    return every < 10 ? 10 : every > RX_SWEEP_MAX ? RX_SWEEP_MAX : every;
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

/* At stop, past RX_STOP_FLUSH_MS: the connections whose answers have not gone out (their
 * peers do not read) are closed without them. */
static void on_stop_deadline(uv_timer_t *t)
{
    struct dc09_receiver *r = t->data;
    log_warn("dc09_stop_unflushed", "connections=%zu", r->cfg.max_connections - r->n_free);
    for (size_t i = 0; i < r->cfg.max_connections; i++)
        if (r->conns[i])
            conn_close(r->conns[i]);
}

/* Closes every handle; connections first send the answers handed to them, for
 * RX_STOP_FLUSH_MS at most (the sweep's timer, now bounding the flush). */
static void close_all(struct dc09_receiver *r)
{
    uv_close((uv_handle_t *)&r->udp, NULL);
    uv_close((uv_handle_t *)&r->wake, NULL);
    r->udp_ready = r->wake_ready = false;
    r->closing_all = true;
    uv_timer_stop(&r->sweep);
    if (uv_timer_start(&r->sweep, on_stop_deadline, RX_STOP_FLUSH_MS, 0))
        log_error("dc09_stop_timer_failed", "%s", "");
    for (size_t i = 0; i < r->cfg.max_connections; i++)
        if (r->conns[i])
            conn_finish(r->conns[i]);
    stop_if_flushed(r);
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
    resume_all(r);
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
        cfg->idle_timeout_ms <= 0 || cfg->frame_timeout_ms <= 0 || cfg->max_frame < 32 ||
        cfg->max_frame > DC09_FRAME_MAX || !cfg->max_in_flight || !cfg->max_queued ||
        !cfg->max_udp_sources || !cfg->batch_max || cfg->max_connections >= RX_SLOT_UDP)
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

/* The port field of ss (network order). */
static in_port_t *address_port(struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? &((struct sockaddr_in6 *)ss)->sin6_port
                                     : &((struct sockaddr_in *)ss)->sin_port;
}

/* Binds TCP, then UDP on the port TCP got (the one picked for port 0). */
static int bind_once(struct dc09_receiver *r, struct sockaddr_storage *ss)
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
    r->port = ntohs(*address_port(&got));
    *address_port(ss) = htons((uint16_t)r->port);
    rc = uv_udp_init(&r->loop, &r->udp);
    if (rc)
        return rc;
    r->udp_ready = true;
    rc = uv_udp_bind(&r->udp, (struct sockaddr *)ss, 0);
    if (!rc)
        rc = uv_udp_recv_start(&r->udp, on_alloc, on_udp);
    return rc;
}

/* Closes the handles loop_setup made so far, on the caller's thread (the loop's thread is
 * not running), and runs the closes through. */
static void unbind(struct dc09_receiver *r)
{
    uv_handle_t *h[4] = {(uv_handle_t *)&r->listener, (uv_handle_t *)&r->udp,
                         (uv_handle_t *)&r->wake, (uv_handle_t *)&r->sweep};
    bool *ready[4] = {&r->tcp_ready, &r->udp_ready, &r->wake_ready, &r->sweep_ready};
    for (int i = 0; i < 4; i++) {
        if (*ready[i])
            uv_close(h[i], NULL);
        *ready[i] = false;
    }
    uv_run(&r->loop, UV_RUN_DEFAULT);
}

/* Binds both sockets. With port 0, the UDP port of the TCP port picked may be another
 * program's: then both are closed and a fresh port is tried, RX_BIND_TRIES times. */
static int bind_sockets(struct dc09_receiver *r, struct sockaddr_storage *ss)
{
    bool any = *address_port(ss) == 0;
    int rc = 0;
    for (int i = 0; i < RX_BIND_TRIES; i++) {
        rc = bind_once(r, ss);
        if (!rc || !any || rc != UV_EADDRINUSE)
            return rc;
        log_debug("dc09_bind_retry", "port=%d", r->port);
        unbind(r);
        *address_port(ss) = 0;
    }
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
    uint64_t every = sweep_every(&r->cfg);
    return uv_timer_start(&r->sweep, on_sweep, every, every);
}

/* Closes what loop_setup made, and the loop. */
static void loop_teardown(struct dc09_receiver *r)
{
    if (!r->loop_ready)
        return;
    unbind(r);
    if (uv_loop_close(&r->loop))
        log_error("dc09_loop_busy", "%s", "");
    r->loop_ready = false;
}

static void receiver_release(struct dc09_receiver *r)
{
    rx_checkpointer_stop(r->checkpointer);
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
    if (cfg->unassigned_rate > 0 && !cfg->ingest.unassigned) {
        dc09_bucket_init(&r->unassigned, cfg->unassigned_rate, cfg->unassigned_burst);
        r->cfg.ingest.unassigned = &r->unassigned;
    }
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
    randombytes_buf(r->hash_key, sizeof r->hash_key);
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
    if (sodium_init() < 0)
        return -NA_EIO;
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
    /* Commits answer transmitters: none of them should carry a checkpoint of SQLite's log
     * (PostgreSQL has none to take). */
    if (r->st && !store_shared(r->st) &&
        !(rc = rx_checkpointer_start(cfg->store, &r->checkpointer)))
        rc = store_checkpoint_defer(r->st);
    if (rc)
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
