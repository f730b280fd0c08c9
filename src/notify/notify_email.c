#include <curl/curl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "notify/notify.h"
#include "notify/notify_internal.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/secret.h"

/* RFC 5321: 254 bytes in a forward path. */
#define EMAIL_ADDRESS_MAX 254
/* Longest subject accepted, in bytes (before encoding). */
#define EMAIL_SUBJECT_MAX 900
/* Largest composed message, headers included. */
#define EMAIL_MESSAGE_MAX (1024 * 1024)
/* RFC 5322 2.1.1: at most 998 bytes in a line, CRLF excluded. */
#define EMAIL_LINE_MAX 998
/* Bytes of UTF-8 per RFC 2047 encoded word: 60 base64 characters, 75 with the wrapping. */
#define EMAIL_WORD_BYTES 45

bool notify_email_address_ok(const char *a)
{
    if (!a)
        return false;
    size_t len = strlen(a);
    const char *at = strchr(a, '@');
    if (len < 3 || len > EMAIL_ADDRESS_MAX || !at || at == a || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
        /* Controls and space break the SMTP command and the header (injection); the
         * specials would let one address turn into several or into a display name. */
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[],;:\"\\", *p))
            return false;
    }
    return true;
}

/* Length of the UTF-8 sequence at p, or 0 when it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || p[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    }
    uint32_t cp = p[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++)
        cp = (cp << 6) | (p[i] & 0x3f);
    bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* -NA_EINVAL unless s is short, valid UTF-8 without control bytes; *ascii says if pure ASCII. */
static int check_subject(const char *s, bool *ascii)
{
    size_t len = strlen(s);
    *ascii = true;
    if (len > EMAIL_SUBJECT_MAX)
        return -NA_EINVAL;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t k = utf8_len(p);
        if (k == 0 || *p < 0x20 || *p == 0x7f)
            return -NA_EINVAL;
        *ascii &= k == 1;
        p += k;
    }
    return 0;
}

/* Appends the subject as RFC 2047 "B" encoded words, one per folded line. */
static int append_encoded_subject(struct buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;
    while (*p && rc == 0) {
        size_t take = 0;
        /* Cut only between characters: a decoder must be able to decode each word alone. */
        while (p[take] && take + utf8_len(p + take) <= EMAIL_WORD_BYTES)
            take += utf8_len(p + take);
        char b64[sodium_base64_ENCODED_LEN(EMAIL_WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, p, take, sodium_base64_VARIANT_ORIGINAL);
        rc =
            buf_appendf(out, "%s=?UTF-8?B?%s?=", p == (const unsigned char *)s ? "" : "\r\n ", b64);
        p += take;
    }
    return rc;
}

static int append_date(struct buf *out, int64_t now_ms)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return -NA_EINVAL;
    return buf_appendf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
                       tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                       tm.tm_sec);
}

/* Message-ID from the idempotency key, so every retry of a notification carries the same. */
static int append_message_id(struct buf *out, const char *key, const char *from)
{
    char hash[SECRET_HASH_HEX + 1];
    secret_hash_hex(key, strlen(key), hash);
    hash[32] = '\0';
    return buf_appendf(out, "Message-ID: <%s.notalone@%s>\r\n", hash, strchr(from, '@') + 1);
}

static int append_headers(struct buf *out, const char *from, const struct notify_message *m,
                          int64_t now_ms)
{
    bool ascii;
    int rc = check_subject(m->subject, &ascii);
    if (rc)
        return rc;
    rc = buf_appendf(out, "From: %s\r\nTo: %s\r\nSubject: ", from, m->address);
    if (rc == 0)
        rc = ascii ? buf_append_str(out, m->subject) : append_encoded_subject(out, m->subject);
    if (rc == 0)
        rc = buf_append_str(out, "\r\n");
    if (rc == 0)
        rc = append_date(out, now_ms);
    if (rc == 0)
        rc = append_message_id(out, m->idempotency_key, from);
    if (rc == 0)
        rc = buf_append_str(out, "MIME-Version: 1.0\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n"
                                 "Content-Transfer-Encoding: 8bit\r\n"
                                 "Auto-Submitted: auto-generated\r\n"
                                 "\r\n");
    return rc;
}

/*
 * Appends the body with every line ending as CRLF and no line over EMAIL_LINE_MAX bytes
 * (longer ones are broken between characters). Dot-stuffing is left to libcurl, which
 * doubles a '.' that starts a line of the upload.
 */
static int append_body(struct buf *out, const char *body)
{
    const unsigned char *p = (const unsigned char *)body;
    size_t col = 0;
    int rc = 0;
    while (*p && rc == 0) {
        if (*p == '\r' || *p == '\n') {
            p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
            rc = buf_append(out, "\r\n", 2);
            col = 0;
            continue;
        }
        size_t k = utf8_len(p);
        if (k == 0)
            k = 1; /* not UTF-8: passed through as a single byte */
        if (col + k > EMAIL_LINE_MAX) {
            rc = buf_append(out, "\r\n", 2);
            col = 0;
        }
        if (rc == 0)
            rc = buf_append(out, p, k);
        col += k;
        p += k;
    }
    if (rc == 0 && col > 0)
        rc = buf_append(out, "\r\n", 2);
    return rc;
}

int notify_email_compose(const char *from, const struct notify_message *m, int64_t now_ms,
                         struct buf *out)
{
    if (!notify_email_address_ok(from) || !notify_email_address_ok(m->address) || !m->subject ||
        !m->body || !notify_is_header_safe(m->idempotency_key, NOTIFY_FIELD_MAX))
        return -NA_EINVAL;
    int rc = append_headers(out, from, m, now_ms);
    if (rc == 0)
        rc = append_body(out, m->body);
    return rc;
}

/* The composed message, handed to libcurl piece by piece. */
struct upload {
    const char *data;
    size_t len;
    size_t off;
};

static size_t on_read(char *dst, size_t size, size_t nmemb, void *ud)
{
    struct upload *u = ud;
    size_t room = size * nmemb;
    size_t left = u->len - u->off;
    size_t n = left < room ? left : room;
    memcpy(dst, u->data + u->off, n);
    u->off += n;
    return n;
}

static bool set_options(struct notifier *nt, struct curl_slist *rcpt, struct upload *up)
{
    CURL *h = nt->curl;
    char from[EMAIL_ADDRESS_MAX + 3];
    bool bad = false;
    snprintf(from, sizeof from, "<%s>", nt->smtp_from); /* fits: the address was checked */
    curl_easy_reset(h);
    bad |= curl_easy_setopt(h, CURLOPT_URL, nt->smtp_url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, nt->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, nt->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAIL_FROM, from) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_READDATA, up) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->len) != CURLE_OK;
    if (nt->smtp_starttls)
        bad |= curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) != CURLE_OK;
    if (nt->smtp_user) {
        bad |= curl_easy_setopt(h, CURLOPT_USERNAME, nt->smtp_user) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_PASSWORD, nt->smtp_password ? nt->smtp_password : "") !=
               CURLE_OK;
    }
    return !bad;
}

/* Checks the configuration, then composes the message into msg. */
static int prepare(struct notifier *nt, const struct notify_message *m, struct buf *msg, char *err,
                   size_t n)
{
    if (!nt->smtp_url || !nt->smtp_from) {
        notify_set_err(err, n, "email is not configured");
        return -NA_EINVAL;
    }
    if (strncasecmp(nt->smtp_url, "smtp://", 7) != 0 &&
        strncasecmp(nt->smtp_url, "smtps://", 8) != 0) {
        notify_set_err(err, n, "smtp_url is not an smtp:// or smtps:// URL");
        return -NA_EINVAL;
    }
    int rc = notify_email_compose(nt->smtp_from, m, clock_system_ms(), msg);
    if (rc == -NA_ETOOBIG)
        notify_set_err(err, n, "email message over %d bytes", EMAIL_MESSAGE_MAX);
    else if (rc)
        notify_set_err(err, n, "email address, sender, subject or idempotency key invalid");
    return rc == -NA_ETOOBIG ? -NA_EINVAL : rc;
}

int notify_send_email(struct notifier *nt, const struct notify_message *m, char *err, size_t n)
{
    struct buf msg;
    struct curl_slist *rcpt = NULL;
    char to[EMAIL_ADDRESS_MAX + 3];
    buf_init(&msg, EMAIL_MESSAGE_MAX);
    int rc = prepare(nt, m, &msg, err, n);
    if (rc)
        goto fail;
    snprintf(to, sizeof to, "<%s>", m->address); /* fits: the address was checked */
    rcpt = curl_slist_append(NULL, to);
    struct upload up = {msg.data, msg.len, 0};
    if (!rcpt || !set_options(nt, rcpt, &up)) {
        notify_set_err(err, n, "email could not be prepared");
        rc = -NA_EIO;
        goto fail;
    }
    CURLcode cc = curl_easy_perform(nt->curl);
    if (cc != CURLE_OK) {
        long code = 0;
        if (curl_easy_getinfo(nt->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
            code = 0;
        notify_set_err(err, n, "smtp transfer failed: %s (last reply %ld)", curl_easy_strerror(cc),
                       code);
        rc = -NA_EIO;
        goto fail;
    }
    rc = 0;
fail:
    /* The handle keeps pointers to the list and the upload; drop them first. */
    curl_easy_setopt(nt->curl, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(nt->curl, CURLOPT_READDATA, NULL);
    curl_slist_free_all(rcpt);
    buf_fini(&msg);
    return rc;
}
