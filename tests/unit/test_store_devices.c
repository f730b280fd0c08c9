/*
 * Tests of the storage of devices and their DC-09 events (store_devices.h), on SQLite and,
 * in the unit_pg run, on PostgreSQL: round trips of every field, the identifier and
 * account conflicts, organisation scoping, filters and paging, unassigned events, the
 * repeat lookup's window, and the ownership of the two kinds of due work.
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
#include "store/store_devices.h"
#include "util/error.h"

#define T0  1795000000000LL
#define MIN 60000LL

struct fx {
    struct test_db db;
    struct store *st; /* node "a" */
    int64_t org, worker, worker2;
    int64_t other_org, other_worker;
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
    test_db_init(&f->db, "devices");
    assert_int_equal(test_db_open(&f->db, "a", &f->st), 0);
    assert_int_equal(store_migrate(f->st, NULL), 0);
    assert_int_equal(store_org_create(f->st, "org", false, T0, &f->org), 0);
    assert_int_equal(store_org_create(f->st, "other", false, T0, &f->other_org), 0);
    f->worker = user(f->st, f->org, "worker");
    f->worker2 = user(f->st, f->org, "worker2");
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

/* A plain device of org (strings borrowed). */
static struct device_row device(int64_t org, const char *identifier, const char *account)
{
    return (struct device_row){.organisation_id = org,
                               .kind = (char *)"lone_worker_device",
                               .identifier = (char *)identifier,
                               .dc09_account = (char *)account,
                               .created_at = T0,
                               .updated_at = T0};
}

static int64_t create_device(struct fx *f, const struct device_row *d)
{
    int64_t id = 0;
    assert_int_equal(store_device_create(f->st, d, &id), 0);
    assert_true(id > 0);
    return id;
}

static void assert_str(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

/* got is want in every field but id. */
static void assert_device(const struct device_row *got, const struct device_row *want)
{
    assert_int_equal(got->organisation_id, want->organisation_id);
    assert_str(got->kind, want->kind);
    assert_str(got->identifier, want->identifier);
    assert_str(got->label, want->label);
    assert_str(got->phone, want->phone);
    assert_int_equal(got->worker_id, want->worker_id);
    assert_int_equal(got->issued_at, want->issued_at);
    assert_str(got->dc09_account, want->dc09_account);
    assert_str(got->dc09_key, want->dc09_key);
    assert_int_equal(got->dc09_encryption_required, want->dc09_encryption_required);
    assert_int_equal(got->supervision_ms, want->supervision_ms);
    assert_int_equal(got->supervision_alarm, want->supervision_alarm);
    assert_int_equal(got->last_contact_at, want->last_contact_at);
    assert_int_equal(got->last_test_at, want->last_test_at);
    assert_int_equal(got->battery_low, want->battery_low);
    assert_int_equal(got->battery_at, want->battery_at);
    assert_int_equal(got->silent_due_at, want->silent_due_at);
    assert_int_equal(got->lost_at, want->lost_at);
    assert_int_equal(got->lost_alarm_id, want->lost_alarm_id);
    assert_int_equal(got->created_at, want->created_at);
    assert_int_equal(got->updated_at, want->updated_at);
}

static bool owns(struct store *st, enum due_kind kind, int64_t id)
{
    bool mine = false;
    assert_int_equal(store_owns(st, kind, id, &mine), 0);
    return mine;
}

/* ---- devices ---- */

/* Every field written comes back, by id, by any id and by account; an update writes every
 * field but the id, organisation and creation time. */
static void test_device_round_trip(void **state)
{
    struct fx *f = *state;
    struct device_row d = {.organisation_id = f->org,
                           .kind = "panel",
                           .identifier = "356938035643809",
                           .label = "Twig #12",
                           .phone = "+447700900123",
                           .worker_id = f->worker,
                           .issued_at = T0 + 1,
                           .dc09_account = "1234AB",
                           .dc09_key = "000102030405060708090A0B0C0D0E0F",
                           .dc09_encryption_required = true,
                           .supervision_ms = 3600000,
                           .supervision_alarm = true,
                           .last_contact_at = T0 + 2,
                           .last_test_at = T0 + 3,
                           .battery_low = true,
                           .battery_at = T0 + 4,
                           .silent_due_at = T0 + 5,
                           .lost_at = T0 + 6,
                           .lost_alarm_id = 77,
                           .created_at = T0 + 7,
                           .updated_at = T0 + 8};
    int64_t id = create_device(f, &d);
    struct device_row g = {0};
    assert_int_equal(store_device_get(f->st, f->org, id, &g), 0);
    assert_int_equal(g.id, id);
    assert_device(&g, &d);
    device_row_fini(&g);
    assert_int_equal(store_device_get_any(f->st, id, &g), 0);
    assert_device(&g, &d);
    device_row_fini(&g);
    assert_int_equal(store_device_by_account(f->st, "1234AB", &g), 0);
    assert_int_equal(g.id, id);
    device_row_fini(&g);
    assert_int_equal(store_device_by_account(f->st, "1234AC", &g), -NA_ENOTFOUND);
    assert_null(g.kind);

    /* Optional fields absent read as NULL and 0. */
    struct device_row bare = device(f->org, "bare", NULL);
    int64_t bare_id = create_device(f, &bare);
    assert_int_equal(store_device_get(f->st, f->org, bare_id, &g), 0);
    assert_device(&g, &bare);
    device_row_fini(&g);

    struct device_row u = {.id = id,
                           .organisation_id = f->org,
                           .kind = "other",
                           .identifier = "renamed",
                           .worker_id = f->worker2,
                           .issued_at = T0 + 11,
                           .dc09_account = "FFF",
                           .supervision_ms = 60000,
                           .last_contact_at = T0 + 12,
                           .last_test_at = T0 + 13,
                           .battery_at = T0 + 14,
                           .created_at = T0 + 7,
                           .updated_at = T0 + 18};
    assert_int_equal(store_device_update(f->st, &u), 0);
    assert_int_equal(store_device_get(f->st, f->org, id, &g), 0);
    assert_device(&g, &u);
    device_row_fini(&g);
    assert_int_equal(store_device_by_account(f->st, "1234AB", &g), -NA_ENOTFOUND);
    u.created_at = T0 + 99; /* never written */
    assert_int_equal(store_device_update(f->st, &u), 0);
    assert_int_equal(store_device_get(f->st, f->org, id, &g), 0);
    assert_int_equal(g.created_at, T0 + 7);
    device_row_fini(&g);

    struct device_row none = {.organisation_id = f->org, .identifier = "x"};
    int64_t nid = 0;
    assert_int_equal(store_device_create(f->st, &none, &nid), -NA_EINVAL);
    none = device(f->org, NULL, NULL);
    assert_int_equal(store_device_create(f->st, &none, &nid), -NA_EINVAL);
}

/* The contact write changes the contact, battery and due fields, nothing else. */
static void test_device_contact(void **state)
{
    struct fx *f = *state;
    struct device_row d = device(f->org, "c", "C0C0");
    d.label = "lab";
    d.supervision_ms = 60000;
    d.lost_at = T0 + 1;
    int64_t id = create_device(f, &d);
    struct device_row c = {.id = id,
                           .last_contact_at = T0 + 10,
                           .last_test_at = T0 + 11,
                           .battery_low = true,
                           .battery_at = T0 + 12,
                           .silent_due_at = T0 + 13};
    assert_int_equal(store_device_contact(f->st, &c), 0);
    struct device_row g = {0};
    assert_int_equal(store_device_get(f->st, f->org, id, &g), 0);
    d.last_contact_at = T0 + 10;
    d.last_test_at = T0 + 11;
    d.battery_low = true;
    d.battery_at = T0 + 12;
    d.silent_due_at = T0 + 13;
    assert_device(&g, &d);
    device_row_fini(&g);
    assert_true(owns(f->st, DUE_SILENT, id));
    c.silent_due_at = 0;
    assert_int_equal(store_device_contact(f->st, &c), 0);
    assert_false(owns(f->st, DUE_SILENT, id));
    c.id = id + 100;
    assert_int_equal(store_device_contact(f->st, &c), -NA_ENOTFOUND);
}

/* An identifier is unique in its organisation, an account on the server; a worker must be
 * of the device's organisation. */
static void test_device_conflicts(void **state)
{
    struct fx *f = *state;
    struct device_row a = device(f->org, "dev", "ABC");
    int64_t a_id = create_device(f, &a), id = 0;
    struct device_row same_ident = device(f->org, "dev", "DEF");
    assert_int_equal(store_device_create(f->st, &same_ident, &id), -NA_ECONFLICT);
    struct device_row same_acct = device(f->org, "dev2", "ABC");
    assert_int_equal(store_device_create(f->st, &same_acct, &id), -NA_ECONFLICT);
    struct device_row other_same_acct = device(f->other_org, "dev", "ABC");
    assert_int_equal(store_device_create(f->st, &other_same_acct, &id), -NA_ECONFLICT);
    /* The same identifier in another organisation, and devices without an account. */
    struct device_row other = device(f->other_org, "dev", NULL);
    assert_int_equal(store_device_create(f->st, &other, &id), 0);
    struct device_row no_acct = device(f->org, "dev3", NULL);
    int64_t b_id = create_device(f, &no_acct);

    struct device_row foreign = device(f->org, "dev4", NULL);
    foreign.worker_id = f->other_worker;
    assert_int_equal(store_device_create(f->st, &foreign, &id), -NA_ENOTFOUND);

    /* The same through an update. */
    struct device_row u = device(f->org, "dev", "DEF");
    u.id = b_id;
    assert_int_equal(store_device_update(f->st, &u), -NA_ECONFLICT);
    u.identifier = "dev3";
    u.dc09_account = "ABC";
    assert_int_equal(store_device_update(f->st, &u), -NA_ECONFLICT);
    u.dc09_account = NULL;
    u.worker_id = f->other_worker;
    assert_int_equal(store_device_update(f->st, &u), -NA_ENOTFOUND);
    u.worker_id = f->worker;
    assert_int_equal(store_device_update(f->st, &u), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM devices WHERE dc09_account = 'ABC'"),
                     1);
    assert_true(a_id > 0);
}

/* Another organisation's device is not found, changed or deleted. */
static void test_device_organisation_scope(void **state)
{
    struct fx *f = *state;
    struct device_row d = device(f->org, "mine", "AAA");
    int64_t id = create_device(f, &d);
    struct device_row g = {0};
    assert_int_equal(store_device_get(f->st, f->other_org, id, &g), -NA_ENOTFOUND);
    struct device_row u = device(f->other_org, "mine", "AAA");
    u.id = id;
    assert_int_equal(store_device_update(f->st, &u), -NA_ENOTFOUND);
    assert_int_equal(store_device_delete(f->st, f->other_org, id), -NA_ENOTFOUND);
    struct device_row *rows = NULL;
    size_t n = 9;
    assert_int_equal(store_device_list(f->st, f->other_org, 0, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_device_get(f->st, f->org, id, &g), 0);
    assert_string_equal(g.identifier, "mine");
    device_row_fini(&g);
    assert_int_equal(store_device_delete(f->st, f->org, id), 0);
    assert_int_equal(store_device_get(f->st, f->org, id, &g), -NA_ENOTFOUND);
    assert_int_equal(store_device_delete(f->st, f->org, id), -NA_ENOTFOUND);
}

/* Lists go by id, after after_id, at most limit, all or one worker's. */
static void test_device_list(void **state)
{
    struct fx *f = *state;
    int64_t ids[5];
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "d%d", i);
        struct device_row d = device(f->org, name, NULL);
        d.worker_id = i % 2 ? f->worker : 0;
        ids[i] = create_device(f, &d);
    }
    struct device_row theirs = device(f->other_org, "x", NULL);
    create_device(f, &theirs);
    struct device_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_device_list(f->st, f->org, 0, 0, 3, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].id, ids[0]);
    assert_int_equal(rows[2].id, ids[2]);
    assert_string_equal(rows[1].identifier, "d1");
    device_rows_free(rows, n);
    assert_int_equal(store_device_list(f->st, f->org, 0, ids[2], 3, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, ids[3]);
    assert_int_equal(rows[1].id, ids[4]);
    device_rows_free(rows, n);
    assert_int_equal(store_device_list(f->st, f->org, f->worker, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, ids[1]);
    assert_int_equal(rows[1].id, ids[3]);
    device_rows_free(rows, n);
    assert_int_equal(store_device_list(f->st, f->org, f->worker2, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_device_list(f->st, f->org, 0, 0, 0, &rows, &n), -NA_EINVAL);
    assert_int_equal(store_device_list(f->st, f->org, 0, 0, STORE_LIST_MAX + 1, &rows, &n),
                     -NA_EINVAL);
}

/* ---- DC-09 events ---- */

/* An event of the device (0: unassigned, org 0) with action, received at `at`. */
static struct dc09_event_row event(int64_t org, int64_t device_id, int64_t worker_id,
                                   const char *action, int64_t at)
{
    return (struct dc09_event_row){.organisation_id = org,
                                   .device_id = device_id,
                                   .worker_id = worker_id,
                                   .account = (char *)"1234AB",
                                   .prefix = (char *)"0",
                                   .token = (char *)"ADM-CID",
                                   .seq = 1,
                                   .digest = (char *)"d1",
                                   .action = (char *)action,
                                   .data = (char *)"1602 00 000",
                                   .transport = (char *)"tcp",
                                   .received_at = at};
}

static int64_t add_event(struct fx *f, const struct dc09_event_row *e)
{
    int64_t id = 0;
    assert_int_equal(store_dc09_event_add(f->st, e, &id), 0);
    assert_true(id > 0);
    return id;
}

static void assert_event(const struct dc09_event_row *got, const struct dc09_event_row *want)
{
    assert_int_equal(got->organisation_id, want->organisation_id);
    assert_int_equal(got->device_id, want->device_id);
    assert_int_equal(got->worker_id, want->worker_id);
    assert_str(got->account, want->account);
    assert_str(got->receiver, want->receiver);
    assert_str(got->prefix, want->prefix);
    assert_str(got->token, want->token);
    assert_int_equal(got->encrypted, want->encrypted);
    assert_int_equal(got->seq, want->seq);
    assert_str(got->digest, want->digest);
    assert_str(got->code, want->code);
    assert_str(got->zone, want->zone);
    assert_str(got->action, want->action);
    assert_str(got->label, want->label);
    assert_str(got->data, want->data);
    assert_int_equal(got->has_position, want->has_position);
    assert_true(got->latitude == want->latitude);
    assert_true(got->longitude == want->longitude);
    assert_int_equal(got->event_at, want->event_at);
    assert_int_equal(got->sent_at, want->sent_at);
    assert_str(got->verification, want->verification);
    assert_str(got->extra, want->extra);
    assert_str(got->transport, want->transport);
    assert_str(got->peer, want->peer);
    assert_int_equal(got->received_at, want->received_at);
    assert_int_equal(got->pending_at, want->pending_at);
    assert_int_equal(got->applied_at, want->applied_at);
    assert_int_equal(got->alarm_id, want->alarm_id);
}

/* Every field comes back; an unassigned event is found with org 0 only; applying clears
 * the pending action and writes the time and alarm. */
static void test_event_round_trip(void **state)
{
    struct fx *f = *state;
    struct device_row d = device(f->org, "dev", "1234AB");
    int64_t dev = create_device(f, &d);
    struct dc09_event_row e = {.organisation_id = f->org,
                               .device_id = dev,
                               .worker_id = f->worker,
                               .account = "1234AB",
                               .receiver = "12",
                               .prefix = "3A",
                               .token = "SIA-DCS",
                               .encrypted = true,
                               .seq = 9999,
                               .digest = "abcdef",
                               .code = "PA",
                               .zone = "501",
                               .action = "red",
                               .label = "Panic alarm",
                               .data = "Nri1/PA501",
                               .has_position = true,
                               .latitude = 55.123456789,
                               .longitude = -12.5,
                               .event_at = T0 - 5,
                               .sent_at = T0 - 1,
                               .verification = "https://v.example/1",
                               .extra = "{\"I\":\"site\"}",
                               .transport = "udp",
                               .peer = "192.0.2.1:5000",
                               .received_at = T0,
                               .pending_at = T0 + 1};
    int64_t id = add_event(f, &e);
    struct dc09_event_row g = {0};
    assert_int_equal(store_dc09_event_get(f->st, f->org, id, &g), 0);
    assert_int_equal(g.id, id);
    assert_event(&g, &e);
    dc09_event_row_fini(&g);
    assert_int_equal(store_dc09_event_get_any(f->st, id, &g), 0);
    assert_event(&g, &e);
    dc09_event_row_fini(&g);
    assert_int_equal(store_dc09_event_get(f->st, f->other_org, id, &g), -NA_ENOTFOUND);
    assert_int_equal(store_dc09_event_get(f->st, 0, id, &g), -NA_ENOTFOUND);

    assert_int_equal(store_dc09_event_applied(f->st, id, T0 + 2, 55), 0);
    assert_int_equal(store_dc09_event_get(f->st, f->org, id, &g), 0);
    e.pending_at = 0;
    e.applied_at = T0 + 2;
    e.alarm_id = 55;
    assert_event(&g, &e);
    dc09_event_row_fini(&g);
    assert_int_equal(store_dc09_event_applied(f->st, id + 100, T0, 0), -NA_ENOTFOUND);

    struct dc09_event_row un = event(0, 0, 0, "record", T0);
    un.account = "FFFF";
    int64_t un_id = add_event(f, &un);
    assert_int_equal(store_dc09_event_get(f->st, 0, un_id, &g), 0);
    assert_event(&g, &un);
    dc09_event_row_fini(&g);
    assert_int_equal(store_dc09_event_get(f->st, f->org, un_id, &g), -NA_ENOTFOUND);

    /* Deleting the device keeps its events, unassigned from it. */
    assert_int_equal(store_device_delete(f->st, f->org, dev), 0);
    assert_int_equal(store_dc09_event_get(f->st, f->org, id, &g), 0);
    assert_int_equal(g.device_id, 0);
    assert_int_equal(g.worker_id, f->worker);
    dc09_event_row_fini(&g);

    struct dc09_event_row bad = event(f->org, 0, 0, NULL, T0);
    int64_t bad_id = 0;
    assert_int_equal(store_dc09_event_add(f->st, &bad, &bad_id), -NA_EINVAL);
    bad = event(f->org, 0, 0, "red", T0);
    bad.digest = NULL;
    assert_int_equal(store_dc09_event_add(f->st, &bad, &bad_id), -NA_EINVAL);
}

/* Ids of rows[0..n). */
static void assert_ids(const struct dc09_event_row *rows, size_t n, const int64_t *want,
                       size_t n_want)
{
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rows[i].id, want[i]);
}

/* The ids store_dc09_event_list gives for org and f, before before, at most limit. */
static void list_is(struct fx *f, int64_t org, const struct dc09_event_filter *flt, int64_t before,
                    int limit, const int64_t *want, size_t n_want)
{
    struct dc09_event_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_dc09_event_list(f->st, org, flt, before, limit, &rows, &n), 0);
    assert_ids(rows, n, want, n_want);
    dc09_event_rows_free(rows, n);
}

/* Newest first, before an id, by device, worker and action, link tests left out on
 * demand; an organisation's list and the unassigned one never mix. */
static void test_event_list(void **state)
{
    struct fx *f = *state;
    struct device_row d1 = device(f->org, "d1", "A1");
    struct device_row d2 = device(f->org, "d2", "A2");
    int64_t dev1 = create_device(f, &d1), dev2 = create_device(f, &d2);
    struct dc09_event_row e = event(f->org, dev1, f->worker, "link", T0);
    int64_t link1 = add_event(f, &e);
    e.action = "red";
    int64_t red1 = add_event(f, &e);
    e = event(f->org, dev2, f->worker2, "battery_low", T0 + 1);
    int64_t low2 = add_event(f, &e);
    e.action = "link";
    int64_t link2 = add_event(f, &e);
    e = event(0, 0, 0, "red", T0 + 2);
    int64_t un1 = add_event(f, &e);
    e = event(f->other_org, 0, 0, "red", T0 + 3);
    int64_t theirs = add_event(f, &e);

    list_is(f, f->org, NULL, 0, 10, (int64_t[]){link2, low2, red1, link1}, 4);
    list_is(f, f->org, NULL, 0, 2, (int64_t[]){link2, low2}, 2);
    list_is(f, f->org, NULL, low2, 10, (int64_t[]){red1, link1}, 2);
    list_is(f, f->org, &(struct dc09_event_filter){.device_id = dev1}, 0, 10,
            (int64_t[]){red1, link1}, 2);
    list_is(f, f->org, &(struct dc09_event_filter){.worker_id = f->worker2}, 0, 10,
            (int64_t[]){link2, low2}, 2);
    list_is(f, f->org, &(struct dc09_event_filter){.action = "red"}, 0, 10, (int64_t[]){red1}, 1);
    list_is(f, f->org, &(struct dc09_event_filter){.no_link = true}, 0, 10, (int64_t[]){low2, red1},
            2);
    list_is(f, f->org, &(struct dc09_event_filter){.device_id = dev2, .no_link = true}, 0, 10,
            (int64_t[]){low2}, 1);
    list_is(f, 0, NULL, 0, 10, (int64_t[]){un1}, 1);
    list_is(f, f->other_org, NULL, 0, 10, (int64_t[]){theirs}, 1);

    struct dc09_event_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_dc09_event_list(f->st, f->org, NULL, 0, 0, &rows, &n), -NA_EINVAL);
    assert_int_equal(store_dc09_event_list(f->st, f->org, NULL, -1, 10, &rows, &n), -NA_EINVAL);
}

/* A repeat is the same account, sequence and digest received at or after since. */
static void test_event_repeat(void **state)
{
    struct fx *f = *state;
    struct dc09_event_row e = event(0, 0, 0, "record", T0);
    e.seq = 42;
    int64_t first = add_event(f, &e);
    e.received_at = T0 + 10;
    int64_t second = add_event(f, &e);
    e.digest = "other";
    e.received_at = T0 + 20;
    add_event(f, &e);
    int64_t id = -1;
    assert_int_equal(store_dc09_event_repeat(f->st, "1234AB", 42, "d1", T0 + 10, &id), 0);
    assert_int_equal(id, second);
    assert_int_equal(store_dc09_event_repeat(f->st, "1234AB", 42, "d1", T0 + 11, &id), 0);
    assert_int_equal(id, 0);
    assert_int_equal(store_dc09_event_repeat(f->st, "1234AB", 42, "d1", 0, &id), 0);
    assert_int_equal(id, second);
    assert_int_equal(store_dc09_event_repeat(f->st, "1234AB", 43, "d1", 0, &id), 0);
    assert_int_equal(id, 0);
    assert_int_equal(store_dc09_event_repeat(f->st, "1234AC", 42, "d1", 0, &id), 0);
    assert_int_equal(id, 0);
    assert_int_equal(store_dc09_event_repeat(f->st, "1234AB", 42, "other", T0 + 20, &id), 0);
    assert_true(id > second);
    assert_true(first < second);
}

/* Pending events and supervised devices are this node's work until applied or no longer
 * due; a silent node's are taken over. */
static void test_due_work(void **state)
{
    struct fx *f = *state;
    struct store *b = NULL;
    assert_int_equal(test_db_open(&f->db, "b", &b), 0);
    struct device_row d = device(f->org, "sup", "5555");
    d.supervision_ms = 10 * MIN;
    d.silent_due_at = T0 + 10 * MIN;
    int64_t sup = create_device(f, &d);
    struct device_row q = device(f->org, "quiet", NULL);
    int64_t quiet = create_device(f, &q);
    struct dc09_event_row e = event(f->org, sup, 0, "red", T0);
    e.pending_at = T0;
    int64_t pending = add_event(f, &e);
    e.pending_at = 0;
    int64_t done = add_event(f, &e);

    assert_true(owns(f->st, DUE_SILENT, sup));
    assert_false(owns(f->st, DUE_SILENT, quiet));
    assert_false(owns(b, DUE_SILENT, sup));
    assert_true(owns(f->st, DUE_DC09, pending));
    assert_false(owns(f->st, DUE_DC09, done));
    int64_t id = 0, due = 0;
    assert_int_equal(test_owned_due(f->st, DUE_SILENT, INT64_MAX, &id, &due), 1);
    assert_int_equal(id, sup);
    assert_int_equal(due, T0 + 10 * MIN);
    assert_int_equal(test_owned_due(f->st, DUE_SILENT, T0 + 10 * MIN - 1, &id, &due), 0);
    assert_int_equal(test_owned_due(f->st, DUE_DC09, T0, &id, &due), 1);
    assert_int_equal(id, pending);
    assert_int_equal(due, T0);
    assert_int_equal(test_owned_due(f->st, DUE_DC09, T0 - 1, &id, &due), 0);

    /* a goes silent: b takes both over. */
    assert_int_equal(store_node_heartbeat(f->st, T0), 0);
    assert_int_equal(store_node_heartbeat(b, T0 + MIN), 0);
    struct adopted_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_begin(b), 0);
    assert_int_equal(store_adopt(b, DUE_SILENT, "a", T0 + 1, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, sup);
    free(rows);
    assert_int_equal(store_adopt(b, DUE_DC09, "a", T0 + 1, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, pending);
    free(rows);
    assert_int_equal(store_commit(b), 0);
    assert_true(owns(b, DUE_SILENT, sup));
    assert_true(owns(b, DUE_DC09, pending));
    assert_int_equal(test_owned_due(f->st, DUE_DC09, INT64_MAX, &id, &due), 0);

    /* Applied: no work, no owner. A device written without a due time: the same. */
    assert_int_equal(store_dc09_event_applied(b, pending, T0 + 1, 0), 0);
    assert_false(owns(b, DUE_DC09, pending));
    assert_int_equal(test_owned_due(b, DUE_DC09, INT64_MAX, &id, &due), 0);
    struct device_row g = {0};
    assert_int_equal(store_device_get(f->st, f->org, sup, &g), 0);
    g.silent_due_at = T0 + 20 * MIN;
    assert_int_equal(store_device_update(f->st, &g), 0); /* written by a: a's again */
    assert_true(owns(f->st, DUE_SILENT, sup));
    g.silent_due_at = 0;
    assert_int_equal(store_device_update(f->st, &g), 0);
    device_row_fini(&g);
    assert_false(owns(f->st, DUE_SILENT, sup));
    assert_int_equal(test_owned_due(f->st, DUE_SILENT, INT64_MAX, &id, &due), 0);
    assert_int_equal(test_db_int(&f->db, "SELECT COUNT(*) FROM devices WHERE owner IS NOT NULL"),
                     0);
    store_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_device_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_contact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_organisation_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_repeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_work, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
