#ifndef NA_CLI_CLIENT_H
#define NA_CLI_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/*
 * The HTTP side of the notalone client: JSON requests to one server with an optional
 * bearer token, replies decoded as JSON, errors decoded into struct client_error.
 * Replies are limited to CLIENT_MAX_REPLY bytes; no redirects are followed (they would
 * carry the token elsewhere); only http and https.
 */

#define CLIENT_MAX_REPLY       (4u * 1024u * 1024u)
#define CLIENT_CONNECT_TIMEOUT 10L
#define CLIENT_TIMEOUT         60L
/* Most pages a list may follow; a guard against a server that never ends one. */
#define CLIENT_MAX_PAGES 10000

struct client;

/* Initialises libcurl once per process, before any client_new. -NA_EIO on failure. */
int client_global_init(void);
/* Releases libcurl's global state after the last client_free. */
void client_global_cleanup(void);

enum client_error_kind {
    CLIENT_ERR_NONE,
    CLIENT_ERR_TRANSPORT, /* the server could not be reached (no connection, timeout) */
    CLIENT_ERR_REPLY,     /* the server answered something that is not the API's JSON */
    CLIENT_ERR_SERVER,    /* the server answered an API error */
};

/* The last failure of a client; strings are NUL-terminated, possibly truncated. */
struct client_error {
    enum client_error_kind kind;
    long status;
    char code[64];
    char message[512];
    char field[128];
};

/*
 * New client for base_url (e.g. "http://127.0.0.1:8080", a trailing '/' is dropped) and
 * token (NULL for none); both are copied. Caller frees with client_free. Returns 0 or
 * -NA_EINVAL when the URL is not http(s) or the token holds characters a header may not.
 */
int client_new(const char *base_url, const char *token, struct client **out);

/* Releases c and wipes its copy of the token. NULL is a no-op. */
void client_free(struct client *c);

/* The base URL without trailing '/'; borrowed, valid until client_free. */
const char *client_base_url(const struct client *c);

/* True when the client holds a token. */
bool client_has_token(const struct client *c);

/*
 * Sends method (GET, POST, PATCH, PUT, DELETE) to path (starting with '/', query escaped
 * by the caller) with body (borrowed, NULL for none). On a 2xx answer *out receives the
 * decoded JSON (caller json_decref), or NULL for an empty answer (204). Returns 0; -NA_EIO
 * when the server cannot be reached or answered garbage; the negated NA_E* matching the
 * server's error code otherwise (-NA_ESTORE for a code this client does not know). Details
 * of any failure are in client_last_error. *out is NULL on failure.
 */
int client_request(struct client *c, const char *method, const char *path, const json_t *body,
                   json_t **out);

/*
 * GETs every page of the list at path (which may already hold a query) following
 * next_after, and gives all items as one JSON array in *out (caller json_decref).
 * Errors as client_request.
 */
int client_list(struct client *c, const char *path, json_t **out);

/* The last failure; borrowed, valid until the next request or client_free. */
const struct client_error *client_last_error(const struct client *c);

#endif
