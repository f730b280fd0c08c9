#ifndef NA_NOTIFY_NOTIFY_INTERNAL_H
#define NA_NOTIFY_NOTIFY_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/notify.h"
#include "util/buf.h"

/*
 * Shared by the notify_*.c files (not part of the notifier's interface): the body of
 * struct notifier and the per-channel senders.
 */
struct notifier {
    CURL *curl; /* reused between sends so connections are kept alive */
    char *smtp_url;
    char *smtp_from;
    bool smtp_starttls;
    char *smtp_user;
    char *smtp_password; /* wiped before it is freed */
    long timeout_ms;
};

/* Longest idempotency key, event name or address accepted, in bytes. */
#define NOTIFY_FIELD_MAX 512

/* Formats a reason into err (size n; either may be NULL/0). A truncated reason is kept. */
void notify_set_err(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when s is non-empty, at most max bytes, and holds no control byte (CR, LF, ...). */
bool notify_is_header_safe(const char *s, size_t max);

/*
 * Posts m->body to the URL m->address (http or https only, no redirects). 0 on a 2xx
 * answer; -NA_EIO on any other answer or a transport error; -NA_EINVAL for a bad URL or
 * header field. The reason goes to err.
 */
int notify_send_webhook(struct notifier *nt, const struct notify_message *m, char *err, size_t n);

/*
 * Sends m as a plain-text email to m->address through nt's SMTP server. 0 when the
 * server accepted it; -NA_EIO when the attempt failed; -NA_EINVAL when email is not
 * configured or the address or subject is unusable. The reason goes to err.
 */
int notify_send_email(struct notifier *nt, const struct notify_message *m, char *err, size_t n);

/*
 * True when a is one plain addr-spec (local@domain, printable ASCII, at most 254 bytes)
 * with nothing that could end an SMTP command or a header: no CR, LF, space, '<', '>',
 * and none of the specials that would make it a list or a display name.
 */
bool notify_email_address_ok(const char *a);

/*
 * Composes the RFC 5322 message for m (From from, To m->address, Subject, Date of now_ms,
 * Message-ID from the idempotency key, text/plain UTF-8 8bit body with CRLF line
 * endings) and appends it to out. -NA_EINVAL for a bad address, subject (CR, LF or other
 * control bytes, invalid UTF-8, too long) or key; -NA_ETOOBIG past out's maximum.
 */
int notify_email_compose(const char *from, const struct notify_message *m, int64_t now_ms,
                         struct buf *out);

#endif
