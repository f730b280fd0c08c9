#include "cli/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* Longest token accepted; session tokens and API keys are far shorter. */
#define CLIENT_MAX_TOKEN 1024
/* Longest request URL built from base URL, path and query. */
#define CLIENT_MAX_URL (16u * 1024u)

struct client {
    CURL *curl;
    char *base;
    char *token;
    struct client_error err;
};

struct reply {
    struct buf body;
    bool too_big;
};

int client_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -NA_EIO;
}

void client_global_cleanup(void)
{
    curl_global_cleanup();
}

static bool token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > CLIENT_MAX_TOKEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        /* Printable ASCII without space: anything else could split the header. */
        if (t[i] <= ' ' || t[i] > '~')
            return false;
    }
    return true;
}

static bool url_ok(const char *u)
{
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return false;
    for (const char *p = u; *p; p++) {
        if (*p <= ' ' || *p > '~')
            return false;
    }
    return true;
}

int client_new(const char *base_url, const char *token, struct client **out)
{
    *out = NULL;
    if (!url_ok(base_url) || (token && !token_ok(token)))
        return -NA_EINVAL;
    struct client *c = xcalloc(1, sizeof(*c));
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return -NA_EIO;
    }
    c->base = xstrdup(base_url);
    size_t n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    c->token = xstrdup(token);
    *out = c;
    return 0;
}

void client_free(struct client *c)
{
    if (!c)
        return;
    if (c->token) {
        sodium_memzero(c->token, strlen(c->token));
        free(c->token);
    }
    free(c->base);
    curl_easy_cleanup(c->curl);
    free(c);
}

const char *client_base_url(const struct client *c)
{
    return c->base;
}

bool client_has_token(const struct client *c)
{
    return c->token != NULL;
}

const struct client_error *client_last_error(const struct client *c)
{
    return &c->err;
}

static void set_error(struct client *c, enum client_error_kind kind, long status, const char *code,
                      const char *message, const char *field)
{
    struct client_error *e = &c->err;
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->status = status;
    /* Truncation only shortens what the user reads. */
    (void)snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
    (void)snprintf(e->message, sizeof(e->message), "%s", message ? message : "");
    (void)snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct reply *r = userdata;
    size_t n = size * nmemb;
    if (buf_append(&r->body, ptr, n) != 0) {
        r->too_big = true;
        return 0;
    }
    return n;
}

/* Headers of one request; caller frees with curl_slist_free_all. NULL when out of memory. */
static struct curl_slist *build_headers(const struct client *c, bool has_body)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    struct curl_slist *next;
    /* Without a body, remove the form content type curl would add to POST. */
    next = curl_slist_append(h, has_body ? "Content-Type: application/json" : "Content-Type:");
    if (!next)
        goto fail;
    h = next;
    if (c->token) {
        char line[CLIENT_MAX_TOKEN + 32];
        int n = snprintf(line, sizeof(line), "Authorization: Bearer %s", c->token);
        if (n < 0 || (size_t)n >= sizeof(line))
            goto fail;
        next = curl_slist_append(h, line);
        sodium_memzero(line, sizeof(line));
        if (!next)
            goto fail;
        h = next;
    }
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

static int build_url(const struct client *c, const char *path, struct buf *url)
{
    buf_init(url, CLIENT_MAX_URL);
    if (buf_append_str(url, c->base) || buf_append_str(url, path))
        return -NA_ETOOBIG;
    return 0;
}

static int setup_request(struct client *c, const char *method, const char *url, const char *body,
                         struct curl_slist *headers, struct reply *r)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    int bad = 0;
    bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CLIENT_CONNECT_TIMEOUT) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT, CLIENT_TIMEOUT) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "notalone-cli") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, r) != CURLE_OK;
    if (strcmp(method, "GET") == 0) {
        bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    } else {
        /* Every other method sends a body, empty when there is none (Content-Length: 0). */
        const char *b = body ? body : "";
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(b)) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, b) != CURLE_OK;
        if (strcmp(method, "POST") != 0)
            bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
    }
    return bad ? -NA_EIO : 0;
}

/* The NA_E* code whose API code string is code; NA_ESTORE when unknown. */
static int error_from_code(const char *code)
{
    for (int i = 1; i < NA_ERROR_COUNT; i++) {
        if (i != NA_EIO && strcmp(na_error_code(i), code) == 0)
            return i;
    }
    return NA_ESTORE;
}

static void add_retry_after(struct client *c)
{
    struct curl_header *hdr = NULL;
    if (curl_easy_header(c->curl, "Retry-After", 0, CURLH_HEADER, -1, &hdr) != CURLHE_OK)
        return;
    size_t n = strlen(c->err.message);
    /* Truncation only shortens what the user reads. */
    (void)snprintf(c->err.message + n, sizeof(c->err.message) - n, " (retry after %.16s s)",
                   hdr->value);
}

/* Decodes a non-2xx answer into c->err; returns the negated NA_E* code. */
static int decode_error(struct client *c, long status, const struct buf *body)
{
    json_error_t jerr;
    json_t *root =
        json_loadb(body->data ? body->data : "", body->len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *e = json_object_get(root, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    if (!code) {
        char fallback[32];
        (void)snprintf(fallback, sizeof(fallback), "http_%ld", status);
        set_error(c, CLIENT_ERR_SERVER, status, fallback, "the server answered an error", NULL);
        json_decref(root);
        return -NA_ESTORE;
    }
    set_error(c, CLIENT_ERR_SERVER, status, code, json_string_value(json_object_get(e, "message")),
              json_string_value(json_object_get(e, "field")));
    int err = error_from_code(code);
    json_decref(root);
    if (status == 429)
        add_retry_after(c);
    return -err;
}

static int decode_success(struct client *c, long status, const struct buf *body, json_t **out)
{
    if (body->len == 0)
        return 0;
    json_error_t jerr;
    *out = json_loadb(body->data, body->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out) {
        set_error(c, CLIENT_ERR_REPLY, status, "invalid_reply", "the reply is not JSON", NULL);
        return -NA_EIO;
    }
    return 0;
}

/* Runs the prepared request and decodes its answer. */
static int perform(struct client *c, struct reply *r, json_t **out)
{
    CURLcode rc = curl_easy_perform(c->curl);
    if (r->too_big) {
        set_error(c, CLIENT_ERR_REPLY, 0, "invalid_reply", "the reply is larger than 4 MiB", NULL);
        return -NA_EIO;
    }
    if (rc != CURLE_OK) {
        set_error(c, CLIENT_ERR_TRANSPORT, 0, "unreachable", curl_easy_strerror(rc), NULL);
        return -NA_EIO;
    }
    long status = 0;
    if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (status >= 200 && status < 300)
        return decode_success(c, status, &r->body, out);
    return decode_error(c, status, &r->body);
}

int client_request(struct client *c, const char *method, const char *path, const json_t *body,
                   json_t **out)
{
    struct buf url;
    struct reply r;
    struct curl_slist *headers = NULL;
    char *text = NULL;
    int rc;

    *out = NULL;
    memset(&c->err, 0, sizeof(c->err));
    buf_init(&r.body, CLIENT_MAX_REPLY);
    r.too_big = false;
    rc = -NA_EIO;
    if (build_url(c, path, &url)) {
        set_error(c, CLIENT_ERR_TRANSPORT, 0, "unreachable", "request URL too long", NULL);
        goto fail;
    }
    if (body)
        text = json_dumps(body, JSON_COMPACT);
    headers = build_headers(c, text != NULL);
    if ((body && !text) || !headers) {
        set_error(c, CLIENT_ERR_TRANSPORT, 0, "unreachable", "cannot build the request", NULL);
        goto fail;
    }
    if (setup_request(c, method, url.data, text, headers, &r)) {
        set_error(c, CLIENT_ERR_TRANSPORT, 0, "unreachable", "cannot set up libcurl", NULL);
        goto fail;
    }
    rc = perform(c, &r, out);
fail:
    /* The body may hold passwords. */
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    curl_slist_free_all(headers);
    if (r.body.data)
        sodium_memzero(r.body.data, r.body.len);
    buf_fini(&r.body);
    buf_fini(&url);
    return rc;
}

/* Appends the items of one page to all; *next receives next_after (0 on the last page). */
static int take_page(struct client *c, json_t *page, json_t *all, int64_t *next)
{
    json_t *items = json_object_get(page, "items");
    json_t *after = json_object_get(page, "next_after");
    /* A list that is never paginated may leave next_after out. */
    if (!json_is_array(items) || !(!after || json_is_null(after) || json_is_integer(after))) {
        set_error(c, CLIENT_ERR_REPLY, 200, "invalid_reply", "the reply is not a list", NULL);
        return -NA_EIO;
    }
    if (json_array_extend(all, items) != 0)
        return -NA_EIO;
    *next = json_is_integer(after) ? (int64_t)json_integer_value(after) : 0;
    return 0;
}

int client_list(struct client *c, const char *path, json_t **out)
{
    json_t *all = json_array();
    json_t *page = NULL;
    int64_t after = 0;
    int rc = -NA_EIO;
    char p[CLIENT_MAX_URL];

    *out = NULL;
    if (!all)
        return -NA_EIO;
    const char *sep = strchr(path, '?') ? "&" : "?";
    for (int i = 0; i < CLIENT_MAX_PAGES; i++) {
        int n =
            after ? snprintf(p, sizeof(p), "%s%slimit=200&after=%lld", path, sep, (long long)after)
                  : snprintf(p, sizeof(p), "%s%slimit=200", path, sep);
        if (n < 0 || (size_t)n >= sizeof(p)) {
            set_error(c, CLIENT_ERR_TRANSPORT, 0, "unreachable", "request URL too long", NULL);
            goto fail;
        }
        rc = client_request(c, "GET", p, NULL, &page);
        if (rc)
            goto fail;
        int64_t next = 0;
        rc = take_page(c, page, all, &next);
        json_decref(page);
        page = NULL;
        if (rc)
            goto fail;
        if (next == 0) {
            *out = all;
            return 0;
        }
        /* Ids only grow; anything else would loop forever. */
        if (next <= after) {
            set_error(c, CLIENT_ERR_REPLY, 200, "invalid_reply", "next_after does not advance",
                      NULL);
            rc = -NA_EIO;
            goto fail;
        }
        after = next;
    }
    set_error(c, CLIENT_ERR_REPLY, 200, "invalid_reply", "the list has too many pages", NULL);
    rc = -NA_EIO;
fail:
    json_decref(page);
    json_decref(all);
    return rc;
}
