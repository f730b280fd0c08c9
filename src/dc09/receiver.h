#ifndef NA_DC09_RECEIVER_H
#define NA_DC09_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include "dc09/ingest.h"
#include "store/store.h"
#include "util/clock.h"

struct watch;

/*
 * The DC-09 receiver: TCP and UDP on one address, one libuv loop thread for the network,
 * one writer thread with its own storage connection. The loop splits frames and queues
 * them; the writer takes what has queued, ingests it in one transaction (many events, one
 * fsync), commits, and hands the answers back to the loop to send. Nothing is answered
 * before its transaction commits.
 */
struct dc09_receiver;

struct dc09_receiver_config {
    const char *listen; /* HOST:PORT, TCP and UDP; port 0 picks one */
    /* The writer opens its own connection. NULL: frames are parsed and answered without
     * being stored, for the benchmark's baseline only (the daemon always stores). */
    const struct store_config *store;
    struct watch *watch;              /* told of due work after each commit; borrowed */
    const struct clock *clock;        /* borrowed; a frame's receipt time (dc09_ingest's now) */
    struct dc09_ingest_config ingest; /* borrowed pointers inside */
    size_t max_connections;           /* TCP connections at once; more are closed at accept */
    size_t max_per_source;            /* TCP connections from one IPv4 address or IPv6 /64 */
    /* A TCP connection that sends no frame this long is closed, and so is one whose
     * answers have not gone out this long (its peer does not read them). */
    int64_t idle_timeout_ms;
    int64_t frame_timeout_ms; /* a frame begun this long ago and still not whole closes its
                                 TCP connection (a peer trickling bytes) */
    size_t max_frame;         /* largest frame (<= DC09_FRAME_MAX); longer input is dropped */
    size_t max_in_flight;     /* frames of one connection or source awaiting their answers or
                                 the sending of them: past it reading pauses (TCP) or frames are
                                 dropped (UDP) */
    size_t max_queued;        /* frames awaiting the writer or their answers, all connections and
                                 UDP together: past it every TCP connection's reading pauses and
                                 UDP frames are dropped */
    size_t max_udp_sources;   /* sending addresses (spoofable) known from UDP alone at once:
                                 datagrams from a new one beyond are dropped */
    size_t batch_max;         /* frames in one transaction */
    /* New events of accounts no device has: stored at most this many a second on average,
     * unassigned_burst at once; beyond, answered DUH (0: no limit). Used when ingest has
     * no bucket of its own. */
    double unassigned_rate, unassigned_burst;
    /* Borrowed. What the idle and frame deadlines are judged by; NULL: the loop's monotonic
     * time (the daemon). A test passes a simulated clock and moves it. */
    const struct clock *timeout_clock;
};
/* Defaults: 4096 connections, 64 per source, 5 minutes idle, 30 s for a frame,
 * DC09_FRAME_MAX, 64 in flight, 65536 queued, 4096 UDP sources, 1024 a batch, unassigned
 * events 5 a second with bursts of 300; repeat window 10 minutes, timestamps 40 s back and
 * 20 s ahead. */
void dc09_receiver_config_init(struct dc09_receiver_config *cfg);

/* Binds both sockets and starts the threads. -NA_EINVAL for a bad address, -NA_EIO when it
 * cannot bind. Caller stops with dc09_receiver_free. */
int dc09_receiver_start(const struct dc09_receiver_config *cfg, struct dc09_receiver **out);
/* The port bound (the one picked for port 0). */
int dc09_receiver_port(const struct dc09_receiver *r);

/* Figures for /metrics (any thread). */
struct dc09_receiver_stats {
    uint64_t frames; /* frames read */
    uint64_t acks, naks, duhs;
    uint64_t repeats;     /* acknowledged again without a second event */
    uint64_t dropped;     /* not answered: over a limit, or the connection gone */
    uint64_t batches;     /* transactions committed */
    uint64_t connections; /* TCP connections open now */
};
void dc09_receiver_get_stats(struct dc09_receiver *r, struct dc09_receiver_stats *out);

/* Stops reading, finishes the batch in progress, sends its answers and closes each
 * connection once its answers have gone out (a second at most: a peer that does not read
 * cannot hold the stop). NULL is a no-op. */
void dc09_receiver_free(struct dc09_receiver *r);

#endif
