#ifndef NA_HTTP_STREAM_H
#define NA_HTTP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/access.h"
#include "store/store.h"
#include "store/store_events.h"
#include "util/clock.h"

/*
 * The live event stream of one node (GET /api/v1/events, Server-Sent Events). A hub
 * follows the events table by id on a connection of its own, woken by this process's
 * commits (store_config.on_events: stream_hub_wake) and, on a shared database, by a
 * listener thread that hears every node's commits (store_events_listen; it reconnects
 * with backoff when the database goes away, then looks for what it missed). Each new
 * event goes, formatted once, to the open streams whose caller sees its visit
 * (access_sees_visit).
 *
 * A stream holds no HTTP worker thread: its libmicrohttpd connection is suspended while
 * there is nothing to send and resumed by the hub. Each stream's unsent bytes are
 * bounded; a client too slow to take them is disconnected. A comment line goes to every
 * stream every keepalive, so that proxies keep idle connections and dead clients are
 * noticed; at the same time each stream's credential is looked up again, and the stream
 * of a session revoked or expired, an API key revoked or a user disabled since is ended.
 */
struct stream_hub;
struct stream;

struct stream_hub_config {
    const struct store_config *store; /* the hub opens its own connections; borrowed */
    const struct clock *clock;        /* when sessions expire; borrowed; NULL: no checks */
    size_t max_streams;               /* streams open at once; more are refused */
    size_t max_buffer_bytes;          /* unsent bytes a stream may hold */
    int keepalive_ms;                 /* a comment line this often, in real time */
};

/*
 * Opens the hub's connections and starts its threads. cfg->store must outlive the hub.
 * Caller frees with stream_hub_free. Storage errors as store_open.
 */
int stream_hub_new(const struct stream_hub_config *cfg, struct stream_hub **out);
/* Stops the threads and closes; every stream must be gone (stream_hub_close, then the
 * HTTP server stopped). NULL is a no-op. */
void stream_hub_free(struct stream_hub *h);
/* Something committed events: look now. Any thread; arg is the hub (a store_config
 * on_events callback). */
void stream_hub_wake(void *arg);
/* Ends every stream (each finishes what it has to send) and refuses new ones. */
void stream_hub_close(struct stream_hub *h);
/* Waits up to timeout_ms until no stream is left; true when none is. */
bool stream_hub_wait_empty(struct stream_hub *h, int timeout_ms);
/* Streams open now (for metrics). */
size_t stream_hub_count(struct stream_hub *h);

/*
 * A new stream for the caller who (copied), who presented the token of token_hash (hex
 * SHA-256, copied), not yet receiving: -NA_EUNAVAILABLE when max_streams are open or the
 * hub is closing. Caller frees with stream_free until the stream is handed to a response
 * (stream_read, stream_response_free).
 */
int stream_new(struct stream_hub *h, const struct principal *who, const char *token_hash,
               struct stream **out);
/* Detaches and frees; NULL is a no-op. */
void stream_free(struct stream *s);
/* Before stream_attach: queues a stored event (a replay); the caller checked that the
 * stream's caller sees it. -NA_ETOOBIG when the stream's buffer is full. */
int stream_replay(struct stream *s, const struct event_row *e);
/*
 * Starts live delivery of the events after cursor (STREAM_FROM_NOW: those the hub has
 * not handled yet). -NA_ECONFLICT when the hub has already handled events after cursor:
 * *out_hub_last gets how far it is, and the caller replays up to there and tries again.
 * -NA_EUNAVAILABLE when the hub is closing.
 */
#define STREAM_FROM_NOW (-1)
int stream_attach(struct stream *s, int64_t cursor, int64_t *out_hub_last);

/* The libmicrohttpd connection (struct MHD_Connection *) of the stream, set before its
 * response is queued. */
void stream_set_connection(struct stream *s, void *conn);
/* libmicrohttpd content reader of the stream's response (cls: the stream). */
ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max);
/* libmicrohttpd free callback of the stream's response: frees the stream. */
void stream_response_free(void *cls);

#endif
