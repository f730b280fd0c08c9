#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/console.h"
#include "http/json_in.h"
#include "http/metrics.h"
#include "http/stream.h"
#include "store/store_alarms.h"
#include "util/alloc.h"
#include "util/cookie.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

/* Storage connections lent to requests: a queue guarded by a mutex. */
struct store_pool {
    pthread_mutex_t lock;
    pthread_cond_t available;
    struct store **free_list;
    size_t n_free;
    size_t n_all;
    struct store **all;
};

struct server {
    struct MHD_Daemon *mhd;
    const struct api *api;
    size_t max_body;
    struct store_pool pool;
    const struct console *console; /* NULL: no web console */
    atomic_int in_flight;          /* requests begun and not completed, for a graceful stop */
    atomic_int raw_uploads;        /* raw bodies (evidence) being read, at most RAW_UPLOADS_MAX */
    int port;
};

/* One request in flight (MHD's per-connection context). */
struct exchange {
    struct request req;
    struct buf body;
    bool too_big;
    size_t discarded; /* bytes of a too large body thrown away */
    bool answered;
    bool upload_slot; /* holds one of the node's RAW_UPLOADS_MAX places */
    struct server *server;
    size_t route;
    bool console; /* a path of the web console's (metrics route "console") */
    int64_t start_us;
};

/*
 * Raw bodies (evidence, up to STORE_EVIDENCE_MAX each) read at once on this node: what they
 * hold stays under 4 x 8 MiB whatever the number of connections. One more gets 503.
 */
#define RAW_UPLOADS_MAX 4

static int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- storage pool ---- */

static int pool_init(struct store_pool *p, const struct store_config *cfg, size_t n)
{
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->available, NULL);
    p->all = xcalloc(n, sizeof *p->all);
    p->free_list = xcalloc(n, sizeof *p->free_list);
    for (size_t i = 0; i < n; i++) {
        int rc = store_open(cfg, &p->all[i]);
        if (rc)
            return rc;
        p->n_all++;
        p->free_list[p->n_free++] = p->all[i];
    }
    return 0;
}

static void pool_fini(struct store_pool *p)
{
    for (size_t i = 0; i < p->n_all; i++)
        store_close(p->all[i]);
    free(p->all);
    free(p->free_list);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->available);
}

static struct store *pool_acquire(struct store_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->n_free == 0)
        pthread_cond_wait(&p->available, &p->lock);
    struct store *st = p->free_list[--p->n_free];
    pthread_mutex_unlock(&p->lock);
    return st;
}

static void pool_release(struct store_pool *p, struct store *st)
{
    pthread_mutex_lock(&p->lock);
    p->free_list[p->n_free++] = st;
    pthread_cond_signal(&p->available);
    pthread_mutex_unlock(&p->lock);
}

/* ---- request helpers for handlers ---- */

const char *request_query(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *request_header(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int request_answer(struct request *r, int status, json_t *answer)
{
    json_decref(r->answer);
    r->status = status;
    r->answer = answer;
    if (status == 204) {
        json_decref(answer);
        r->answer = NULL;
    }
    return 0;
}

int request_fail(struct request *r, int err, const char *field, const char *message)
{
    snprintf(r->err_field, sizeof r->err_field, "%s", field ? field : "");
    snprintf(r->err_message, sizeof r->err_message, "%s", message ? message : "");
    return err;
}

/* ---- answers ---- */

static void add_common_headers(struct MHD_Response *resp, const char *content_type)
{
    MHD_add_response_header(resp, "Content-Type", content_type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

static enum MHD_Result queue_bytes(struct MHD_Connection *c, int status, char *data, size_t len,
                                   const char *content_type, struct request *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data, data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    if (content_type)
        add_common_headers(resp, content_type);
    if (r && r->retry_after_s > 0) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)r->retry_after_s);
        MHD_add_response_header(resp, "Retry-After", v);
    }
    if (r && status == 405 && r->allow[0])
        MHD_add_response_header(resp, "Allow", r->allow);
    if (r && r->header_name[0])
        MHD_add_response_header(resp, r->header_name, r->header_value);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static char *error_body(int err, const char *field, const char *message, size_t *len)
{
    json_t *e = json_pack("{s:s,s:s}", "code", na_error_code(err), "message",
                          message && message[0] ? message : na_error_message(err));
    if (field && field[0])
        json_object_set_new(e, "field", json_string(field));
    json_t *root = json_pack("{s:o}", "error", e);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    /* A message jansson refuses (not UTF-8) or no memory: the bare error, never nothing. */
    if (!text)
        text = xstrdup("{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}");
    *len = strlen(text);
    return text;
}

/*
 * Bookkeeping once the answer is queued. Done here rather than when libmicrohttpd reports
 * the request complete: that report can wait for the worker thread's next wake-up, long
 * after the client has its answer.
 */
/* Gives back an upload's place and its body, which nothing reads once it is answered. */
static void release_upload(struct exchange *x)
{
    if (!x->upload_slot)
        return;
    x->upload_slot = false;
    atomic_fetch_sub(&x->server->raw_uploads, 1);
    buf_fini(&x->body);
}

static enum MHD_Result finish(struct exchange *x, enum MHD_Result queued)
{
    struct server *s = x->server;
    release_upload(x);
    int64_t us = monotonic_us() - x->start_us;
    char method[40];
    size_t route = x->console                    ? SERVER_METRIC_CONSOLE
                   : x->route < api_routes_count ? x->route
                                                 : SERVER_METRIC_UNMATCHED;
    const char *label = x->console                    ? "console"
                        : x->route < api_routes_count ? api_routes[x->route].pattern
                                                      : "unmatched";
    metrics_observe(s->api->metrics, route, x->req.status, us);
    log_quote(method, sizeof method, x->req.method);
    log_debug("http_request", "method=%s route=%s status=%d us=%lld", method, label, x->req.status,
              (long long)us);
    atomic_fetch_sub(&s->in_flight, 1);
    return queued;
}

static enum MHD_Result answer_error(struct MHD_Connection *c, struct exchange *x, int err)
{
    struct request *r = &x->req;
    size_t len;
    char *body;
    x->answered = true;
    r->status = na_error_status(err);
    body = error_body(err, r->err_field, r->err_message, &len);
    if (r->status >= 500) {
        char method[40];
        log_quote(method, sizeof method, r->method);
        log_error("http_error", "method=%s route=%zu status=%d code=%s", method, x->route,
                  r->status, na_error_code(err));
    }
    return finish(x, queue_bytes(c, r->status, body, len, "application/json", r));
}

/* Most bytes libmicrohttpd takes from a stream at a time. */
#define STREAM_BLOCK (16u << 10)

/* A live event stream: a chunked answer read from the stream as the hub fills it. */
static enum MHD_Result queue_stream(struct MHD_Connection *c, struct request *r)
{
    struct stream *st = r->stream;
    r->stream = NULL;
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, st, stream_response_free);
    if (!resp) {
        stream_free(st);
        return MHD_NO;
    }
    stream_set_connection(st, c);
    add_common_headers(resp, "text/event-stream; charset=utf-8");
    /* A proxy that buffers answers (nginx) would hold events back. */
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    enum MHD_Result ok = MHD_queue_response(c, 200, resp);
    /* The response owns the stream: if it was not queued, this frees both. */
    MHD_destroy_response(resp);
    return ok;
}

/*
 * The handler's answer: text, an explicit 204 (request_answer(r, 204, NULL)) or JSON. A
 * JSON answer that is missing (a render or json_pack that failed, or a handler that set
 * none) is an error, not an empty success.
 */
static enum MHD_Result answer_ok(struct MHD_Connection *c, struct exchange *x)
{
    struct request *r = &x->req;
    if (r->stream) {
        x->answered = true;
        r->status = 200;
        return finish(x, queue_stream(c, r));
    }
    if (r->content_type) {
        size_t len = r->text.len;
        x->answered = true;
        return finish(x, queue_bytes(c, r->status, buf_take(&r->text), len, r->content_type, r));
    }
    if (r->status == 204) {
        x->answered = true;
        return finish(x, queue_bytes(c, 204, NULL, 0, NULL, r));
    }
    char *text = r->answer ? json_dumps(r->answer, JSON_COMPACT) : NULL;
    if (!text) {
        log_error("http_answer_missing", "route=%zu status=%d", x->route, r->status);
        return answer_error(c, x, -NA_ESTORE);
    }
    x->answered = true;
    return finish(x, queue_bytes(c, r->status, text, strlen(text), "application/json", r));
}

/* ---- the web console's files ---- */

static void add_console_headers(struct MHD_Response *resp, const struct console *con,
                                const struct console_file *f, const char *etag)
{
    MHD_add_response_header(resp, "Cache-Control",
                            f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    MHD_add_response_header(resp, "ETag", etag);
    if (f->gz)
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    MHD_add_response_header(resp, "Content-Security-Policy", console_csp(con));
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

/*
 * A GET or HEAD of a console path: the file from memory (never copied: the response
 * borrows it), its gzip form when the client takes it, or 304 when the client's copy is
 * current. libmicrohttpd leaves the body out of a HEAD answer itself.
 */
static enum MHD_Result answer_console(struct MHD_Connection *c, struct exchange *x)
{
    struct request *r = &x->req;
    const struct console *con = x->server->console;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        snprintf(r->allow, sizeof r->allow, "GET, HEAD");
        return answer_error(c, x, -NA_EMETHOD);
    }
    const struct console_file *f = console_find(con, r->path);
    if (!f)
        return answer_error(c, x, -NA_ENOTFOUND);
    bool gz = f->gz && console_accepts_gzip(request_header(r, "Accept-Encoding"));
    const char *etag = gz ? f->etag_gz : f->etag;
    bool fresh = console_etag_matches(request_header(r, "If-None-Match"), etag);
    struct MHD_Response *resp = MHD_create_response_from_buffer(fresh ? 0
                                                                : gz  ? f->gz_len
                                                                      : f->len,
                                                                (void *)(fresh ? ""
                                                                         : gz  ? f->gz
                                                                               : f->data),
                                                                MHD_RESPMEM_PERSISTENT);
    x->answered = true;
    r->status = fresh ? 304 : 200;
    if (!resp)
        return finish(x, MHD_NO);
    add_console_headers(resp, con, f, etag);
    if (!fresh) {
        MHD_add_response_header(resp, "Content-Type", f->type);
        if (gz)
            MHD_add_response_header(resp, "Content-Encoding", "gzip");
    }
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return finish(x, ok);
}

/* ---- routing and authentication ---- */

/* Index of the route for method and path, or api_routes_count. Fills allow for 405. */
static size_t find_route(const char *method, const char *path, struct route_params *params,
                         char *allow, size_t allow_n, bool *path_known)
{
    size_t found = api_routes_count;
    size_t used = 0;
    *path_known = false;
    allow[0] = '\0';
    for (size_t i = 0; i < api_routes_count; i++) {
        struct route_params p;
        if (!router_match(api_routes[i].pattern, path, &p))
            continue;
        *path_known = true;
        if (strcmp(api_routes[i].method, method) == 0 && found == api_routes_count) {
            found = i;
            *params = p;
        }
        int n =
            snprintf(allow + used, allow_n - used, "%s%s", used ? ", " : "", api_routes[i].method);
        if (n > 0 && (size_t)n < allow_n - used)
            used += (size_t)n;
    }
    return found;
}

/*
 * The token the caller presents: "Authorization: Bearer <token>", or when there is no
 * Authorization header the notalone_session cookie (*via_cookie set). NULL: none.
 */
static const char *presented_token(struct MHD_Connection *c, size_t *len, bool *via_cookie)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    *via_cookie = false;
    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return NULL;
        *len = strlen(h + 7);
        return h + 7;
    }
    struct slice v;
    const char *cookies = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie");
    /* A malformed Cookie header (or ours twice) is simply no cookie: 401, as without. */
    if (cookie_find(cookies, API_SESSION_COOKIE, &v))
        return NULL;
    *via_cookie = true;
    *len = v.len;
    return v.ptr;
}

/* Reads the caller's token (presented_token) and loads the caller. */
static int authenticate(struct request *r, struct MHD_Connection *c)
{
    size_t len = 0;
    bool via_cookie;
    const char *token = presented_token(c, &len, &via_cookie);
    if (!token || len != SECRET_TOKEN_LEN)
        return -NA_EAUTH;
    char hash[SECRET_HASH_HEX + 1];
    secret_hash_hex(token, len, hash);
    struct credential cred;
    int rc = store_credential_lookup(r->st, hash, r->now, &cred);
    if (rc == -NA_ENOTFOUND)
        return -NA_EAUTH;
    if (rc)
        return rc;
    /* An API key is for programs, which send it as a bearer token, never in a cookie. */
    if (cred.disabled || (via_cookie && cred.kind != CREDENTIAL_SESSION))
        return -NA_EAUTH;
    size_t n_managed = 0;
    rc = store_teams_managed_by(r->st, cred.organisation_id, cred.user_id, &r->managed_team_ids,
                                &n_managed);
    if (rc)
        return rc;
    r->authenticated = true;
    r->who = (struct principal){
        .user_id = cred.user_id,
        .organisation_id = cred.organisation_id,
        .roles = cred.roles,
        .org_is_host = cred.org_is_host,
        .via_api_key = cred.kind == CREDENTIAL_API_KEY,
        /* A one-time password restricts the sessions it opens, not a device's API key. */
        .password_change_required =
            cred.password_change_required && cred.kind == CREDENTIAL_SESSION,
        .managed_team_ids = r->managed_team_ids,
        .n_managed_team_ids = n_managed,
    };
    r->credential_id = cred.id;
    memcpy(r->token_hash, hash, sizeof r->token_hash);
    r->via_cookie = via_cookie;
    if (via_cookie)
        api_csrf_token(token, len, r->csrf_token);
    return 0;
}

/* True when the Origin header names this server as the client reached it (Host). */
static bool same_origin(const char *origin, const char *host)
{
    if (!host || !host[0])
        return false;
    size_t skip = strncmp(origin, "https://", 8) == 0  ? 8
                  : strncmp(origin, "http://", 7) == 0 ? 7
                                                       : 0;
    return skip && strcmp(origin + skip, host) == 0;
}

/*
 * A cookie is sent by the browser whoever made the page: a request that changes anything
 * must also prove it comes from the console (its CSRF token, which other sites cannot
 * read) and, when the browser says where from, from this very server (Origin). Bearer
 * tokens are never sent by themselves, so their callers need neither.
 */
static int check_csrf(struct request *r, struct MHD_Connection *c)
{
    if (!r->via_cookie || strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
        return 0;
    const char *sent = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token");
    if (!sent || strlen(sent) != SECRET_HASH_HEX ||
        !secret_equal(sent, r->csrf_token, SECRET_HASH_HEX))
        return request_fail(r, -NA_ECSRF, NULL, "missing or wrong CSRF token");
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (origin && !same_origin(origin, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")))
        return request_fail(r, -NA_ECSRF, NULL, "cross-origin request");
    return 0;
}

/* Authenticates the caller of a route that is not public, once per request, checks a
 * cookie session's CSRF token, and keeps a one-time password's sessions to the routes
 * that let it change. */
static int admit(struct request *r, const struct route *route, struct MHD_Connection *c)
{
    if ((route->flags & ROUTE_PUBLIC) || r->authenticated)
        return 0;
    int rc = authenticate(r, c);
    if (!rc)
        rc = check_csrf(r, c);
    if (!rc && r->who.password_change_required && !(route->flags & ROUTE_PWCHANGE_OK))
        rc = -NA_EPWCHANGE;
    return rc;
}

static bool is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct || strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    char next = ct[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* Parses the collected body into r->body: {} when empty. */
static int parse_body(struct exchange *x, struct MHD_Connection *c)
{
    struct request *r = &x->req;
    if (api_routes[x->route].flags & ROUTE_RAW_BODY) {
        /* Bytes of any type for the handler to check: no JSON to read. */
        r->raw_body = x->body.data ? x->body.data : "";
        r->raw_len = x->body.len;
        r->raw_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        r->body = json_object();
        return 0;
    }
    if (x->body.len == 0) {
        if (api_routes[x->route].flags & ROUTE_BODY)
            return request_fail(r, -NA_EMALFORMED, NULL, "a JSON object body is required");
        r->body = json_object();
        return 0;
    }
    if (!is_json_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type")))
        return -NA_EMEDIATYPE;
    json_error_t jerr;
    r->body = json_loadb(x->body.data, x->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->body)
        return request_fail(r, -NA_EMALFORMED, NULL, jerr.text);
    if (!json_is_object(r->body))
        return request_fail(r, -NA_EMALFORMED, NULL, "the body must be a JSON object");
    return 0;
}

/* Runs the handler of the route with a storage connection. */
static int dispatch(struct server *s, struct exchange *x, struct MHD_Connection *c)
{
    static const char *const no_fields[] = {NULL};
    struct request *r = &x->req;
    const struct route *route = &api_routes[x->route];
    int rc = parse_body(x, c);
    if (rc)
        return rc;
    r->st = pool_acquire(&s->pool);
    rc = admit(r, route, c);
    /* A route that takes no body accepts none or {}: any field is unknown, as elsewhere. */
    if (!rc && !(route->flags & (ROUTE_BODY | ROUTE_BODY_OPTIONAL)))
        rc = jin_only(r, r->body, NULL, no_fields);
    if (!rc)
        rc = route->handler(r);
    /* A handler that failed inside a transaction leaves nothing behind. */
    store_rollback(r->st);
    pool_release(&s->pool, r->st);
    r->st = NULL;
    return rc;
}

/* ---- libmicrohttpd callbacks ---- */

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    (void)value;
    if (strcasecmp(key, "Content-Length") == 0)
        (*(int *)cls)++;
    return MHD_YES;
}

/*
 * A raw body (evidence) may be large: its caller is authenticated and given one of the
 * node's places before a byte of it is read, so anonymous clients hold no memory.
 */
static int begin_upload(struct server *s, struct exchange *x, struct MHD_Connection *c)
{
    struct request *r = &x->req;
    r->st = pool_acquire(&s->pool);
    int rc = admit(r, &api_routes[x->route], c);
    store_rollback(r->st);
    pool_release(&s->pool, r->st);
    r->st = NULL;
    if (rc)
        return rc;
    if (atomic_fetch_add(&s->raw_uploads, 1) >= RAW_UPLOADS_MAX) {
        atomic_fetch_sub(&s->raw_uploads, 1);
        r->retry_after_s = 1;
        return request_fail(r, -NA_EUNAVAILABLE, NULL,
                            "too many uploads in progress on this server; retry");
    }
    x->upload_slot = true;
    buf_fini(&x->body);
    buf_init(&x->body, STORE_EVIDENCE_MAX);
    return 0;
}

/* First call for a request: route it and check the headers before any body arrives. */
static int begin(struct server *s, struct exchange *x, struct MHD_Connection *c)
{
    struct request *r = &x->req;
    int n_length = 0;
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &n_length);
    /* Two lengths are a request-smuggling attempt through a proxy that reads the other. */
    if (n_length > 1)
        return request_fail(r, -NA_EMALFORMED, NULL, "more than one Content-Length");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    int64_t declared = 0;
    if (cl && parse_int64(slice_of(cl), 0, INT64_MAX, &declared))
        return request_fail(r, -NA_EMALFORMED, NULL, "bad Content-Length");
    bool path_known;
    x->route = find_route(r->method, r->path, &r->params, r->allow, sizeof r->allow, &path_known);
    /* A route that takes raw bytes (evidence) has a limit of its own. */
    bool raw = x->route < api_routes_count && (api_routes[x->route].flags & ROUTE_RAW_BODY);
    if ((uint64_t)declared > (raw ? STORE_EVIDENCE_MAX : s->max_body))
        return -NA_ETOOBIG;
    if (x->route == api_routes_count && !path_known && console_owns_path(r->path)) {
        if (s->console) {
            x->console = true; /* answer_console answers once the request is read */
            return 0;
        }
        if (console_is_page(r->path))
            return request_fail(r, -NA_ENOTFOUND, NULL,
                                "the web console is not configured on this server (console_dir)");
    }
    if (x->route == api_routes_count)
        return path_known ? -NA_EMETHOD : -NA_ENOTFOUND;
    return raw ? begin_upload(s, x, c) : 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct server *s = cls;
    struct exchange *x = *con_cls;
    (void)version;
    if (!x) {
        x = xcalloc(1, sizeof *x);
        *con_cls = x;
        x->server = s;
        atomic_fetch_add(&s->in_flight, 1);
        x->start_us = monotonic_us();
        x->route = api_routes_count;
        x->req.api = s->api;
        x->req.conn = c;
        x->req.method = method;
        x->req.path = url;
        x->req.now = clock_now_ms(s->api->clock);
        buf_init(&x->body, s->max_body);
        buf_init(&x->req.text, 16u << 20);
        int rc = begin(s, x, c);
        return rc ? answer_error(c, x, rc) : MHD_YES;
    }
    if (x->answered) {
        *upload_size = 0; /* discard the rest of a refused body */
        return MHD_YES;
    }
    if (*upload_size) {
        /* A body without Content-Length (chunked) can only be refused once it ends, since
         * libmicrohttpd takes no answer mid-upload: discard it, but not forever. */
        if (x->too_big || buf_append(&x->body, upload_data, *upload_size)) {
            /* A raw body is cut off at its limit: reading on would hold its place and
             * take up to 16 x 8 MiB more. */
            if (x->upload_slot)
                return MHD_NO;
            x->too_big = true;
            x->discarded += *upload_size;
            if (x->discarded > 16 * x->body.max)
                return MHD_NO; /* closes the connection */
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (x->too_big)
        return answer_error(c, x, -NA_ETOOBIG);
    /* Answered once the request is read: an answer queued before keeps no connection. */
    if (x->console)
        return answer_console(c, x);
    int rc = dispatch(s, x, c);
    return rc ? answer_error(c, x, rc) : answer_ok(c, x);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct exchange *x = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (!x)
        return;
    /* A request dropped before it was answered (client gone, shutdown) still ends here. */
    if (!x->answered)
        atomic_fetch_sub(&x->server->in_flight, 1);
    release_upload(x);
    stream_free(x->req.stream); /* a stream never handed to a response */
    json_decref(x->req.body);
    json_decref(x->req.answer);
    free(x->req.managed_team_ids);
    buf_fini(&x->req.text);
    buf_fini(&x->body);
    free(x);
    *con_cls = NULL;
}

/* ---- start and stop ---- */

static int make_address(const char *host, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    return -NA_EINVAL;
}

int server_start(const struct server_config *cfg, const struct api *api, struct server **out)
{
    struct sockaddr_storage addr;
    if (make_address(cfg->host, cfg->port, &addr))
        return -NA_EINVAL;
    struct server *s = xcalloc(1, sizeof *s);
    s->api = api;
    s->console = cfg->console;
    s->max_body = cfg->max_body_bytes;
    int rc = pool_init(&s->pool, cfg->store,
                       (size_t)(cfg->pool_size > 0 ? cfg->pool_size : cfg->threads));
    if (rc)
        goto fail;
    /* Suspend and resume: a live event stream waits without holding a worker thread. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->mhd = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->request_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->mhd) {
        rc = -NA_EIO;
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    *out = s;
    return 0;
fail:
    pool_fini(&s->pool);
    free(s);
    return rc;
}

void server_metric_routes(const char **methods, const char **patterns)
{
    for (size_t i = 0; i < api_routes_count; i++) {
        methods[i] = api_routes[i].method;
        patterns[i] = api_routes[i].pattern;
    }
    /* Every console path counts as one route: paths never create series. */
    methods[SERVER_METRIC_CONSOLE] = "any";
    patterns[SERVER_METRIC_CONSOLE] = "console";
}

int server_port(const struct server *s)
{
    return s->port;
}

void server_stop(struct server *s)
{
    if (!s)
        return;
    /* Stop accepting, then give the requests in flight up to 10 s to be answered, and the
     * answers a moment to be written, before the connections are closed. Idle keep-alive
     * connections are not waited for. */
    MHD_socket listen_fd = MHD_quiesce_daemon(s->mhd);
    /* Event streams end too: each sends what it has, then its end. None may stay
     * suspended when the daemon stops; a client that reads nothing is simply cut off. */
    if (s->api->events)
        stream_hub_close(s->api->events);
    for (int i = 0; i < 1000 && atomic_load(&s->in_flight) > 0; i++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (s->api->events && !stream_hub_wait_empty(s->api->events, 2000))
        log_warn("streams_cut_off", "streams=%zu", stream_hub_count(s->api->events));
    struct timespec flush = {0, 100 * 1000 * 1000};
    nanosleep(&flush, NULL);
    MHD_stop_daemon(s->mhd);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    pool_fini(&s->pool);
    free(s);
}
