/*
 * Tests of the ownership of due work among nodes (store_cluster.h): two or three store
 * connections with different node names on one database, on SQLite and, in the unit_pg
 * run, on PostgreSQL, where rows held by one transaction are passed over by another.
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

#include "core/roles.h"
#include "store/store.h"
#include "store/store_cluster.h"
#include "store/store_watch.h"
#include "util/error.h"

#define T0  1795000000000LL
#define MIN 60000LL

struct fx {
    struct test_db db;
    struct store *a; /* node "a" */
    struct store *b; /* node "b" */
    int64_t org, worker;
};

/* A connection to the test's database as node. */
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
    test_db_init(&f->db, "cluster");
    assert_int_equal(open_node(f, "a", &f->a), 0);
    assert_int_equal(open_node(f, "b", &f->b), 0);
    assert_int_equal(store_migrate(f->a, NULL), 0);
    assert_int_equal(store_org_create(f->a, "org", false, T0, &f->org), 0);
    struct user_new u = {.organisation_id = f->org,
                         .username = "worker",
                         .display_name = "Worker",
                         .roles = ROLE_WORKER,
                         .now = T0};
    assert_int_equal(store_user_create(f->a, &u, &f->worker), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->a);
    store_close(f->b);
    test_db_fini(&f->db);
    free(f);
    return 0;
}

/* An active visit written by st's node, due at deadline with a reminder 5 min before. */
static int64_t active_visit(struct fx *f, struct store *st, int64_t deadline)
{
    struct visit_row v = {.organisation_id = f->org, .worker_id = f->worker, .kind = "visit"};
    v.clock.state = VISIT_ACTIVE;
    v.clock.expected_arrival = T0;
    v.clock.expected_departure = deadline;
    v.clock.started_at = T0;
    v.clock.deadline_at = deadline;
    v.reminder_at = deadline - 5 * MIN;
    v.created_by = f->worker;
    v.created_at = T0;
    int64_t id = 0;
    assert_int_equal(store_visit_create(st, &v, &id), 0);
    return id;
}

static int64_t open_case(struct store *st, struct fx *f, int64_t visit, int64_t due)
{
    struct escalation_row e = {.organisation_id = f->org, .visit_id = visit};
    e.c.state = ESCALATION_OPEN;
    e.c.level = 0;
    e.c.level_due_at = due;
    e.c.opened_at = T0;
    int64_t id = 0;
    assert_int_equal(store_escalation_create(st, &e, &id), 0);
    return id;
}

static int64_t pending_delivery(struct store *st, struct fx *f, const char *key, int64_t due)
{
    struct outbox_row o = {.organisation_id = f->org,
                           .user_id = f->worker,
                           .channel = "log",
                           .event = "visit.reminder",
                           .subject = "s",
                           .body = "b",
                           .idempotency_key = (char *)key,
                           .next_attempt_at = due,
                           .created_at = T0};
    int64_t id = 0;
    assert_int_equal(store_outbox_add(st, &o, &id), 0);
    return id;
}

static bool owns(struct store *st, enum due_kind kind, int64_t id)
{
    bool mine = false;
    assert_int_equal(store_owns(st, kind, id, &mine), 0);
    return mine;
}

/* store_adopt in its own transaction; returns the number of rows taken. */
static size_t adopt(struct store *st, enum due_kind kind, const char *from, int64_t older_than,
                    int limit, struct adopted_row **rows)
{
    size_t n = 0;
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_adopt(st, kind, from, older_than, limit, rows, &n), 0);
    assert_int_equal(store_commit(st), 0);
    return n;
}

/* ---- tests ---- */

/* The node whose connection writes a row with due work owns it; a later write moves it. */
static void test_writer_owns_row(void **state)
{
    struct fx *f = *state;
    int64_t v = active_visit(f, f->a, T0 + 30 * MIN);
    assert_true(owns(f->a, DUE_VISIT, v));
    assert_false(owns(f->b, DUE_VISIT, v));

    struct adopted_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_owned_due(f->a, DUE_VISIT, INT64_MAX, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, v);
    assert_int_equal(rows[0].due_at, T0 + 30 * MIN);
    assert_int_equal(rows[0].reminder_at, T0 + 25 * MIN);
    free(rows);
    /* Only rows due by the bound: the reminder at +25 min counts, nothing before it. */
    assert_int_equal(store_owned_due(f->a, DUE_VISIT, T0 + 24 * MIN, &rows, &n), 0);
    assert_int_equal(n, 0);
    free(rows);
    assert_int_equal(store_owned_due(f->a, DUE_VISIT, T0 + 25 * MIN, &rows, &n), 0);
    assert_int_equal(n, 1);
    free(rows);

    /* A check-in on node b (a write of the visit) makes it b's to schedule. */
    struct visit_row row = {0};
    assert_int_equal(store_visit_get(f->b, f->org, v, &row), 0);
    row.clock.deadline_at = T0 + 60 * MIN;
    row.updated_at = T0 + MIN;
    assert_int_equal(store_visit_update(f->b, &row), 0);
    visit_row_fini(&row);
    assert_false(owns(f->a, DUE_VISIT, v));
    assert_true(owns(f->b, DUE_VISIT, v));
    assert_int_equal(store_owned_due(f->a, DUE_VISIT, INT64_MAX, &rows, &n), 0);
    assert_int_equal(n, 0);
    free(rows);
}

static void test_silent_nodes(void **state)
{
    struct fx *f = *state;
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(store_node_heartbeat(f->a, T0), 0);
    assert_int_equal(store_node_heartbeat(f->b, T0 + 20000), 0);
    /* b sees a silent when a's last heartbeat is before the bound; never itself. */
    assert_int_equal(store_nodes_silent(f->b, T0 + 1, &names, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "a");
    store_names_free(names, n);
    assert_int_equal(store_nodes_silent(f->b, T0, &names, &n), 0);
    assert_int_equal(n, 0);
    store_names_free(names, n);
    assert_int_equal(store_nodes_silent(f->a, INT64_MAX, &names, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "b");
    store_names_free(names, n);
    /* A later heartbeat of a: no longer silent. */
    assert_int_equal(store_node_heartbeat(f->a, T0 + 30000), 0);
    assert_int_equal(store_nodes_silent(f->b, T0 + 1, &names, &n), 0);
    assert_int_equal(n, 0);
    store_names_free(names, n);
    /* A node that leaves is silent at once. */
    assert_int_equal(store_node_leave(f->a), 0);
    assert_int_equal(store_nodes_silent(f->b, 1, &names, &n), 0);
    assert_int_equal(n, 1);
    store_names_free(names, n);
}

/* A survivor takes over every kind of work of a silent node, with its due times. */
static void test_adopt_from_silent_node(void **state)
{
    struct fx *f = *state;
    int64_t v1 = active_visit(f, f->a, T0 + 10 * MIN);
    int64_t v2 = active_visit(f, f->a, T0 + 20 * MIN);
    int64_t vb = active_visit(f, f->b, T0 + 30 * MIN);
    int64_t c = open_case(f->a, f, v1, T0 + 15 * MIN);
    int64_t o = pending_delivery(f->a, f, "k1", T0 + 11 * MIN);
    assert_int_equal(store_node_heartbeat(f->a, T0), 0);
    assert_int_equal(store_node_heartbeat(f->b, T0 + 60000), 0);

    struct adopted_row *rows = NULL;
    assert_int_equal(adopt(f->b, DUE_VISIT, "a", T0 + 1, 10, &rows), 2);
    assert_int_equal(rows[0].id, v1);
    assert_int_equal(rows[0].due_at, T0 + 10 * MIN);
    assert_int_equal(rows[1].id, v2);
    assert_int_equal(rows[1].reminder_at, T0 + 15 * MIN);
    free(rows);
    assert_int_equal(adopt(f->b, DUE_ESCALATION, "a", T0 + 1, 10, &rows), 1);
    assert_int_equal(rows[0].id, c);
    assert_int_equal(rows[0].due_at, T0 + 15 * MIN);
    free(rows);
    assert_int_equal(adopt(f->b, DUE_OUTBOX, "a", T0 + 1, 10, &rows), 1);
    assert_int_equal(rows[0].id, o);
    assert_int_equal(rows[0].due_at, T0 + 11 * MIN);
    free(rows);

    assert_true(owns(f->b, DUE_VISIT, v1));
    assert_true(owns(f->b, DUE_VISIT, v2));
    assert_true(owns(f->b, DUE_VISIT, vb));
    assert_true(owns(f->b, DUE_ESCALATION, c));
    assert_true(owns(f->b, DUE_OUTBOX, o));
    assert_false(owns(f->a, DUE_VISIT, v1));
    /* Nothing is left to take, and a's row can go. */
    assert_int_equal(adopt(f->b, DUE_VISIT, "a", T0 + 1, 10, &rows), 0);
    free(rows);
    assert_int_equal(store_node_forget(f->b, "a", T0 + 1), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM nodes WHERE name = 'a'"), 0);
}

/* Adoption goes by batches of limit, and leaves a node that came back alone. */
static void test_adopt_limit_and_return(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 5; i++)
        active_visit(f, f->a, T0 + (10 + i) * MIN);
    assert_int_equal(store_node_heartbeat(f->a, T0), 0);
    struct adopted_row *rows = NULL;
    assert_int_equal(adopt(f->b, DUE_VISIT, "a", T0 + 1, 2, &rows), 2);
    free(rows);
    /* a heartbeats again: its remaining rows are not taken, nor its node row deleted. */
    assert_int_equal(store_node_heartbeat(f->a, T0 + 5000), 0);
    assert_int_equal(adopt(f->b, DUE_VISIT, "a", T0 + 1, 10, &rows), 0);
    free(rows);
    assert_int_equal(store_node_forget(f->b, "a", T0 + 1), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM nodes WHERE name = 'a'"), 1);
    /* Silent again and still owning rows: not forgotten until they are taken. */
    assert_int_equal(store_node_forget(f->b, "a", T0 + 6000), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM nodes WHERE name = 'a'"), 1);
    assert_int_equal(adopt(f->b, DUE_VISIT, "a", T0 + 6000, 10, &rows), 3);
    free(rows);
    assert_int_equal(store_node_forget(f->b, "a", T0 + 6000), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM nodes WHERE name = 'a'"), 0);
}

/* Rows of no node at all (an older schema's, or a node whose row is gone) are taken too;
 * rows without due work (closed visits, sent deliveries) never are. */
static void test_adopt_orphans(void **state)
{
    struct fx *f = *state;
    int64_t v1 = active_visit(f, f->a, T0 + 10 * MIN);
    int64_t v2 = active_visit(f, f->a, T0 + 20 * MIN);
    int64_t closed = active_visit(f, f->a, T0 + 30 * MIN);
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE visits SET owner = NULL WHERE id = %lld", (long long)v1);
    test_db_exec(&f->db, sql);
    snprintf(sql, sizeof sql, "UPDATE visits SET state = 3, owner = NULL WHERE id = %lld",
             (long long)closed);
    test_db_exec(&f->db, sql);
    /* a never heartbeat: it has no row in nodes, so v2 is of no node either. */
    assert_int_equal(store_node_heartbeat(f->b, T0), 0);
    struct adopted_row *rows = NULL;
    assert_int_equal(adopt(f->b, DUE_VISIT, NULL, T0, 10, &rows), 2);
    assert_int_equal(rows[0].id, v1);
    assert_int_equal(rows[1].id, v2);
    free(rows);
    assert_true(owns(f->b, DUE_VISIT, v2));
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM visits WHERE id = %lld AND owner IS NULL",
             (long long)closed);
    assert_int_equal(test_db_int(&f->db, sql), 1);
}

static void test_owns_missing_row(void **state)
{
    struct fx *f = *state;
    bool mine = true;
    assert_int_equal(store_owns(f->a, DUE_VISIT, 424242, &mine), -NA_ENOTFOUND);
    assert_false(mine);
    assert_int_equal(store_owns(f->a, (enum due_kind)9, 1, &mine), -NA_EINVAL);
    struct adopted_row *rows = NULL;
    size_t n = 0;
    /* Adoption outside a transaction is a caller's mistake, not a silent autocommit. */
    assert_int_equal(store_adopt(f->a, DUE_VISIT, NULL, T0, 10, &rows, &n), -NA_EINVAL);
}

/* PostgreSQL: two survivors taking over at once never take the same row: rows one holds
 * are passed over by the other, which takes the rest. */
static void test_adopt_skips_held_rows(void **state)
{
    struct fx *f = *state;
    struct store *c = NULL;
    assert_int_equal(open_node(f, "c", &c), 0);
    for (int i = 0; i < 4; i++)
        active_visit(f, f->a, T0 + (10 + i) * MIN);
    assert_int_equal(store_node_heartbeat(f->a, T0), 0);

    struct adopted_row *held = NULL, *rest = NULL;
    size_t n_held = 0, n_rest = 0;
    assert_int_equal(store_begin(f->b), 0);
    assert_int_equal(store_adopt(f->b, DUE_VISIT, "a", T0 + 1, 2, &held, &n_held), 0);
    assert_int_equal(n_held, 2);
    /* b has not committed: c must not wait for it, nor take its two. */
    assert_int_equal(store_begin(c), 0);
    assert_int_equal(store_adopt(c, DUE_VISIT, "a", T0 + 1, 10, &rest, &n_rest), 0);
    assert_int_equal(n_rest, 2);
    for (size_t i = 0; i < n_held; i++)
        for (size_t j = 0; j < n_rest; j++)
            assert_int_not_equal(held[i].id, rest[j].id);
    assert_int_equal(store_commit(c), 0);
    assert_int_equal(store_commit(f->b), 0);
    assert_true(owns(f->b, DUE_VISIT, held[0].id));
    assert_true(owns(c, DUE_VISIT, rest[0].id));
    free(held);
    free(rest);
    store_close(c);
}

int main(void)
{
    const struct CMUnitTest both[] = {
        cmocka_unit_test_setup_teardown(test_writer_owns_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_from_silent_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_limit_and_return, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owns_missing_row, setup, teardown),
    };
    const struct CMUnitTest pg_only[] = {
        cmocka_unit_test_setup_teardown(test_adopt_skips_held_rows, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("store_cluster", both, NULL, NULL);
    if (test_db_is_pg())
        failed += cmocka_run_group_tests_name("store_cluster_pg", pg_only, NULL, NULL);
    return failed;
}
