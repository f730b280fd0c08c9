/*
 * Tests of the live event stream's hub and streams (src/http/stream.c): the text of an
 * event, a stream's bounded buffer and its reader, the limit on streams, handing a
 * stream to the hub without a gap, the storage of events (written at commit, nothing
 * on rollback) and the hub delivering committed events only to those who see them.
 * The file under test is included to reach its static functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "core/roles.h"
#include "http/stream.c"
#include "store/store_events.h"
#include "store/store_watch.h"

#define T0 INT64_C(1700000000000)

/* ---- helpers ---- */

/* A hub without threads or storage, for the streams' own logic. */
static struct stream_hub *bare_hub(size_t max_streams, size_t max_buffer)
{
    struct stream_hub *h = xcalloc(1, sizeof *h);
    h->cfg.max_streams = max_streams;
    h->cfg.max_buffer_bytes = max_buffer;
    h->cfg.keepalive_ms = 15000;
    hub_sync_init(h);
    return h;
}

static void bare_hub_free(struct stream_hub *h)
{
    pthread_cond_destroy(&h->wake);
    pthread_cond_destroy(&h->gone);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* Everything the stream has to send now, as text (caller frees). */
static char *read_all(struct stream *s, ssize_t *last)
{
    char chunk[7]; /* small: reads come in pieces */
    char *all = xcalloc(1, 1);
    size_t n = 0;
    for (;;) {
        pthread_mutex_lock(&s->hub->lock);
        bool empty = s->out.len == s->head && !s->ending && !s->failed;
        pthread_mutex_unlock(&s->hub->lock);
        if (empty) { /* reading now would suspend a connection this test does not have */
            *last = 0;
            return all;
        }
        ssize_t got = stream_read(s, n, chunk, sizeof chunk);
        if (got <= 0) {
            *last = got;
            return all;
        }
        all = xrealloc(all, n + (size_t)got + 1, 1);
        memcpy(all + n, chunk, (size_t)got);
        n += (size_t)got;
        all[n] = '\0';
    }
}

static struct event_row row(int64_t id, const char *kind, const char *payload)
{
    struct event_row e = {.id = id,
                          .organisation_id = 1,
                          .at = T0,
                          .kind = (char *)kind,
                          .visit_id = 7,
                          .worker_id = 3,
                          .payload = (char *)payload};
    return e;
}

/* ---- formatting ---- */

static void test_event_text(void **state)
{
    (void)state;
    size_t len = 0;
    struct event_row e = row(42, "visit.checkin", "{\"visit_id\":7,\"note\":\"a\\nb\"}");
    char *text = event_text(&e, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_string_equal(text, "id: 42\nevent: visit.checkin\ndata: "
                              "{\"id\":42,\"kind\":\"visit.checkin\",\"visit_id\":7,"
                              "\"note\":\"a\\nb\"}\n\n");
    free(text);

    /* A damaged row is not sent: not JSON, not an object, a kind that would break lines. */
    const char *bad_payloads[] = {"not json", "[1,2]", "{\"a\":1,\"a\":2}", NULL};
    for (size_t i = 0; i < sizeof bad_payloads / sizeof bad_payloads[0]; i++) {
        e = row(1, "visit.checkin", bad_payloads[i]);
        assert_null(event_text(&e, &len));
    }
    const char *bad_kinds[] = {"", "visit\nid: 9", "Visit", "visit checkin", NULL};
    for (size_t i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        e = row(1, bad_kinds[i], "{}");
        assert_null(event_text(&e, &len));
    }
}

/* ---- streams ---- */

static void test_stream_reads_in_pieces_and_ends(void **state)
{
    (void)state;
    struct stream_hub *h = bare_hub(4, 4096);
    struct principal who = {.user_id = 3, .organisation_id = 1, .roles = ROLE_WORKER};
    struct stream *s = NULL;
    ssize_t last;
    assert_int_equal(stream_new(h, &who, "", &s), 0);
    char *text = read_all(s, &last);
    assert_string_equal(text, ": events of notalone\n\n");
    assert_int_equal(last, 0);
    free(text);

    pthread_mutex_lock(&h->lock);
    stream_push_locked(s, "id: 1\n\n", 7);
    stream_push_locked(s, "id: 2\n\n", 7);
    s->ending = true;
    pthread_mutex_unlock(&h->lock);
    text = read_all(s, &last);
    assert_string_equal(text, "id: 1\n\nid: 2\n\n");
    /* What was queued is sent before the end. */
    assert_int_equal(last, MHD_CONTENT_READER_END_OF_STREAM);
    free(text);
    stream_free(s);
    assert_int_equal(h->n_streams, 0);
    bare_hub_free(h);
}

static void test_a_slow_client_is_dropped_not_waited_for(void **state)
{
    (void)state;
    char line[100];
    struct stream_hub *h = bare_hub(4, 1000);
    struct principal who = {.user_id = 3, .organisation_id = 1};
    struct stream *s = NULL;
    ssize_t last;
    assert_int_equal(stream_new(h, &who, "", &s), 0);
    memset(line, 'x', sizeof line);
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < 9; i++)
        stream_push_locked(s, line, sizeof line);
    assert_false(s->failed);
    pthread_mutex_unlock(&h->lock);
    /* Half read: the room read is reused. */
    char buf[500];
    assert_int_equal(stream_read(s, 0, buf, sizeof buf), (ssize_t)sizeof buf);
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < 4; i++)
        stream_push_locked(s, line, sizeof line);
    assert_false(s->failed);
    /* Past the buffer: the stream ends with an error at once, whatever is queued. */
    for (int i = 0; i < 4; i++)
        stream_push_locked(s, line, sizeof line);
    assert_true(s->failed && s->ending);
    pthread_mutex_unlock(&h->lock);
    free(read_all(s, &last));
    assert_int_equal(last, MHD_CONTENT_READER_END_WITH_ERROR);
    stream_free(s);
    bare_hub_free(h);
}

static void test_streams_are_limited_and_refused_when_closing(void **state)
{
    (void)state;
    struct stream_hub *h = bare_hub(2, 4096);
    struct principal who = {.user_id = 3, .organisation_id = 1};
    struct stream *a = NULL, *b = NULL, *c = NULL;
    int64_t last;
    assert_int_equal(stream_new(h, &who, "", &a), 0);
    assert_int_equal(stream_new(h, &who, "", &b), 0);
    assert_int_equal(stream_new(h, &who, "", &c), -NA_EUNAVAILABLE);
    assert_null(c);
    stream_free(b);
    assert_int_equal(stream_new(h, &who, "", &b), 0);
    assert_int_equal(stream_attach(a, STREAM_FROM_NOW, &last), 0);
    stream_hub_close(h);
    assert_true(a->ending);
    assert_int_equal(stream_attach(b, STREAM_FROM_NOW, &last), -NA_EUNAVAILABLE);
    stream_free(a);
    stream_free(b);
    assert_int_equal(stream_new(h, &who, "", &c), -NA_EUNAVAILABLE);
    assert_true(stream_hub_wait_empty(h, 10));
    bare_hub_free(h);
}

static void test_attach_never_skips_what_the_hub_handled(void **state)
{
    (void)state;
    struct stream_hub *h = bare_hub(4, 4096);
    struct principal who = {.user_id = 3, .organisation_id = 1};
    struct stream *s = NULL;
    int64_t hub_last = 0;
    h->last_id = 10;
    assert_int_equal(stream_new(h, &who, "", &s), 0);
    /* Resuming after 5: events 6..10 went by; the caller replays them first. */
    assert_int_equal(stream_attach(s, 5, &hub_last), -NA_ECONFLICT);
    assert_int_equal(hub_last, 10);
    assert_false(s->attached);
    /* Replayed up to 12 (committed, not yet handled by the hub): fine. */
    assert_int_equal(stream_attach(s, 12, &hub_last), 0);
    assert_int_equal(s->cursor, 12);
    stream_free(s);
    assert_int_equal(stream_new(h, &who, "", &s), 0);
    assert_int_equal(stream_attach(s, STREAM_FROM_NOW, &hub_last), 0);
    assert_int_equal(s->cursor, 10);
    stream_free(s);
    bare_hub_free(h);
}

/* ---- storage and the hub, on SQLite ---- */

struct db_file {
    char dir[64];
    char path[96];
};

static void db_file_init(struct db_file *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/na-stream-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/notalone.db", f->dir);
}

static void db_file_fini(struct db_file *f)
{
    char p[128];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

static int wakes;

static void count_wake(void *arg)
{
    (void)arg;
    wakes++;
}

static void test_events_are_written_at_commit_only(void **state)
{
    (void)state;
    struct db_file f;
    struct store *st = NULL;
    struct event_row *rows = NULL;
    size_t n = 0;
    int64_t org = 0, last = 0;
    db_file_init(&f);
    struct store_config cfg = {.path = f.path, .busy_timeout_ms = 1000, .on_events = count_wake};
    assert_int_equal(store_open(&cfg, &st), 0);
    assert_int_equal(store_migrate(st, NULL), 0);
    assert_int_equal(store_org_create(st, "Org", false, T0, &org), 0);
    struct event_new e = {.organisation_id = org,
                          .at = T0,
                          .kind = "visit.started",
                          .visit_id = 7,
                          .worker_id = 3,
                          .payload = "{}"};
    /* Outside a transaction an event could not be tied to its change. */
    assert_int_equal(store_event_add(st, &e), -NA_ESTORE);

    wakes = 0;
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_event_add(st, &e), 0);
    store_rollback(st);
    assert_int_equal(store_events_last_id(st, &last), 0);
    assert_int_equal(last, 0);
    assert_int_equal(wakes, 0);

    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_event_add(st, &e), 0);
    e.kind = "visit.checkin";
    assert_int_equal(store_event_add(st, &e), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(wakes, 1);
    assert_int_equal(store_events_after(st, org, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].kind, "visit.started");
    assert_string_equal(rows[1].kind, "visit.checkin");
    assert_true(rows[0].id < rows[1].id);
    assert_int_equal(rows[1].visit_id, 7);
    event_rows_free(rows, n);
    /* The newest of them when there are more than asked for, oldest first. */
    assert_int_equal(store_events_after(st, org, 0, 1, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].kind, "visit.checkin");
    event_rows_free(rows, n);
    assert_int_equal(store_events_after(st, org + 1, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    event_rows_free(rows, n);
    assert_int_equal(store_events_after(st, org, 0, 0, &rows, &n), -NA_EINVAL);
    /* A commit without events tells nobody. */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(wakes, 1);
    store_close(st);
    db_file_fini(&f);
}

static int64_t add_user(struct store *st, int64_t org, const char *name, unsigned roles)
{
    struct user_new u = {
        .organisation_id = org, .username = name, .display_name = name, .roles = roles, .now = T0};
    int64_t id = 0;
    assert_int_equal(store_user_create(st, &u, &id), 0);
    return id;
}

static int64_t add_visit(struct store *st, int64_t org, int64_t worker)
{
    struct visit_row v = {
        .organisation_id = org, .worker_id = worker, .kind = "visit", .address = "1 A Street"};
    v.clock.state = VISIT_PLANNED;
    v.clock.expected_arrival = T0;
    v.clock.expected_departure = T0 + 3600 * 1000;
    v.created_by = worker;
    v.created_at = T0;
    int64_t id = 0;
    assert_int_equal(store_visit_create(st, &v, &id), 0);
    return id;
}

static void commit_event(struct store *st, int64_t org, int64_t visit, const char *kind)
{
    struct event_new e = {
        .organisation_id = org, .at = T0, .kind = kind, .visit_id = visit, .payload = "{}"};
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_event_add(st, &e), 0);
    assert_int_equal(store_commit(st), 0);
}

/* Waits (real time, bounded) until the stream holds want; returns what it holds. */
static char *wait_for(struct stream *s, const char *want)
{
    char *text = NULL;
    ssize_t last;
    struct buf seen;
    buf_init(&seen, 1 << 20);
    for (int i = 0; i < 500 && !strstr(seen.data ? seen.data : "", want); i++) {
        text = read_all(s, &last);
        buf_append_str(&seen, text);
        free(text);
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return buf_take(&seen);
}

static void test_the_hub_delivers_to_those_who_see_the_visit(void **state)
{
    (void)state;
    struct db_file f;
    struct store *st = NULL;
    struct stream_hub *h = NULL;
    int64_t org = 0, other_org = 0, last = 0;
    db_file_init(&f);
    struct store_config cfg = {.path = f.path, .busy_timeout_ms = 1000};
    assert_int_equal(store_open(&cfg, &st), 0);
    assert_int_equal(store_migrate(st, NULL), 0);
    assert_int_equal(store_org_create(st, "Org", false, T0, &org), 0);
    assert_int_equal(store_org_create(st, "Other", false, T0, &other_org), 0);
    int64_t worker = add_user(st, org, "asha", ROLE_WORKER);
    int64_t colleague = add_user(st, org, "ben", ROLE_WORKER);
    int64_t operator= add_user(st, org, "olu", ROLE_OPERATOR);
    int64_t stranger = add_user(st, other_org, "sam", ROLE_OPERATOR);
    int64_t visit = add_visit(st, org, worker);
    int64_t colleagues_visit = add_visit(st, org, colleague);

    struct stream_hub_config hc = {
        .store = &cfg, .max_streams = 8, .max_buffer_bytes = 1 << 16, .keepalive_ms = 60000};
    assert_int_equal(stream_hub_new(&hc, &h), 0);
    /* The store wakes the hub from now on: a commit is seen at once, not at a poll. */
    store_close(st);
    cfg.on_events = stream_hub_wake;
    cfg.on_events_arg = h;
    assert_int_equal(store_open(&cfg, &st), 0);

    struct principal people[] = {
        {.user_id = worker, .organisation_id = org, .roles = ROLE_WORKER},
        {.user_id = colleague, .organisation_id = org, .roles = ROLE_WORKER},
        {.user_id = operator, .organisation_id = org, .roles = ROLE_OPERATOR},
        {.user_id = stranger, .organisation_id = other_org, .roles = ROLE_OPERATOR},
    };
    struct stream *s[4];
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(stream_new(h, &people[i], "", &s[i]), 0);
        assert_int_equal(stream_attach(s[i], STREAM_FROM_NOW, &last), 0);
    }
    commit_event(st, org, visit, "visit.started");
    commit_event(st, org, colleagues_visit, "visit.checkin");
    char *text[4];
    ssize_t end;
    /* Everyone's last event is the colleague's, which all but the stranger see; by then
     * the hub has handled both. */
    for (size_t i = 0; i < 3; i++)
        text[i] = wait_for(s[i], "event: visit.checkin");
    text[3] = read_all(s[3], &end);
    assert_non_null(strstr(text[0], "id: 1\nevent: visit.started\n"));
    assert_null(strstr(text[0], "visit.checkin"));
    assert_null(strstr(text[1], "visit.started"));
    assert_non_null(strstr(text[1], "id: 2\nevent: visit.checkin\n"));
    assert_non_null(strstr(text[2], "id: 1\nevent: visit.started\n"));
    assert_true(strstr(text[2], "visit.started") < strstr(text[2], "visit.checkin"));
    assert_null(strstr(text[3], "event:"));
    for (size_t i = 0; i < 4; i++) {
        free(text[i]);
        /* Another organisation's events are not even counted for the stranger. */
        assert_int_equal(s[i]->cursor, i == 3 ? 0 : 2);
        stream_free(s[i]);
    }
    stream_hub_close(h);
    assert_true(stream_hub_wait_empty(h, 100));
    stream_hub_free(h);
    store_close(st);
    db_file_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_text),
        cmocka_unit_test(test_stream_reads_in_pieces_and_ends),
        cmocka_unit_test(test_a_slow_client_is_dropped_not_waited_for),
        cmocka_unit_test(test_streams_are_limited_and_refused_when_closing),
        cmocka_unit_test(test_attach_never_skips_what_the_hub_handled),
        cmocka_unit_test(test_events_are_written_at_commit_only),
        cmocka_unit_test(test_the_hub_delivers_to_those_who_see_the_visit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
