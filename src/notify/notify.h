#ifndef NA_NOTIFY_NOTIFY_H
#define NA_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/*
 * Delivering one notification over one channel: a webhook (JSON POST signed with
 * HMAC-SHA256, with an idempotency key), email over SMTP (libcurl; STARTTLS when
 * configured) or the log. The outbox (storage) decides what to send and retries; this
 * module only sends, and says whether it worked.
 */

enum notify_channel {
    NOTIFY_LOG = 1,
    NOTIFY_WEBHOOK = 2,
    NOTIFY_EMAIL = 3,
};

/* One message to one address (all strings borrowed for the call). */
struct notify_message {
    enum notify_channel channel;
    const char *address;         /* webhook URL (http/https) or email address; NULL for log */
    const char *secret;          /* webhook HMAC key; NULL: unsigned */
    const char *event;           /* "escalation.notify", ...: webhook header and log field */
    const char *subject;         /* email subject (one line) */
    const char *body;            /* webhook: JSON text; email: plain UTF-8 text */
    const char *idempotency_key; /* same key on every retry of the same notification */
    int64_t outbox_id;
};

struct notify_config {
    const char *smtp_url;      /* "smtp://127.0.0.1:2525"; NULL: email is not configured */
    const char *smtp_from;     /* envelope and header From */
    bool smtp_starttls;        /* require STARTTLS */
    const char *smtp_user;     /* NULL: no authentication */
    const char *smtp_password; /* never logged */
    long timeout_ms;           /* per delivery attempt */
};

struct notifier;

/*
 * A notifier with its own connections; one per thread. cfg's strings are copied.
 * -NA_EINVAL when timeout_ms is not positive; -NA_EIO when libcurl cannot start.
 * Caller frees with notifier_free (NULL is a no-op).
 */
int notifier_new(const struct notify_config *cfg, struct notifier **out);
void notifier_free(struct notifier *n);

/*
 * Sends m. 0 when delivered (webhook answered 2xx; SMTP server accepted the message; log
 * written). -NA_EIO when the attempt failed and may be retried, -NA_EINVAL when it can
 * never succeed (bad URL or address, header injection, email not configured); err (size
 * n) says why, without secrets or message contents.
 */
int notifier_send(struct notifier *nt, const struct notify_message *m, char *err, size_t n);

/* Attempts before a notification counts as failed ("contact could not be reached"). */
#define NOTIFY_MAX_ATTEMPTS 5

/*
 * Delay before retry number attempt (1-based): 5 s, 15 s, 45 s, ... capped at 10 min.
 * An attempt below 1 counts as 1.
 */
int64_t notify_backoff_ms(int attempt);

/* Lowercase hex HMAC-SHA256 of len bytes of body under secret (not NULL), into hex (65 bytes). */
void notify_sign(const char *secret, const char *body, size_t len, char hex[65]);

/*
 * Expands a webhook body template (for SMS gateways): "{{name}}" is replaced by the value
 * of that name in vars (pairs name, value, NULL-terminated), escaped as the inside of a
 * JSON string. Unknown names expand to "". The result is appended to out. -NA_ETOOBIG past
 * out's maximum, -NA_EINVAL for a "{{" without its "}}"; on failure out is left as it was.
 */
int notify_render_template(const char *tmpl, const char *const *vars, struct buf *out);

#endif
