#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "notify/notify.h"
#include "notify/notify_internal.h"
#include "util/error.h"

/* Longest webhook URL accepted, in bytes. */
#define WEBHOOK_URL_MAX 2048
/* Bytes of a response body read (and dropped) before the transfer is cut off. */
#define WEBHOOK_RESPONSE_MAX (64 * 1024)

/* Counts and drops the response body; stops the transfer past WEBHOOK_RESPONSE_MAX. */
struct sink {
    size_t got;
    bool over;
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t len = size * nmemb;
    (void)p;
    s->got += len;
    if (s->got > WEBHOOK_RESPONSE_MAX) {
        s->over = true;
        return 0;
    }
    return len;
}

/* 0 when url parses and its scheme is http or https; -NA_EINVAL otherwise. */
static int check_url(const char *url)
{
    if (!notify_is_header_safe(url, WEBHOOK_URL_MAX) || strchr(url, ' '))
        return -NA_EINVAL;
    int rc = -NA_EINVAL;
    char *scheme = NULL;
    CURLU *u = curl_url();
    if (!u)
        return -NA_EIO;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto fail;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
        goto fail;
    if (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0)
        rc = 0;
fail:
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* Appends one "Name: value" header to *list; false when it does not fit or is refused. */
static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[NOTIFY_FIELD_MAX + 64];
    int w = snprintf(line, sizeof line, "%s: %s", name, value);
    if (w < 0 || (size_t)w >= sizeof line)
        return false;
    struct curl_slist *next = curl_slist_append(*list, line);
    if (!next)
        return false;
    *list = next;
    return true;
}

static struct curl_slist *build_headers(const struct notify_message *m)
{
    struct curl_slist *h = NULL;
    char delivery[32];
    char sig[sizeof "sha256=" + 64];
    snprintf(delivery, sizeof delivery, "%lld", (long long)m->outbox_id);
    bool ok = add_header(&h, "Content-Type", "application/json") &&
              add_header(&h, "Idempotency-Key", m->idempotency_key) &&
              add_header(&h, "X-Notalone-Event", m->event) &&
              add_header(&h, "X-Notalone-Delivery", delivery) &&
              /* An empty Expect stops libcurl waiting for "100 Continue" on large bodies. */
              add_header(&h, "Expect", "");
    if (ok && m->secret) {
        memcpy(sig, "sha256=", 7);
        notify_sign(m->secret, m->body, strlen(m->body), sig + 7);
        ok = add_header(&h, "X-Notalone-Signature", sig);
    }
    if (!ok) {
        curl_slist_free_all(h);
        return NULL;
    }
    return h;
}

static bool set_options(struct notifier *nt, const struct notify_message *m,
                        struct curl_slist *headers, struct sink *sink)
{
    CURL *h = nt->curl;
    bool bad = false;
    curl_easy_reset(h);
    bad |= curl_easy_setopt(h, CURLOPT_URL, m->address) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, nt->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, nt->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "notaloned") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK;
    bad |=
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(m->body)) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, m->body) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, sink) != CURLE_OK;
    return !bad;
}

/* Checks the message's fields before anything goes on the wire. */
static int check_message(const struct notify_message *m, char *err, size_t n)
{
    int rc = check_url(m->address);
    if (rc) {
        notify_set_err(err, n,
                       rc == -NA_EIO ? "webhook URL could not be checked"
                                     : "webhook URL is not a valid http or https URL");
        return rc;
    }
    if (!m->body || !notify_is_header_safe(m->idempotency_key, NOTIFY_FIELD_MAX) ||
        !notify_is_header_safe(m->event, NOTIFY_FIELD_MAX)) {
        notify_set_err(err, n, "webhook body, event or idempotency key missing or invalid");
        return -NA_EINVAL;
    }
    return 0;
}

int notify_send_webhook(struct notifier *nt, const struct notify_message *m, char *err, size_t n)
{
    struct sink sink = {0};
    long status = 0;
    int rc = check_message(m, err, n);
    if (rc)
        return rc;
    struct curl_slist *headers = build_headers(m);
    if (!headers || !set_options(nt, m, headers, &sink)) {
        notify_set_err(err, n, "webhook request could not be prepared");
        rc = -NA_EIO;
        goto fail;
    }
    CURLcode cc = curl_easy_perform(nt->curl);
    /* A 2xx with an oversized answer was still received and acted on by the server. */
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && sink.over)) {
        notify_set_err(err, n, "webhook transfer failed: %s", curl_easy_strerror(cc));
        rc = cc == CURLE_UNSUPPORTED_PROTOCOL ? -NA_EINVAL : -NA_EIO;
        goto fail;
    }
    if (curl_easy_getinfo(nt->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (status < 200 || status > 299) {
        notify_set_err(err, n, "webhook answered status %ld", status);
        rc = -NA_EIO;
        goto fail;
    }
    rc = 0;
fail:
    /* The handle keeps pointers to headers; drop them before the list goes. */
    curl_easy_setopt(nt->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return rc;
}
