/*
 * Tests of the watch storage (store_watch.h): visits, timelines, escalation cases, links,
 * the outbox, channels, policies and the scheduler's start-up queries, on a real database:
 * a SQLite file in a temporary directory, or a new PostgreSQL database when
 * NOTALONE_TEST_PG_DIR is set (store_test_db.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/roles.h"
#include "store/store.h"
#include "store/store_cluster.h"
#include "store/store_internal.h"
#include "store/store_watch.h"
#include "util/error.h"

#include "store_test_db.h"

#define T0  1795000000000LL /* a fixed "now", ms */
#define MIN 60000LL

struct fixture {
    struct test_db db;
    struct store *st;
};

static int open_store(struct fixture *fx)
{
    struct store_config cfg = test_db_config(&fx->db, 1000);
    return store_open(&cfg, &fx->st);
}

static int setup_empty(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    assert_non_null(fx);
    test_db_init(&fx->db, "test_store_watch");
    assert_int_equal(open_store(fx), 0);
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    struct fixture *fx;
    int version = 0;

    setup_empty(state);
    fx = *state;
    assert_int_equal(store_migrate(fx->st, &version), 0);
    assert_int_equal(version, store_schema_version_latest());
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    store_close(fx->st);
    test_db_fini(&fx->db);
    free(fx);
    return 0;
}

/* ---- helpers ---- */

static int64_t mk_org(struct store *st, const char *name)
{
    int64_t id = 0;
    assert_int_equal(store_org_create(st, name, false, T0, &id), 0);
    return id;
}

static int64_t mk_user(struct store *st, int64_t org, const char *username)
{
    struct user_new u = {.organisation_id = org,
                         .username = username,
                         .display_name = username,
                         .roles = ROLE_WORKER,
                         .now = T0};
    int64_t id = 0;
    assert_int_equal(store_user_create(st, &u, &id), 0);
    return id;
}

static int64_t mk_team(struct store *st, int64_t org, const char *name, int64_t manager)
{
    int64_t id = 0;
    assert_int_equal(store_team_create(st, org, name, manager, T0, &id), 0);
    return id;
}

/* A planned visit of worker in org with only the required fields. */
static struct visit_row plain_visit(int64_t org, int64_t worker)
{
    struct visit_row v = {.organisation_id = org, .worker_id = worker, .kind = "visit"};
    v.clock.state = VISIT_PLANNED;
    v.clock.expected_arrival = T0 + 10 * MIN;
    v.clock.expected_departure = T0 + 70 * MIN;
    v.created_by = worker;
    v.created_at = T0;
    return v;
}

static int64_t mk_visit(struct store *st, int64_t org, int64_t worker, int64_t buddy,
                        enum visit_state state)
{
    struct visit_row v = plain_visit(org, worker);
    int64_t id = 0;

    v.buddy_id = buddy;
    v.clock.state = state;
    if (state == VISIT_ACTIVE) {
        v.clock.started_at = T0;
        v.clock.deadline_at = T0 + 70 * MIN;
    }
    assert_int_equal(store_visit_create(st, &v, &id), 0);
    assert_true(id > 0);
    return id;
}

static int64_t mk_case(struct store *st, int64_t org, int64_t visit)
{
    struct escalation_row e = {.organisation_id = org, .visit_id = visit};
    int64_t id = 0;

    e.c.state = ESCALATION_OPEN;
    e.c.opened_at = T0;
    e.c.level_due_at = T0 + 10 * MIN;
    e.missed_deadline_at = T0 - MIN;
    assert_int_equal(store_escalation_create(st, &e, &id), 0);
    assert_true(id > 0);
    return id;
}

static int64_t mk_outbox(struct store *st, int64_t org, int64_t esc, const char *key,
                         int64_t next_attempt_at)
{
    struct outbox_row o = {.organisation_id = org,
                           .escalation_id = esc,
                           .channel = "log",
                           .event = "escalation.notify",
                           .subject = "Worker overdue",
                           .body = "{}",
                           .idempotency_key = (char *)key,
                           .next_attempt_at = next_attempt_at,
                           .created_at = T0};
    int64_t id = 0;
    assert_int_equal(store_outbox_add(st, &o, &id), 0);
    return id;
}

static void assert_str_or_null(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

/* Doubles compared bit for bit: stored coordinates must come back exactly. */
static void assert_same_double(double got, double want)
{
    assert_memory_equal(&got, &want, sizeof got);
}

/* ---- schema ---- */

static const char *const new_tables[] = {"visits",           "visit_events",       "escalations",
                                         "escalation_steps", "ack_links",          "outbox",
                                         "contact_channels", "escalation_policies"};

static void assert_new_tables(const struct test_db *db)
{
    for (size_t i = 0; i < sizeof new_tables / sizeof new_tables[0]; i++)
        assert_int_equal(test_db_has_table(db, new_tables[i]), 1);
}

static void test_migrate_empty_to_2(void **state)
{
    struct fixture *fx = *state;
    int v = -1;

    assert_true(store_schema_version_latest() >= 2);
    assert_int_equal(store_migrate(fx->st, &v), 0);
    assert_int_equal(v, store_schema_version_latest());
    assert_int_equal(
        test_db_int(&fx->db, "SELECT COUNT(*) FROM schema_migrations WHERE version = 2"), 1);
    assert_new_tables(&fx->db);
}

/* A file at version 1 with data, as an earlier binary left it, migrates to the latest. */
static void test_migrate_from_1(void **state)
{
    struct fixture *fx = *state;
    char *script = migrations_script(fx->st->ops, 1);
    struct user_row u;
    struct visit_row got;
    int64_t org;
    int64_t worker;
    int64_t visit;
    int v = -1;

    assert_non_null(script);
    assert_int_equal(store_begin(fx->st), 0);
    assert_int_equal(fx->st->ops->exec(fx->st->db, script), 0);
    assert_int_equal(st_exec(fx->st, "INSERT INTO schema_migrations VALUES (1, 0)", NO_PARAMS), 0);
    assert_int_equal(store_commit(fx->st), 0);
    free(script);
    assert_int_equal(store_schema_version(fx->st, &v), 0);
    assert_int_equal(v, 1);
    org = mk_org(fx->st, "Before");
    worker = mk_user(fx->st, org, "early");
    assert_int_equal(test_db_has_table(&fx->db, "visits"), 0);

    assert_int_equal(store_migrate(fx->st, &v), 0);
    assert_int_equal(v, store_schema_version_latest());
    assert_new_tables(&fx->db);
    assert_int_equal(store_user_get(fx->st, org, worker, &u), 0);
    assert_string_equal(u.username, "early");
    user_row_fini(&u);
    visit = mk_visit(fx->st, org, worker, 0, VISIT_PLANNED);
    assert_int_equal(store_visit_get(fx->st, org, visit, &got), 0);
    assert_int_equal(got.worker_id, worker);
    visit_row_fini(&got);
}

/* ---- visits ---- */

/* Every field of a visit set, coordinates with all their digits. */
static struct visit_row full_visit(int64_t org, int64_t worker, int64_t buddy)
{
    struct visit_row v = plain_visit(org, worker);

    v.buddy_id = buddy;
    v.buddy_accepted_at = T0 + 1;
    v.kind = "shift";
    v.clock = (struct visit_clock){.state = VISIT_ACTIVE,
                                   .expected_arrival = T0 + 2,
                                   .expected_departure = T0 + 3 * 3600000LL,
                                   .checkin_interval = 30 * MIN,
                                   .started_at = T0 + 4,
                                   .last_checkin_at = T0 + 5,
                                   .deadline_at = T0 + 30 * MIN + 5,
                                   .closed_at = T0 + 6,
                                   .outcome = VISIT_OUTCOME_WITHDRAWN};
    v.address = "1 High Street, Leeds LS1 1AA";
    v.has_location = true;
    v.latitude = 53.79648206431987;
    v.longitude = -1.5479854902529716;
    v.people = "Mr A. Smith";
    v.phones = "[\"+44 113 000 0000\", \"07700 900000\"]";
    v.transport = "{\"mode\": \"car\", \"vehicle_id\": 3}";
    v.accompanied_by = "J. Jones";
    v.notes = "Dog on the premises";
    v.reminder_at = T0 + 25 * MIN;
    v.close_note = "left early";
    v.has_last_location = true;
    v.last_latitude = -33.868820000000003;
    v.last_longitude = 151.20929300000001;
    v.last_location_at = T0 + 7;
    v.created_by = buddy;
    v.created_at = T0 + 8;
    return v;
}

static void assert_visit_equal(const struct visit_row *a, const struct visit_row *b)
{
    assert_int_equal(a->organisation_id, b->organisation_id);
    assert_int_equal(a->worker_id, b->worker_id);
    assert_int_equal(a->buddy_id, b->buddy_id);
    assert_int_equal(a->buddy_accepted_at, b->buddy_accepted_at);
    assert_str_or_null(a->kind, b->kind);
    assert_int_equal(a->clock.state, b->clock.state);
    assert_int_equal(a->clock.expected_arrival, b->clock.expected_arrival);
    assert_int_equal(a->clock.expected_departure, b->clock.expected_departure);
    assert_int_equal(a->clock.checkin_interval, b->clock.checkin_interval);
    assert_int_equal(a->clock.started_at, b->clock.started_at);
    assert_int_equal(a->clock.last_checkin_at, b->clock.last_checkin_at);
    assert_int_equal(a->clock.deadline_at, b->clock.deadline_at);
    assert_int_equal(a->clock.closed_at, b->clock.closed_at);
    assert_int_equal(a->clock.outcome, b->clock.outcome);
    assert_str_or_null(a->address, b->address);
    assert_int_equal(a->has_location, b->has_location);
    assert_same_double(a->latitude, b->latitude);
    assert_same_double(a->longitude, b->longitude);
    assert_str_or_null(a->people, b->people);
    assert_str_or_null(a->phones, b->phones);
    assert_str_or_null(a->transport, b->transport);
    assert_str_or_null(a->accompanied_by, b->accompanied_by);
    assert_str_or_null(a->notes, b->notes);
    assert_int_equal(a->reminder_at, b->reminder_at);
    assert_str_or_null(a->close_note, b->close_note);
    assert_int_equal(a->has_last_location, b->has_last_location);
    assert_same_double(a->last_latitude, b->last_latitude);
    assert_same_double(a->last_longitude, b->last_longitude);
    assert_int_equal(a->last_location_at, b->last_location_at);
    assert_int_equal(a->created_by, b->created_by);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->updated_at, b->updated_at);
}

static void test_visit_roundtrip(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t buddy = mk_user(fx->st, org, "b");
    struct visit_row v = full_visit(org, worker, buddy);
    struct visit_row got;
    int64_t id = 0;

    assert_int_equal(store_visit_create(fx->st, &v, &id), 0);
    v.id = id;
    v.updated_at = v.created_at;
    assert_int_equal(store_visit_get(fx->st, org, id, &got), 0);
    assert_int_equal(got.id, id);
    assert_visit_equal(&got, &v);
    visit_row_fini(&got);
    assert_int_equal(store_visit_get_any(fx->st, id, &got), 0);
    assert_visit_equal(&got, &v);
    visit_row_fini(&got);

    /* Absent values stay absent: NULL strings, no location, zero times. */
    v = plain_visit(org, worker);
    assert_int_equal(store_visit_create(fx->st, &v, &id), 0);
    v.updated_at = v.created_at;
    assert_int_equal(store_visit_get(fx->st, org, id, &got), 0);
    assert_visit_equal(&got, &v);
    assert_null(got.address);
    assert_false(got.has_location);
    assert_int_equal(got.buddy_id, 0);
    visit_row_fini(&got);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM visits WHERE latitude IS NULL "
                                          "AND deadline_at IS NULL AND buddy_id IS NULL"),
                     1);

    /* A location at 0, 0 is a location, not its absence. */
    v.has_location = true;
    v.latitude = 0.0;
    v.longitude = 0.0;
    assert_int_equal(store_visit_create(fx->st, &v, &id), 0);
    assert_int_equal(store_visit_get(fx->st, org, id, &got), 0);
    assert_true(got.has_location);
    visit_row_fini(&got);
}

static void test_visit_create_checks(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t other = mk_org(fx->st, "Other");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t stranger = mk_user(fx->st, other, "s");
    struct visit_row v = plain_visit(org, worker);
    int64_t id = 0;

    v.kind = NULL;
    assert_int_equal(store_visit_create(fx->st, &v, &id), -NA_EINVAL);
    v.kind = "visit";
    v.clock.state = 0;
    assert_int_equal(store_visit_create(fx->st, &v, &id), -NA_EINVAL);
    v.clock.state = VISIT_PLANNED;
    v.buddy_id = stranger;
    assert_int_equal(store_visit_create(fx->st, &v, &id), -NA_ENOTFOUND);
    v.buddy_id = 0;
    v.worker_id = stranger;
    assert_int_equal(store_visit_create(fx->st, &v, &id), -NA_ENOTFOUND);
    v.worker_id = 999999;
    assert_int_equal(store_visit_create(fx->st, &v, &id), -NA_ENOTFOUND);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM visits"), 0);
}

static void test_visit_update(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t buddy = mk_user(fx->st, org, "b");
    int64_t buddy2 = mk_user(fx->st, org, "b2");
    struct visit_row v = full_visit(org, worker, buddy);
    struct visit_row want;
    struct visit_row got;
    int64_t id = 0;

    assert_int_equal(store_visit_create(fx->st, &v, &id), 0);
    assert_int_equal(store_visit_get(fx->st, org, id, &got), 0);
    want = full_visit(org, worker, buddy2);
    want.id = id;
    want.buddy_accepted_at = 0;
    want.clock.state = VISIT_CLOSED;
    want.clock.deadline_at = 0;
    want.clock.closed_at = T0 + 99;
    want.clock.outcome = VISIT_OUTCOME_SAFE;
    want.reminder_at = 0;
    want.close_note = NULL;
    want.has_last_location = true;
    want.last_latitude = 1e-7;
    want.last_longitude = -179.99999999999997;
    want.last_location_at = T0 + 98;
    want.transport = "{\"mode\": \"walk\"}";
    want.notes = NULL;
    want.updated_at = T0 + 100;
    /* Only the mutable fields are written: the rest keeps what was created. */
    want.address = "ignored";
    want.people = NULL;
    want.created_at = T0 + 999;
    assert_int_equal(store_visit_update(fx->st, &want), 0);
    visit_row_fini(&got);
    assert_int_equal(store_visit_get(fx->st, org, id, &got), 0);
    want.address = v.address;
    want.people = v.people;
    want.created_at = v.created_at;
    want.created_by = v.created_by;
    assert_visit_equal(&got, &want);
    visit_row_fini(&got);

    /* Clearing the last location. */
    want.has_last_location = false;
    want.last_latitude = 0;
    want.last_longitude = 0;
    want.last_location_at = 0;
    assert_int_equal(store_visit_update(fx->st, &want), 0);
    assert_int_equal(store_visit_get(fx->st, org, id, &got), 0);
    assert_visit_equal(&got, &want);
    visit_row_fini(&got);

    want.id = 999999;
    assert_int_equal(store_visit_update(fx->st, &want), -NA_ENOTFOUND);
}

/* Ids of rows[0..n) equal want[0..n_want). */
static void assert_visit_ids(const struct visit_row *rows, size_t n, const int64_t *want,
                             size_t n_want)
{
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rows[i].id, want[i]);
}

static void list_expect(struct store *st, int64_t org, const struct visit_filter *f,
                        const int64_t *want, size_t n_want)
{
    struct visit_row *rows = NULL;
    size_t n = 0;

    assert_int_equal(store_visit_list(st, org, f, 0, STORE_LIST_MAX, &rows, &n), 0);
    assert_visit_ids(rows, n, want, n_want);
    visit_rows_free(rows, n);
}

struct list_world {
    int64_t org, w1, w2, w3, b, m;
    int64_t t1, t2, t3;
    int64_t v[6];
};

/* w1 in t1, w2 in t2, w3 in no team; b buddies some; m manages t1. */
static void list_world_make(struct store *st, struct list_world *lw)
{
    lw->org = mk_org(st, "Acme");
    lw->w1 = mk_user(st, lw->org, "w1");
    lw->w2 = mk_user(st, lw->org, "w2");
    lw->w3 = mk_user(st, lw->org, "w3");
    lw->b = mk_user(st, lw->org, "b");
    lw->m = mk_user(st, lw->org, "m");
    lw->t1 = mk_team(st, lw->org, "t1", lw->m);
    lw->t2 = mk_team(st, lw->org, "t2", 0);
    lw->t3 = mk_team(st, lw->org, "t3", 0);
    assert_int_equal(store_team_add_member(st, lw->org, lw->t1, lw->w1), 0);
    assert_int_equal(store_team_add_member(st, lw->org, lw->t2, lw->w2), 0);
    lw->v[0] = mk_visit(st, lw->org, lw->w1, 0, VISIT_PLANNED);
    lw->v[1] = mk_visit(st, lw->org, lw->w1, lw->b, VISIT_ACTIVE);
    lw->v[2] = mk_visit(st, lw->org, lw->w2, 0, VISIT_ACTIVE);
    lw->v[3] = mk_visit(st, lw->org, lw->w2, lw->b, VISIT_CLOSED);
    lw->v[4] = mk_visit(st, lw->org, lw->w3, 0, VISIT_PLANNED);
    lw->v[5] = mk_visit(st, lw->org, lw->m, lw->w3, VISIT_ACTIVE);
}

static void test_visit_list_filters(void **state)
{
    struct fixture *fx = *state;
    struct list_world lw;
    struct visit_filter f = {0};
    int64_t *v = lw.v;

    list_world_make(fx->st, &lw);
    list_expect(fx->st, lw.org, &f, v, 6);
    f.state = VISIT_ACTIVE;
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[1], v[2], v[5]}, 3);
    f = (struct visit_filter){.worker_id = lw.w2};
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[2], v[3]}, 2);
    f = (struct visit_filter){.buddy_id = lw.b};
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[1], v[3]}, 2);
    f = (struct visit_filter){.team_id = lw.t1};
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[0], v[1]}, 2);
    f = (struct visit_filter){.team_id = lw.t3};
    list_expect(fx->st, lw.org, &f, NULL, 0);
    f = (struct visit_filter){.worker_id = lw.w1, .buddy_id = lw.b, .state = VISIT_ACTIVE};
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[1]}, 1);
}

static void test_visit_list_visibility(void **state)
{
    struct fixture *fx = *state;
    struct list_world lw;
    struct visit_filter f = {0};
    int64_t *v = lw.v;
    int64_t many[5];

    list_world_make(fx->st, &lw);
    /* A buddy sees what they watch; a worker their own and what they buddy. */
    f.restrict_to_user = lw.b;
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[1], v[3]}, 2);
    f.restrict_to_user = lw.w3;
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[4], v[5]}, 2);
    /* A manager: their own visits and their teams' members'. */
    f.restrict_to_user = lw.m;
    f.teams = &lw.t1;
    f.n_teams = 1;
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[0], v[1], v[5]}, 3);
    /* Several teams (padded IN list), combined with a filter. */
    many[0] = lw.t3;
    many[1] = lw.t2;
    many[2] = lw.t1;
    many[3] = 424242;
    many[4] = lw.t3;
    f.teams = many;
    f.n_teams = 5;
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[0], v[1], v[2], v[3], v[5]}, 5);
    f.n_teams = 3;
    f.state = VISIT_PLANNED;
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[0]}, 1);
    /* Nobody's visits for a user in no role. */
    f = (struct visit_filter){.restrict_to_user = 777777};
    list_expect(fx->st, lw.org, &f, NULL, 0);
    f.n_teams = STORE_VISIT_TEAMS_MAX + 1;
    f.teams = many;
    assert_int_equal(
        store_visit_list(fx->st, lw.org, &f, 0, 10, &(struct visit_row *){NULL}, &(size_t){0}),
        -NA_EINVAL);
}

static void test_visit_list_visible_filtered(void **state)
{
    struct fixture *fx = *state;
    struct list_world lw;
    struct visit_filter f = {0};
    int64_t *v = lw.v;
    struct visit_row *rows = NULL;
    size_t n = 0;

    list_world_make(fx->st, &lw);
    f = (struct visit_filter){.restrict_to_user = lw.m, .teams = &lw.t1, .n_teams = 1};
    /* Filters narrow what is visible and never widen it. */
    f.worker_id = lw.w1;
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[0], v[1]}, 2);
    f.worker_id = lw.w2;
    list_expect(fx->st, lw.org, &f, NULL, 0);
    f.worker_id = 0;
    f.team_id = lw.t2;
    list_expect(fx->st, lw.org, &f, NULL, 0);
    f.team_id = lw.t1;
    f.buddy_id = lw.b;
    list_expect(fx->st, lw.org, &f, (int64_t[]){v[1]}, 1);
    f.team_id = 0;
    f.buddy_id = 0;
    /* Pages of a restricted list. */
    assert_int_equal(store_visit_list(fx->st, lw.org, &f, v[0], 1, &rows, &n), 0);
    assert_visit_ids(rows, n, (int64_t[]){v[1]}, 1);
    visit_rows_free(rows, n);
    assert_int_equal(store_visit_list(fx->st, lw.org, &f, v[1], 1, &rows, &n), 0);
    assert_visit_ids(rows, n, (int64_t[]){v[5]}, 1);
    visit_rows_free(rows, n);
    assert_int_equal(store_visit_list(fx->st, lw.org, &f, v[5], 1, &rows, &n), 0);
    assert_int_equal(n, 0);
    visit_rows_free(rows, n);
}

static void test_visit_list_pagination(void **state)
{
    struct fixture *fx = *state;
    struct list_world lw;
    struct visit_filter f = {.restrict_to_user = 0};
    struct visit_row *rows = NULL;
    int64_t seen[8];
    size_t n_seen = 0;
    size_t n = 0;
    int64_t after = 0;

    list_world_make(fx->st, &lw);
    do {
        assert_int_equal(store_visit_list(fx->st, lw.org, &f, after, 4, &rows, &n), 0);
        assert_true(n <= 4);
        for (size_t i = 0; i < n; i++) {
            assert_true(rows[i].id > after);
            assert_true(n_seen < 8);
            seen[n_seen++] = rows[i].id;
            after = rows[i].id;
        }
        visit_rows_free(rows, n);
    } while (n == 4);
    assert_int_equal(n_seen, 6);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(seen[i], lw.v[i]);
    assert_int_equal(store_visit_list(fx->st, lw.org, &f, 0, 0, &rows, &n), -NA_EINVAL);
    assert_int_equal(store_visit_list(fx->st, lw.org, &f, 0, STORE_LIST_MAX + 1, &rows, &n),
                     -NA_EINVAL);
}

static void test_visits_buddied_by(void **state)
{
    struct fixture *fx = *state;
    struct list_world lw;
    int64_t *ids = NULL;
    size_t n = 0;

    list_world_make(fx->st, &lw);
    /* v[3] is closed: nothing to hand over. */
    assert_int_equal(store_visits_buddied_by(fx->st, lw.org, lw.b, &ids, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], lw.v[1]);
    free(ids);
    assert_int_equal(store_visits_buddied_by(fx->st, lw.org, lw.w1, &ids, &n), 0);
    assert_int_equal(n, 0);
    free(ids);
}

/* ---- timeline ---- */

static void test_timeline_order(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t visit = mk_visit(fx->st, org, worker, 0, VISIT_ACTIVE);
    struct visit_event e = {.visit_id = visit, .organisation_id = org, .actor_id = worker};
    const char *kinds[] = {"checkin", "planned", "started", "extended", "ended"};
    const int64_t ats[] = {T0 + 30, T0 + 10, T0 + 20, T0 + 30, T0 + 40};
    struct visit_event_row *rows = NULL;
    size_t n = 0;

    for (size_t i = 0; i < 5; i++) {
        e.kind = kinds[i];
        e.at = ats[i];
        e.detail = i == 3 ? "stuck in traffic" : NULL;
        e.has_location = i == 0;
        e.latitude = i == 0 ? 51.477928 : 0;
        e.longitude = i == 0 ? -0.001545 : 0;
        assert_int_equal(store_visit_event_add(fx->st, &e), 0);
    }
    e.kind = NULL;
    assert_int_equal(store_visit_event_add(fx->st, &e), -NA_EINVAL);
    assert_int_equal(store_visit_events(fx->st, org, visit, &rows, &n), 0);
    assert_int_equal(n, 5);
    /* Oldest first; equal times in the order they were written. */
    assert_string_equal(rows[0].kind, "planned");
    assert_string_equal(rows[1].kind, "started");
    assert_string_equal(rows[2].kind, "checkin");
    assert_string_equal(rows[3].kind, "extended");
    assert_string_equal(rows[4].kind, "ended");
    assert_true(rows[2].has_location);
    assert_same_double(rows[2].latitude, 51.477928);
    assert_same_double(rows[2].longitude, -0.001545);
    assert_false(rows[3].has_location);
    assert_string_equal(rows[3].detail, "stuck in traffic");
    assert_null(rows[4].detail);
    assert_int_equal(rows[4].at, T0 + 40);
    assert_int_equal(rows[4].actor_id, worker);
    assert_true(rows[2].id < rows[3].id);
    visit_event_rows_free(rows, n);

    /* A visit without events has an empty timeline. */
    visit = mk_visit(fx->st, org, worker, 0, VISIT_PLANNED);
    assert_int_equal(store_visit_events(fx->st, org, visit, &rows, &n), 0);
    assert_int_equal(n, 0);
    visit_event_rows_free(rows, n);
}

/* ---- escalations ---- */

static void test_escalation_one_open(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t manager = mk_user(fx->st, org, "m");
    int64_t visit = mk_visit(fx->st, org, worker, 0, VISIT_ACTIVE);
    struct escalation_row e = {.organisation_id = org, .visit_id = visit};
    struct escalation_row got;
    int64_t id;
    int64_t id2 = 0;

    id = mk_case(fx->st, org, visit);
    e.c.state = ESCALATION_OPEN;
    e.c.opened_at = T0 + 1;
    assert_int_equal(store_escalation_create(fx->st, &e, &id2), -NA_ECONFLICT);
    assert_int_equal(store_escalation_open_for_visit(fx->st, org, visit, &got), 0);
    assert_int_equal(got.id, id);
    assert_int_equal(got.c.state, ESCALATION_OPEN);
    assert_int_equal(got.c.level_due_at, T0 + 10 * MIN);
    assert_int_equal(got.missed_deadline_at, T0 - MIN);
    assert_int_equal(got.visit_id, visit);

    /* Acknowledge, then resolve: the visit may open a new case afterwards. */
    got.c.acknowledged_by = manager;
    got.c.acknowledged_at = T0 + 2 * MIN;
    got.c.level = 1;
    assert_int_equal(store_escalation_update(fx->st, &got), 0);
    got.c.state = ESCALATION_RESOLVED;
    got.c.resolved_at = T0 + 3 * MIN;
    got.outcome = ESCALATION_OUTCOME_POLICE;
    got.outcome_note = "found at home";
    got.police_reference = "CAD 1234/23";
    got.resolved_by = manager;
    assert_int_equal(store_escalation_update(fx->st, &got), 0);
    got.outcome_note = NULL;
    got.police_reference = NULL;
    escalation_row_fini(&got);
    assert_int_equal(store_escalation_open_for_visit(fx->st, org, visit, &got), -NA_ENOTFOUND);
    /* Resolved, its deadline still counts as escalated; another deadline does not. */
    bool escalated = false;
    assert_int_equal(store_escalation_exists_for_deadline(fx->st, org, visit, T0 - MIN, &escalated),
                     0);
    assert_true(escalated);
    assert_int_equal(store_escalation_exists_for_deadline(fx->st, org, visit, T0, &escalated), 0);
    assert_false(escalated);
    assert_int_equal(
        store_escalation_exists_for_deadline(fx->st, org + 1000, visit, T0 - MIN, &escalated), 0);
    assert_false(escalated);
    assert_int_equal(store_escalation_get(fx->st, org, id, &got), 0);
    assert_int_equal(got.c.state, ESCALATION_RESOLVED);
    assert_int_equal(got.c.level, 1);
    assert_int_equal(got.c.acknowledged_by, manager);
    assert_int_equal(got.c.acknowledged_at, T0 + 2 * MIN);
    assert_int_equal(got.c.resolved_at, T0 + 3 * MIN);
    assert_int_equal(got.c.opened_at, T0);
    assert_int_equal(got.outcome, ESCALATION_OUTCOME_POLICE);
    assert_string_equal(got.outcome_note, "found at home");
    assert_string_equal(got.police_reference, "CAD 1234/23");
    assert_int_equal(got.resolved_by, manager);
    assert_null(got.policy);
    escalation_row_fini(&got);

    assert_int_equal(store_escalation_create(fx->st, &e, &id2), 0);
    assert_true(id2 > id);
    /* Reopening the old case would make two open cases. */
    assert_int_equal(store_escalation_get_any(fx->st, id, &got), 0);
    got.c.state = ESCALATION_OPEN;
    assert_int_equal(store_escalation_update(fx->st, &got), -NA_ECONFLICT);
    escalation_row_fini(&got);
}

static void test_escalation_list(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t v1 = mk_visit(fx->st, org, worker, 0, VISIT_ACTIVE);
    int64_t v2 = mk_visit(fx->st, org, worker, 0, VISIT_ACTIVE);
    int64_t c1 = mk_case(fx->st, org, v1);
    int64_t c2 = mk_case(fx->st, org, v2);
    struct escalation_filter f = {0};
    struct escalation_row *rows = NULL;
    struct escalation_row got;
    size_t n = 0;

    assert_int_equal(store_escalation_get(fx->st, org, c1, &got), 0);
    got.c.state = ESCALATION_RESOLVED;
    assert_int_equal(store_escalation_update(fx->st, &got), 0);
    escalation_row_fini(&got);
    assert_int_equal(store_escalation_list(fx->st, org, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, c1);
    assert_int_equal(rows[1].id, c2);
    escalation_rows_free(rows, n);
    f.state = ESCALATION_OPEN;
    assert_int_equal(store_escalation_list(fx->st, org, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, c2);
    escalation_rows_free(rows, n);
    f = (struct escalation_filter){.visit_id = v1};
    assert_int_equal(store_escalation_list(fx->st, org, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, c1);
    escalation_rows_free(rows, n);
    f = (struct escalation_filter){0};
    assert_int_equal(store_escalation_list(fx->st, org, &f, c1, 1, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, c2);
    escalation_rows_free(rows, n);
    assert_int_equal(store_escalation_list(fx->st, org, &f, 0, 0, &rows, &n), -NA_EINVAL);
}

static void add_step(struct store *st, int64_t org, int64_t esc, const char *kind, int64_t user,
                     int level)
{
    struct escalation_step s = {.escalation_id = esc,
                                .organisation_id = org,
                                .at = T0 + level,
                                .level = level,
                                .kind = kind,
                                .user_id = user};
    assert_int_equal(store_escalation_step_add(st, &s), 0);
}

static void test_escalation_steps(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t u1 = mk_user(fx->st, org, "u1");
    int64_t u2 = mk_user(fx->st, org, "u2");
    int64_t u3 = mk_user(fx->st, org, "u3");
    int64_t visit = mk_visit(fx->st, org, worker, 0, VISIT_ACTIVE);
    int64_t esc = mk_case(fx->st, org, visit);
    int64_t chan = 0;
    int64_t ob = mk_outbox(fx->st, org, esc, "k1", 0);
    struct channel_row c = {.organisation_id = org, .name = "ARC", .kind = "webhook"};
    struct escalation_step s = {.escalation_id = esc, .organisation_id = org, .kind = "notified"};
    struct escalation_step_row *rows = NULL;
    int64_t *ids = NULL;
    size_t n = 0;

    assert_int_equal(store_channel_create(fx->st, &c, &chan), 0);
    add_step(fx->st, org, esc, "notified", u2, 0);
    add_step(fx->st, org, esc, "delivered", u2, 0);
    add_step(fx->st, org, esc, "timeout", 0, 0);
    add_step(fx->st, org, esc, "notified", u1, 1);
    add_step(fx->st, org, esc, "unreachable", u3, 1);
    add_step(fx->st, org, esc, "acknowledged", u1, 1);
    s.at = T0 + 5;
    s.level = 2;
    s.channel_id = chan;
    s.outbox_id = ob;
    s.detail = "ARC told";
    assert_int_equal(store_escalation_step_add(fx->st, &s), 0);
    s.kind = NULL;
    assert_int_equal(store_escalation_step_add(fx->st, &s), -NA_EINVAL);

    assert_int_equal(store_escalation_steps(fx->st, org, esc, &rows, &n), 0);
    assert_int_equal(n, 7);
    assert_string_equal(rows[0].kind, "notified");
    assert_int_equal(rows[0].user_id, u2);
    assert_string_equal(rows[2].kind, "timeout");
    assert_int_equal(rows[2].user_id, 0);
    assert_int_equal(rows[5].level, 1);
    assert_int_equal(rows[6].channel_id, chan);
    assert_int_equal(rows[6].outbox_id, ob);
    assert_int_equal(rows[6].at, T0 + 5);
    assert_string_equal(rows[6].detail, "ARC told");
    assert_null(rows[0].detail);
    for (size_t i = 1; i < n; i++)
        assert_true(rows[i].id > rows[i - 1].id);
    escalation_step_rows_free(rows, n);

    /* u3 could not be reached, so was never told. */
    assert_int_equal(store_escalation_notified_users(fx->st, esc, &ids, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], u1 < u2 ? u1 : u2);
    assert_int_equal(ids[1], u1 < u2 ? u2 : u1);
    free(ids);
}

/* ---- acknowledgement links ---- */

static void test_ack_links(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t m = mk_user(fx->st, org, "m");
    int64_t esc = mk_case(fx->st, org, mk_visit(fx->st, org, worker, 0, VISIT_ACTIVE));
    const char *h1 = "a3f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778";
    const char *h2 = "0000000000000000000000000000000000000000000000000000000000000002";
    int64_t e = -1;
    int64_t u = -1;

    assert_int_equal(store_ack_link_create(fx->st, h1, esc, m, T0 + 60 * MIN), 0);
    assert_int_equal(store_ack_link_create(fx->st, h1, esc, m, T0 + 60 * MIN), -NA_ECONFLICT);
    assert_int_equal(store_ack_link_create(fx->st, h2, 999999, m, T0 + 60 * MIN), -NA_ENOTFOUND);
    assert_int_equal(store_ack_link_create(fx->st, h2, esc, m, T0 + 10 * MIN), 0);

    assert_int_equal(store_ack_link_use(fx->st, h1, T0 + MIN, &e, &u), 0);
    assert_int_equal(e, esc);
    assert_int_equal(u, m);
    /* Once only. */
    assert_int_equal(store_ack_link_use(fx->st, h1, T0 + 2 * MIN, &e, &u), -NA_ENOTFOUND);
    assert_int_equal(e, 0);
    assert_int_equal(u, 0);
    /* Expired at its expiry time; an expired link stays unused. */
    assert_int_equal(store_ack_link_use(fx->st, h2, T0 + 10 * MIN, &e, &u), -NA_ENOTFOUND);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM ack_links WHERE used_at IS NULL"),
                     1);
    assert_int_equal(store_ack_link_use(fx->st, "unknown", T0, &e, &u), -NA_ENOTFOUND);
    assert_int_equal(store_ack_link_use(fx->st, NULL, T0, &e, &u), -NA_EINVAL);
    assert_int_equal(
        test_db_int(&fx->db, "SELECT used_at FROM ack_links WHERE used_at IS NOT NULL"), T0 + MIN);
}

/* ---- outbox ---- */

/* A row with every field set. */
static struct outbox_row full_outbox(int64_t org, int64_t esc, int64_t user)
{
    return (struct outbox_row){.organisation_id = org,
                               .escalation_id = esc,
                               .level = 2,
                               .user_id = user,
                               .channel = "email",
                               .address = "w@example.org",
                               .event = "escalation.notify",
                               .subject = "Overdue",
                               .body = "Please call",
                               .idempotency_key = "esc:1:level:2:user:1",
                               .state = "sent",
                               .attempts = 9,
                               .next_attempt_at = T0 + MIN,
                               .created_at = T0};
}

static void test_outbox_add(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t other = mk_org(fx->st, "Other");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t esc = mk_case(fx->st, org, mk_visit(fx->st, org, worker, 0, VISIT_ACTIVE));
    struct outbox_row o = full_outbox(org, esc, worker);
    struct outbox_row got;
    int64_t id = 0;

    assert_int_equal(store_outbox_add(fx->st, &o, &id), 0);
    assert_int_equal(store_outbox_add(fx->st, &o, &(int64_t){0}), -NA_ECONFLICT);
    assert_int_equal(store_outbox_get(fx->st, id, &got), 0);
    assert_int_equal(got.organisation_id, org);
    assert_int_equal(got.escalation_id, esc);
    assert_int_equal(got.level, 2);
    assert_int_equal(got.user_id, worker);
    assert_int_equal(got.channel_id, 0);
    assert_string_equal(got.channel, "email");
    assert_string_equal(got.address, "w@example.org");
    assert_string_equal(got.event, "escalation.notify");
    assert_string_equal(got.subject, "Overdue");
    assert_string_equal(got.body, "Please call");
    assert_string_equal(got.idempotency_key, "esc:1:level:2:user:1");
    /* State and attempts of a new row are always pending and 0. */
    assert_string_equal(got.state, "pending");
    assert_int_equal(got.attempts, 0);
    assert_int_equal(got.next_attempt_at, T0 + MIN);
    assert_null(got.last_error);
    assert_int_equal(got.created_at, T0);
    assert_int_equal(got.sent_at, 0);
    outbox_row_fini(&got);

    assert_int_equal(store_outbox_get(fx->st, 999999, &got), -NA_ENOTFOUND);
    o.idempotency_key = NULL;
    assert_int_equal(store_outbox_add(fx->st, &o, &id), -NA_EINVAL);
    o.idempotency_key = "unknown-org";
    o.organisation_id = 999999;
    assert_int_equal(store_outbox_add(fx->st, &o, &id), -NA_ENOTFOUND);
    /* A case or a channel of another organisation is not found. */
    o.organisation_id = other;
    assert_int_equal(store_outbox_add(fx->st, &o, &id), -NA_ENOTFOUND);
    o.escalation_id = 0;
    o.channel_id = 999999;
    assert_int_equal(store_outbox_add(fx->st, &o, &id), -NA_ENOTFOUND);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM outbox"), 1);
}

static void test_outbox_mark(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t worker = mk_user(fx->st, org, "w");
    int64_t esc = mk_case(fx->st, org, mk_visit(fx->st, org, worker, 0, VISIT_ACTIVE));
    int64_t id = mk_outbox(fx->st, org, esc, "k1", T0 + MIN);
    int64_t id2;
    int64_t id3;
    struct outbox_row got;
    struct outbox_row *rows = NULL;
    size_t n = 0;

    /* A retry, then success. */
    assert_int_equal(store_outbox_mark(fx->st, id, "pending", 1, T0 + 3 * MIN, "timeout", T0 + MIN),
                     0);
    assert_int_equal(store_outbox_get(fx->st, id, &got), 0);
    assert_string_equal(got.state, "pending");
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.next_attempt_at, T0 + 3 * MIN);
    assert_string_equal(got.last_error, "timeout");
    assert_int_equal(got.sent_at, 0);
    outbox_row_fini(&got);
    assert_int_equal(store_outbox_mark(fx->st, id, "sent", 2, 0, NULL, T0 + 3 * MIN), 0);
    assert_int_equal(store_outbox_get(fx->st, id, &got), 0);
    assert_string_equal(got.state, "sent");
    assert_int_equal(got.attempts, 2);
    assert_int_equal(got.sent_at, T0 + 3 * MIN);
    assert_null(got.last_error);
    outbox_row_fini(&got);

    /* Without a time a row is due when created. */
    id2 = mk_outbox(fx->st, org, esc, "k2", 0);
    id3 = mk_outbox(fx->st, org, 0, "k3", T0 + 9);
    assert_int_equal(store_outbox_mark(fx->st, id3, "failed", 5, 0, "410 Gone", T0 + 9), 0);
    assert_int_equal(store_outbox_get(fx->st, id3, &got), 0);
    assert_string_equal(got.state, "failed");
    assert_int_equal(got.sent_at, 0);
    assert_int_equal(got.escalation_id, 0);
    outbox_row_fini(&got);

    assert_int_equal(store_outbox_mark(fx->st, id, "done", 1, 0, NULL, T0), -NA_EINVAL);
    assert_int_equal(store_outbox_mark(fx->st, id, NULL, 1, 0, NULL, T0), -NA_EINVAL);
    assert_int_equal(store_outbox_mark(fx->st, 999999, "sent", 1, 0, NULL, T0), -NA_ENOTFOUND);
    assert_int_equal(store_outbox_for_escalation(fx->st, esc, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, id);
    assert_int_equal(rows[1].id, id2);
    assert_int_equal(rows[1].next_attempt_at, T0);
    outbox_rows_free(rows, n);
}

/* ---- channels and policies ---- */

static void test_channels(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t other = mk_org(fx->st, "Other");
    int64_t u = mk_user(fx->st, org, "u");
    int64_t stranger = mk_user(fx->st, other, "s");
    struct channel_row c = {.organisation_id = org,
                            .user_id = u,
                            .name = "phone",
                            .kind = "webhook",
                            .address = "https://sms.example/send",
                            .secret = "k3y",
                            .template = "{\"to\": \"{{phone}}\"}",
                            .created_at = T0};
    struct channel_row got;
    int64_t uc = 0;
    int64_t oc = 0;
    int64_t id = 0;

    assert_int_equal(store_channel_create(fx->st, &c, &uc), 0);
    c = (struct channel_row){.organisation_id = org, .name = "ARC", .kind = "email"};
    c.address = "arc@example.org";
    assert_int_equal(store_channel_create(fx->st, &c, &oc), 0);
    c.user_id = stranger;
    assert_int_equal(store_channel_create(fx->st, &c, &id), -NA_ENOTFOUND);
    c.user_id = 0;
    c.name = NULL;
    assert_int_equal(store_channel_create(fx->st, &c, &id), -NA_EINVAL);

    assert_int_equal(store_channel_get(fx->st, org, uc, &got), 0);
    assert_int_equal(got.user_id, u);
    assert_string_equal(got.name, "phone");
    assert_string_equal(got.kind, "webhook");
    assert_string_equal(got.address, "https://sms.example/send");
    assert_string_equal(got.secret, "k3y");
    assert_string_equal(got.template, "{\"to\": \"{{phone}}\"}");
    assert_int_equal(got.created_at, T0);
    channel_row_fini(&got);
    assert_int_equal(store_channel_get(fx->st, org, oc, &got), 0);
    assert_int_equal(got.user_id, 0);
    assert_null(got.secret);
    assert_null(got.template);
    channel_row_fini(&got);
}

static void test_channel_list(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t u = mk_user(fx->st, org, "u");
    int64_t u2 = mk_user(fx->st, org, "u2");
    struct channel_row c = {.organisation_id = org, .user_id = u, .name = "p", .kind = "log"};
    struct channel_row got;
    struct channel_row *rows = NULL;
    int64_t uc = 0;
    int64_t oc = 0;
    int64_t id = 0;
    size_t n = 0;

    assert_int_equal(store_channel_create(fx->st, &c, &uc), 0);
    c.user_id = 0;
    assert_int_equal(store_channel_create(fx->st, &c, &oc), 0);
    assert_int_equal(store_channel_list(fx->st, org, u, false, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, uc);
    channel_rows_free(rows, n);
    /* user_id set: that user's, whatever org_level says. */
    assert_int_equal(store_channel_list(fx->st, org, u, true, &rows, &n), 0);
    assert_int_equal(n, 1);
    channel_rows_free(rows, n);
    assert_int_equal(store_channel_list(fx->st, org, u2, false, &rows, &n), 0);
    assert_int_equal(n, 0);
    channel_rows_free(rows, n);
    assert_int_equal(store_channel_list(fx->st, org, 0, true, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, oc);
    channel_rows_free(rows, n);
    assert_int_equal(store_channel_list(fx->st, org, 0, false, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, uc);
    assert_int_equal(rows[1].id, oc);
    channel_rows_free(rows, n);

    /* A deleted channel leaves its outbox rows, without the reference. */
    id = mk_outbox(fx->st, org, 0, "via-channel", 0);
    assert_int_equal(st_exec(fx->st, "UPDATE outbox SET channel_id = ? WHERE id = ?",
                             PARAMS(P_I64(oc), P_I64(id))),
                     0);
    assert_int_equal(store_channel_delete(fx->st, org, oc), 0);
    assert_int_equal(store_channel_delete(fx->st, org, oc), -NA_ENOTFOUND);
    assert_int_equal(store_channel_get(fx->st, org, oc, &got), -NA_ENOTFOUND);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM outbox WHERE channel_id IS NULL"),
                     1);
}

static void test_policies(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t other = mk_org(fx->st, "Other");
    int64_t team = mk_team(fx->st, org, "t", 0);
    int64_t foreign = mk_team(fx->st, other, "t", 0);
    char *json = NULL;

    assert_int_equal(store_policy_get(fx->st, org, 0, &json), -NA_ENOTFOUND);
    assert_null(json);
    assert_int_equal(store_policy_put(fx->st, org, 0, "[{\"contact\":\"buddy\"}]", T0), 0);
    assert_int_equal(store_policy_put(fx->st, org, team, "[{\"contact\":\"user\"}]", T0), 0);
    assert_int_equal(store_policy_put(fx->st, other, 0, "[]", T0), 0);
    assert_int_equal(store_policy_get(fx->st, org, 0, &json), 0);
    assert_string_equal(json, "[{\"contact\":\"buddy\"}]");
    free(json);
    assert_int_equal(store_policy_get(fx->st, org, team, &json), 0);
    assert_string_equal(json, "[{\"contact\":\"user\"}]");
    free(json);
    /* A second put replaces. */
    assert_int_equal(store_policy_put(fx->st, org, 0, "[2]", T0 + 1), 0);
    assert_int_equal(store_policy_put(fx->st, org, team, "[3]", T0 + 1), 0);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM escalation_policies"), 3);
    assert_int_equal(test_db_int(&fx->db, "SELECT MIN(updated_at) FROM escalation_policies "
                                          "WHERE levels IN ('[2]', '[3]')"),
                     T0 + 1);
    assert_int_equal(store_policy_get(fx->st, org, 0, &json), 0);
    assert_string_equal(json, "[2]");
    free(json);
    assert_int_equal(store_policy_get(fx->st, org, team, &json), 0);
    assert_string_equal(json, "[3]");
    free(json);
    /* Another organisation's team, and an unknown one. */
    assert_int_equal(store_policy_put(fx->st, org, foreign, "[]", T0), -NA_ENOTFOUND);
    assert_int_equal(store_policy_put(fx->st, org, 999999, "[]", T0), -NA_ENOTFOUND);
    assert_int_equal(store_policy_put(fx->st, 999999, 0, "[]", T0), -NA_ENOTFOUND);
    assert_int_equal(store_policy_put(fx->st, org, 0, NULL, T0), -NA_EINVAL);

    assert_int_equal(store_policy_delete(fx->st, org, team), 0);
    assert_int_equal(store_policy_delete(fx->st, org, team), -NA_ENOTFOUND);
    assert_int_equal(store_policy_get(fx->st, org, team, &json), -NA_ENOTFOUND);
    assert_int_equal(store_policy_get(fx->st, org, 0, &json), 0);
    free(json);
    assert_int_equal(store_policy_delete(fx->st, org, 0), 0);
    assert_int_equal(store_policy_get(fx->st, other, 0, &json), 0);
    assert_string_equal(json, "[]");
    free(json);
}

static void test_line_managers(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t other = mk_org(fx->st, "Other");
    int64_t w = mk_user(fx->st, org, "w");
    int64_t m1 = mk_user(fx->st, org, "m1");
    int64_t m2 = mk_user(fx->st, org, "m2");
    int64_t m3 = mk_user(fx->st, org, "m3");
    int64_t teams[5];
    struct user_patch p = {.set_disabled = true, .disabled = true, .now = T0};
    int64_t *ids = NULL;
    size_t n = 0;

    teams[0] = mk_team(fx->st, org, "a", m1);
    teams[1] = mk_team(fx->st, org, "b", m1);
    teams[2] = mk_team(fx->st, org, "c", m2);
    teams[3] = mk_team(fx->st, org, "d", 0);
    teams[4] = mk_team(fx->st, org, "e", w);
    mk_team(fx->st, org, "f", m3); /* w is not a member */
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(store_team_add_member(fx->st, org, teams[i], w), 0);
    assert_int_equal(store_user_update(fx->st, org, m2, &p), 0);

    /* m1 once; m2 disabled; no manager for d; w is not their own contact. */
    assert_int_equal(store_line_managers_of(fx->st, org, w, &ids, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], m1);
    free(ids);
    assert_int_equal(store_line_managers_of(fx->st, other, w, &ids, &n), 0);
    assert_int_equal(n, 0);
    free(ids);
}

/* ---- tenancy ---- */

static void test_cross_org_visits(void **state)
{
    struct fixture *fx = *state;
    int64_t a = mk_org(fx->st, "A");
    int64_t b = mk_org(fx->st, "B");
    int64_t wa = mk_user(fx->st, a, "wa");
    int64_t wb = mk_user(fx->st, b, "wb");
    int64_t va = mk_visit(fx->st, a, wa, 0, VISIT_ACTIVE);
    struct visit_row r;
    struct visit_event e = {.visit_id = va, .organisation_id = b, .kind = "checkin", .at = T0};
    struct visit_event_row *ev = NULL;
    struct visit_filter f = {0};
    struct visit_row *rows = NULL;
    int64_t *ids = NULL;
    size_t n = 0;

    assert_int_equal(store_visit_get(fx->st, b, va, &r), -NA_ENOTFOUND);
    assert_int_equal(store_visit_get(fx->st, a, va, &r), 0);
    r.organisation_id = b;
    assert_int_equal(store_visit_update(fx->st, &r), -NA_ENOTFOUND);
    /* A buddy from another organisation is not found either. */
    r.organisation_id = a;
    r.buddy_id = wb;
    assert_int_equal(store_visit_update(fx->st, &r), -NA_ENOTFOUND);
    visit_row_fini(&r);
    assert_int_equal(store_visit_event_add(fx->st, &e), -NA_ENOTFOUND);
    assert_int_equal(store_visit_events(fx->st, b, va, &ev, &n), -NA_ENOTFOUND);
    assert_int_equal(store_visit_list(fx->st, b, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    visit_rows_free(rows, n);
    f.worker_id = wa;
    assert_int_equal(store_visit_list(fx->st, b, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    visit_rows_free(rows, n);
    assert_int_equal(store_visits_buddied_by(fx->st, b, wa, &ids, &n), 0);
    assert_int_equal(n, 0);
    free(ids);
    r = plain_visit(b, wa);
    assert_int_equal(store_visit_create(fx->st, &r, &(int64_t){0}), -NA_ENOTFOUND);
}

static void test_cross_org_escalations(void **state)
{
    struct fixture *fx = *state;
    int64_t a = mk_org(fx->st, "A");
    int64_t b = mk_org(fx->st, "B");
    int64_t wa = mk_user(fx->st, a, "wa");
    int64_t va = mk_visit(fx->st, a, wa, 0, VISIT_ACTIVE);
    int64_t vb = mk_visit(fx->st, a, wa, 0, VISIT_ACTIVE);
    int64_t esc = mk_case(fx->st, a, va);
    struct escalation_row e = {.organisation_id = b, .visit_id = vb};
    struct escalation_step s = {.escalation_id = esc, .organisation_id = b, .kind = "notified"};
    struct escalation_step_row *steps = NULL;
    struct escalation_filter f = {0};
    struct escalation_row *rows = NULL;
    struct escalation_row got;
    struct channel_row c;
    int64_t chan = 0;
    size_t n = 0;

    e.c.state = ESCALATION_OPEN;
    assert_int_equal(store_escalation_create(fx->st, &e, &(int64_t){0}), -NA_ENOTFOUND);
    assert_int_equal(store_escalation_get(fx->st, b, esc, &got), -NA_ENOTFOUND);
    assert_int_equal(store_escalation_open_for_visit(fx->st, b, va, &got), -NA_ENOTFOUND);
    assert_int_equal(store_escalation_get(fx->st, a, esc, &got), 0);
    got.organisation_id = b;
    got.c.level = 3;
    assert_int_equal(store_escalation_update(fx->st, &got), -NA_ENOTFOUND);
    escalation_row_fini(&got);
    assert_int_equal(store_escalation_list(fx->st, b, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    escalation_rows_free(rows, n);
    assert_int_equal(store_escalation_step_add(fx->st, &s), -NA_ENOTFOUND);
    assert_int_equal(store_escalation_steps(fx->st, b, esc, &steps, &n), -NA_ENOTFOUND);
    assert_int_equal(store_escalation_get(fx->st, a, esc, &got), 0);
    assert_int_equal(got.c.level, 0);
    escalation_row_fini(&got);

    c = (struct channel_row){.organisation_id = a, .name = "ARC", .kind = "log"};
    assert_int_equal(store_channel_create(fx->st, &c, &chan), 0);
    assert_int_equal(store_channel_get(fx->st, b, chan, &c), -NA_ENOTFOUND);
    assert_int_equal(store_channel_delete(fx->st, b, chan), -NA_ENOTFOUND);
    assert_int_equal(store_channel_get(fx->st, a, chan, &c), 0);
    channel_row_fini(&c);
}

/* ---- the scheduler's start ---- */

#define DUE_VISITS 3000

struct due_expect {
    struct adopted_row *items;
    size_t n;
};

static void due_push(struct due_expect *d, int64_t id, int64_t at, int64_t reminder_at)
{
    d->items = realloc(d->items, (d->n + 1) * sizeof *d->items);
    assert_non_null(d->items);
    d->items[d->n] = (struct adopted_row){.id = id, .due_at = at, .reminder_at = reminder_at};
    d->n++;
}

/* Runs store_owned_due for kind over all times and compares with want (then freed). */
static void due_check(struct store *st, enum due_kind kind, const struct due_expect *want)
{
    struct adopted_row *got = NULL;
    size_t n = 0;

    assert_int_equal(store_owned_due(st, kind, INT64_MAX, &got, &n), 0);
    assert_int_equal(n, want->n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].id, want->items[i].id);
        assert_int_equal(got[i].due_at, want->items[i].due_at);
        assert_int_equal(got[i].reminder_at, want->items[i].reminder_at);
    }
    free(got);
    free(want->items);
}

/* Visit i of DUE_VISITS: its state, deadline and reminder, spread over the cases. */
static void due_visit(int64_t org, int64_t worker, int i, struct visit_row *v)
{
    *v = plain_visit(org, worker);
    v->clock.state = i % 3 == 0 ? VISIT_PLANNED : i % 3 == 1 ? VISIT_ACTIVE : VISIT_CLOSED;
    if (v->clock.state == VISIT_ACTIVE)
        v->clock.deadline_at = T0 + 1000LL * ((i * 7919) % 5003);
    /* Reminders on some active visits and, as leftovers, on some closed ones. */
    if (i % 4 != 3)
        v->reminder_at = T0 + 500LL * i;
}

/* What a node finds to schedule at start: every active visit with its deadline and
 * reminder, open case limit and pending delivery it owns, across organisations. */
static void test_due_many(void **state)
{
    struct fixture *fx = *state;
    int64_t orgs[2] = {mk_org(fx->st, "A"), mk_org(fx->st, "B")};
    int64_t workers[2] = {mk_user(fx->st, orgs[0], "a"), mk_user(fx->st, orgs[1], "b")};
    struct due_expect vis = {0}, esc = {0}, ob = {0};
    struct visit_row v;
    char key[32];

    assert_int_equal(store_begin(fx->st), 0);
    for (int i = 0; i < DUE_VISITS; i++) {
        int64_t id = 0;
        int o = i % 2;

        due_visit(orgs[o], workers[o], i, &v);
        assert_int_equal(store_visit_create(fx->st, &v, &id), 0);
        if (v.clock.state == VISIT_ACTIVE)
            due_push(&vis, id, v.clock.deadline_at, v.reminder_at);
        if (i % 5 == 1) {
            int64_t c = mk_case(fx->st, orgs[o], id);
            struct escalation_row e;
            assert_int_equal(store_escalation_get(fx->st, orgs[o], c, &e), 0);
            e.c.level_due_at = T0 + 3LL * i;
            /* Every other case resolved: not due. */
            if (i % 10 == 1)
                e.c.state = ESCALATION_RESOLVED;
            else
                due_push(&esc, c, e.c.level_due_at, 0);
            assert_int_equal(store_escalation_update(fx->st, &e), 0);
            escalation_row_fini(&e);
        }
        if (i % 3 == 0) {
            int64_t oid;
            snprintf(key, sizeof key, "k%d", i);
            oid = mk_outbox(fx->st, orgs[o], 0, key, T0 + 11LL * i);
            if (i % 9 == 0)
                assert_int_equal(store_outbox_mark(fx->st, oid, "sent", 1, 0, NULL, T0), 0);
            else if (i % 9 == 3)
                assert_int_equal(store_outbox_mark(fx->st, oid, "failed", 9, 0, "x", T0), 0);
            else
                due_push(&ob, oid, T0 + 11LL * i, 0);
        }
    }
    assert_int_equal(store_commit(fx->st), 0);
    assert_true(vis.n > 900 && esc.n > 250 && ob.n > 300);

    due_check(fx->st, DUE_VISIT, &vis);
    due_check(fx->st, DUE_ESCALATION, &esc);
    due_check(fx->st, DUE_OUTBOX, &ob);
}

static void test_due_empty(void **state)
{
    struct fixture *fx = *state;
    struct adopted_row *got = (struct adopted_row *)1;
    size_t n = 99;

    assert_int_equal(store_owned_due(fx->st, DUE_VISIT, INT64_MAX, &got, &n), 0);
    assert_null(got);
    assert_int_equal(n, 0);
    assert_int_equal(store_owned_due(fx->st, DUE_OUTBOX, INT64_MAX, &got, &n), 0);
    assert_int_equal(n, 0);
}

/* ---- hostile input ---- */

static const char *const hostile[] = {
    "'; DROP TABLE visits; --",
    "Robert\"); DELETE FROM outbox; --",
    "%s%s%n%x",
    "line1\nline2\r\n\ttab",
    "\xe2\x80\xae\xf0\x9f\x9a\xa8 \xc3\xa9\xc3\xa8 \xe4\xb8\xad\xe6\x96\x87",
    "<script>alert(1)</script>",
    "@ID@ ? ?1 $1 :name",
    "\\\\ \\\" \\u0000",
    "",
};

/* s through every text field of a visit and of its timeline. */
static void hostile_visit(struct store *st, int64_t org, int64_t worker, char *s)
{
    struct visit_row v = plain_visit(org, worker);
    struct visit_row got;
    struct visit_event e = {.organisation_id = org, .kind = s, .detail = s, .at = T0};
    struct visit_event_row *ev = NULL;
    int64_t id = 0;
    size_t n = 0;

    v.kind = s;
    v.address = s;
    v.people = s;
    v.phones = s;
    v.transport = s;
    v.accompanied_by = s;
    v.notes = s;
    v.close_note = s;
    assert_int_equal(store_visit_create(st, &v, &id), 0);
    assert_int_equal(store_visit_get(st, org, id, &got), 0);
    v.updated_at = v.created_at;
    v.id = id;
    assert_visit_equal(&got, &v);
    visit_row_fini(&got);
    e.visit_id = id;
    assert_int_equal(store_visit_event_add(st, &e), 0);
    assert_int_equal(store_visit_events(st, org, id, &ev, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].kind, s);
    assert_string_equal(ev[0].detail, s);
    visit_event_rows_free(ev, n);
}

/* s through the outbox, a channel and a policy. */
static void hostile_delivery(struct store *st, int64_t org, char *s)
{
    struct outbox_row o = {.organisation_id = org,
                           .channel = s,
                           .event = s,
                           .subject = s,
                           .body = s,
                           .address = s,
                           .idempotency_key = s,
                           .created_at = T0};
    struct outbox_row og;
    struct channel_row c = {
        .organisation_id = org, .name = s, .kind = s, .address = s, .secret = s, .template = s};
    struct channel_row cg;
    char *json = NULL;
    int64_t id = 0;

    assert_int_equal(store_outbox_add(st, &o, &id), 0);
    assert_int_equal(store_outbox_get(st, id, &og), 0);
    assert_string_equal(og.body, s);
    assert_string_equal(og.idempotency_key, s);
    assert_string_equal(og.subject, s);
    outbox_row_fini(&og);
    assert_int_equal(store_channel_create(st, &c, &id), 0);
    assert_int_equal(store_channel_get(st, org, id, &cg), 0);
    assert_string_equal(cg.name, s);
    assert_string_equal(cg.secret, s);
    assert_string_equal(cg.template, s);
    channel_row_fini(&cg);
    assert_int_equal(store_policy_put(st, org, 0, s, T0), 0);
    assert_int_equal(store_policy_get(st, org, 0, &json), 0);
    assert_string_equal(json, s);
    free(json);
}

static void test_hostile_strings(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Acme");
    int64_t worker = mk_user(fx->st, org, "w");
    size_t n_hostile = sizeof hostile / sizeof hostile[0];
    size_t big_len = 100000;
    char *big = malloc(big_len + 1);

    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + i % 26);
    big[big_len] = '\0';
    for (size_t k = 0; k <= n_hostile; k++) {
        /* Rows hold char *; the store only reads them. */
        char *s = (char *)(k < n_hostile ? hostile[k] : big);
        hostile_visit(fx->st, org, worker, s);
        hostile_delivery(fx->st, org, s);
    }
    free(big);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM visits"), (int64_t)n_hostile + 1);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM outbox"), (int64_t)n_hostile + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_empty_to_2, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_1, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(test_visit_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit_create_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit_list_visibility, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit_list_visible_filtered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit_list_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visits_buddied_by, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeline_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalation_one_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalation_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalation_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_add, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_managers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cross_org_visits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cross_org_escalations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_strings, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
