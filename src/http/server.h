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
struct console;

struct server_config {
    const char *host; /* numeric IPv4 or IPv6 address */
    int port;         /* 0: any free port (see server_port) */
    int threads;
    int pool_size; /* database connections the threads share; 0: one per thread */
    size_t max_body_bytes;
    unsigned max_connections;
    unsigned request_timeout_s;
    const struct store_config *store; /* each worker opens its own connection */
    /* The web console's files (borrowed, must outlive the server); NULL: none, and a
     * console page answers 404 saying so. */
    const struct console *console;
};

/*
 * The routes the metrics count (metrics_new's n_routes is SERVER_METRIC_ROUTES): the API's
 * by their index in api_routes, then every path of the web console as one route "console";
 * unmatched paths are the metrics' own slot after those.
 */
#define SERVER_METRIC_CONSOLE   api_routes_count
#define SERVER_METRIC_ROUTES    (api_routes_count + 1)
#define SERVER_METRIC_UNMATCHED SERVER_METRIC_ROUTES
/* Fills methods and patterns (SERVER_METRIC_ROUTES entries each; static strings). */
void server_metric_routes(const char **methods, const char **patterns);

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
