/*
 * Tests of the storage of alerts and alarms (store_alarms.h), on SQLite and, in the
 * unit_pg run, on PostgreSQL: round trips of every field, idempotency of alert ids,
 * organisation scoping, orders, filters and paging, counts, evidence content, settings,
 * police URNs, the ownership of the new kinds of due work and events of alarms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_test_db.h"

/* The storage under test, for its limits taken as a parameter (alarm_times_max). */
#include "store/store_alarms.c"

#include "core/alarm.h"
#include "core/roles.h"
#include "store/store.h"
#include "store/store_alarms.h"
#include "store/store_cluster.h"
#include "store/store_events.h"
#include "store/store_watch.h"
#include "util/error.h"

#define T0  1795000000000LL
#define MIN 60000LL

struct fx {
    struct test_db db;
    struct store *st; /* node "a" */
    int64_t org, worker, operator;
    int64_t other_org, other_worker; /* another organisation */
};

static int64_t user(struct store *st, int64_t org, const char *name)
{
    struct user_new u = {.organisation_id = org,
                         .username = name,
                         .display_name = name,
                         .roles = ROLE_WORKER,
                         .now = T0};
    int64_t id = 0;
    assert_int_equal(store_user_create(st, &u, &id), 0);
    return id;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    test_db_init(&f->db, "alarms");
    assert_int_equal(test_db_open(&f->db, "a", &f->st), 0);
    assert_int_equal(store_migrate(f->st, NULL), 0);
    assert_int_equal(store_org_create(f->st, "org", false, T0, &f->org), 0);
    assert_int_equal(store_org_create(f->st, "other", false, T0, &f->other_org), 0);
    f->worker = user(f->st, f->org, "worker");
    f->operator= user(f->st, f->org, "operator");
    f->other_worker = user(f->st, f->other_org, "stranger");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    test_db_fini(&f->db);
    free(f);
    return 0;
}

/* An open red alarm of worker opened at `at`, with alert id alert (NULL: none). */
static struct alarm_row red_alarm(struct fx *f, int64_t worker, const char *alert, int64_t at)
{
    struct alarm_row r = {.organisation_id = worker == f->other_worker ? f->other_org : f->org,
                          .worker_id = worker};
    alarm_open(&r.clock, ALARM_RED, false, 30000, at);
    r.alert_id = (char *)alert;
    r.source = (char *)"api";
    return r;
}

static int64_t create_alarm(struct fx *f, const struct alarm_row *r)
{
    int64_t id = 0;
    assert_int_equal(store_alarm_create(f->st, r, &id), 0);
    assert_true(id > 0);
    return id;
}

static int64_t new_alarm(struct fx *f, int64_t worker, int64_t at)
{
    struct alarm_row r = red_alarm(f, worker, NULL, at);
    return create_alarm(f, &r);
}

/* got is want, field by field. */
static void assert_position(const struct position *got, const struct position *want)
{
    assert_int_equal(got->known, want->known);
    assert_true(got->latitude == want->latitude);
    assert_true(got->longitude == want->longitude);
    assert_true(got->accuracy_m == want->accuracy_m);
    assert_int_equal(got->at, want->at);
}

/* ---- alarms ---- */

/* Every field written comes back, and an update writes every mutable field. */
static void test_alarm_round_trip(void **state)
{
    struct fx *f = *state;
    struct visit_row v = {.organisation_id = f->org, .worker_id = f->worker, .kind = "visit"};
    v.clock.state = VISIT_ACTIVE;
    v.clock.expected_arrival = T0;
    v.clock.expected_departure = T0 + 60 * MIN;
    v.created_at = T0;
    int64_t visit = 0;
    assert_int_equal(store_visit_create(f->st, &v, &visit), 0);

    struct alarm_row r = red_alarm(f, f->worker, "alert-1", T0);
    r.visit_id = visit;
    r.amber_alert_id = 77;
    r.clock.duress = true;
    r.clock.kind = ALARM_DURESS;
    r.message = (char *)"help me";
    r.position = (struct position){.known = true,
                                   .latitude = 51.5072,
                                   .longitude = -0.1276,
                                   .accuracy_m = 12.5,
                                   .at = T0 - 1000};
    r.renotify_count = 2;
    int64_t id = create_alarm(f, &r);

    struct alarm_row g = {0};
    assert_int_equal(store_alarm_get(f->st, f->org, id, &g), 0);
    assert_int_equal(g.id, id);
    assert_int_equal(g.organisation_id, f->org);
    assert_int_equal(g.worker_id, f->worker);
    assert_int_equal(g.visit_id, visit);
    assert_int_equal(g.amber_alert_id, 77);
    assert_int_equal(g.clock.kind, ALARM_DURESS);
    assert_int_equal(g.clock.state, ALARM_OPEN);
    assert_true(g.clock.duress);
    assert_int_equal(g.clock.priority, ALARM_PRIORITY_RED);
    assert_int_equal(g.clock.opened_at, T0);
    assert_int_equal(g.clock.renotify_at, T0 + 30000);
    assert_int_equal(g.clock.claimed_by, 0);
    assert_int_equal(g.clock.claimed_at, 0);
    assert_int_equal(g.clock.first_claimed_at, 0);
    assert_int_equal(g.clock.cancelled_at, 0);
    assert_int_equal(g.clock.closed_by, 0);
    assert_int_equal(g.clock.closed_at, 0);
    assert_int_equal(g.clock.outcome, ALARM_OUTCOME_NONE);
    assert_string_equal(g.alert_id, "alert-1");
    assert_string_equal(g.source, "api");
    assert_string_equal(g.message, "help me");
    assert_position(&g.position, &r.position);
    assert_null(g.found_safe);
    assert_null(g.close_note);
    assert_null(g.police_urn);
    assert_null(g.police_reference);
    assert_int_equal(g.renotify_count, 2);
    assert_int_equal(g.updated_at, T0);
    /* Optional references stored as NULL, not 0. */
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM alarms WHERE id = %lld AND claimed_by IS NULL "
             "AND closed_at IS NULL AND cancelled_at IS NULL",
             (long long)id);
    assert_int_equal(test_db_int(&f->db, sql), 1);

    /* Claim, then close: every mutable field changes. */
    assert_int_equal(alarm_claim(&g.clock, f->operator, false, T0 + 5000), 0);
    assert_int_equal(alarm_close(&g.clock, ALARM_OUTCOME_GENUINE, f->operator, T0 + 9000), 0);
    g.clock.cancelled_at = T0 + 4000;
    g.clock.priority = ALARM_PRIORITY_CANCELLED;
    g.found_safe = strdup("spoke to the worker");
    g.close_note = strdup("all well");
    g.police_urn = strdup("URN/1");
    g.police_reference = strdup("CAD 123");
    g.renotify_count = 3;
    g.position = (struct position){.known = true, .latitude = 1.25, .longitude = 2.5, .at = T0};
    g.updated_at = T0 + 9000;
    assert_int_equal(store_alarm_update(f->st, &g), 0);
    alarm_row_fini(&g);

    assert_int_equal(store_alarm_get_any(f->st, id, &g), 0);
    assert_int_equal(g.clock.state, ALARM_CLOSED);
    assert_int_equal(g.clock.claimed_by, f->operator);
    assert_int_equal(g.clock.claimed_at, T0 + 5000);
    assert_int_equal(g.clock.first_claimed_at, T0 + 5000);
    assert_int_equal(g.clock.cancelled_at, T0 + 4000);
    assert_int_equal(g.clock.priority, ALARM_PRIORITY_CANCELLED);
    assert_int_equal(g.clock.closed_by, f->operator);
    assert_int_equal(g.clock.closed_at, T0 + 9000);
    assert_int_equal(g.clock.outcome, ALARM_OUTCOME_GENUINE);
    assert_int_equal(g.clock.renotify_at, 0);
    assert_string_equal(g.found_safe, "spoke to the worker");
    assert_string_equal(g.close_note, "all well");
    assert_string_equal(g.police_urn, "URN/1");
    assert_string_equal(g.police_reference, "CAD 123");
    assert_int_equal(g.renotify_count, 3);
    assert_position(&g.position, &(struct position){
                                     .known = true, .latitude = 1.25, .longitude = 2.5, .at = T0});
    assert_int_equal(g.updated_at, T0 + 9000);
    /* What an update does not write stays. */
    assert_string_equal(g.message, "help me");
    assert_string_equal(g.alert_id, "alert-1");
    assert_int_equal(g.visit_id, visit);
    /* A position can be forgotten. */
    g.position = (struct position){0};
    assert_int_equal(store_alarm_update(f->st, &g), 0);
    alarm_row_fini(&g);
    assert_int_equal(store_alarm_get(f->st, f->org, id, &g), 0);
    assert_false(g.position.known);
    assert_int_equal(g.position.at, 0);
    alarm_row_fini(&g);
}

/* Open and claimed alarms by priority, then oldest, then id; closed ones never. */
static void test_alarm_queue_order(void **state)
{
    struct fx *f = *state;
    int64_t late = new_alarm(f, f->worker, T0 + 2000);
    int64_t early = new_alarm(f, f->worker, T0 + 1000);
    int64_t same = new_alarm(f, f->worker, T0 + 1000);
    struct alarm_row amber = red_alarm(f, f->worker, NULL, T0);
    alarm_open(&amber.clock, ALARM_AMBER, false, 0, T0);
    int64_t amber_id = create_alarm(f, &amber);
    struct alarm_row closed = red_alarm(f, f->worker, NULL, T0);
    closed.clock.state = ALARM_CLOSED;
    closed.clock.outcome = ALARM_OUTCOME_GENUINE;
    closed.clock.closed_at = T0 + 1;
    create_alarm(f, &closed);
    struct alarm_row claimed = red_alarm(f, f->worker, NULL, T0 + 3000);
    assert_int_equal(alarm_claim(&claimed.clock, f->operator, false, T0 + 3500), 0);
    int64_t claimed_id = create_alarm(f, &claimed);
    new_alarm(f, f->other_worker, T0); /* not this organisation's: never listed */

    struct alarm_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_alarm_queue(f->st, f->org, 100, &rows, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(rows[0].id, early);
    assert_int_equal(rows[1].id, same);
    assert_int_equal(rows[2].id, late);
    assert_int_equal(rows[3].id, claimed_id);
    assert_int_equal(rows[4].id, amber_id);
    assert_int_equal(rows[3].clock.claimed_by, f->operator);
    alarm_rows_free(rows, n);
    assert_int_equal(store_alarm_queue(f->st, f->org, 2, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[1].id, same);
    alarm_rows_free(rows, n);
    assert_int_equal(store_alarm_queue(f->st, f->org, 0, &rows, &n), -NA_EINVAL);
    assert_int_equal(store_alarm_queue(f->st, f->org, STORE_LIST_MAX + 1, &rows, &n), -NA_EINVAL);
}

/* A retried alert (same worker, same alert id) opens no second alarm; ids are per worker. */
static void test_alarm_alert_id(void **state)
{
    struct fx *f = *state;
    struct alarm_row r = red_alarm(f, f->worker, "press-1", T0);
    int64_t id = create_alarm(f, &r), again = 0;
    r.clock.opened_at = T0 + 1000;
    assert_int_equal(store_alarm_create(f->st, &r, &again), -NA_ECONFLICT);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM alarms"), 1);
    /* Another worker may use the same id; alarms without an id never collide. */
    struct alarm_row o = red_alarm(f, f->operator, "press-1", T0);
    create_alarm(f, &o);
    struct alarm_row none = red_alarm(f, f->worker, NULL, T0);
    create_alarm(f, &none);
    create_alarm(f, &none);

    /* In a transaction, as a retried alert is handled: the conflict leaves it usable. */
    struct alarm_row g = {0};
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_alarm_create(f->st, &r, &again), -NA_ECONFLICT);
    assert_int_equal(store_alarm_by_alert_id(f->st, f->org, f->worker, "press-1", &g), 0);
    assert_int_equal(g.id, id);
    g.renotify_count = 1;
    assert_int_equal(store_alarm_update(f->st, &g), 0);
    assert_int_equal(store_commit(f->st), 0);
    alarm_row_fini(&g);
    assert_int_equal(store_alarm_by_alert_id(f->st, f->org, f->worker, "press-1", &g), 0);
    assert_int_equal(g.id, id);
    assert_int_equal(g.renotify_count, 1);
    assert_int_equal(g.clock.opened_at, T0);
    alarm_row_fini(&g);
    assert_int_equal(store_alarm_by_alert_id(f->st, f->org, f->worker, "press-2", &g),
                     -NA_ENOTFOUND);
    assert_int_equal(store_alarm_by_alert_id(f->st, f->other_org, f->worker, "press-1", &g),
                     -NA_ENOTFOUND);
    assert_int_equal(store_alarm_by_alert_id(f->st, f->org, f->worker, NULL, &g), -NA_EINVAL);
}

/* Another organisation's alarms are not found, read, written or added to. */
static void test_alarm_organisation_scope(void **state)
{
    struct fx *f = *state;
    int64_t id = new_alarm(f, f->worker, T0);
    struct alarm_row g = {0};
    assert_int_equal(store_alarm_get(f->st, f->other_org, id, &g), -NA_ENOTFOUND);
    assert_int_equal(store_alarm_get(f->st, f->org, id + 100, &g), -NA_ENOTFOUND);
    assert_int_equal(store_alarm_get_any(f->st, id + 100, &g), -NA_ENOTFOUND);
    assert_int_equal(store_alarm_get(f->st, f->org, id, &g), 0);
    g.organisation_id = f->other_org;
    g.clock.state = ALARM_CLOSED;
    assert_int_equal(store_alarm_update(f->st, &g), -NA_ENOTFOUND);
    alarm_row_fini(&g);
    assert_int_equal(store_alarm_get(f->st, f->org, id, &g), 0);
    assert_int_equal(g.clock.state, ALARM_OPEN);
    alarm_row_fini(&g);

    /* A worker, or a visit, of another organisation: no alarm. */
    struct alarm_row r = red_alarm(f, f->worker, NULL, T0);
    r.organisation_id = f->other_org;
    int64_t none = 0;
    assert_int_equal(store_alarm_create(f->st, &r, &none), -NA_ENOTFOUND);
    struct visit_row v = {.organisation_id = f->other_org, .worker_id = f->other_worker};
    v.kind = (char *)"visit";
    v.clock.state = VISIT_ACTIVE;
    int64_t visit = 0;
    assert_int_equal(store_visit_create(f->st, &v, &visit), 0);
    r = red_alarm(f, f->worker, NULL, T0);
    r.visit_id = visit;
    assert_int_equal(store_alarm_create(f->st, &r, &none), -NA_ENOTFOUND);
    /* Bad enums and missing fields are the caller's error. */
    r = red_alarm(f, f->worker, NULL, T0);
    r.clock.state = 0;
    assert_int_equal(store_alarm_create(f->st, &r, &none), -NA_EINVAL);
    r = red_alarm(f, f->worker, NULL, T0);
    r.clock.outcome = 9;
    assert_int_equal(store_alarm_create(f->st, &r, &none), -NA_EINVAL);
    r = red_alarm(f, f->worker, NULL, T0);
    r.source = NULL;
    assert_int_equal(store_alarm_create(f->st, &r, &none), -NA_EINVAL);

    struct alarm_event e = {.alarm_id = id, .organisation_id = f->other_org, .at = T0};
    e.kind = "note";
    assert_int_equal(store_alarm_event_add(f->st, &e), -NA_ENOTFOUND);
    struct alarm_event_row *ev = NULL;
    size_t n = 7;
    assert_int_equal(store_alarm_events(f->st, f->other_org, id, &ev, &n), -NA_ENOTFOUND);
    assert_null(ev);
    assert_int_equal(n, 0);
    struct alarm_row *rows = NULL;
    assert_int_equal(store_alarm_queue(f->st, f->other_org, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    alarm_rows_free(rows, n);
    assert_int_equal(store_alarm_list(f->st, f->other_org, NULL, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    alarm_rows_free(rows, n);
}

/* Newest first, by state and by worker, in pages before an id. */
static void test_alarm_list(void **state)
{
    struct fx *f = *state;
    int64_t ids[6];
    for (int i = 0; i < 6; i++)
        ids[i] = new_alarm(f, i % 2 ? f->operator : f->worker, T0 + i);
    struct alarm_row g = {0};
    assert_int_equal(store_alarm_get(f->st, f->org, ids[2], &g), 0);
    assert_int_equal(alarm_close(&g.clock, ALARM_OUTCOME_GENUINE, f->operator, T0 + 10), 0);
    assert_int_equal(store_alarm_update(f->st, &g), 0);
    alarm_row_fini(&g);
    new_alarm(f, f->other_worker, T0);

    struct alarm_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_alarm_list(f->st, f->org, NULL, 0, 100, &rows, &n), 0);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rows[i].id, ids[5 - i]);
    alarm_rows_free(rows, n);
    /* Pages of two: before the last id seen. */
    assert_int_equal(store_alarm_list(f->st, f->org, NULL, ids[4], 2, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, ids[3]);
    assert_int_equal(rows[1].id, ids[2]);
    alarm_rows_free(rows, n);
    assert_int_equal(store_alarm_list(f->st, f->org, NULL, ids[0], 2, &rows, &n), 0);
    assert_int_equal(n, 0);
    alarm_rows_free(rows, n);

    struct alarm_filter by_worker = {.worker_id = f->worker};
    assert_int_equal(store_alarm_list(f->st, f->org, &by_worker, 0, 100, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].id, ids[4]);
    assert_int_equal(rows[1].id, ids[2]);
    assert_int_equal(rows[2].id, ids[0]);
    alarm_rows_free(rows, n);
    struct alarm_filter closed = {.state = ALARM_CLOSED};
    assert_int_equal(store_alarm_list(f->st, f->org, &closed, 0, 100, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, ids[2]);
    alarm_rows_free(rows, n);
    struct alarm_filter open_worker = {.state = ALARM_OPEN, .worker_id = f->worker};
    assert_int_equal(store_alarm_list(f->st, f->org, &open_worker, ids[4], 100, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, ids[0]);
    alarm_rows_free(rows, n);

    struct alarm_filter bad = {.state = 4};
    assert_int_equal(store_alarm_list(f->st, f->org, &bad, 0, 10, &rows, &n), -NA_EINVAL);
    assert_int_equal(store_alarm_list(f->st, f->org, NULL, 0, 0, &rows, &n), -NA_EINVAL);
    assert_int_equal(store_alarm_list(f->st, f->org, NULL, -1, 10, &rows, &n), -NA_EINVAL);
}

/* A closed alarm of worker at closed_at with outcome, passed to the police under urn. */
static void closed_alarm(struct fx *f, int64_t worker, enum alarm_outcome outcome, const char *urn,
                         int64_t closed_at)
{
    struct alarm_row r = red_alarm(f, worker, NULL, closed_at - 1000);
    assert_int_equal(alarm_close(&r.clock, outcome, f->operator, closed_at), 0);
    r.police_urn = (char *)urn;
    create_alarm(f, &r);
}

/* False alarms are counted per worker and per police URN, from a time on. */
static void test_alarm_count_false(void **state)
{
    struct fx *f = *state;
    closed_alarm(f, f->worker, ALARM_OUTCOME_FALSE_ACCIDENTAL, "URN-A", T0);
    closed_alarm(f, f->worker, ALARM_OUTCOME_FALSE_MALICIOUS, "URN-A", T0 + 10 * MIN);
    closed_alarm(f, f->worker, ALARM_OUTCOME_GENUINE, "URN-A", T0 + 20 * MIN);
    closed_alarm(f, f->worker, ALARM_OUTCOME_TEST, NULL, T0 + 20 * MIN);
    closed_alarm(f, f->operator, ALARM_OUTCOME_FALSE_ACCIDENTAL, "URN-A", T0 + 30 * MIN);
    closed_alarm(f, f->operator, ALARM_OUTCOME_FALSE_ACCIDENTAL, "URN-B", T0 + 30 * MIN);
    new_alarm(f, f->worker, T0); /* open: no outcome yet */
    struct alarm_row other = red_alarm(f, f->other_worker, NULL, T0);
    assert_int_equal(alarm_close(&other.clock, ALARM_OUTCOME_FALSE_ACCIDENTAL, 0, T0 + 1), 0);
    other.police_urn = (char *)"URN-A";
    create_alarm(f, &other);

    int64_t n = -1;
    assert_int_equal(store_alarm_count_false(f->st, f->org, f->worker, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_alarm_count_false(f->st, f->org, f->worker, T0 + 1, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_alarm_count_false(f->st, f->org, f->worker, T0 + 10 * MIN, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_alarm_count_false(f->st, f->org, f->operator, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_alarm_count_false(f->st, f->other_org, f->worker, 0, &n), 0);
    assert_int_equal(n, 0);

    assert_int_equal(store_alarm_count_false_urn(f->st, f->org, "URN-A", 0, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(store_alarm_count_false_urn(f->st, f->org, "URN-A", T0 + 10 * MIN, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_alarm_count_false_urn(f->st, f->org, "URN-A", T0 + 31 * MIN, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_alarm_count_false_urn(f->st, f->org, "URN-B", 0, &n), 0);
    assert_int_equal(n, 1);
    /* Compared exactly. */
    assert_int_equal(store_alarm_count_false_urn(f->st, f->org, "urn-a", 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_alarm_count_false_urn(f->st, f->other_org, "URN-A", 0, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_alarm_count_false_urn(f->st, f->org, NULL, 0, &n), -NA_EINVAL);
}

/* Red and duress alarms opened in [from, to), oldest first, with their answer times. */
static void test_alarm_times(void **state)
{
    struct fx *f = *state;
    struct alarm_row r = red_alarm(f, f->worker, NULL, T0 + 2000);
    assert_int_equal(alarm_claim(&r.clock, f->operator, false, T0 + 7000), 0);
    assert_int_equal(alarm_close(&r.clock, ALARM_OUTCOME_GENUINE, f->operator, T0 + 9000), 0);
    create_alarm(f, &r);
    struct alarm_row d = red_alarm(f, f->worker, NULL, T0);
    alarm_open(&d.clock, ALARM_DURESS, true, 0, T0 + 1000);
    create_alarm(f, &d);
    struct alarm_row t = red_alarm(f, f->worker, NULL, T0);
    alarm_open(&t.clock, ALARM_TEST, false, 0, T0 + 1500);
    create_alarm(f, &t);
    struct alarm_row a = red_alarm(f, f->worker, NULL, T0);
    alarm_open(&a.clock, ALARM_AMBER, false, 0, T0 + 1500);
    create_alarm(f, &a);
    new_alarm(f, f->worker, T0 + 5000); /* at `to`: outside */
    new_alarm(f, f->other_worker, T0 + 2000);

    struct alarm_times *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_alarm_times(f->st, f->org, T0, T0 + 5000, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].opened_at, T0 + 1000);
    assert_int_equal(rows[0].first_claimed_at, 0);
    assert_int_equal(rows[0].closed_at, 0);
    assert_int_equal(rows[0].outcome, ALARM_OUTCOME_NONE);
    assert_int_equal(rows[1].opened_at, T0 + 2000);
    assert_int_equal(rows[1].first_claimed_at, T0 + 7000);
    assert_int_equal(rows[1].closed_at, T0 + 9000);
    assert_int_equal(rows[1].outcome, ALARM_OUTCOME_GENUINE);
    free(rows);
    assert_int_equal(store_alarm_times(f->st, f->org, T0 + 1001, T0 + 5001, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[1].opened_at, T0 + 5000);
    free(rows);
    assert_int_equal(store_alarm_times(f->st, f->org, T0 + 5, T0, &rows, &n), -NA_EINVAL);
}

/* One row past the most in the period is refused, not truncated. The most is made small
 * through alarm_times_max, the guard store_alarm_times runs with STORE_ALARM_TIMES_MAX. */
static void test_alarm_times_limit(void **state)
{
    struct fx *f = *state;
    enum { MOST = 5 };
    struct alarm_times *rows = NULL;
    size_t n = 0;

    for (int i = 1; i <= MOST; i++)
        new_alarm(f, f->worker, T0 + i);
    /* Exactly the most is fine. */
    assert_int_equal(alarm_times_max(f->st, f->org, T0, T0 + MIN, MOST, &rows, &n), 0);
    assert_int_equal(n, MOST);
    assert_int_equal(rows[0].opened_at, T0 + 1);
    assert_int_equal(rows[n - 1].opened_at, T0 + MOST);
    free(rows);
    new_alarm(f, f->worker, T0 + MOST + 1);
    rows = (struct alarm_times *)1;
    n = 1;
    assert_int_equal(alarm_times_max(f->st, f->org, T0, T0 + MIN, MOST, &rows, &n), -NA_ETOOBIG);
    assert_null(rows);
    assert_int_equal(n, 0);
    /* Only the period's rows count. */
    assert_int_equal(alarm_times_max(f->st, f->org, T0 + 2, T0 + MIN, MOST, &rows, &n), 0);
    assert_int_equal(n, MOST);
    assert_int_equal(rows[0].opened_at, T0 + 2);
    free(rows);
    /* The public read takes them all, far below its own most. */
    assert_int_equal(store_alarm_times(f->st, f->org, T0, T0 + MIN, &rows, &n), 0);
    assert_int_equal(n, MOST + 1);
    free(rows);
}

/* The timeline comes oldest first (by time, then as added), every field kept. */
static void test_alarm_timeline(void **state)
{
    struct fx *f = *state;
    int64_t id = new_alarm(f, f->worker, T0);
    struct alarm_event e = {.alarm_id = id, .organisation_id = f->org};
    e.kind = "opened";
    e.at = T0;
    assert_int_equal(store_alarm_event_add(f->st, &e), 0);
    e = (struct alarm_event){.alarm_id = id, .organisation_id = f->org, .at = T0 + 5000};
    e.kind = "call";
    e.actor_id = f->operator;
    e.detail = "called 999";
    e.data = "{\"to\":\"999\",\"reference\":\"CAD 1\"}";
    assert_int_equal(store_alarm_event_add(f->st, &e), 0);
    /* Added later but earlier in time (a device's own timestamp). */
    e = (struct alarm_event){.alarm_id = id, .organisation_id = f->org, .at = T0 + 1000};
    e.kind = "notified";
    assert_int_equal(store_alarm_event_add(f->st, &e), 0);
    e.kind = "renotified";
    assert_int_equal(store_alarm_event_add(f->st, &e), 0);
    e.kind = NULL;
    assert_int_equal(store_alarm_event_add(f->st, &e), -NA_EINVAL);
    e.kind = "note";
    e.alarm_id = id + 100;
    assert_int_equal(store_alarm_event_add(f->st, &e), -NA_ENOTFOUND);

    struct alarm_event_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_alarm_events(f->st, f->org, id, &rows, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(rows[0].kind, "opened");
    assert_int_equal(rows[0].actor_id, 0);
    assert_null(rows[0].detail);
    assert_null(rows[0].data);
    assert_string_equal(rows[1].kind, "notified");
    assert_string_equal(rows[2].kind, "renotified");
    assert_true(rows[1].id < rows[2].id);
    assert_int_equal(rows[2].at, T0 + 1000);
    assert_string_equal(rows[3].kind, "call");
    assert_int_equal(rows[3].at, T0 + 5000);
    assert_int_equal(rows[3].actor_id, f->operator);
    assert_string_equal(rows[3].detail, "called 999");
    assert_string_equal(rows[3].data, "{\"to\":\"999\",\"reference\":\"CAD 1\"}");
    alarm_event_rows_free(rows, n);
    /* An alarm without lines: empty, not missing. */
    int64_t quiet = new_alarm(f, f->worker, T0);
    assert_int_equal(store_alarm_events(f->st, f->org, quiet, &rows, &n), 0);
    assert_int_equal(n, 0);
    alarm_event_rows_free(rows, n);
}

/* ---- amber alerts ---- */

static int64_t new_amber(struct fx *f, const char *alert, int state, int64_t deadline)
{
    struct amber_row a = {.organisation_id = f->org, .worker_id = f->worker, .state = state};
    a.alert_id = (char *)alert;
    a.status = (char *)"entering flat 3";
    a.deadline_at = deadline;
    a.created_at = T0;
    int64_t id = 0;
    assert_int_equal(store_amber_create(f->st, &a, &id), 0);
    return id;
}

static void test_amber_round_trip(void **state)
{
    struct fx *f = *state;
    struct amber_row a = {.organisation_id = f->org, .worker_id = f->worker};
    a.alert_id = (char *)"amber-1";
    a.status = (char *)"visiting 12 High St";
    a.position = (struct position){
        .known = true, .latitude = 53.48, .longitude = -2.24, .accuracy_m = 8, .at = T0 - 10};
    a.state = AMBER_WATCHING;
    a.deadline_at = T0 + 30 * MIN;
    a.created_at = T0;
    int64_t id = 0, again = 0;
    assert_int_equal(store_amber_create(f->st, &a, &id), 0);
    assert_int_equal(store_amber_create(f->st, &a, &again), -NA_ECONFLICT);

    struct amber_row g = {0};
    assert_int_equal(store_amber_get(f->st, f->org, id, &g), 0);
    assert_int_equal(g.id, id);
    assert_int_equal(g.organisation_id, f->org);
    assert_int_equal(g.worker_id, f->worker);
    assert_int_equal(g.visit_id, 0);
    assert_string_equal(g.alert_id, "amber-1");
    assert_string_equal(g.status, "visiting 12 High St");
    assert_position(&g.position, &a.position);
    assert_int_equal(g.state, AMBER_WATCHING);
    assert_int_equal(g.deadline_at, T0 + 30 * MIN);
    assert_int_equal(g.cleared_at, 0);
    assert_int_equal(g.alarm_id, 0);
    assert_int_equal(g.created_at, T0);

    int64_t alarm = new_alarm(f, f->worker, T0 + 30 * MIN);
    g.state = AMBER_ALARMED;
    g.alarm_id = alarm;
    g.cleared_at = T0 + MIN;
    assert_int_equal(store_amber_update(f->st, &g), 0);
    amber_row_fini(&g);
    assert_int_equal(store_amber_by_alert_id(f->st, f->org, f->worker, "amber-1", &g), 0);
    assert_int_equal(g.id, id);
    assert_int_equal(g.state, AMBER_ALARMED);
    assert_int_equal(g.alarm_id, alarm);
    assert_int_equal(g.cleared_at, T0 + MIN);
    assert_int_equal(g.deadline_at, T0 + 30 * MIN);
    amber_row_fini(&g);
    assert_int_equal(store_amber_get_any(f->st, id, &g), 0);
    assert_int_equal(g.alarm_id, alarm);
    amber_row_fini(&g);

    /* Another organisation's view, unknown ids, and bad rows. */
    assert_int_equal(store_amber_get(f->st, f->other_org, id, &g), -NA_ENOTFOUND);
    assert_int_equal(store_amber_by_alert_id(f->st, f->org, f->worker, "amber-2", &g),
                     -NA_ENOTFOUND);
    assert_int_equal(store_amber_get_any(f->st, id + 100, &g), -NA_ENOTFOUND);
    a.alert_id = NULL;
    a.organisation_id = f->other_org;
    assert_int_equal(store_amber_create(f->st, &a, &again), -NA_ENOTFOUND);
    a.organisation_id = f->org;
    a.state = 4;
    assert_int_equal(store_amber_create(f->st, &a, &again), -NA_EINVAL);
    a.state = AMBER_KEPT;
    a.status = NULL;
    assert_int_equal(store_amber_create(f->st, &a, &again), -NA_EINVAL);
    struct amber_row wrong = {.id = id, .organisation_id = f->other_org, .worker_id = f->worker};
    wrong.status = (char *)"x";
    wrong.state = AMBER_KEPT;
    assert_int_equal(store_amber_update(f->st, &wrong), -NA_ENOTFOUND);
}

/* A worker's amber alerts newest first in pages; those watching a deadline by id. */
static void test_amber_list_and_watching(void **state)
{
    struct fx *f = *state;
    int64_t kept = new_amber(f, NULL, AMBER_KEPT, 0);
    int64_t w1 = new_amber(f, "w1", AMBER_WATCHING, T0 + MIN);
    int64_t alarmed = new_amber(f, "x", AMBER_ALARMED, T0 + MIN);
    int64_t w2 = new_amber(f, "w2", AMBER_WATCHING, T0 + 2 * MIN);
    struct amber_row o = {.organisation_id = f->org, .worker_id = f->operator};
    o.status = (char *)"other worker";
    o.state = AMBER_WATCHING;
    int64_t theirs = 0;
    assert_int_equal(store_amber_create(f->st, &o, &theirs), 0);

    struct amber_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_amber_list(f->st, f->org, f->worker, 0, 100, &rows, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(rows[0].id, w2);
    assert_int_equal(rows[1].id, alarmed);
    assert_int_equal(rows[2].id, w1);
    assert_int_equal(rows[3].id, kept);
    assert_null(rows[3].alert_id);
    assert_false(rows[3].position.known);
    amber_rows_free(rows, n);
    assert_int_equal(store_amber_list(f->st, f->org, f->worker, alarmed, 1, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, w1);
    amber_rows_free(rows, n);
    assert_int_equal(store_amber_list(f->st, f->other_org, f->worker, 0, 100, &rows, &n), 0);
    assert_int_equal(n, 0);
    amber_rows_free(rows, n);
    assert_int_equal(store_amber_list(f->st, f->org, f->worker, 0, 0, &rows, &n), -NA_EINVAL);

    int64_t *ids = NULL;
    assert_int_equal(store_amber_watching(f->st, f->org, f->worker, &ids, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], w1);
    assert_int_equal(ids[1], w2);
    free(ids);
    assert_int_equal(store_amber_watching(f->st, f->other_org, f->worker, &ids, &n), 0);
    assert_int_equal(n, 0);
    free(ids);
}

/* ---- positions ---- */

static void add_position(struct fx *f, const char *source, int64_t at, int64_t received)
{
    struct position_new p = {.organisation_id = f->org, .worker_id = f->worker, .source = source};
    p.position = (struct position){.known = true, .latitude = 50, .longitude = at % 1000, .at = at};
    p.received_at = received;
    assert_int_equal(store_position_add(f->st, &p), 0);
}

/* The trail comes newest fix first, from since on, at most limit. */
static void test_position_trail(void **state)
{
    struct fx *f = *state;
    add_position(f, "device", T0 + 3000, T0 + 9000);
    add_position(f, "amber", T0 + 1000, T0 + 1100);
    add_position(f, "red", T0 + 2000, T0 + 2100);
    struct position_new p = {.organisation_id = f->org, .worker_id = f->worker, .visit_id = 42};
    p.source = "checkin";
    p.position =
        (struct position){.known = true, .latitude = -33.5, .longitude = 151.25, .accuracy_m = 4.5};
    p.received_at = T0 + 4000; /* no fix time: taken at receipt */
    assert_int_equal(store_position_add(f->st, &p), 0);

    struct position_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_position_trail(f->st, f->org, f->worker, 0, 100, &rows, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(rows[0].source, "checkin");
    assert_int_equal(rows[0].visit_id, 42);
    assert_int_equal(rows[0].received_at, T0 + 4000);
    p.position.at = T0 + 4000;
    assert_position(&rows[0].position, &p.position);
    assert_string_equal(rows[1].source, "device");
    assert_int_equal(rows[1].received_at, T0 + 9000);
    assert_int_equal(rows[1].visit_id, 0);
    assert_true(rows[1].position.accuracy_m == 0);
    assert_string_equal(rows[2].source, "red");
    assert_string_equal(rows[3].source, "amber");
    position_rows_free(rows, n);
    assert_int_equal(store_position_trail(f->st, f->org, f->worker, T0 + 2000, 100, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[2].source, "red");
    position_rows_free(rows, n);
    assert_int_equal(store_position_trail(f->st, f->org, f->worker, 0, 2, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[1].source, "device");
    position_rows_free(rows, n);
    assert_int_equal(store_position_trail(f->st, f->other_org, f->worker, 0, 100, &rows, &n), 0);
    assert_int_equal(n, 0);
    position_rows_free(rows, n);
    assert_int_equal(store_position_trail(f->st, f->org, f->worker, 0, 0, &rows, &n), -NA_EINVAL);

    /* No fix, no source, another organisation's worker. */
    p.position.known = false;
    assert_int_equal(store_position_add(f->st, &p), -NA_EINVAL);
    p.position.known = true;
    p.source = NULL;
    assert_int_equal(store_position_add(f->st, &p), -NA_EINVAL);
    p.source = "device";
    p.organisation_id = f->other_org;
    assert_int_equal(store_position_add(f->st, &p), -NA_ENOTFOUND);
}

/* ---- alert profiles ---- */

static void test_alert_profile(void **state)
{
    struct fx *f = *state;
    struct alert_profile g;
    memset(&g, 0x5a, sizeof g);
    g.code_hash = NULL;
    g.duress_hash = NULL;
    assert_int_equal(store_alert_profile_get(f->st, f->org, f->worker, &g), -NA_ENOTFOUND);
    assert_int_equal(g.user_id, 0);
    assert_null(g.code_hash);
    assert_int_equal(g.battery_pct, -1);
    assert_int_equal(g.test_due_at, 0);

    struct alert_profile p = {.user_id = f->worker, .organisation_id = f->org};
    p.code_hash = (char *)"$argon2id$code";
    p.duress_hash = (char *)"$argon2id$duress";
    p.location_consent = true;
    p.consent_changed_at = T0 + 1;
    p.battery_pct = 15;
    p.battery_at = T0 + 2;
    p.low_battery_told_at = T0 + 3;
    p.device_tested_at = T0 + 4;
    p.test_due_at = T0 + 5;
    p.updated_at = T0 + 6;
    assert_int_equal(store_alert_profile_put(f->st, &p), 0);
    assert_int_equal(store_alert_profile_get(f->st, f->org, f->worker, &g), 0);
    assert_int_equal(g.user_id, f->worker);
    assert_int_equal(g.organisation_id, f->org);
    assert_string_equal(g.code_hash, "$argon2id$code");
    assert_string_equal(g.duress_hash, "$argon2id$duress");
    assert_true(g.location_consent);
    assert_int_equal(g.consent_changed_at, T0 + 1);
    assert_int_equal(g.battery_pct, 15);
    assert_int_equal(g.battery_at, T0 + 2);
    assert_int_equal(g.low_battery_told_at, T0 + 3);
    assert_int_equal(g.device_tested_at, T0 + 4);
    assert_int_equal(g.test_due_at, T0 + 5);
    assert_int_equal(g.updated_at, T0 + 6);
    alert_profile_fini(&g);

    /* A second put replaces every field; absent values come back absent. */
    struct alert_profile q = {.user_id = f->worker, .organisation_id = f->org};
    q.battery_pct = -1;
    q.updated_at = T0 + 60;
    assert_int_equal(store_alert_profile_put(f->st, &q), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM alert_profiles"), 1);
    assert_int_equal(store_alert_profile_get_any(f->st, f->worker, &g), 0);
    assert_null(g.code_hash);
    assert_null(g.duress_hash);
    assert_false(g.location_consent);
    assert_int_equal(g.consent_changed_at, 0);
    assert_int_equal(g.battery_pct, -1);
    assert_int_equal(g.battery_at, 0);
    assert_int_equal(g.low_battery_told_at, 0);
    assert_int_equal(g.device_tested_at, 0);
    assert_int_equal(g.test_due_at, 0);
    assert_int_equal(g.updated_at, T0 + 60);
    alert_profile_fini(&g);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM alert_profiles "
                                         "WHERE battery_pct IS NULL AND test_due_at IS NULL"),
                     1);
    /* An empty battery is a reading, not an absence. */
    q.battery_pct = 0;
    assert_int_equal(store_alert_profile_put(f->st, &q), 0);
    assert_int_equal(store_alert_profile_get(f->st, f->org, f->worker, &g), 0);
    assert_int_equal(g.battery_pct, 0);
    alert_profile_fini(&g);

    /* Another organisation's user, or view, and an unknown user. */
    assert_int_equal(store_alert_profile_get(f->st, f->other_org, f->worker, &g), -NA_ENOTFOUND);
    assert_int_equal(store_alert_profile_get_any(f->st, f->operator, & g), -NA_ENOTFOUND);
    assert_int_equal(g.battery_pct, -1);
    struct alert_profile x = {.user_id = f->other_worker, .organisation_id = f->org};
    x.battery_pct = -1;
    assert_int_equal(store_alert_profile_put(f->st, &x), -NA_ENOTFOUND);
    x.user_id = 999999;
    assert_int_equal(store_alert_profile_put(f->st, &x), -NA_ENOTFOUND);
    x.user_id = f->operator;
    x.battery_pct = 101;
    assert_int_equal(store_alert_profile_put(f->st, &x), -NA_EINVAL);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM alert_profiles"), 1);
}

/* ---- evidence ---- */

static void test_evidence(void **state)
{
    struct fx *f = *state;
    int64_t alarm = new_alarm(f, f->worker, T0);
    unsigned char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + (i >> 3));
    data[0] = 0;
    data[1] = 0xff;
    data[150] = 0;
    data[299] = 0x80;
    struct evidence_row r = {.organisation_id = f->org, .alarm_id = alarm};
    r.kind = (char *)"audio";
    r.name = (char *)"call.ogg";
    r.content_type = (char *)"audio/ogg";
    r.size = sizeof data;
    r.sha256 = (char *)"ab12";
    r.uploaded_by = f->operator;
    r.uploaded_at = T0 + 1;
    int64_t id = 0, empty = 0;
    assert_int_equal(store_evidence_add(f->st, &r, data, &id), 0);
    struct evidence_row e = r;
    e.kind = (char *)"file";
    e.name = NULL;
    e.content_type = (char *)"text/plain";
    e.size = 0;
    e.uploaded_by = 0;
    assert_int_equal(store_evidence_add(f->st, &e, NULL, &empty), 0);

    struct evidence_row g = {0};
    void *content = NULL;
    assert_int_equal(store_evidence_get(f->st, f->org, id, &g, &content), 0);
    assert_int_equal(g.id, id);
    assert_int_equal(g.organisation_id, f->org);
    assert_int_equal(g.alarm_id, alarm);
    assert_string_equal(g.kind, "audio");
    assert_string_equal(g.name, "call.ogg");
    assert_string_equal(g.content_type, "audio/ogg");
    assert_int_equal(g.size, sizeof data);
    assert_string_equal(g.sha256, "ab12");
    assert_int_equal(g.uploaded_by, f->operator);
    assert_int_equal(g.uploaded_at, T0 + 1);
    assert_non_null(content);
    assert_memory_equal(content, data, sizeof data);
    free(content);
    evidence_row_fini(&g);
    /* Without the content. */
    assert_int_equal(store_evidence_get(f->st, f->org, id, &g, NULL), 0);
    assert_int_equal(g.size, sizeof data);
    evidence_row_fini(&g);
    assert_int_equal(store_evidence_get(f->st, f->org, empty, &g, &content), 0);
    assert_int_equal(g.size, 0);
    assert_null(g.name);
    assert_int_equal(g.uploaded_by, 0);
    assert_non_null(content);
    free(content);
    evidence_row_fini(&g);

    struct evidence_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_evidence_list(f->st, f->org, alarm, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, id);
    assert_int_equal(rows[1].id, empty);
    assert_string_equal(rows[1].kind, "file");
    evidence_rows_free(rows, n);

    /* Another organisation: neither listed, read nor added to. */
    assert_int_equal(store_evidence_list(f->st, f->other_org, alarm, &rows, &n), -NA_ENOTFOUND);
    content = (void *)1;
    assert_int_equal(store_evidence_get(f->st, f->other_org, id, &g, &content), -NA_ENOTFOUND);
    assert_null(content);
    r.organisation_id = f->other_org;
    assert_int_equal(store_evidence_add(f->st, &r, data, &id), -NA_ENOTFOUND);
    r.organisation_id = f->org;

    /* The size limit, checked before anything is read from data. */
    unsigned char *big = calloc(STORE_EVIDENCE_MAX + 1, 1);
    assert_non_null(big);
    r.size = (int64_t)STORE_EVIDENCE_MAX + 1;
    assert_int_equal(store_evidence_add(f->st, &r, big, &id), -NA_ETOOBIG);
    r.size = -1;
    assert_int_equal(store_evidence_add(f->st, &r, big, &id), -NA_EINVAL);
    r.size = 10;
    assert_int_equal(store_evidence_add(f->st, &r, NULL, &id), -NA_EINVAL);
    /* Exactly the most is kept whole. */
    big[0] = 0xfe;
    big[STORE_EVIDENCE_MAX - 1] = 0x01;
    r.size = STORE_EVIDENCE_MAX;
    assert_int_equal(store_evidence_add(f->st, &r, big, &id), 0);
    assert_int_equal(store_evidence_get(f->st, f->org, id, &g, &content), 0);
    assert_int_equal(g.size, STORE_EVIDENCE_MAX);
    assert_memory_equal(content, big, STORE_EVIDENCE_MAX);
    free(content);
    evidence_row_fini(&g);
    free(big);
    /* Content that is not what its row says is a storage error, not a short read. */
    test_db_exec(&f->db, "UPDATE evidence SET content = 'AAAA' WHERE size = 300");
    struct evidence_row bad = {0};
    assert_int_equal(store_evidence_list(f->st, f->org, alarm, &rows, &n), 0);
    int64_t first = rows[0].id;
    evidence_rows_free(rows, n);
    assert_int_equal(store_evidence_get(f->st, f->org, first, &bad, &content), -NA_ESTORE);
    assert_null(bad.kind);
}

/* ---- settings and URNs ---- */

static void test_alarm_settings(void **state)
{
    struct fx *f = *state;
    char *json = (char *)"x";
    assert_int_equal(store_alarm_settings_get(f->st, f->org, &json), -NA_ENOTFOUND);
    assert_null(json);
    assert_int_equal(store_alarm_settings_put(f->st, f->org, "{\"renotify_s\":30}", T0), 0);
    assert_int_equal(store_alarm_settings_get(f->st, f->org, &json), 0);
    assert_string_equal(json, "{\"renotify_s\":30}");
    free(json);
    assert_int_equal(store_alarm_settings_put(f->st, f->org, "{\"renotify_s\":60}", T0 + 1), 0);
    assert_int_equal(store_alarm_settings_get(f->st, f->org, &json), 0);
    assert_string_equal(json, "{\"renotify_s\":60}");
    free(json);
    assert_int_equal(test_db_int(&f->db, "SELECT updated_at - 1795000000000 FROM alarm_settings"),
                     1);
    assert_int_equal(store_alarm_settings_get(f->st, f->other_org, &json), -NA_ENOTFOUND);
    assert_int_equal(store_alarm_settings_put(f->st, 999999, "{}", T0), -NA_ENOTFOUND);
    assert_int_equal(store_alarm_settings_put(f->st, f->org, NULL, T0), -NA_EINVAL);
}

static int64_t new_team(struct fx *f, int64_t org, const char *name)
{
    int64_t id = 0;
    assert_int_equal(store_team_create(f->st, org, name, 0, T0, &id), 0);
    return id;
}

static int64_t new_urn(struct fx *f, int64_t org, int64_t team, const char *urn, int expect)
{
    struct urn_row r = {.organisation_id = org, .team_id = team, .created_at = T0};
    r.urn = (char *)urn;
    r.label = team ? (char *)"site" : NULL;
    int64_t id = 0;
    assert_int_equal(store_urn_create(f->st, &r, &id), expect);
    return id;
}

/* One URN per organisation and per team; list and delete in the organisation only. */
static void test_urns(void **state)
{
    struct fx *f = *state;
    int64_t t1 = new_team(f, f->org, "north");
    int64_t t2 = new_team(f, f->org, "south");
    int64_t theirs = new_team(f, f->other_org, "theirs");
    int64_t org_urn = new_urn(f, f->org, 0, "URN/ORG", 0);
    new_urn(f, f->org, 0, "URN/ORG2", -NA_ECONFLICT);
    int64_t u1 = new_urn(f, f->org, t1, "URN/N", 0);
    new_urn(f, f->org, t1, "URN/N2", -NA_ECONFLICT);
    new_urn(f, f->org, t2, "URN/S", 0);
    new_urn(f, f->org, theirs, "URN/X", -NA_ENOTFOUND);
    new_urn(f, f->other_org, 0, "URN/ORG", 0); /* scopes are per organisation */
    new_urn(f, f->org, 0, NULL, -NA_EINVAL);

    struct urn_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_urn_list(f->st, f->org, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].id, org_urn);
    assert_int_equal(rows[0].team_id, 0);
    assert_string_equal(rows[0].urn, "URN/ORG");
    assert_null(rows[0].label);
    assert_int_equal(rows[0].created_at, T0);
    assert_int_equal(rows[1].id, u1);
    assert_int_equal(rows[1].team_id, t1);
    assert_int_equal(rows[1].organisation_id, f->org);
    assert_string_equal(rows[1].label, "site");
    urn_rows_free(rows, n);

    assert_int_equal(store_urn_delete(f->st, f->other_org, u1), -NA_ENOTFOUND);
    assert_int_equal(store_urn_delete(f->st, f->org, u1), 0);
    assert_int_equal(store_urn_delete(f->st, f->org, u1), -NA_ENOTFOUND);
    /* Its scope is free again. */
    new_urn(f, f->org, t1, "URN/N3", 0);
    assert_int_equal(store_urn_list(f->st, f->other_org, &rows, &n), 0);
    assert_int_equal(n, 1);
    urn_rows_free(rows, n);
}

/* A worker's URN: their lowest-numbered team that has one, else the organisation's. */
static void test_urn_for_worker(void **state)
{
    struct fx *f = *state;
    struct urn_row u = {0};
    assert_int_equal(store_urn_for_worker(f->st, f->org, f->worker, &u), -NA_ENOTFOUND);
    int64_t t1 = new_team(f, f->org, "one");
    int64_t t2 = new_team(f, f->org, "two");
    int64_t t3 = new_team(f, f->org, "three");
    assert_int_equal(store_team_add_member(f->st, f->org, t2, f->worker), 0);
    assert_int_equal(store_team_add_member(f->st, f->org, t3, f->worker), 0);
    new_urn(f, f->org, t1, "URN/ONE", 0); /* not the worker's team */
    new_urn(f, f->org, 0, "URN/ORG", 0);
    assert_int_equal(store_urn_for_worker(f->st, f->org, f->worker, &u), 0);
    assert_string_equal(u.urn, "URN/ORG");
    assert_int_equal(u.team_id, 0);
    urn_row_fini(&u);
    new_urn(f, f->org, t3, "URN/THREE", 0);
    assert_int_equal(store_urn_for_worker(f->st, f->org, f->worker, &u), 0);
    assert_string_equal(u.urn, "URN/THREE");
    urn_row_fini(&u);
    new_urn(f, f->org, t2, "URN/TWO", 0);
    assert_int_equal(store_urn_for_worker(f->st, f->org, f->worker, &u), 0);
    assert_string_equal(u.urn, "URN/TWO");
    assert_int_equal(u.team_id, t2);
    urn_row_fini(&u);
    /* A worker in no team gets the organisation's; another organisation's worker none. */
    assert_int_equal(store_urn_for_worker(f->st, f->org, f->operator, & u), 0);
    assert_string_equal(u.urn, "URN/ORG");
    urn_row_fini(&u);
    assert_int_equal(store_urn_for_worker(f->st, f->org, f->other_worker, &u), -NA_ENOTFOUND);
    assert_null(u.urn);
}

/* ---- due work of several nodes ---- */

static bool owns(struct store *st, enum due_kind kind, int64_t id)
{
    bool mine = false;
    assert_int_equal(store_owns(st, kind, id, &mine), 0);
    return mine;
}

static size_t adopt(struct store *st, enum due_kind kind, const char *from, int64_t older_than,
                    struct adopted_row **rows)
{
    size_t n = 0;
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_adopt(st, kind, from, older_than, 10, rows, &n), 0);
    assert_int_equal(store_commit(st), 0);
    return n;
}

/* Open alarms, watching amber alerts and profiles with a test due are this node's work;
 * a silent node's are taken over, and the node is forgotten only once they are. */
static void test_due_work(void **state)
{
    struct fx *f = *state;
    struct store *b = NULL;
    assert_int_equal(test_db_open(&f->db, "b", &b), 0);
    int64_t alarm = new_alarm(f, f->worker, T0); /* renotify at T0 + 30 s */
    struct alarm_row quiet = red_alarm(f, f->worker, NULL, T0);
    alarm_open(&quiet.clock, ALARM_RED, false, 0, T0); /* open, never re-notified */
    int64_t quiet_id = create_alarm(f, &quiet);
    int64_t amber = new_amber(f, "w", AMBER_WATCHING, T0 + 10 * MIN);
    int64_t kept = new_amber(f, "k", AMBER_KEPT, 0);
    struct alert_profile p = {.user_id = f->worker, .organisation_id = f->org};
    p.battery_pct = -1;
    p.test_due_at = T0 + 60 * MIN;
    assert_int_equal(store_alert_profile_put(f->st, &p), 0);
    struct alert_profile none = {.user_id = f->operator, .organisation_id = f->org };
    none.battery_pct = -1;
    assert_int_equal(store_alert_profile_put(f->st, &none), 0);

    assert_true(owns(f->st, DUE_ALARM, alarm));
    assert_true(owns(f->st, DUE_ALARM, quiet_id));
    assert_false(owns(b, DUE_ALARM, alarm));
    assert_true(owns(f->st, DUE_AMBER, amber));
    assert_false(owns(f->st, DUE_AMBER, kept));
    assert_true(owns(f->st, DUE_DEVICE, f->worker));
    assert_false(owns(f->st, DUE_DEVICE, f->operator));
    bool mine = true;
    assert_int_equal(store_owns(f->st, DUE_DEVICE, f->other_worker, &mine), -NA_ENOTFOUND);

    int64_t id = 0, due = 0;
    assert_int_equal(test_owned_due(f->st, DUE_ALARM, INT64_MAX, &id, &due), 1);
    assert_int_equal(id, alarm);
    assert_int_equal(due, T0 + 30000);
    assert_int_equal(test_owned_due(f->st, DUE_ALARM, T0 + 29999, &id, &due), 0);
    assert_int_equal(test_owned_due(f->st, DUE_AMBER, INT64_MAX, &id, &due), 1);
    assert_int_equal(id, amber);
    assert_int_equal(due, T0 + 10 * MIN);
    assert_int_equal(test_owned_due(f->st, DUE_DEVICE, T0 + 60 * MIN, &id, &due), 1);
    assert_int_equal(id, f->worker);
    assert_int_equal(due, T0 + 60 * MIN);
    assert_int_equal(test_owned_due(f->st, DUE_DEVICE, T0 + 60 * MIN - 1, &id, &due), 0);

    /* a goes silent; b takes everything over, with the due times. */
    assert_int_equal(store_node_heartbeat(f->st, T0), 0);
    assert_int_equal(store_node_heartbeat(b, T0 + MIN), 0);
    assert_int_equal(store_node_forget(b, "a", T0 + 1), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM nodes WHERE name = 'a'"), 1);
    struct adopted_row *rows = NULL;
    assert_int_equal(adopt(b, DUE_ALARM, "a", T0 + 1, &rows), 2);
    assert_int_equal(rows[0].id, alarm);
    assert_int_equal(rows[0].due_at, T0 + 30000);
    assert_int_equal(rows[1].id, quiet_id);
    assert_int_equal(rows[1].due_at, 0);
    free(rows);
    assert_int_equal(store_node_forget(b, "a", T0 + 1), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM nodes WHERE name = 'a'"), 1);
    assert_int_equal(adopt(b, DUE_AMBER, "a", T0 + 1, &rows), 1);
    assert_int_equal(rows[0].id, amber);
    assert_int_equal(rows[0].due_at, T0 + 10 * MIN);
    free(rows);
    assert_int_equal(store_node_forget(b, "a", T0 + 1), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM nodes WHERE name = 'a'"), 1);
    assert_int_equal(adopt(b, DUE_DEVICE, "a", T0 + 1, &rows), 1);
    assert_int_equal(rows[0].id, f->worker);
    assert_int_equal(rows[0].due_at, T0 + 60 * MIN);
    free(rows);
    assert_true(owns(b, DUE_ALARM, alarm));
    assert_true(owns(b, DUE_AMBER, amber));
    assert_true(owns(b, DUE_DEVICE, f->worker));
    assert_false(owns(f->st, DUE_DEVICE, f->worker));
    assert_int_equal(test_owned_due(f->st, DUE_ALARM, INT64_MAX, &id, &due), 0);
    assert_int_equal(test_owned_due(b, DUE_AMBER, INT64_MAX, &id, &due), 1);
    assert_int_equal(store_node_forget(b, "a", T0 + 1), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM nodes WHERE name = 'a'"), 0);

    /* Rows without work have no owner and are never adopted; writes set and clear it. */
    assert_int_equal(adopt(b, DUE_AMBER, NULL, T0, &rows), 0);
    free(rows);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM amber_alerts WHERE owner IS NULL"),
                     1);
    struct alarm_row g = {0};
    assert_int_equal(store_alarm_get(f->st, f->org, alarm, &g), 0);
    assert_int_equal(alarm_claim(&g.clock, f->operator, false, T0 + 1000), 0);
    assert_int_equal(store_alarm_update(f->st, &g), 0);
    alarm_row_fini(&g);
    assert_int_equal(store_owns(f->st, DUE_ALARM, alarm, &mine), 0);
    assert_false(mine);
    assert_int_equal(test_owned_due(b, DUE_ALARM, INT64_MAX, &id, &due), 0);
    assert_int_equal(store_alarm_get(b, f->org, quiet_id, &g), 0);
    g.updated_at = T0 + 2;
    assert_int_equal(store_alarm_update(f->st, &g), 0); /* written by a: a's again */
    alarm_row_fini(&g);
    assert_true(owns(f->st, DUE_ALARM, quiet_id));
    p.test_due_at = 0;
    assert_int_equal(store_alert_profile_put(b, &p), 0);
    assert_false(owns(b, DUE_DEVICE, f->worker));
    assert_int_equal(test_owned_due(b, DUE_DEVICE, INT64_MAX, &id, &due), 0);
    store_close(b);
}

/* Rows of the new kinds with no owner at all (or a vanished one) are taken by the first
 * node to look. */
static void test_due_work_orphans(void **state)
{
    struct fx *f = *state;
    int64_t alarm = new_alarm(f, f->worker, T0);
    int64_t amber = new_amber(f, "w", AMBER_WATCHING, T0 + MIN);
    struct alert_profile p = {.user_id = f->worker, .organisation_id = f->org};
    p.battery_pct = -1;
    p.test_due_at = T0 + 60 * MIN;
    assert_int_equal(store_alert_profile_put(f->st, &p), 0);
    test_db_exec(&f->db, "UPDATE alarms SET owner = NULL");
    test_db_exec(&f->db, "UPDATE amber_alerts SET owner = 'gone'");
    test_db_exec(&f->db, "UPDATE alert_profiles SET owner = NULL");
    struct adopted_row *rows = NULL;
    assert_int_equal(adopt(f->st, DUE_ALARM, NULL, T0, &rows), 1);
    assert_int_equal(rows[0].id, alarm);
    free(rows);
    assert_int_equal(adopt(f->st, DUE_AMBER, NULL, T0, &rows), 1);
    assert_int_equal(rows[0].id, amber);
    free(rows);
    assert_int_equal(adopt(f->st, DUE_DEVICE, NULL, T0, &rows), 1);
    assert_int_equal(rows[0].id, f->worker);
    free(rows);
    assert_true(owns(f->st, DUE_ALARM, alarm));
    assert_true(owns(f->st, DUE_AMBER, amber));
    assert_true(owns(f->st, DUE_DEVICE, f->worker));
}

/* ---- events of alarms ---- */

static void test_alarm_events_stream(void **state)
{
    struct fx *f = *state;
    int64_t alarm = new_alarm(f, f->worker, T0);
    struct event_new e = {.organisation_id = f->org, .at = T0, .kind = "alarm.opened"};
    e.worker_id = f->worker;
    e.alarm_id = alarm;
    e.payload = "{}";
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_event_add(f->st, &e), 0);
    struct event_new neither = e;
    neither.alarm_id = 0;
    assert_int_equal(store_event_add(f->st, &neither), -NA_EINVAL);
    struct event_new visit = e;
    visit.alarm_id = 0;
    visit.visit_id = 5;
    visit.kind = "visit.started";
    assert_int_equal(store_event_add(f->st, &visit), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM events WHERE visit_id IS NULL "
                                         "AND alarm_id IS NOT NULL"),
                     1);

    struct event_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_events_after(f->st, f->org, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].kind, "alarm.opened");
    assert_int_equal(rows[0].alarm_id, alarm);
    assert_int_equal(rows[0].visit_id, 0);
    assert_int_equal(rows[0].worker_id, f->worker);
    assert_int_equal(rows[1].alarm_id, 0);
    assert_int_equal(rows[1].visit_id, 5);
    event_rows_free(rows, n);
    assert_int_equal(store_events_next(f->st, 0, 1, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].alarm_id, alarm);
    event_rows_free(rows, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alarm_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_queue_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_alert_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_organisation_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_count_false, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_times_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_timeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amber_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amber_list_and_watching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_position_trail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urn_for_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_work_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_events_stream, setup, teardown),
    };
    return cmocka_run_group_tests_name("store_alarms", tests, NULL, NULL);
}
