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

static int open_node(struct fx *f, const char *node, struct store **out)
{
    struct store_config cfg = test_db_config(&f->db, 2000);
    cfg.node = node;
    return store_open(&cfg, out);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    test_db_init(&f->db, "alarms");
    assert_int_equal(open_node(f, "a", &f->st), 0);
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
    assert_true(g.position.known);
    assert_true(g.position.latitude == 51.5072);
    assert_true(g.position.longitude == -0.1276);
    assert_true(g.position.accuracy_m == 12.5);
    assert_int_equal(g.position.at, T0 - 1000);
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
    assert_true(g.position.known);
    assert_true(g.position.latitude == 1.25);
    assert_true(g.position.accuracy_m == 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alarm_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_queue_order, setup, teardown),
    };
    return cmocka_run_group_tests_name("store_alarms", tests, NULL, NULL);
}
