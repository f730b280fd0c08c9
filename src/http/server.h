#ifndef NA_HTTP_SERVER_H
#define NA_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "http/api.h"
#include "store/store.h"

/*
 * The HTTP server: libmicrohttpd with a pool of worker threads, each request answered by
 * one route handler with a storage connection lent from a pool (one connection per
 * worker thread, so a request never waits for another's).
 */
struct server;

struct server_config {
    const char *host; /* numeric IPv4 or IPv6 address */
    int port;         /* 0: any free port (see server_port) */
    int threads;
    int pool_size; /* database connections the threads share; 0: one per thread */
    size_t max_body_bytes;
    unsigned max_connections;
    unsigned request_timeout_s;
    const struct store_config *store; /* each worker opens its own connection */
};

/*
 * Starts serving. api is borrowed and must outlive the server. Caller stops with
 * server_stop. -NA_EIO when the address cannot be bound; storage errors as store_open.
 */
int server_start(const struct server_config *cfg, const struct api *api, struct server **out);
/* The port actually bound. */
int server_port(const struct server *s);
/* Stops accepting, lets requests in flight finish, closes storage. NULL is a no-op. */
void server_stop(struct server *s);

#endif
