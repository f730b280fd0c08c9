/* The live event stream: GET /api/v1/events (docs/api.md), Server-Sent Events. */
#include <stdlib.h>
#include <string.h>

#include "http/api.h"
#include "http/stream.h"
#include "store/store_alarms.h"
#include "store/store_events.h"
#include "store/store_watch.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

/* Rounds of catching up with the hub before giving up (each replays what it missed). */
#define ATTACH_TRIES 8
/* Longest event id accepted: INT64_MAX has 19 digits. */
#define EVENT_ID_MAX_LEN 20

/* Where to resume: Last-Event-ID (what a reconnecting EventSource sends), else ?after. */
static int read_resume(struct request *r, bool *resume, int64_t *after)
{
    const char *field = "Last-Event-ID";
    const char *v = request_header(r, field);
    *resume = false;
    *after = 0;
    if (!v || !v[0]) {
        field = "after";
        v = request_query(r, field);
    }
    if (!v)
        return 0;
    if (strlen(v) > EVENT_ID_MAX_LEN || parse_int64(slice_of(v), 0, INT64_MAX, after))
        return request_fail(r, -NA_EMALFORMED, field,
                            "an event id: a whole number from 0, as sent in the stream");
    *resume = true;
    return 0;
}

/* Visits and alarms whose visibility to the caller is known: a replay asks about each once. */
struct seen {
    int64_t visit_id;
    int64_t alarm_id; /* 0: a visit's */
    bool visible;
};

struct seen_list {
    struct seen *items;
    size_t n;
};

/* Whether the caller sees alarm id: the rule of the alarm routes (never its worker). */
static int alarm_visible(struct request *r, int64_t id, bool *out)
{
    struct alarm_row a = {0};
    *out = false;
    int rc = store_alarm_get(r->st, r->who.organisation_id, id, &a);
    if (!rc)
        rc = api_alarm_visible(r, &a, out);
    alarm_row_fini(&a);
    return rc;
}

/* Whether the caller sees e: an alarm's by the alarm rule, else the visit's. */
static int sees_event(struct request *r, const struct event_row *e, struct seen_list *seen,
                      bool *out)
{
    struct visit_row v = {0};
    for (size_t i = 0; i < seen->n; i++) {
        if (seen->items[i].alarm_id == e->alarm_id &&
            (e->alarm_id || seen->items[i].visit_id == e->visit_id)) {
            *out = seen->items[i].visible;
            return 0;
        }
    }
    *out = false;
    int rc;
    if (e->alarm_id) {
        rc = alarm_visible(r, e->alarm_id, out);
    } else {
        rc = store_visit_get(r->st, r->who.organisation_id, e->visit_id, &v);
        if (!rc)
            rc = api_visit_visible(r, &v, out);
        visit_row_fini(&v);
    }
    if (rc == -NA_ENOTFOUND)
        rc = 0;
    if (rc)
        return rc;
    seen->items = xrealloc(seen->items, seen->n + 1, sizeof *seen->items);
    seen->items[seen->n++] =
        (struct seen){.visit_id = e->visit_id, .alarm_id = e->alarm_id, .visible = *out};
    return 0;
}

/*
 * Queues the stored events of the caller's organisation after *cursor that the caller
 * sees (the newest STORE_EVENTS_READ_MAX of them) and moves *cursor past those read.
 */
static int replay(struct request *r, struct stream *s, int64_t *cursor, struct seen_list *seen)
{
    struct event_row *rows = NULL;
    size_t n = 0;
    int rc = store_events_after(r->st, r->who.organisation_id, *cursor, STORE_EVENTS_READ_MAX,
                                &rows, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        bool visible = false;
        rc = sees_event(r, &rows[i], seen, &visible);
        if (!rc && visible)
            rc = stream_replay(s, &rows[i]);
        if (!rc && rows[i].id > *cursor)
            *cursor = rows[i].id;
    }
    event_rows_free(rows, n);
    if (rc == -NA_ETOOBIG)
        rc = request_fail(r, -NA_EUNAVAILABLE, NULL,
                          "too many events to replay at once; resume from a later event id");
    return rc;
}

/*
 * Hands the stream to the hub, from cursor (resume) or from now. An event the hub
 * handled after cursor before the stream was handed over is replayed here first, so
 * that the stream misses none and gets each once, in order.
 */
static int attach(struct request *r, struct stream *s, bool resume, int64_t cursor,
                  struct seen_list *seen)
{
    int64_t hub_last = 0;
    int rc = 0;
    for (int i = 0; i < ATTACH_TRIES; i++) {
        rc = stream_attach(s, resume ? cursor : STREAM_FROM_NOW, &hub_last);
        if (rc != -NA_ECONFLICT)
            return rc;
        rc = replay(r, s, &cursor, seen);
        if (rc)
            return rc;
        /* Everything up to hub_last was committed before the replay read: it has it. */
        if (cursor < hub_last)
            cursor = hub_last;
    }
    return request_fail(r, -NA_EUNAVAILABLE, NULL, "events come too fast to catch up; retry");
}

int api_events(struct request *r)
{
    struct seen_list seen = {0};
    struct stream *s = NULL;
    bool resume = false;
    int64_t cursor = 0, newest = 0;
    int rc = read_resume(r, &resume, &cursor);
    if (!rc) {
        rc = stream_new(r->api->events, &r->who, r->token_hash, &s);
        if (rc == -NA_EUNAVAILABLE) {
            r->retry_after_s = 5;
            request_fail(r, rc, NULL, "too many event streams are open on this server");
        }
    }
    /* An id from the future (another database, a bad client) resumes from now. */
    if (!rc && resume)
        rc = store_events_last_id(r->st, &newest);
    if (!rc && resume && cursor > newest)
        cursor = newest;
    if (!rc && resume)
        rc = replay(r, s, &cursor, &seen);
    if (!rc)
        rc = attach(r, s, resume, cursor, &seen);
    free(seen.items);
    if (rc) {
        stream_free(s);
        return rc;
    }
    log_info("stream_opened", "user_id=%lld resume=%d", (long long)r->who.user_id, resume);
    r->stream = s;
    r->status = 200;
    return 0;
}
