#ifndef NA_DC09_RECEIVER_INTERNAL_H
#define NA_DC09_RECEIVER_INTERNAL_H

/*
 * What the receiver's two threads share (receiver.c: the libuv loop; writer.c: the storage
 * writer). They share nothing but two queues under one lock: frames go from the loop to
 * the writer, answered frames come back. The figures are atomics, read by /metrics.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "dc09/frame.h"
#include "dc09/receiver.h"

/* The slot of an item that came in a UDP datagram (TCP items carry their connection's). */
#define RX_SLOT_UDP UINT32_MAX
/* "HOST:PORT" of a peer, IPv6 in brackets. */
#define RX_PEER_MAX 56

struct rx_source;

/*
 * One frame on its way: read and queued by the loop, ingested and answered by the writer,
 * written back and freed by the loop. The item owns its bytes and, once answered, the
 * buffer its write request sends.
 */
struct rx_item {
    struct rx_item *next;
    union {
        uv_write_t write;
        uv_udp_send_t send;
    } req;                        /* the answer being sent (loop thread) */
    uint32_t slot, gen;           /* the TCP connection, or RX_SLOT_UDP */
    struct rx_source *source;     /* UDP: whose in-flight count it holds (loop thread) */
    struct sockaddr_storage addr; /* UDP: where to answer */
    char peer[RX_PEER_MAX];
    int64_t received_ms; /* the clock's time when it was read: dc09_ingest's now */
    bool bad_length;
    char answer[DC09_ANSWER_MAX];
    size_t answer_len; /* 0: nothing to send */
    size_t len;
    uint8_t frame[]; /* len bytes, LF to CR */
};

/* A FIFO of items. */
struct rx_queue {
    struct rx_item *head, *tail;
    size_t n;
};
void rx_queue_push(struct rx_queue *q, struct rx_item *it);
/* Appends every item of from (emptied) to q. */
void rx_queue_join(struct rx_queue *q, struct rx_queue *from);
/* Frees every item of q (emptied); returns how many. */
size_t rx_queue_free(struct rx_queue *q);

/* The stopping steps dc09_receiver_free takes, in order. */
enum rx_stop { RX_RUNNING = 0, RX_STOP_READING = 1, RX_STOP_CLOSE = 2 };

struct rx_stats {
    atomic_uint_fast64_t frames, acks, naks, duhs, repeats, dropped, batches, connections;
};

struct rx_conn;

/* A thread with a connection of its own that checkpoints the log now and then, so that the
 * writer's connection can defer its own (store_checkpoint_defer). Stop with
 * rx_checkpointer_stop (NULL is a no-op). */
struct rx_checkpointer;
int rx_checkpointer_start(const struct store_config *cfg, struct rx_checkpointer **out);
void rx_checkpointer_stop(struct rx_checkpointer *c);

struct dc09_receiver {
    struct dc09_receiver_config cfg; /* pointers inside borrowed */
    struct dc09_codes *codes;        /* none: cfg.ingest.codes is the caller's */
    int port;
    struct rx_stats stats;

    /* Shared by both threads, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t more; /* frames queued for the writer, or stop */
    struct rx_queue to_writer;
    struct rx_queue to_loop;
    enum rx_stop stop;
    bool writer_stop;

    /* The writer thread's own. */
    pthread_t writer;
    struct store *st; /* NULL: answer without storing (the benchmark's baseline) */
    struct rx_checkpointer *checkpointer; /* takes the log's checkpoints off st's commits */
    struct dc09_bucket unassigned;        /* new unassigned events' pace (ingest's) */

    /* The loop thread's own (set up by the caller before the thread starts). */
    pthread_t thread;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_udp_t udp;
    uv_async_t wake;  /* answers came back, or a stopping step */
    uv_timer_t sweep; /* the deadlines; at stop, the bound on flushing answers */
    bool loop_ready, tcp_ready, udp_ready, wake_ready, sweep_ready, reading_stopped;
    bool closing_all;       /* stopping: connections are flushing their answers */
    struct rx_conn **conns; /* by slot, max_connections of them; NULL: free */
    uint32_t *gens;         /* generation of each slot, bumped on reuse */
    uint32_t *free_slots;   /* stack of free slots */
    size_t n_free;
    struct rx_source **sources; /* hash of sending addresses */
    size_t n_buckets;
    unsigned char hash_key[16];      /* the hash's key (crypto_shorthash), drawn at start */
    size_t n_sources, n_tcp_sources; /* entries; those with TCP connections */
    size_t items;                    /* items alive: with the writer, or their answers being sent */
    bool capped;        /* items reached max_queued: TCP reading pauses until they drain */
    size_t resume_from; /* the slot the next resumption after a cap starts at */
    uint8_t *read_buf;  /* one read at a time on the loop thread (TCP and UDP alike) */
    /* Sweeps done: a test that moves its simulated timeout clock waits for one. */
    atomic_uint_fast64_t sweeps;
};

/* The writer thread (writer.c): takes what has queued, ingests it, sends answers back. */
void *rx_writer_main(void *arg);

#endif
