#include "notify/notify.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify_internal.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

#define BACKOFF_FIRST_MS 5000
#define BACKOFF_FACTOR   3
#define BACKOFF_CAP_MS   (10 * 60 * 1000)

int notifier_new(const struct notify_config *cfg, struct notifier **out)
{
    if (cfg->timeout_ms <= 0)
        return -NA_EINVAL;
    /* Reference-counted, and thread-safe in the libcurl versions this builds against. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -NA_EIO;
    struct notifier *nt;
    CURL *curl = curl_easy_init();
    if (!curl)
        goto fail;
    nt = xcalloc(1, sizeof *nt);
    nt->curl = curl;
    nt->smtp_url = xstrdup(cfg->smtp_url);
    nt->smtp_from = xstrdup(cfg->smtp_from);
    nt->smtp_starttls = cfg->smtp_starttls;
    nt->smtp_user = xstrdup(cfg->smtp_user);
    nt->smtp_password = xstrdup(cfg->smtp_password);
    nt->timeout_ms = cfg->timeout_ms;
    *out = nt;
    return 0;
fail:
    curl_global_cleanup();
    return -NA_EIO;
}

void notifier_free(struct notifier *nt)
{
    if (!nt)
        return;
    curl_easy_cleanup(nt->curl);
    if (nt->smtp_password)
        sodium_memzero(nt->smtp_password, strlen(nt->smtp_password));
    free(nt->smtp_password);
    free(nt->smtp_user);
    free(nt->smtp_from);
    free(nt->smtp_url);
    free(nt);
    curl_global_cleanup();
}

void notify_set_err(char *err, size_t n, const char *fmt, ...)
{
    if (!err || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    /* A reason cut short is still a reason: truncation is accepted here. */
    int w = vsnprintf(err, n, fmt, ap);
    va_end(ap);
    if (w < 0)
        err[0] = '\0';
}

bool notify_is_header_safe(const char *s, size_t max)
{
    if (!s || !*s)
        return false;
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, len++) {
        if (*p < 0x20 || *p == 0x7f || len >= max)
            return false;
    }
    return true;
}

/* What an address is, for the log: never the address itself (personal data). */
static const char *address_kind(const char *address)
{
    if (!address || !*address)
        return "none";
    if (strstr(address, "://"))
        return "url";
    if (strchr(address, '@'))
        return "email";
    return "other";
}

static int send_log(const struct notify_message *m)
{
    char event[96];
    log_quote(event, sizeof event, m->event);
    log_info("notification", "outbox_id=%lld event=%s address_kind=%s", (long long)m->outbox_id,
             event, address_kind(m->address));
    return 0;
}

int notifier_send(struct notifier *nt, const struct notify_message *m, char *err, size_t n)
{
    if (err && n)
        err[0] = '\0';
    switch (m->channel) {
    case NOTIFY_LOG:
        return send_log(m);
    case NOTIFY_WEBHOOK:
        return notify_send_webhook(nt, m, err, n);
    case NOTIFY_EMAIL:
        return notify_send_email(nt, m, err, n);
    }
    notify_set_err(err, n, "unknown channel %d", (int)m->channel);
    return -NA_EINVAL;
}

int64_t notify_backoff_ms(int attempt)
{
    int64_t ms = BACKOFF_FIRST_MS;
    for (int i = 1; i < attempt && ms < BACKOFF_CAP_MS; i++)
        ms *= BACKOFF_FACTOR;
    return ms < BACKOFF_CAP_MS ? ms : BACKOFF_CAP_MS;
}

void notify_sign(const char *secret, const char *body, size_t len, char hex[65])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    hex_encode(mac, sizeof mac, hex);
    sodium_memzero(&st, sizeof st);
}

/* Appends s escaped as the inside of a JSON string (quotes, backslashes, control bytes). */
static int append_json_escaped(struct buf *out, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    const char *run = s;
    const char *p = s;
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        char esc[7] = {'\\', (char)c, 0};
        size_t k = 2;
        if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
        } else if (c != '"' && c != '\\') {
            memcpy(esc + 1, "u00", 3);
            esc[4] = hexd[c >> 4];
            esc[5] = hexd[c & 15];
            k = 6;
        }
        if (buf_append(out, run, (size_t)(p - run)) || buf_append(out, esc, k))
            return -NA_ETOOBIG;
        run = p + 1;
    }
    return buf_append(out, run, (size_t)(p - run));
}

static const char *template_value(const char *const *vars, const char *name, size_t len)
{
    for (size_t i = 0; vars && vars[i] && vars[i + 1]; i += 2) {
        if (strlen(vars[i]) == len && memcmp(vars[i], name, len) == 0)
            return vars[i + 1];
    }
    return "";
}

int notify_render_template(const char *tmpl, const char *const *vars, struct buf *out)
{
    size_t start = out->len;
    int rc = 0;
    const char *p = tmpl;
    const char *open;
    while ((open = strstr(p, "{{")) != NULL) {
        const char *name = open + 2;
        const char *close = strstr(name, "}}");
        if (!close) {
            rc = -NA_EINVAL;
            goto fail;
        }
        rc = buf_append(out, p, (size_t)(open - p));
        if (rc == 0)
            rc = append_json_escaped(out, template_value(vars, name, (size_t)(close - name)));
        if (rc)
            goto fail;
        p = close + 2;
    }
    rc = buf_append_str(out, p);
    if (rc)
        goto fail;
    return 0;
fail:
    /* Leave out as it was: a half-expanded body must never be sent. */
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return rc;
}
