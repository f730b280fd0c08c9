/* Turning one notice into outbox rows: one per channel of the recipient. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "watch/watch_internal.h"

#define BODY_MAX (256u * 1024)

void id_list_push(struct id_list *l, int64_t id)
{
    l->ids = xrealloc(l->ids, l->n + 1, sizeof *l->ids);
    l->ids[l->n++] = id;
}

void id_list_fini(struct id_list *l)
{
    free(l->ids);
    l->ids = NULL;
    l->n = 0;
}

/* The body a webhook receives: the template expanded, or the JSON payload. */
static char *webhook_body(const struct channel_row *c, const struct notice *n)
{
    if (!c->template)
        return json_dumps(n->payload, JSON_COMPACT);
    const char *vars[] = {"text",    n->text,
                          "subject", n->subject,
                          "phone",   n->phone ? n->phone : "",
                          "event",   n->event,
                          "link",    n->link ? n->link : "",
                          NULL};
    struct buf b;
    buf_init(&b, BODY_MAX);
    if (notify_render_template(c->template, vars, &b)) {
        buf_fini(&b);
        return NULL;
    }
    return buf_take(&b);
}

static char *email_body(const struct notice *n)
{
    struct buf b;
    buf_init(&b, BODY_MAX);
    if (buf_append_str(&b, n->text) ||
        (n->link && buf_appendf(&b, "\n\nAcknowledge: %s\n", n->link))) {
        buf_fini(&b);
        return xstrdup(n->text);
    }
    return buf_take(&b);
}

int notice_channel(struct watch *w, struct store *st, const struct channel_row *c,
                   const struct notice *n, int64_t now, struct id_list *out)
{
    char key[256];
    snprintf(key, sizeof key, "%s:u%lld:c%lld:%s", n->key, (long long)c->user_id, (long long)c->id,
             c->kind);
    struct outbox_row r = {.organisation_id = c->organisation_id,
                           .escalation_id = n->escalation_id,
                           .level = n->level,
                           .user_id = c->user_id,
                           .channel_id = c->id,
                           .channel = c->kind,
                           .address = c->address,
                           .event = (char *)n->event,
                           .subject = (char *)n->subject,
                           .idempotency_key = key,
                           .next_attempt_at = now,
                           .created_at = now};
    (void)w;
    if (strcmp(c->kind, "webhook") == 0)
        r.body = webhook_body(c, n);
    else if (strcmp(c->kind, "email") == 0)
        r.body = email_body(n);
    else
        r.body = xstrdup(n->subject);
    if (!r.body)
        return -NA_EINVAL;
    int64_t id;
    int rc = store_outbox_add(st, &r, &id);
    free(r.body);
    /* The same notice queued again (a retried batch, a restart) is already on its way. */
    if (rc == -NA_ECONFLICT)
        return 0;
    if (!rc)
        id_list_push(out, id);
    return rc;
}

int notice_user(struct watch *w, struct store *st, int64_t org_id, int64_t user_id,
                const struct notice *n, int64_t now, struct id_list *out)
{
    struct channel_row *channels = NULL;
    size_t count = 0;
    int rc = store_channel_list(st, org_id, user_id, false, &channels, &count);
    for (size_t i = 0; !rc && i < count; i++)
        rc = notice_channel(w, st, &channels[i], n, now, out);
    channel_rows_free(channels, count);
    if (rc || count)
        return rc;
    /* No channel of their own: their profile's email when the server sends email, else
     * the log (which an operator's log shipping may turn into a page). */
    struct user_row u = {0};
    rc = store_user_get(st, org_id, user_id, &u);
    if (rc)
        return rc;
    bool email = w->email_enabled && u.email;
    struct channel_row implied = {.organisation_id = org_id,
                                  .user_id = user_id,
                                  .kind = email ? "email" : "log",
                                  .address = email ? u.email : NULL};
    rc = notice_channel(w, st, &implied, n, now, out);
    user_row_fini(&u);
    return rc;
}
