/*
 * Devices and their DC-09 events (store_devices.h). Tenant queries are scoped by
 * organisation id; the *_any lookups and the lookup by account serve the scheduler and the
 * receiver, which know ids or accounts only. Rows with due work (a device's loss-of-signal
 * check, an event's action still to apply) name this node as their owner when written
 * (store_cluster.h). The receiver calls the event and contact writes for every frame, so
 * each is one statement.
 */
#include "store/store_devices.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/error.h"

/* ---- devices ---- */

void device_row_fini(struct device_row *r)
{
    if (!r)
        return;
    free(r->kind);
    free(r->identifier);
    free(r->label);
    free(r->phone);
    free(r->dc09_account);
    free(r->dc09_key);
    memset(r, 0, sizeof *r);
}

void device_rows_free(struct device_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        device_row_fini(&rows[i]);
    free(rows);
}

static void device_rows_free_any(void *rows, size_t n)
{
    device_rows_free(rows, n);
}

#define DEVICE_COLS                                                                                \
    "id, organisation_id, kind, identifier, label, phone, worker_id, issued_at, dc09_account, "    \
    "dc09_key, dc09_encryption_required, supervision_ms, supervision_alarm, last_contact_at, "     \
    "last_test_at, battery_low, battery_at, silent_due_at, lost_at, lost_alarm_id, created_at, "   \
    "updated_at"

static void device_read(struct store *st, struct db_stmt *s, void *row)
{
    struct device_row *r = row;
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->kind = st_col_str(st, s, 2);
    r->identifier = st_col_str(st, s, 3);
    r->label = st_col_str(st, s, 4);
    r->phone = st_col_str(st, s, 5);
    r->worker_id = st_col_i64(st, s, 6);
    r->issued_at = st_col_i64(st, s, 7);
    r->dc09_account = st_col_str(st, s, 8);
    r->dc09_key = st_col_str(st, s, 9);
    r->dc09_encryption_required = st_col_bool(st, s, 10);
    r->supervision_ms = st_col_i64(st, s, 11);
    r->supervision_alarm = st_col_bool(st, s, 12);
    r->last_contact_at = st_col_i64(st, s, 13);
    r->last_test_at = st_col_i64(st, s, 14);
    r->battery_low = st_col_bool(st, s, 15);
    r->battery_at = st_col_i64(st, s, 16);
    r->silent_due_at = st_col_i64(st, s, 17);
    r->lost_at = st_col_i64(st, s, 18);
    r->lost_alarm_id = st_col_i64(st, s, 19);
    r->created_at = st_col_i64(st, s, 20);
    r->updated_at = st_col_i64(st, s, 21);
}

static int device_check(const struct device_row *d)
{
    if (!d->kind || !d->identifier || d->organisation_id <= 0 || d->worker_id < 0 ||
        d->supervision_ms < 0)
        return -NA_EINVAL;
    return 0;
}

/* The worker (0: none) is a user of the organisation; parameters worker, worker, org. */
#define WORKER_IN_ORG_SQL                                                                          \
    "(? = 0 OR EXISTS (SELECT 1 FROM users u WHERE u.id = ? AND u.organisation_id = ?))"
#define P_WORKER_IN_ORG(d) P_I64((d)->worker_id), P_I64((d)->worker_id), P_I64((d)->organisation_id)

/* The columns every write sets, in DEVICE_COLS' order from kind to updated_at's
 * predecessor, then owner. */
#define P_DEVICE_FIELDS(st, d)                                                                     \
    P_TEXT((d)->kind), P_TEXT((d)->identifier), P_TEXT((d)->label), P_TEXT((d)->phone),            \
        P_ID((d)->worker_id), P_ID((d)->issued_at), P_TEXT((d)->dc09_account),                     \
        P_TEXT((d)->dc09_key), P_BOOL((d)->dc09_encryption_required), P_ID((d)->supervision_ms),   \
        P_BOOL((d)->supervision_alarm), P_ID((d)->last_contact_at), P_ID((d)->last_test_at),       \
        P_BOOL((d)->battery_low), P_ID((d)->battery_at), P_ID((d)->silent_due_at),                 \
        P_ID((d)->lost_at), P_ID((d)->lost_alarm_id), P_I64((d)->updated_at),                      \
        P_TEXT(st_owner_if(st, (d)->silent_due_at != 0))

int store_device_create(struct store *st, const struct device_row *d, int64_t *out_id)
{
    int rc = device_check(d);

    if (rc < 0)
        return rc;
    /* The unique indexes make a taken identifier or account -NA_ECONFLICT; the WHERE puts
     * the worker in the organisation (no row: -NA_ENOTFOUND). */
    return st_exec_id(
        st,
        "INSERT INTO devices (organisation_id, created_at, kind, identifier, label, phone, "
        "worker_id, issued_at, dc09_account, dc09_key, dc09_encryption_required, "
        "supervision_ms, supervision_alarm, last_contact_at, last_test_at, battery_low, "
        "battery_at, silent_due_at, lost_at, lost_alarm_id, updated_at, owner) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
        "WHERE " WORKER_IN_ORG_SQL " RETURNING id",
        PARAMS(P_I64(d->organisation_id), P_I64(d->created_at), P_DEVICE_FIELDS(st, d),
               P_WORKER_IN_ORG(d)),
        out_id);
}

int store_device_get(struct store *st, int64_t org_id, int64_t id, struct device_row *out)
{
    return st_get(st, true,
                  "SELECT " DEVICE_COLS " FROM devices WHERE id = ? AND organisation_id = ?",
                  PARAMS(P_I64(id), P_I64(org_id)), device_read, out, sizeof *out);
}

int store_device_get_any(struct store *st, int64_t id, struct device_row *out)
{
    return st_get(st, true, "SELECT " DEVICE_COLS " FROM devices WHERE id = ?", PARAMS(P_I64(id)),
                  device_read, out, sizeof *out);
}

int store_device_by_account(struct store *st, const char *account, struct device_row *out)
{
    memset(out, 0, sizeof *out);
    if (!account)
        return -NA_EINVAL;
    return st_get(st, true, "SELECT " DEVICE_COLS " FROM devices WHERE dc09_account = ?",
                  PARAMS(P_TEXT(account)), device_read, out, sizeof *out);
}

int store_device_list(struct store *st, int64_t org_id, int64_t worker_id, int64_t after_id,
                      int limit, struct device_row **out_rows, size_t *out_n)
{
    static const struct st_list_kind kind = {sizeof(struct device_row), device_read,
                                             device_rows_free_any};
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    if (worker_id < 0 || after_id < 0)
        return -NA_EINVAL;
    return st_list(
        st, &kind, (size_t)limit, false,
        "SELECT " DEVICE_COLS " FROM devices WHERE organisation_id = ? AND id > ? "
        "AND (? = 0 OR worker_id = ?) ORDER BY id LIMIT ?",
        PARAMS(P_I64(org_id), P_I64(after_id), P_I64(worker_id), P_I64(worker_id), P_I64(limit)),
        (void **)out_rows, out_n);
}

int store_device_update(struct store *st, const struct device_row *d)
{
    int rc = device_check(d);

    if (rc < 0)
        return rc;
    return st_exec_id(
        st,
        "UPDATE devices SET kind = ?, identifier = ?, label = ?, phone = ?, worker_id = ?, "
        "issued_at = ?, dc09_account = ?, dc09_key = ?, dc09_encryption_required = ?, "
        "supervision_ms = ?, supervision_alarm = ?, last_contact_at = ?, last_test_at = ?, "
        "battery_low = ?, battery_at = ?, silent_due_at = ?, lost_at = ?, lost_alarm_id = ?, "
        "updated_at = ?, owner = ? WHERE id = ? AND organisation_id = ? "
        "AND " WORKER_IN_ORG_SQL " RETURNING id",
        PARAMS(P_DEVICE_FIELDS(st, d), P_I64(d->id), P_I64(d->organisation_id), P_WORKER_IN_ORG(d)),
        NULL);
}

int store_device_contact(struct store *st, const struct device_row *d)
{
    return st_exec_id(st,
                      "UPDATE devices SET last_contact_at = ?, last_test_at = ?, battery_low = ?, "
                      "battery_at = ?, silent_due_at = ?, owner = ? WHERE id = ? RETURNING id",
                      PARAMS(P_ID(d->last_contact_at), P_ID(d->last_test_at),
                             P_BOOL(d->battery_low), P_ID(d->battery_at), P_ID(d->silent_due_at),
                             P_TEXT(st_owner_if(st, d->silent_due_at != 0)), P_I64(d->id)),
                      NULL);
}

int store_device_delete(struct store *st, int64_t org_id, int64_t id)
{
    /* The events' device_id becomes NULL by its foreign key (ON DELETE SET NULL). */
    return st_exec_id(st, "DELETE FROM devices WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_I64(id), P_I64(org_id)), NULL);
}

/* ---- DC-09 events ---- */

void dc09_event_row_fini(struct dc09_event_row *r)
{
    if (!r)
        return;
    free(r->account);
    free(r->receiver);
    free(r->prefix);
    free(r->token);
    free(r->digest);
    free(r->code);
    free(r->zone);
    free(r->action);
    free(r->label);
    free(r->data);
    free(r->verification);
    free(r->extra);
    free(r->transport);
    free(r->peer);
    memset(r, 0, sizeof *r);
}

void dc09_event_rows_free(struct dc09_event_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        dc09_event_row_fini(&rows[i]);
    free(rows);
}

static void dc09_event_rows_free_any(void *rows, size_t n)
{
    dc09_event_rows_free(rows, n);
}

#define EVENT_COLS                                                                                 \
    "id, organisation_id, device_id, worker_id, account, receiver, prefix, token, encrypted, "     \
    "seq, digest, code, zone, action, label, data, latitude, longitude, event_at, sent_at, "       \
    "verification, extra, transport, peer, received_at, pending_at, applied_at, alarm_id"

static void event_read(struct store *st, struct db_stmt *s, void *row)
{
    struct dc09_event_row *r = row;
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->device_id = st_col_i64(st, s, 2);
    r->worker_id = st_col_i64(st, s, 3);
    r->account = st_col_str(st, s, 4);
    r->receiver = st_col_str(st, s, 5);
    r->prefix = st_col_str(st, s, 6);
    r->token = st_col_str(st, s, 7);
    r->encrypted = st_col_bool(st, s, 8);
    r->seq = (int)st_col_i64(st, s, 9);
    r->digest = st_col_str(st, s, 10);
    r->code = st_col_str(st, s, 11);
    r->zone = st_col_str(st, s, 12);
    r->action = st_col_str(st, s, 13);
    r->label = st_col_str(st, s, 14);
    r->data = st_col_str(st, s, 15);
    r->has_position = !st_col_null(st, s, 16) && !st_col_null(st, s, 17);
    r->latitude = r->has_position ? st_col_f64(st, s, 16) : 0;
    r->longitude = r->has_position ? st_col_f64(st, s, 17) : 0;
    r->event_at = st_col_i64(st, s, 18);
    r->sent_at = st_col_i64(st, s, 19);
    r->verification = st_col_str(st, s, 20);
    r->extra = st_col_str(st, s, 21);
    r->transport = st_col_str(st, s, 22);
    r->peer = st_col_str(st, s, 23);
    r->received_at = st_col_i64(st, s, 24);
    r->pending_at = st_col_i64(st, s, 25);
    r->applied_at = st_col_i64(st, s, 26);
    r->alarm_id = st_col_i64(st, s, 27);
}

static const struct st_list_kind event_list_kind = {sizeof(struct dc09_event_row), event_read,
                                                    dc09_event_rows_free_any};

int store_dc09_event_add(struct store *st, const struct dc09_event_row *r, int64_t *out_id)
{
    if (!r->account || !r->prefix || !r->token || !r->digest || !r->action || !r->data ||
        !r->transport || r->organisation_id < 0 || r->device_id < 0 || r->worker_id < 0)
        return -NA_EINVAL;
    return st_exec_id(
        st,
        "INSERT INTO dc09_events (organisation_id, device_id, worker_id, account, receiver, "
        "prefix, token, encrypted, seq, digest, code, zone, action, label, data, latitude, "
        "longitude, event_at, sent_at, verification, extra, transport, peer, received_at, "
        "pending_at, applied_at, alarm_id, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        PARAMS(P_ID(r->organisation_id), P_ID(r->device_id), P_ID(r->worker_id), P_TEXT(r->account),
               P_TEXT(r->receiver), P_TEXT(r->prefix), P_TEXT(r->token), P_BOOL(r->encrypted),
               P_I64(r->seq), P_TEXT(r->digest), P_TEXT(r->code), P_TEXT(r->zone),
               P_TEXT(r->action), P_TEXT(r->label), P_TEXT(r->data),
               P_F64_IF(r->has_position, r->latitude), P_F64_IF(r->has_position, r->longitude),
               P_ID(r->event_at), P_ID(r->sent_at), P_TEXT(r->verification), P_TEXT(r->extra),
               P_TEXT(r->transport), P_TEXT(r->peer), P_I64(r->received_at), P_ID(r->pending_at),
               P_ID(r->applied_at), P_ID(r->alarm_id), P_TEXT(st_owner_if(st, r->pending_at != 0))),
        out_id);
}

int store_dc09_event_repeat(struct store *st, const char *account, int seq, const char *digest,
                            int64_t since, int64_t *out_id)
{
    int rc;

    *out_id = 0;
    if (!account || !digest)
        return -NA_EINVAL;
    /* The index on (account, seq, received_at) finds the few candidates. */
    rc = st_exec_id(st,
                    "SELECT id FROM dc09_events WHERE account = ? AND seq = ? AND "
                    "received_at >= ? AND digest = ? ORDER BY id DESC LIMIT 1",
                    PARAMS(P_TEXT(account), P_I64(seq), P_I64(since), P_TEXT(digest)), out_id);
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

int store_dc09_event_get(struct store *st, int64_t org_id, int64_t id, struct dc09_event_row *out)
{
    /* Unassigned events have no organisation; two statements keep each one's index. */
    if (!org_id)
        return st_get(st, true,
                      "SELECT " EVENT_COLS
                      " FROM dc09_events WHERE id = ? AND organisation_id IS NULL",
                      PARAMS(P_I64(id)), event_read, out, sizeof *out);
    return st_get(st, true,
                  "SELECT " EVENT_COLS " FROM dc09_events WHERE id = ? AND organisation_id = ?",
                  PARAMS(P_I64(id), P_I64(org_id)), event_read, out, sizeof *out);
}

int store_dc09_event_get_any(struct store *st, int64_t id, struct dc09_event_row *out)
{
    return st_get(st, true, "SELECT " EVENT_COLS " FROM dc09_events WHERE id = ?",
                  PARAMS(P_I64(id)), event_read, out, sizeof *out);
}

/* The filter's conditions after the organisation's; parameters P_EVENT_FILTER's. */
#define EVENT_FILTER_SQL                                                                           \
    " AND (? = 0 OR id < ?) AND (? = 0 OR device_id = ?) AND (? = 0 OR worker_id = ?) "            \
    "AND (CAST(? AS TEXT) IS NULL OR action = ?) AND (? = 0 OR action <> 'link') "                 \
    "ORDER BY id DESC LIMIT ?"
#define P_EVENT_FILTER(f, before, limit)                                                           \
    P_I64(before), P_I64(before), P_I64((f)->device_id), P_I64((f)->device_id),                    \
        P_I64((f)->worker_id), P_I64((f)->worker_id), P_TEXT((f)->action), P_TEXT((f)->action),    \
        P_BOOL((f)->no_link), P_I64(limit)

int store_dc09_event_list(struct store *st, int64_t org_id, const struct dc09_event_filter *f,
                          int64_t before_id, int limit, struct dc09_event_row **out_rows,
                          size_t *out_n)
{
    const struct dc09_event_filter any = {0};
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    if (!f)
        f = &any;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    if (org_id < 0 || before_id < 0 || f->device_id < 0 || f->worker_id < 0)
        return -NA_EINVAL;
    if (!org_id)
        return st_list(st, &event_list_kind, (size_t)limit, false,
                       "SELECT " EVENT_COLS
                       " FROM dc09_events WHERE organisation_id IS NULL" EVENT_FILTER_SQL,
                       PARAMS(P_EVENT_FILTER(f, before_id, limit)), (void **)out_rows, out_n);
    return st_list(
        st, &event_list_kind, (size_t)limit, false,
        "SELECT " EVENT_COLS " FROM dc09_events WHERE organisation_id = ?" EVENT_FILTER_SQL,
        PARAMS(P_I64(org_id), P_EVENT_FILTER(f, before_id, limit)), (void **)out_rows, out_n);
}

int store_dc09_event_applied(struct store *st, int64_t id, int64_t now, int64_t alarm_id)
{
    return st_exec_id(st,
                      "UPDATE dc09_events SET pending_at = NULL, applied_at = ?, alarm_id = ?, "
                      "owner = NULL WHERE id = ? RETURNING id",
                      PARAMS(P_I64(now), P_ID(alarm_id), P_I64(id)), NULL);
}
