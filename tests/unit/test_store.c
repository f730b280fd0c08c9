/*
 * Tests of the store (store.h) on a real database: a SQLite file in a temporary directory,
 * or a new PostgreSQL database when NOTALONE_TEST_PG_DIR is set (store_test_db.h). What
 * tests one backend itself runs only on that one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/roles.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "util/error.h"

#include "store_test_db.h"

#define T0 1795000000000LL /* a fixed "now", ms */

struct fixture {
    struct test_db db;
    struct store *st;
};

static int open_store(struct fixture *fx, int busy_ms)
{
    struct store_config cfg = test_db_config(&fx->db, busy_ms);
    return store_open(&cfg, &fx->st);
}

/* A new database, opened, not migrated. */
static int setup_empty(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    assert_non_null(fx);
    test_db_init(&fx->db, "test_store");
    assert_int_equal(open_store(fx, 1000), 0);
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

static int64_t mk_org(struct store *st, const char *name, bool host)
{
    int64_t id = 0;
    assert_int_equal(store_org_create(st, name, host, T0, &id), 0);
    assert_true(id > 0);
    return id;
}

static int64_t mk_user(struct store *st, int64_t org, const char *username, unsigned roles)
{
    struct user_new u = {.organisation_id = org,
                         .username = username,
                         .display_name = username,
                         .roles = roles,
                         .now = T0};
    int64_t id = 0;
    assert_int_equal(store_user_create(st, &u, &id), 0);
    assert_true(id > 0);
    return id;
}

static int64_t mk_team(struct store *st, int64_t org, const char *name, int64_t manager)
{
    int64_t id = 0;
    assert_int_equal(store_team_create(st, org, name, manager, T0, &id), 0);
    assert_true(id > 0);
    return id;
}

/* Text of a one-row query on the store's own connection (for per-connection pragmas). */
static void conn_text(struct store *st, const char *sql, char *out, size_t n)
{
    struct db_stmt *s = NULL;
    assert_int_equal(st_stmt(st, sql, NO_PARAMS, &s), 0);
    assert_int_equal(st_step(st, s), DB_ROW);
    snprintf(out, n, "%s", st->ops->column_text(s, 0));
    st_done(st, s);
}

/* ---- schema ---- */

static void test_migrate_empty(void **state)
{
    struct fixture *fx = *state;
    int v = -1;

    assert_int_equal(store_schema_version(fx->st, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(store_migrate(fx->st, &v), 0);
    assert_int_equal(v, store_schema_version_latest());
    assert_true(store_schema_version_latest() >= 1);
    assert_int_equal(store_schema_version(fx->st, &v), 0);
    assert_int_equal(v, store_schema_version_latest());
    assert_int_equal(store_ping(fx->st), 0);
}

static void test_migrate_twice(void **state)
{
    struct fixture *fx = *state;
    int v = -1;
    int64_t tables = test_db_objects(&fx->db);

    assert_int_equal(store_migrate(fx->st, &v), 0);
    assert_int_equal(v, store_schema_version_latest());
    assert_int_equal(store_migrate(fx->st, NULL), 0);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM schema_migrations"),
                     store_schema_version_latest());
    assert_int_equal(test_db_objects(&fx->db), tables);
}

static void test_migrate_newer_refused(void **state)
{
    struct fixture *fx = *state;
    char sql[160];
    int v = 0;
    int64_t org = mk_org(fx->st, "Acme", false);
    int64_t objects;

    store_close(fx->st);
    fx->st = NULL;
    snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, 0)",
             store_schema_version_latest() + 1);
    test_db_exec(&fx->db, sql);
    objects = test_db_objects(&fx->db);

    assert_int_equal(open_store(fx, 1000), 0);
    assert_int_equal(store_migrate(fx->st, &v), -NA_EVERSION);
    assert_int_equal(v, store_schema_version_latest() + 1);
    assert_int_equal(test_db_objects(&fx->db), objects);
    assert_int_equal(test_db_int(&fx->db, "SELECT MAX(version) FROM schema_migrations"),
                     store_schema_version_latest() + 1);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM organisations"), 1);
    assert_int_equal(test_db_int(&fx->db, "SELECT id FROM organisations"), org);
}

static void test_migrate_newer_bare_db(void **state)
{
    struct fixture *fx = *state;
    int v = 0;

    /* Only the bookkeeping table, from some future binary: nothing may be created. */
    test_db_exec(&fx->db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                          "applied_at BIGINT); INSERT INTO schema_migrations VALUES (999, 0);");
    assert_int_equal(store_migrate(fx->st, &v), -NA_EVERSION);
    assert_int_equal(v, 999);
    assert_int_equal(test_db_tables(&fx->db), 1);
}

static void test_reopen_persists(void **state)
{
    struct fixture *fx = *state;
    struct org_row o;
    struct user_row u;
    int64_t org = mk_org(fx->st, "Durable", true);
    int64_t uid = mk_user(fx->st, org, "keeper", ROLE_WORKER);
    int v = 0;

    store_close(fx->st);
    fx->st = NULL;
    assert_int_equal(open_store(fx, 1000), 0);
    assert_int_equal(store_migrate(fx->st, &v), 0);
    assert_int_equal(v, store_schema_version_latest());
    assert_int_equal(store_org_get(fx->st, org, &o), 0);
    assert_string_equal(o.name, "Durable");
    assert_true(o.is_host);
    org_row_fini(&o);
    assert_int_equal(store_user_get(fx->st, org, uid, &u), 0);
    assert_string_equal(u.username, "keeper");
    user_row_fini(&u);
}

static void test_pragmas(void **state)
{
    struct fixture *fx = *state;
    char text[32];
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;

    conn_text(fx->st, "PRAGMA journal_mode", text, sizeof text);
    assert_string_equal(text, "wal");
    conn_text(fx->st, "PRAGMA synchronous", text, sizeof text);
    assert_string_equal(text, "2");
    conn_text(fx->st, "PRAGMA foreign_keys", text, sizeof text);
    assert_string_equal(text, "1");
    conn_text(fx->st, "PRAGMA busy_timeout", text, sizeof text);
    assert_string_equal(text, "1000");

    /* WAL is a property of the file: a second connection sees it. */
    assert_int_equal(sqlite3_open(fx->db.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* ---- organisations ---- */

static void test_org_crud(void **state)
{
    struct fixture *fx = *state;
    struct org_row o;
    struct org_row *rows = NULL;
    size_t n = 0;
    int64_t count = 0;
    int64_t id = 0;
    int64_t host = mk_org(fx->st, "Host", true);
    int64_t a = mk_org(fx->st, "A", false);
    int64_t b = mk_org(fx->st, "B", false);

    assert_int_equal(store_org_create(fx->st, "Second host", true, T0, &id), -NA_ECONFLICT);
    assert_int_equal(store_org_get(fx->st, a, &o), 0);
    assert_int_equal(o.id, a);
    assert_string_equal(o.name, "A");
    assert_false(o.is_host);
    assert_int_equal(o.created_at, T0);
    org_row_fini(&o);
    assert_int_equal(store_org_rename(fx->st, a, "A2"), 0);
    assert_int_equal(store_org_get(fx->st, a, &o), 0);
    assert_string_equal(o.name, "A2");
    org_row_fini(&o);
    assert_int_equal(store_org_get(fx->st, 9999, &o), -NA_ENOTFOUND);
    assert_null(o.name);
    assert_int_equal(store_org_rename(fx->st, 9999, "x"), -NA_ENOTFOUND);
    assert_int_equal(store_org_count(fx->st, &count), 0);
    assert_int_equal(count, 3);

    assert_int_equal(store_org_list(fx->st, 0, 2, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, host);
    assert_int_equal(rows[1].id, a);
    org_rows_free(rows, n);
    assert_int_equal(store_org_list(fx->st, a, 2, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, b);
    org_rows_free(rows, n);
    assert_int_equal(store_org_list(fx->st, b, 2, &rows, &n), 0);
    assert_int_equal(n, 0);
    org_rows_free(rows, n);
    assert_int_equal(store_org_list(fx->st, 0, 0, &rows, &n), -NA_EINVAL);
    assert_int_equal(store_org_list(fx->st, 0, STORE_LIST_MAX + 1, &rows, &n), -NA_EINVAL);
}

/* ---- teams ---- */

static void test_team_crud(void **state)
{
    struct fixture *fx = *state;
    struct team_row t;
    struct team_row *rows = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    int64_t id = 0;
    int64_t org = mk_org(fx->st, "Org", false);
    int64_t other = mk_org(fx->st, "Other", false);
    int64_t mgr = mk_user(fx->st, org, "mgr", ROLE_MANAGER);
    int64_t w1 = mk_user(fx->st, org, "w1", ROLE_WORKER);
    int64_t w2 = mk_user(fx->st, org, "w2", ROLE_WORKER);
    int64_t team = mk_team(fx->st, org, "Night shift", mgr);
    int64_t team2 = mk_team(fx->st, org, "Day shift", 0);

    assert_int_equal(store_team_create(fx->st, org, "Night shift", 0, T0, &id), -NA_ECONFLICT);
    mk_team(fx->st, other, "Night shift", 0); /* names are per organisation */
    assert_int_equal(store_team_create(fx->st, 9999, "Nobody's", 0, T0, &id), -NA_ENOTFOUND);

    assert_int_equal(store_team_add_member(fx->st, org, team, w2), 0);
    assert_int_equal(store_team_add_member(fx->st, org, team, w1), 0);
    assert_int_equal(store_team_add_member(fx->st, org, team, w1), 0); /* idempotent */
    assert_int_equal(store_team_add_member(fx->st, org, team, 9999), -NA_ENOTFOUND);
    assert_int_equal(store_team_get(fx->st, org, team, &t), 0);
    assert_string_equal(t.name, "Night shift");
    assert_int_equal(t.organisation_id, org);
    assert_int_equal(t.line_manager_id, mgr);
    assert_int_equal(t.created_at, T0);
    assert_int_equal(t.n_members, 2);
    assert_int_equal(t.member_ids[0], w1);
    assert_int_equal(t.member_ids[1], w2);
    team_row_fini(&t);

    assert_int_equal(store_teams_managed_by(fx->st, org, mgr, &ids, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], team);
    free(ids);

    assert_int_equal(store_team_update(fx->st, org, team, "Late shift", false, 0), 0);
    assert_int_equal(store_team_get(fx->st, org, team, &t), 0);
    assert_string_equal(t.name, "Late shift");
    assert_int_equal(t.line_manager_id, mgr);
    team_row_fini(&t);
    assert_int_equal(store_team_update(fx->st, org, team, NULL, true, 0), 0);
    assert_int_equal(store_team_get(fx->st, org, team, &t), 0);
    assert_string_equal(t.name, "Late shift");
    assert_int_equal(t.line_manager_id, 0);
    team_row_fini(&t);
    assert_int_equal(store_team_update(fx->st, org, team, NULL, true, w1), 0);
    assert_int_equal(store_team_update(fx->st, org, team, "Day shift", false, 0), -NA_ECONFLICT);
    assert_int_equal(store_team_update(fx->st, org, 9999, "x", false, 0), -NA_ENOTFOUND);

    assert_int_equal(store_team_remove_member(fx->st, org, team, w1), 0);
    assert_int_equal(store_team_remove_member(fx->st, org, team, w1), 0);
    assert_int_equal(store_team_list(fx->st, org, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, team);
    assert_int_equal(rows[0].n_members, 1);
    assert_int_equal(rows[0].member_ids[0], w2);
    assert_int_equal(rows[0].line_manager_id, w1);
    assert_int_equal(rows[1].id, team2);
    assert_int_equal(rows[1].n_members, 0);
    team_rows_free(rows, n);
    assert_int_equal(store_team_list(fx->st, org, team, 1, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, team2);
    team_rows_free(rows, n);

    assert_int_equal(store_team_delete(fx->st, org, team), 0);
    assert_int_equal(store_team_get(fx->st, org, team, &t), -NA_ENOTFOUND);
    assert_int_equal(store_team_delete(fx->st, org, team), -NA_ENOTFOUND);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM team_members"), 0);
}

/* ---- users and vehicles ---- */

static void test_user_crud(void **state)
{
    struct fixture *fx = *state;
    struct user_row u;
    int64_t id = 0;
    int64_t n = 0;
    int64_t veh = 0;
    int64_t org = mk_org(fx->st, "Org", false);
    int64_t team = mk_team(fx->st, org, "T", 0);
    struct user_new nu = {.organisation_id = org,
                          .username = "alice",
                          .display_name = "Alice A",
                          .email = "alice@example.org",
                          .phone = "+44 1234 567890",
                          .home_address = "1 High St\nTown",
                          .nok_name = "Bob",
                          .nok_relation = "partner",
                          .nok_phone = "01234 000000",
                          .roles = ROLE_WORKER | ROLE_MANAGER,
                          .password_hash = "$argon2id$v=19$m=65536,t=2,p=1$abc$def",
                          .password_change_required = true,
                          .now = T0};
    struct user_patch p = {.set_email = true,
                           .email = NULL,
                           .set_display_name = true,
                           .display_name = "Alice B",
                           .set_next_of_kin = true,
                           .set_roles = true,
                           .roles = ROLE_WORKER,
                           .set_disabled = true,
                           .disabled = true,
                           .now = T0 + 5};

    assert_int_equal(store_user_create(fx->st, &nu, &id), 0);
    nu.organisation_id = mk_org(fx->st, "Elsewhere", false);
    assert_int_equal(store_user_create(fx->st, &nu, NULL), -NA_ECONFLICT);
    nu.organisation_id = 9999;
    nu.username = "ghost";
    assert_int_equal(store_user_create(fx->st, &nu, NULL), -NA_ENOTFOUND);

    assert_int_equal(store_team_add_member(fx->st, org, team, id), 0);
    assert_int_equal(store_vehicle_add(fx->st, org, id, "AB12 CDE", "Ford", "Focus", "blue", &veh),
                     0);
    assert_int_equal(store_vehicle_add(fx->st, org, id, "XY99 ZZZ", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(store_user_get(fx->st, org, id, &u), 0);
    assert_int_equal(u.id, id);
    assert_int_equal(u.organisation_id, org);
    assert_string_equal(u.username, "alice");
    assert_string_equal(u.display_name, "Alice A");
    assert_string_equal(u.email, "alice@example.org");
    assert_string_equal(u.phone, "+44 1234 567890");
    assert_string_equal(u.home_address, "1 High St\nTown");
    assert_string_equal(u.next_of_kin.name, "Bob");
    assert_string_equal(u.next_of_kin.relation, "partner");
    assert_string_equal(u.next_of_kin.phone, "01234 000000");
    assert_int_equal(u.roles, ROLE_WORKER | ROLE_MANAGER);
    assert_false(u.disabled);
    assert_true(u.password_change_required);
    assert_string_equal(u.password_hash, "$argon2id$v=19$m=65536,t=2,p=1$abc$def");
    assert_int_equal(u.created_at, T0);
    assert_int_equal(u.updated_at, T0);
    assert_int_equal(u.n_team_ids, 1);
    assert_int_equal(u.team_ids[0], team);
    assert_int_equal(u.n_vehicles, 2);
    assert_int_equal(u.vehicles[0].id, veh);
    assert_int_equal(u.vehicles[0].user_id, id);
    assert_string_equal(u.vehicles[0].registration, "AB12 CDE");
    assert_string_equal(u.vehicles[0].make, "Ford");
    assert_string_equal(u.vehicles[0].model, "Focus");
    assert_string_equal(u.vehicles[0].colour, "blue");
    assert_null(u.vehicles[1].make);
    user_row_fini(&u);

    assert_int_equal(store_user_update(fx->st, org, id, &p), 0);
    assert_int_equal(store_user_get_by_username(fx->st, "alice", &u), 0);
    assert_string_equal(u.display_name, "Alice B");
    assert_null(u.email);
    assert_string_equal(u.phone, "+44 1234 567890"); /* not in the patch */
    assert_null(u.next_of_kin.name);
    assert_null(u.next_of_kin.relation);
    assert_int_equal(u.roles, ROLE_WORKER);
    assert_true(u.disabled);
    assert_int_equal(u.updated_at, T0 + 5);
    user_row_fini(&u);
    assert_int_equal(store_user_get_by_username(fx->st, "ALICE", &u), -NA_ENOTFOUND);
    assert_int_equal(store_user_get(fx->st, org, 9999, &u), -NA_ENOTFOUND);

    assert_int_equal(store_user_set_password(fx->st, org, id, "$argon2id$new", false, T0 + 9), 0);
    assert_int_equal(store_user_get(fx->st, org, id, &u), 0);
    assert_string_equal(u.password_hash, "$argon2id$new");
    assert_false(u.password_change_required);
    assert_int_equal(u.updated_at, T0 + 9);
    user_row_fini(&u);

    mk_user(fx->st, org, "bob", ROLE_MANAGER);
    assert_int_equal(store_user_count_with_roles(fx->st, org, ROLE_MANAGER | ROLE_WORKER, &n), 0);
    assert_int_equal(n, 1); /* alice is disabled now */
    assert_int_equal(store_user_count_with_roles(fx->st, org, ROLE_ADMIN, &n), 0);
    assert_int_equal(n, 0);

    assert_int_equal(store_vehicle_delete(fx->st, org, id, veh), 0);
    assert_int_equal(store_vehicle_delete(fx->st, org, id, veh), -NA_ENOTFOUND);
    assert_int_equal(store_user_get(fx->st, org, id, &u), 0);
    assert_int_equal(u.n_vehicles, 1);
    assert_string_equal(u.vehicles[0].registration, "XY99 ZZZ");
    user_row_fini(&u);
}

static void test_user_list(void **state)
{
    struct fixture *fx = *state;
    struct user_row *rows = NULL;
    size_t n = 0;
    int64_t org = mk_org(fx->st, "Org", false);
    int64_t other = mk_org(fx->st, "Other", false);
    int64_t team = mk_team(fx->st, org, "T", 0);
    int64_t ids[7];
    char name[16];
    struct user_filter f = {0};
    int64_t after = 0;
    size_t seen = 0;

    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "user%d", i);
        ids[i] = mk_user(fx->st, org, name, i % 2 ? ROLE_MANAGER : ROLE_WORKER);
        mk_user(fx->st, other, (snprintf(name, sizeof name, "other%d", i), name), ROLE_WORKER);
        if (i % 3 == 0)
            assert_int_equal(store_team_add_member(fx->st, org, team, ids[i]), 0);
    }
    assert_int_equal(store_vehicle_add(fx->st, org, ids[4], "V4", NULL, NULL, NULL, NULL), 0);

    /* Pages of 3: 3, 3, 1, then empty. */
    for (int page = 0; page < 4; page++) {
        assert_int_equal(store_user_list(fx->st, org, NULL, after, 3, &rows, &n), 0);
        assert_int_equal(n, page < 2 ? 3 : page == 2 ? 1 : 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(rows[i].id, ids[seen]);
            assert_int_equal(rows[i].organisation_id, org);
            assert_int_equal(rows[i].n_team_ids, seen % 3 == 0 ? 1 : 0);
            assert_int_equal(rows[i].n_vehicles, seen == 4 ? 1 : 0);
            seen++;
        }
        if (n)
            after = rows[n - 1].id;
        user_rows_free(rows, n);
    }
    assert_int_equal(seen, 7);

    f.team_id = team;
    assert_int_equal(store_user_list(fx->st, org, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].id, ids[0]);
    assert_int_equal(rows[1].id, ids[3]);
    assert_int_equal(rows[2].id, ids[6]);
    user_rows_free(rows, n);

    f.team_id = 0;
    f.roles = ROLE_MANAGER | ROLE_ADMIN;
    assert_int_equal(store_user_list(fx->st, org, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_true(rows[i].roles & ROLE_MANAGER);
    user_rows_free(rows, n);

    f.team_id = team;
    f.roles = ROLE_MANAGER;
    assert_int_equal(store_user_list(fx->st, org, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, ids[3]);
    user_rows_free(rows, n);

    memset(&f, 0, sizeof f);
    f.username = "user5";
    assert_int_equal(store_user_list(fx->st, org, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, ids[5]);
    user_rows_free(rows, n);
    f.username = "other5"; /* exists, but in another organisation */
    assert_int_equal(store_user_list(fx->st, org, &f, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    user_rows_free(rows, n);
    assert_int_equal(store_user_list(fx->st, org, NULL, 0, -1, &rows, &n), -NA_EINVAL);
}

/* Counts the result rows of every statement run on a connection (SQLITE_TRACE_ROW). */
static int count_rows(unsigned type, void *ctx, void *p, void *x)
{
    (void)type;
    (void)p;
    (void)x;
    (*(long *)ctx)++;
    return 0;
}

/* The SQLite connection behind a store: struct db of db_sqlite.c begins with it. */
static sqlite3 *sqlite_of(struct store *st)
{
    return *(sqlite3 **)(void *)st->db;
}

/* 300 users, each a member of one team and with one vehicle; two of them managers; 300
 * more teams without members. */
struct attach_data {
    int64_t org;
    int64_t team;
    int64_t first; /* the first user, a manager */
    int64_t last;  /* the last user, a manager */
};

static void fill_attach(struct store *st, struct attach_data *d)
{
    char name[16];

    d->org = mk_org(st, "Org", false);
    d->team = mk_team(st, d->org, "T", 0);
    assert_int_equal(store_begin(st), 0);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "u%d", i);
        int64_t id = mk_user(st, d->org, name, i == 0 || i == 299 ? ROLE_MANAGER : ROLE_WORKER);
        assert_int_equal(store_team_add_member(st, d->org, d->team, id), 0);
        assert_int_equal(store_vehicle_add(st, d->org, id, "V", NULL, NULL, NULL, NULL), 0);
        d->first = i == 0 ? id : d->first;
        d->last = id;
    }
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "T%d", i);
        mk_team(st, d->org, name, 0);
    }
    assert_int_equal(store_commit(st), 0);
}

/* A filtered page whose rows are far apart reads the teams and vehicles of its rows only
 * (counted with SQLite's row trace). */
static void test_list_attach_reads_few(void **state)
{
    struct fixture *fx = *state;
    struct user_row *urows = NULL;
    struct user_filter f = {.roles = ROLE_MANAGER};
    struct attach_data d;
    size_t n = 0;
    long rows = 0;

    fill_attach(fx->st, &d);
    sqlite3_trace_v2(sqlite_of(fx->st), SQLITE_TRACE_ROW, count_rows, &rows);
    assert_int_equal(store_user_list(fx->st, d.org, &f, 0, 10, &urows, &n), 0);
    sqlite3_trace_v2(sqlite_of(fx->st), 0, NULL, NULL);
    assert_int_equal(n, 2);
    user_rows_free(urows, n);
    /* 2 users, 2 memberships, 2 vehicles; not the 298 of each in between. */
    assert_true(rows <= 10);
}

/* A filtered page whose rows are far apart gets the teams and vehicles of its rows. */
static void test_list_attach_by_ids(void **state)
{
    struct fixture *fx = *state;
    struct user_row *urows = NULL;
    struct team_row *trows = NULL;
    size_t n = 0;
    struct user_filter f = {.roles = ROLE_MANAGER};
    struct attach_data d;

    fill_attach(fx->st, &d);
    int64_t org = d.org, team = d.team, first = d.first, last = d.last;
    assert_int_equal(store_user_list(fx->st, org, &f, 0, 10, &urows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(urows[0].id, first);
    assert_int_equal(urows[1].id, last);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(urows[i].n_team_ids, 1);
        assert_int_equal(urows[i].team_ids[0], team);
        assert_int_equal(urows[i].n_vehicles, 1);
        assert_int_equal(urows[i].vehicles[0].user_id, urows[i].id);
    }
    user_rows_free(urows, n);

    /* Every page of a long list, in lengths that are not powers of two. */
    for (int limit = 1; limit <= 301; limit += 37) {
        int64_t after = 0;
        size_t seen = 0;
        do {
            assert_int_equal(store_user_list(fx->st, org, NULL, after, limit, &urows, &n), 0);
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(urows[i].n_team_ids, 1);
                assert_int_equal(urows[i].n_vehicles, 1);
                assert_int_equal(urows[i].vehicles[0].user_id, urows[i].id);
            }
            after = n ? urows[n - 1].id : after;
            seen += n;
            user_rows_free(urows, n);
        } while (n == (size_t)limit);
        assert_int_equal(seen, 300);
    }
    assert_int_equal(store_team_list(fx->st, org, 0, 301, &trows, &n), 0);
    assert_int_equal(n, 301);
    assert_int_equal(trows[0].id, team);
    assert_int_equal(trows[0].n_members, 300);
    assert_int_equal(trows[0].member_ids[0], first);
    assert_int_equal(trows[0].member_ids[299], last);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(trows[i].n_members, 0);
    team_rows_free(trows, n);
}

/* ---- organisation isolation ---- */

static void test_cross_org(void **state)
{
    struct fixture *fx = *state;
    struct team_row t;
    struct user_row u;
    struct api_key_row k;
    struct api_key_row *keys = NULL;
    struct user_patch p = {.set_display_name = true, .display_name = "pwned", .now = T0};
    size_t n = 0;
    int64_t veh = 0;
    int64_t key = 0;
    int64_t a = mk_org(fx->st, "A", false);
    int64_t b = mk_org(fx->st, "B", false);
    int64_t ua = mk_user(fx->st, a, "ua", ROLE_WORKER);
    int64_t ub = mk_user(fx->st, b, "ub", ROLE_WORKER);
    int64_t ta = mk_team(fx->st, a, "TA", 0);
    int64_t tb = mk_team(fx->st, b, "TB", 0);

    assert_int_equal(store_vehicle_add(fx->st, b, ub, "B1", NULL, NULL, NULL, &veh), 0);
    assert_int_equal(store_api_key_create(fx->st, b, ub, "k", "nak_", "hash-b", T0, &key), 0);

    assert_int_equal(store_team_get(fx->st, a, tb, &t), -NA_ENOTFOUND);
    assert_int_equal(store_user_get(fx->st, a, ub, &u), -NA_ENOTFOUND);
    assert_int_equal(store_team_add_member(fx->st, a, ta, ub), -NA_ENOTFOUND);
    assert_int_equal(store_team_add_member(fx->st, a, tb, ua), -NA_ENOTFOUND);
    assert_int_equal(store_team_remove_member(fx->st, a, tb, ub), -NA_ENOTFOUND);
    assert_int_equal(store_team_create(fx->st, a, "Bad", ub, T0, NULL), -NA_ENOTFOUND);
    assert_int_equal(store_team_update(fx->st, a, ta, NULL, true, ub), -NA_ENOTFOUND);
    assert_int_equal(store_team_update(fx->st, a, tb, "x", false, 0), -NA_ENOTFOUND);
    assert_int_equal(store_team_delete(fx->st, a, tb), -NA_ENOTFOUND);
    assert_int_equal(store_user_update(fx->st, a, ub, &p), -NA_ENOTFOUND);
    assert_int_equal(store_user_set_password(fx->st, a, ub, "h", false, T0), -NA_ENOTFOUND);
    assert_int_equal(store_vehicle_add(fx->st, a, ub, "X", NULL, NULL, NULL, NULL), -NA_ENOTFOUND);
    assert_int_equal(store_vehicle_delete(fx->st, a, ub, veh), -NA_ENOTFOUND);
    assert_int_equal(store_api_key_create(fx->st, a, ub, "k", "p", "hash-x", T0, NULL),
                     -NA_ENOTFOUND);
    assert_int_equal(store_api_key_get(fx->st, a, key, &k), -NA_ENOTFOUND);
    assert_int_equal(store_api_key_revoke(fx->st, a, key, T0), -NA_ENOTFOUND);
    assert_int_equal(store_api_key_list(fx->st, a, 0, 0, 10, &keys, &n), 0);
    assert_int_equal(n, 0);
    api_key_rows_free(keys, n);

    /* Nothing of B changed. */
    assert_int_equal(store_user_get(fx->st, b, ub, &u), 0);
    assert_string_equal(u.display_name, "ub");
    assert_null(u.password_hash);
    assert_int_equal(u.n_vehicles, 1);
    user_row_fini(&u);
    assert_int_equal(store_team_get(fx->st, b, tb, &t), 0);
    assert_int_equal(t.n_members, 0);
    team_row_fini(&t);
    assert_int_equal(store_api_key_get(fx->st, b, key, &k), 0);
    assert_int_equal(k.revoked_at, 0);
    api_key_row_fini(&k);
}

/* ---- credentials ---- */

static void test_sessions(void **state)
{
    struct fixture *fx = *state;
    struct credential c;
    struct user_patch p = {.set_disabled = true, .disabled = true, .now = T0};
    int64_t host = mk_org(fx->st, "Host", true);
    int64_t org = mk_org(fx->st, "Org", false);
    int64_t admin = mk_user(fx->st, host, "admin", ROLE_ADMIN);
    int64_t w = mk_user(fx->st, org, "w", ROLE_WORKER);
    int64_t s1 = 0;
    int64_t s2 = 0;
    int64_t s3 = 0;

    assert_int_equal(store_session_create(fx->st, admin, "aa11", T0, T0 + 1000, &s1), 0);
    assert_int_equal(store_session_create(fx->st, w, "bb22", T0, T0 + 1000, &s2), 0);
    assert_int_equal(store_session_create(fx->st, w, "cc33", T0, T0 + 1000, &s3), 0);
    assert_int_equal(store_session_create(fx->st, w, "cc33", T0, T0 + 1000, NULL), -NA_ECONFLICT);
    assert_int_equal(store_session_create(fx->st, 9999, "dd44", T0, T0 + 1000, NULL),
                     -NA_ENOTFOUND);

    assert_int_equal(store_credential_lookup(fx->st, "aa11", T0 + 1, &c), 0);
    assert_int_equal(c.kind, CREDENTIAL_SESSION);
    assert_int_equal(c.id, s1);
    assert_int_equal(c.user_id, admin);
    assert_int_equal(c.organisation_id, host);
    assert_int_equal(c.roles, ROLE_ADMIN);
    assert_true(c.org_is_host);
    assert_false(c.disabled);
    assert_int_equal(c.expires_at, T0 + 1000);
    assert_int_equal(store_credential_lookup(fx->st, "bb22", T0 + 999, &c), 0);
    assert_int_equal(c.organisation_id, org);
    assert_false(c.org_is_host);

    /* Expired at expires_at. */
    assert_int_equal(store_credential_lookup(fx->st, "bb22", T0 + 1000, &c), -NA_ENOTFOUND);
    assert_int_equal(store_credential_lookup(fx->st, "nope", T0, &c), -NA_ENOTFOUND);

    assert_int_equal(store_session_revoke(fx->st, s1, T0 + 2), 0);
    assert_int_equal(store_session_revoke(fx->st, s1, T0 + 3), 0);
    assert_int_equal(store_session_revoke(fx->st, 9999, T0), -NA_ENOTFOUND);
    assert_int_equal(store_credential_lookup(fx->st, "aa11", T0 + 4, &c), -NA_ENOTFOUND);
    assert_int_equal(
        test_db_int(&fx->db, "SELECT revoked_at FROM sessions WHERE token_hash='aa11'"), T0 + 2);

    /* A disabled user is returned, flagged. */
    assert_int_equal(store_user_update(fx->st, org, w, &p), 0);
    assert_int_equal(store_credential_lookup(fx->st, "bb22", T0 + 5, &c), 0);
    assert_true(c.disabled);

    /* Revoke all but one (a password change keeps the session that made it). */
    assert_int_equal(store_sessions_revoke_user_except(fx->st, w, s3, T0 + 6), 0);
    assert_int_equal(store_credential_lookup(fx->st, "bb22", T0 + 7, &c), -NA_ENOTFOUND);
    assert_int_equal(store_credential_lookup(fx->st, "cc33", T0 + 7, &c), 0);
    assert_int_equal(c.id, s3);
    assert_int_equal(store_sessions_revoke_user(fx->st, w, T0 + 6), 0);
    assert_int_equal(store_credential_lookup(fx->st, "bb22", T0 + 7, &c), -NA_ENOTFOUND);
    assert_int_equal(store_credential_lookup(fx->st, "cc33", T0 + 7, &c), -NA_ENOTFOUND);
    assert_int_equal(store_sessions_revoke_user(fx->st, w, T0 + 8), 0);
}

static void test_api_keys(void **state)
{
    struct fixture *fx = *state;
    struct credential c;
    struct api_key_row k;
    struct api_key_row *rows = NULL;
    size_t n = 0;
    int64_t org = mk_org(fx->st, "Org", false);
    int64_t other = mk_org(fx->st, "Other", false);
    int64_t u1 = mk_user(fx->st, org, "u1", ROLE_OPERATOR);
    int64_t u2 = mk_user(fx->st, org, "u2", ROLE_WORKER);
    int64_t k1 = 0;
    int64_t k2 = 0;
    int64_t k3 = 0;

    assert_int_equal(store_api_key_create(fx->st, org, u1, "panel", "nak_1234", "h1", T0, &k1), 0);
    assert_int_equal(store_api_key_create(fx->st, org, u2, "app", "nak_5678", "h2", T0, &k2), 0);
    assert_int_equal(store_api_key_create(fx->st, org, u1, "other", "nak_9", "h3", T0, &k3), 0);
    assert_int_equal(store_api_key_create(fx->st, org, u1, "dup", "nak_9", "h3", T0, NULL),
                     -NA_ECONFLICT);

    assert_int_equal(store_api_key_get(fx->st, org, k1, &k), 0);
    assert_int_equal(k.organisation_id, org);
    assert_int_equal(k.user_id, u1);
    assert_string_equal(k.name, "panel");
    assert_string_equal(k.prefix, "nak_1234");
    assert_int_equal(k.created_at, T0);
    assert_int_equal(k.revoked_at, 0);
    api_key_row_fini(&k);

    assert_int_equal(store_credential_lookup(fx->st, "h1", T0 + 100000000, &c), 0);
    assert_int_equal(c.kind, CREDENTIAL_API_KEY);
    assert_int_equal(c.id, k1);
    assert_int_equal(c.user_id, u1);
    assert_int_equal(c.organisation_id, org);
    assert_int_equal(c.roles, ROLE_OPERATOR);
    assert_int_equal(c.expires_at, 0);

    assert_int_equal(store_api_key_revoke(fx->st, org, k1, T0 + 1), 0);
    assert_int_equal(store_api_key_revoke(fx->st, org, k1, T0 + 2), 0); /* idempotent */
    assert_int_equal(store_credential_lookup(fx->st, "h1", T0 + 3, &c), -NA_ENOTFOUND);
    assert_int_equal(store_api_key_get(fx->st, org, k1, &k), 0);
    assert_int_equal(k.revoked_at, T0 + 1);
    api_key_row_fini(&k);

    assert_int_equal(store_api_key_list(fx->st, org, 0, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 3); /* revoked keys listed too */
    api_key_rows_free(rows, n);
    assert_int_equal(store_api_key_list(fx->st, org, u1, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, k1);
    assert_int_equal(rows[1].id, k3);
    api_key_rows_free(rows, n);
    assert_int_equal(store_api_key_list(fx->st, org, 0, k1, 1, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, k2);
    api_key_rows_free(rows, n);

    /* All keys of one user: the revoked one keeps its time, the other user's stays. */
    assert_int_equal(store_api_keys_revoke_user(fx->st, other, u1, T0 + 5), 0);
    assert_int_equal(store_credential_lookup(fx->st, "h3", T0 + 6, &c), 0);
    assert_int_equal(store_api_keys_revoke_user(fx->st, org, u1, T0 + 5), 0);
    assert_int_equal(store_credential_lookup(fx->st, "h3", T0 + 6, &c), -NA_ENOTFOUND);
    assert_int_equal(store_credential_lookup(fx->st, "h2", T0 + 6, &c), 0);
    assert_int_equal(store_api_key_get(fx->st, org, k1, &k), 0);
    assert_int_equal(k.revoked_at, T0 + 1);
    api_key_row_fini(&k);
    assert_int_equal(store_api_key_get(fx->st, org, k3, &k), 0);
    assert_int_equal(k.revoked_at, T0 + 5);
    api_key_row_fini(&k);
    assert_int_equal(store_api_keys_revoke_user(fx->st, org, u1, T0 + 7), 0);
}

static void test_login_attempts(void **state)
{
    struct fixture *fx = *state;
    struct login_attempts a = {.failures = 3, .last_failure_at = T0, .locked_until = T0 + 60000};
    struct login_attempts got;

    assert_int_equal(store_login_attempts_get(fx->st, "nobody", &got), 0);
    assert_int_equal(got.failures, 0);
    assert_int_equal(got.last_failure_at, 0);
    assert_int_equal(got.locked_until, 0);
    assert_int_equal(store_login_attempts_put(fx->st, "nobody", &a), 0);
    assert_int_equal(store_login_attempts_get(fx->st, "nobody", &got), 0);
    assert_int_equal(got.failures, 3);
    assert_int_equal(got.last_failure_at, T0);
    assert_int_equal(got.locked_until, T0 + 60000);
    a.failures = 4;
    a.locked_until = 0;
    assert_int_equal(store_login_attempts_put(fx->st, "nobody", &a), 0);
    assert_int_equal(store_login_attempts_get(fx->st, "nobody", &got), 0);
    assert_int_equal(got.failures, 4);
    assert_int_equal(got.locked_until, 0);
    assert_int_equal(store_login_attempts_clear(fx->st, "nobody"), 0);
    assert_int_equal(store_login_attempts_clear(fx->st, "nobody"), 0);
    assert_int_equal(store_login_attempts_get(fx->st, "nobody", &got), 0);
    assert_int_equal(got.failures, 0);
}

static void test_purge_expired(void **state)
{
    struct fixture *fx = *state;
    const int64_t hour = 60 * 60 * 1000, day = 24 * hour;
    const int64_t now = T0 + 30 * day;
    struct login_attempts stale = {.failures = 9, .last_failure_at = now - hour - 1};
    struct login_attempts recent = {.failures = 2, .last_failure_at = now - hour + 1};
    struct login_attempts locked = {
        .failures = 10, .last_failure_at = now - 2 * hour, .locked_until = now + 1};
    struct login_attempts lock_over = {
        .failures = 10, .last_failure_at = now - 2 * hour, .locked_until = now - 1};
    struct login_attempts got;
    int64_t org = mk_org(fx->st, "Org", false);
    int64_t w = mk_user(fx->st, org, "w", ROLE_WORKER);
    int64_t id = 0;

    assert_int_equal(store_login_attempts_put(fx->st, "stale", &stale), 0);
    assert_int_equal(store_login_attempts_put(fx->st, "recent", &recent), 0);
    assert_int_equal(store_login_attempts_put(fx->st, "locked", &locked), 0);
    assert_int_equal(store_login_attempts_put(fx->st, "lockover", &lock_over), 0);
    /* expired 8 days ago; expired 6 days ago; revoked 8 days ago; revoked 6 days ago; live */
    assert_int_equal(store_session_create(fx->st, w, "s1", T0, now - 8 * day, &id), 0);
    assert_int_equal(store_session_create(fx->st, w, "s2", T0, now - 6 * day, &id), 0);
    assert_int_equal(store_session_create(fx->st, w, "s3", T0, now + day, &id), 0);
    assert_int_equal(store_session_revoke(fx->st, id, now - 8 * day), 0);
    assert_int_equal(store_session_create(fx->st, w, "s4", T0, now + day, &id), 0);
    assert_int_equal(store_session_revoke(fx->st, id, now - 6 * day), 0);
    assert_int_equal(store_session_create(fx->st, w, "s5", T0, now + day, &id), 0);

    assert_int_equal(store_purge_expired(fx->st, now), 0);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM login_attempts"), 2);
    assert_int_equal(store_login_attempts_get(fx->st, "stale", &got), 0);
    assert_int_equal(got.failures, 0);
    assert_int_equal(store_login_attempts_get(fx->st, "recent", &got), 0);
    assert_int_equal(got.failures, 2);
    assert_int_equal(store_login_attempts_get(fx->st, "locked", &got), 0);
    assert_int_equal(got.failures, 10);
    /* a lock that has run out is no longer kept for */
    assert_int_equal(store_login_attempts_get(fx->st, "lockover", &got), 0);
    assert_int_equal(got.failures, 0);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM sessions WHERE token_hash IN "
                                          "('s2', 's4', 's5')"),
                     3);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM sessions"), 3);
    /* Nothing more to do the second time. */
    assert_int_equal(store_purge_expired(fx->st, now), 0);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM sessions"), 3);
}

static void test_audit(void **state)
{
    struct fixture *fx = *state;
    struct audit_row *rows = NULL;
    size_t n = 0;
    int64_t org = mk_org(fx->st, "Org", false);
    int64_t other = mk_org(fx->st, "Other", false);
    struct audit_event e = {.organisation_id = org,
                            .actor_user_id = 7,
                            .action = "user.create",
                            .target_type = "user",
                            .target_id = 42,
                            .detail = NULL,
                            .at = T0};
    int64_t before = 0;

    for (int i = 0; i < 5; i++) {
        e.at = T0 + i;
        assert_int_equal(store_audit_append(fx->st, &e), 0);
    }
    e.organisation_id = other;
    e.action = "login.failure";
    e.actor_user_id = 0;
    e.target_type = NULL;
    e.detail = "bad password";
    assert_int_equal(store_audit_append(fx->st, &e), 0);

    assert_int_equal(store_audit_list(fx->st, org, 0, 3, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].at, T0 + 4); /* newest first */
    assert_int_equal(rows[2].at, T0 + 2);
    assert_true(rows[0].id > rows[1].id);
    assert_string_equal(rows[0].action, "user.create");
    assert_string_equal(rows[0].target_type, "user");
    assert_int_equal(rows[0].target_id, 42);
    assert_int_equal(rows[0].actor_user_id, 7);
    assert_null(rows[0].detail);
    before = rows[2].id;
    audit_rows_free(rows, n);
    assert_int_equal(store_audit_list(fx->st, org, before, 3, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].at, T0 + 1);
    assert_int_equal(rows[1].at, T0);
    audit_rows_free(rows, n);

    assert_int_equal(store_audit_list(fx->st, other, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_null(rows[0].target_type);
    assert_string_equal(rows[0].detail, "bad password");
    audit_rows_free(rows, n);
}

/* ---- transactions ---- */

static void test_transactions(void **state)
{
    struct fixture *fx = *state;
    struct org_row o;
    int64_t count = 0;
    int64_t kept = 0;
    int64_t undone = 0;

    store_rollback(fx->st); /* no transaction: a no-op */
    assert_int_equal(store_commit(fx->st), -NA_ESTORE);

    assert_int_equal(store_begin(fx->st), 0);
    assert_int_equal(store_begin(fx->st), -NA_ESTORE);
    assert_int_equal(store_org_create(fx->st, "Undone", false, T0, &undone), 0);
    assert_int_equal(store_org_get(fx->st, undone, &o), 0); /* visible inside */
    org_row_fini(&o);
    store_rollback(fx->st);
    assert_int_equal(store_org_get(fx->st, undone, &o), -NA_ENOTFOUND);
    assert_int_equal(store_org_count(fx->st, &count), 0);
    assert_int_equal(count, 0);

    assert_int_equal(store_begin(fx->st), 0);
    assert_int_equal(store_org_create(fx->st, "Kept", false, T0, &kept), 0);
    mk_user(fx->st, kept, "in_tx", ROLE_WORKER);
    assert_int_equal(store_commit(fx->st), 0);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM organisations"), 1);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM users"), 1);

    /* A failed statement inside a transaction leaves the transaction usable. */
    assert_int_equal(store_begin(fx->st), 0);
    mk_user(fx->st, kept, "second", ROLE_WORKER);
    struct user_new dup = {.organisation_id = kept, .username = "in_tx", .now = T0};
    assert_int_equal(store_user_create(fx->st, &dup, NULL), -NA_ECONFLICT);
    assert_int_equal(store_commit(fx->st), 0);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM users"), 2);

    /* Migrations manage their own transactions. */
    assert_int_equal(store_begin(fx->st), 0);
    assert_int_equal(store_migrate(fx->st, NULL), -NA_ESTORE);
    store_rollback(fx->st);
}

/* Another connection holds the write lock past the busy timeout: -NA_EUNAVAILABLE. */
static void test_busy(void **state)
{
    struct fixture *fx = *state;
    sqlite3 *db = NULL;
    int64_t id = 0;

    store_close(fx->st);
    fx->st = NULL;
    assert_int_equal(open_store(fx, 50), 0);
    assert_int_equal(sqlite3_open(fx->db.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(store_org_create(fx->st, "Blocked", false, T0, &id), -NA_EUNAVAILABLE);
    assert_int_equal(store_begin(fx->st), -NA_EUNAVAILABLE);
    assert_int_equal(store_org_count(fx->st, &id), 0); /* WAL: readers are not blocked */
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_org_create(fx->st, "Free", false, T0, &id), 0);
}

/* ---- faults ---- */

static void test_fault_read_only(void **state)
{
    struct fixture *fx = *state;
    char wal[160];
    int64_t id = 0;
    int64_t count = -1;
    int rc;

    mk_org(fx->st, "Before", false);
    store_close(fx->st);
    fx->st = NULL;
    snprintf(wal, sizeof wal, "%s-wal", fx->db.path);
    assert_int_equal(chmod(fx->db.path, 0444), 0);
    chmod(wal, 0444);
    rc = open_store(fx, 100);
    if (rc < 0) {
        /* Refusing to open is an acceptable answer to an unwritable database. */
        assert_null(fx->st);
    } else {
        /* Root ignores file modes: make the connection read-only instead. */
        if (geteuid() == 0)
            assert_int_equal(fx->st->ops->exec(fx->st->db, "PRAGMA query_only=ON"), 0);
        rc = store_org_create(fx->st, "After", false, T0, &id);
        assert_true(rc < 0);
        /* BEGIN IMMEDIATE is itself a write: it may fail, or the write inside it. */
        rc = store_begin(fx->st);
        if (rc == 0) {
            assert_true(store_org_rename(fx->st, 1, "x") < 0);
            store_rollback(fx->st);
        } else {
            assert_true(rc < 0);
        }
        assert_int_equal(store_org_count(fx->st, &count), 0);
        assert_int_equal(count, 1);
    }
    chmod(fx->db.path, 0644);
    chmod(wal, 0644);
}

/* A full disk, made by capping the database's size. */
static void test_fault_disk_full(void **state)
{
    struct fixture *fx = *state;
    char *big = malloc(64 * 1024);
    struct audit_event e = {.organisation_id = 1, .action = "fill", .at = T0};
    int rc = 0;
    int64_t id = 0;

    assert_non_null(big);
    memset(big, 'x', 64 * 1024 - 1);
    big[64 * 1024 - 1] = '\0';
    e.detail = big;
    assert_int_equal(fx->st->ops->exec(fx->st->db, "PRAGMA max_page_count=64"), 0);
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = store_audit_append(fx->st, &e);
    assert_int_equal(rc, -NA_ESTORE);
    /* Inside a transaction the failure is reported and the rollback leaves things sound. */
    if (store_begin(fx->st) == 0) {
        assert_int_equal(store_audit_append(fx->st, &e), -NA_ESTORE);
        store_rollback(fx->st);
    }
    assert_int_equal(store_ping(fx->st), 0);
    assert_int_equal(store_org_count(fx->st, &id), 0);
    free(big);
}

static void test_open_errors(void **state)
{
    struct fixture *fx = *state;
    struct store *st = (struct store *)1;
    struct store_config cfg = {.path = "/nonexistent-dir/sub/na.db", .busy_timeout_ms = 10};
    struct store_config none = {.path = NULL};

    (void)fx;
    assert_int_equal(store_open(&none, &st), -NA_EINVAL);
    assert_null(st);
    assert_int_equal(store_open(&cfg, &st), -NA_ESTORE);
    assert_null(st);
    store_close(NULL);
}

/* The statement cache: nested use of one SQL text, and more texts than the cache holds. */
static void test_statement_cache(void **state)
{
    struct fixture *fx = *state;
    struct store *st = fx->st;
    struct db_stmt *outer = NULL;
    struct db_stmt *inner = NULL;
    static const char sql[] = "SELECT id FROM organisations WHERE id > ? ORDER BY id";
    char text[96];
    int rows = 0;

    mk_org(st, "One", false);
    mk_org(st, "Two", false);
    assert_int_equal(st_stmt(st, sql, PARAMS(P_I64(0)), &outer), 0);
    while (st_step(st, outer) == DB_ROW) {
        assert_int_equal(st_stmt(st, sql, PARAMS(P_I64(0)), &inner), 0);
        assert_true(inner != outer);
        assert_int_equal(st_step(st, inner), DB_ROW);
        assert_int_equal(st_col_i64(st, inner, 0), 1);
        st_done(st, inner);
        rows++;
    }
    st_done(st, outer);
    assert_int_equal(rows, 2);

    /* Past the cache's size statements are prepared per use; results stay right. */
    for (int i = 0; i < 300; i++) {
        struct db_stmt *s = NULL;
        snprintf(text, sizeof text, "SELECT %d + ?", i);
        assert_int_equal(st_stmt(st, text, PARAMS(P_I64(1)), &s), 0);
        assert_int_equal(st_step(st, s), DB_ROW);
        assert_int_equal(st_col_i64(st, s, 0), i + 1);
        st_done(st, s);
    }
    assert_int_equal(st_stmt(st, "SELECT nonsense FROM nowhere", NO_PARAMS, &outer), -NA_ESTORE);
    assert_null(outer);
}

/*
 * A process killed right after store_commit returned keeps what it committed; one killed
 * inside a transaction leaves nothing of it.
 */
static void test_kill_after_commit(void **state)
{
    struct fixture *fx = *state;
    int fds[2];
    char c = 0;
    pid_t pid;
    int status = 0;
    int64_t count = 0;

    store_close(fx->st);
    fx->st = NULL;
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store *st = NULL;
        struct store_config cfg = test_db_config(&fx->db, 1000);
        close(fds[0]);
        if (store_open(&cfg, &st) < 0 || store_begin(st) < 0 ||
            store_org_create(st, "Committed", false, T0, NULL) < 0 || store_commit(st) < 0)
            _exit(1);
        if (store_begin(st) < 0 || store_org_create(st, "Uncommitted", false, T0, NULL) < 0)
            _exit(1);
        /* "Reply" to the client, then die without closing anything. */
        if (write(fds[1], "k", 1) != 1)
            _exit(1);
        raise(SIGKILL);
        _exit(1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    assert_int_equal(open_store(fx, 1000), 0);
    assert_int_equal(store_migrate(fx->st, NULL), 0);
    assert_int_equal(store_org_count(fx->st, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM organisations "
                                          "WHERE name = 'Committed'"),
                     1);
}

/* ---- hostile input ---- */

static void test_hostile_strings(void **state)
{
    struct fixture *fx = *state;
    static const char *const inputs[] = {
        "O'Brien",
        "\"quoted\"",
        "a; b; c",
        "'); DROP TABLE users;--",
        "Robert'); DROP TABLE organisations; --",
        "%s%n%x",
        "?",
        "$1",
        "\\'\\\"",
        "é ü ✓",
    };
    struct user_row u;
    struct org_row o;
    struct team_row t;
    struct login_attempts a = {.failures = 1, .last_failure_at = T0};
    struct login_attempts got;
    struct audit_row *rows = NULL;
    size_t n = 0;
    char *big = malloc(10 * 1024 + 1);

    assert_non_null(big);
    for (size_t i = 0; i < 10 * 1024; i++)
        big[i] = "a';\"--\\ ;)"[i % 10];
    big[10 * 1024] = '\0';

    for (size_t i = 0; i <= sizeof inputs / sizeof inputs[0]; i++) {
        const char *s = i < sizeof inputs / sizeof inputs[0] ? inputs[i] : big;
        struct user_new nu = {.username = s,
                              .display_name = s,
                              .email = s,
                              .home_address = s,
                              .nok_name = s,
                              .password_hash = s,
                              .now = T0};
        struct audit_event e = {.action = s, .target_type = s, .detail = s, .at = T0};
        int64_t org = mk_org(fx->st, s, false);
        int64_t uid = 0;
        int64_t tid = mk_team(fx->st, org, s, 0);

        nu.organisation_id = org;
        e.organisation_id = org;
        assert_int_equal(store_user_create(fx->st, &nu, &uid), 0);
        assert_int_equal(store_vehicle_add(fx->st, org, uid, s, s, s, s, NULL), 0);
        assert_int_equal(store_org_get(fx->st, org, &o), 0);
        assert_string_equal(o.name, s);
        org_row_fini(&o);
        assert_int_equal(store_team_get(fx->st, org, tid, &t), 0);
        assert_string_equal(t.name, s);
        team_row_fini(&t);
        assert_int_equal(store_user_get_by_username(fx->st, s, &u), 0);
        assert_int_equal(u.id, uid);
        assert_string_equal(u.display_name, s);
        assert_string_equal(u.email, s);
        assert_string_equal(u.home_address, s);
        assert_string_equal(u.next_of_kin.name, s);
        assert_string_equal(u.password_hash, s);
        assert_string_equal(u.vehicles[0].registration, s);
        assert_string_equal(u.vehicles[0].colour, s);
        user_row_fini(&u);
        assert_int_equal(store_login_attempts_put(fx->st, s, &a), 0);
        assert_int_equal(store_login_attempts_get(fx->st, s, &got), 0);
        assert_int_equal(got.failures, 1);
        assert_int_equal(store_audit_append(fx->st, &e), 0);
        assert_int_equal(store_audit_list(fx->st, org, 0, 1, &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(rows[0].detail, s);
        assert_string_equal(rows[0].action, s);
        audit_rows_free(rows, n);
        assert_int_equal(store_credential_lookup(fx->st, s, T0, &(struct credential){0}),
                         -NA_ENOTFOUND);
    }
    /* Every table is still there and holds what was written. */
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM users"),
                     (int64_t)(sizeof inputs / sizeof inputs[0] + 1));
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM organisations"),
                     (int64_t)(sizeof inputs / sizeof inputs[0] + 1));
    assert_int_equal(test_db_int(&fx->db, "SELECT MAX(LENGTH(display_name)) FROM users"),
                     10 * 1024);
    free(big);
}

/* ---- on both backends: constraints and numbers ---- */

/* A duplicate is -NA_ECONFLICT; a missing parent row (a bug of the caller) -NA_ESTORE. */
static void test_constraint_errors(void **state)
{
    struct fixture *fx = *state;
    int64_t org = mk_org(fx->st, "Host", true);
    struct user_new dup = {.organisation_id = org, .username = "twice", .now = T0};

    mk_user(fx->st, org, "twice", ROLE_WORKER);
    assert_int_equal(store_user_create(fx->st, &dup, NULL), -NA_ECONFLICT);
    /* A partial unique index: one host organisation. */
    assert_int_equal(store_org_create(fx->st, "Second host", true, T0, NULL), -NA_ECONFLICT);
    assert_int_equal(st_exec(fx->st,
                             "INSERT INTO teams (organisation_id, name, created_at) "
                             "VALUES (?, ?, ?)",
                             PARAMS(P_I64(org + 1000), P_TEXT("orphan"), P_I64(T0))),
                     -NA_ESTORE);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM teams"), 0);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM users"), 1);
}

/* Doubles (coordinates) are stored and read back bit for bit. */
static void test_double_exact(void **state)
{
    struct fixture *fx = *state;
    static const double values[] = {
        0.1,
        1.0 / 3.0,
        0.30000000000000004,
        51.50072919999999,
        -0.12762099999999999,
        -179.99999999999997,
        1e-300,
        4.9406564584124654e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        123456789.12345678,
    };
    size_t n = sizeof values / sizeof values[0];
    struct db_stmt *s = NULL;
    size_t i = 0;

    assert_int_equal(fx->st->ops->exec(fx->st->db, "CREATE TABLE doubles (k BIGINT, v DOUBLE "
                                                   "PRECISION)"),
                     0);
    for (i = 0; i < n; i++)
        assert_int_equal(st_exec(fx->st, "INSERT INTO doubles (k, v) VALUES (?, ?)",
                                 PARAMS(P_I64(i), P_F64(values[i]))),
                         0);
    assert_int_equal(st_stmt(fx->st, "SELECT v FROM doubles ORDER BY k", NO_PARAMS, &s), 0);
    for (i = 0; st_step(fx->st, s) == DB_ROW; i++) {
        double got = st_col_f64(fx->st, s, 0);
        assert_true(i < n);
        assert_memory_equal(&got, &values[i], sizeof got);
    }
    st_done(fx->st, s);
    assert_int_equal(i, n);
}

/* ---- PostgreSQL ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/*
 * Ends every other session on the test's database, as a restarting server or an
 * administrator would, and waits until they are gone.
 */
static void pg_terminate_others(struct fixture *fx)
{
    static const char others[] = "FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND pid <> pg_backend_pid()";
    char sql[160];
    PGconn *c = test_pg_connect(fx->db.url);

    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(pid) %s", others);
    test_pg_exec(c, sql);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) %s", others);
    for (int i = 0; i < 500 && test_pg_int(c, sql) > 0; i++)
        sleep_ms(10);
    assert_int_equal(test_pg_int(c, sql), 0);
    PQfinish(c);
}

/* The session's settings: a lock wait of busy_timeout_ms, UTF-8. */
static void test_pg_session(void **state)
{
    struct fixture *fx = *state;
    char text[32];

    assert_string_equal(fx->st->ops->name, "postgresql");
    conn_text(fx->st, "SHOW lock_timeout", text, sizeof text);
    assert_string_equal(text, "1s");
    conn_text(fx->st, "SHOW client_encoding", text, sizeof text);
    assert_string_equal(text, "UTF8");
}

/* A `?` inside a string literal, a quoted identifier or a comment is not a parameter. */
static void test_pg_placeholders(void **state)
{
    struct fixture *fx = *state;
    struct db_stmt *s = NULL;
    int64_t org = mk_org(fx->st, "What?", false);

    assert_int_equal(st_stmt(fx->st,
                             "SELECT 'it''s ?' AS \"why?\", CAST(? AS TEXT), name "
                             "FROM organisations -- is it ?\n"
                             "WHERE name <> '?' AND name <> '''?''' AND id = ?",
                             PARAMS(P_TEXT("x?"), P_I64(org)), &s),
                     0);
    assert_int_equal(st_step(fx->st, s), DB_ROW);
    assert_string_equal(fx->st->ops->column_text(s, 0), "it's ?");
    assert_string_equal(fx->st->ops->column_text(s, 1), "x?");
    assert_string_equal(fx->st->ops->column_text(s, 2), "What?");
    assert_int_equal(st_step(fx->st, s), DB_DONE);
    st_done(fx->st, s);
    /* Ten and more parameters: $10 is not $1 followed by 0. */
    assert_int_equal(st_exec_id(fx->st, "SELECT 0 + ? + ? + ? + ? + ? + ? + ? + ? + ? + ? + ?",
                                PARAMS(P_I64(1), P_I64(2), P_I64(3), P_I64(4), P_I64(5), P_I64(6),
                                       P_I64(7), P_I64(8), P_I64(9), P_I64(10), P_I64(11)),
                                &org),
                     0);
    assert_int_equal(org, 66);
}

/* A boolean result reads as 1 or 0; NULL as 0 and is_null. */
static void test_pg_columns(void **state)
{
    struct fixture *fx = *state;
    struct db_stmt *s = NULL;

    assert_int_equal(st_stmt(fx->st, "SELECT 1 = 1, 1 = 2, CAST(NULL AS BIGINT), CAST(? AS BIGINT)",
                             PARAMS(P_I64(INT64_MIN)), &s),
                     0);
    assert_int_equal(st_step(fx->st, s), DB_ROW);
    assert_true(st_col_bool(fx->st, s, 0));
    assert_false(st_col_bool(fx->st, s, 1));
    assert_true(st_col_null(fx->st, s, 2));
    assert_int_equal(st_col_i64(fx->st, s, 2), 0);
    assert_null(st_col_str(fx->st, s, 2));
    assert_int_equal(st_col_i64(fx->st, s, 3), INT64_MIN);
    st_done(fx->st, s);
}

struct migrate_arg {
    const struct test_db *db;
    pthread_barrier_t *start;
    int rc;
    int version;
};

static void *migrate_thread(void *p)
{
    struct migrate_arg *a = p;
    struct store_config cfg = test_db_config(a->db, 20000);
    struct store *st = NULL;

    a->rc = store_open(&cfg, &st);
    pthread_barrier_wait(a->start);
    if (a->rc == 0)
        a->rc = store_migrate(st, &a->version);
    store_close(st);
    return NULL;
}

/* Nodes started together on one new database apply each migration once. */
static void test_pg_migrate_concurrent(void **state)
{
    enum { THREADS = 4 };
    struct fixture *fx = *state;
    struct migrate_arg args[THREADS];
    pthread_t threads[THREADS];
    pthread_barrier_t start;
    int latest = store_schema_version_latest();

    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct migrate_arg){.db = &fx->db, .start = &start, .rc = -1};
        assert_int_equal(pthread_create(&threads[i], NULL, migrate_thread, &args[i]), 0);
    }
    /* Every thread joined before any assertion leaves this frame, which they write to. */
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(args[i].rc, 0);
        assert_int_equal(args[i].version, latest);
    }
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM schema_migrations"), latest);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(DISTINCT version) FROM schema_migrations"),
                     latest);
    mk_org(fx->st, "Works", false);
}

/* The store's session ends (a restart, an administrator): the next call fails cleanly or
 * succeeds, the one after succeeds, and nothing committed is lost. */
static void test_pg_reconnect(void **state)
{
    struct fixture *fx = *state;
    struct org_row o;
    int64_t n = 0;
    int64_t org = mk_org(fx->st, "Kept", false);
    int rc;

    pg_terminate_others(fx);
    rc = store_org_count(fx->st, &n);
    assert_true(rc == 0 || rc == -NA_EUNAVAILABLE);
    assert_int_equal(store_org_count(fx->st, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_org_get(fx->st, org, &o), 0);
    assert_string_equal(o.name, "Kept");
    org_row_fini(&o);

    /* Twice more: statements prepared again after one reconnection survive the next. */
    for (int i = 0; i < 2; i++) {
        pg_terminate_others(fx);
        rc = store_org_get(fx->st, org, &o);
        assert_true(rc == 0 || rc == -NA_EUNAVAILABLE);
        if (rc == 0)
            org_row_fini(&o);
        assert_int_equal(store_org_get(fx->st, org, &o), 0);
        org_row_fini(&o);
    }
}

/* A session that ends inside a transaction takes the transaction with it; nothing of it
 * runs in autocommit after a reconnection. */
static void test_pg_reconnect_in_transaction(void **state)
{
    struct fixture *fx = *state;
    struct db_stmt *outer = NULL;
    int64_t n = 0;
    int rows = 0;

    mk_org(fx->st, "Before", false);
    assert_int_equal(store_begin(fx->st), 0);
    mk_org(fx->st, "Lost", false);
    pg_terminate_others(fx);
    assert_int_equal(store_org_create(fx->st, "Also lost", false, T0, NULL), -NA_EUNAVAILABLE);
    assert_int_equal(store_org_create(fx->st, "Still lost", false, T0, NULL), -NA_EUNAVAILABLE);
    assert_int_equal(store_commit(fx->st), -NA_EUNAVAILABLE);
    assert_int_equal(store_org_count(fx->st, &n), 0);
    assert_int_equal(n, 1);

    /* A statement borrowed across a reconnection keeps its rows; its text is prepared
     * again on the new session. */
    mk_org(fx->st, "After", false);
    assert_int_equal(st_stmt(fx->st, "SELECT id FROM organisations ORDER BY id", NO_PARAMS, &outer),
                     0);
    assert_int_equal(st_step(fx->st, outer), DB_ROW);
    rows++;
    pg_terminate_others(fx);
    if (store_org_count(fx->st, &n) < 0)
        assert_int_equal(store_org_count(fx->st, &n), 0);
    assert_int_equal(n, 2);
    while (st_step(fx->st, outer) == DB_ROW)
        rows++;
    st_done(fx->st, outer);
    assert_int_equal(rows, 2);
    assert_int_equal(st_stmt(fx->st, "SELECT id FROM organisations ORDER BY id", NO_PARAMS, &outer),
                     0);
    assert_int_equal(st_step(fx->st, outer), DB_ROW);
    st_done(fx->st, outer);
}

/* A row locked by another connection: a write waits busy_timeout_ms, then gives up with
 * -NA_EUNAVAILABLE, and the transaction it was in goes on; reads do not wait. */
static void test_pg_row_lock(void **state)
{
    struct fixture *fx = *state;
    struct timespec t0;
    struct org_row o;
    char sql[96];
    int64_t org = mk_org(fx->st, "Locked", false);
    PGconn *c;

    store_close(fx->st);
    fx->st = NULL;
    assert_int_equal(open_store(fx, 100), 0);
    c = test_pg_connect(fx->db.url);
    test_pg_exec(c, "BEGIN");
    snprintf(sql, sizeof sql, "SELECT id FROM organisations WHERE id = %lld FOR UPDATE",
             (long long)org);
    test_pg_exec(c, sql);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(store_org_rename(fx->st, org, "Renamed"), -NA_EUNAVAILABLE);
    assert_true(elapsed_ms(&t0) >= 90);
    assert_int_equal(store_begin(fx->st), 0);
    assert_int_equal(store_org_rename(fx->st, org, "Renamed"), -NA_EUNAVAILABLE);
    mk_org(fx->st, "Other", false);
    assert_int_equal(store_commit(fx->st), 0);
    assert_int_equal(store_org_get(fx->st, org, &o), 0);
    assert_string_equal(o.name, "Locked");
    org_row_fini(&o);

    test_pg_exec(c, "COMMIT");
    PQfinish(c);
    assert_int_equal(store_org_rename(fx->st, org, "Renamed"), 0);
    assert_int_equal(test_db_int(&fx->db, "SELECT COUNT(*) FROM organisations"), 2);
}

/* A transaction whose script failed cannot be committed as if it had not. */
static void test_pg_failed_commit(void **state)
{
    struct fixture *fx = *state;
    int64_t n = -1;

    assert_int_equal(store_begin(fx->st), 0);
    mk_org(fx->st, "Gone", false);
    assert_int_equal(fx->st->ops->exec(fx->st->db, "SELECT nonsense FROM nowhere"), -NA_ESTORE);
    assert_int_equal(store_commit(fx->st), -NA_ESTORE);
    assert_int_equal(store_org_count(fx->st, &n), 0);
    assert_int_equal(n, 0);
}

static void test_pg_open_errors(void **state)
{
    struct fixture *fx = *state;
    struct store *st = (struct store *)1;
    struct store_config refused = {.url = "host=127.0.0.1 port=1 dbname=x connect_timeout=5"};
    struct store_config garbled = {.url = "not a connection string"};
    struct store_config unknown = {.url = "postgresql://u:secret@127.0.0.1/x?nonsense=1"};
    struct store_config missing = {.url = NULL};
    char url[512];
    struct store_config no_db = {.url = url};

    assert_int_equal(store_open(&refused, &st), -NA_EUNAVAILABLE);
    assert_null(st);
    assert_int_equal(store_open(&garbled, &st), -NA_EINVAL);
    assert_null(st);
    assert_int_equal(store_open(&unknown, &st), -NA_EINVAL);
    assert_null(st);
    assert_int_equal(store_open(&missing, &st), -NA_EINVAL);
    snprintf(url, sizeof url, "%s_missing", fx->db.url);
    assert_int_equal(store_open(&no_db, &st), -NA_EUNAVAILABLE);
    assert_null(st);
}

int main(void)
{
    const struct CMUnitTest common[] = {
        cmocka_unit_test_setup_teardown(test_migrate_empty, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_newer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_newer_bare_db, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_org_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_team_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_attach_by_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cross_org, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constraint_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_after_commit, setup, teardown),
    };
    /* What tests SQLite itself: its pragmas, row trace, locking, files. */
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test_setup_teardown(test_pragmas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_attach_reads_few, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    const struct CMUnitTest pg_only[] = {
        cmocka_unit_test_setup_teardown(test_pg_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_placeholders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_migrate_concurrent, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(test_pg_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_reconnect_in_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_row_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_failed_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_open_errors, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("store", common, NULL, NULL);

    if (test_db_is_pg())
        failed += cmocka_run_group_tests_name("store_postgresql", pg_only, NULL, NULL);
    else
        failed += cmocka_run_group_tests_name("store_sqlite", sqlite_only, NULL, NULL);
    return failed;
}
