/*
 * The notification outbox, contact channels and escalation policies (store_watch.h).
 * Outbox rows are read and marked by the notifier, which knows no organisation; channels
 * and policies are tenant data, scoped by organisation id.
 */
#include "store/store_internal.h"
#include "store/store_watch.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

/* ---- outbox ---- */

void outbox_row_fini(struct outbox_row *r)
{
    if (!r)
        return;
    free(r->channel);
    free(r->address);
    free(r->event);
    free(r->subject);
    free(r->body);
    free(r->idempotency_key);
    free(r->state);
    free(r->last_error);
    memset(r, 0, sizeof *r);
}

void outbox_rows_free(struct outbox_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        outbox_row_fini(&rows[i]);
    free(rows);
}

#define OUTBOX_COLS                                                                                \
    "id, organisation_id, escalation_id, level, user_id, channel_id, channel, address, event, "    \
    "subject, body, idempotency_key, state, attempts, next_attempt_at, last_error, created_at, "   \
    "sent_at"

static void outbox_read(struct store *st, struct db_stmt *s, struct outbox_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->escalation_id = st_col_i64(st, s, 2);
    r->level = (int)st_col_i64(st, s, 3);
    r->user_id = st_col_i64(st, s, 4);
    r->channel_id = st_col_i64(st, s, 5);
    r->channel = st_col_str(st, s, 6);
    r->address = st_col_str(st, s, 7);
    r->event = st_col_str(st, s, 8);
    r->subject = st_col_str(st, s, 9);
    r->body = st_col_str(st, s, 10);
    r->idempotency_key = st_col_str(st, s, 11);
    r->state = st_col_str(st, s, 12);
    r->attempts = (int)st_col_i64(st, s, 13);
    r->next_attempt_at = st_col_i64(st, s, 14);
    r->last_error = st_col_str(st, s, 15);
    r->created_at = st_col_i64(st, s, 16);
    r->sent_at = st_col_i64(st, s, 17);
}

int store_outbox_add(struct store *st, const struct outbox_row *r, int64_t *out_id)
{
    /* A row without a time is due at once. The SELECT keeps the case and the channel in
     * the row's organisation. */
    int64_t due = r->next_attempt_at ? r->next_attempt_at : r->created_at;

    if (!r->channel || !r->event || !r->idempotency_key)
        return -NA_EINVAL;
    return st_exec_id(
        st,
        "INSERT INTO outbox (organisation_id, escalation_id, level, user_id, channel_id, "
        "channel, address, event, subject, body, idempotency_key, state, attempts, "
        "next_attempt_at, created_at, owner) "
        "SELECT o.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ? FROM organisations o "
        "WHERE o.id = ? "
        "AND (? = 0 OR EXISTS (SELECT 1 FROM escalations e "
        "WHERE e.id = ? AND e.organisation_id = o.id)) "
        "AND (? = 0 OR EXISTS (SELECT 1 FROM contact_channels c "
        "WHERE c.id = ? AND c.organisation_id = o.id)) RETURNING id",
        PARAMS(P_ID(r->escalation_id), P_I64(r->level), P_ID(r->user_id), P_ID(r->channel_id),
               P_TEXT(r->channel), P_TEXT(r->address), P_TEXT(r->event), P_TEXT(r->subject),
               P_TEXT(r->body), P_TEXT(r->idempotency_key), P_I64(due), P_I64(r->created_at),
               P_TEXT(st->node), P_I64(r->organisation_id), P_I64(r->escalation_id),
               P_I64(r->escalation_id), P_I64(r->channel_id), P_I64(r->channel_id)),
        out_id);
}

int store_outbox_get(struct store *st, int64_t id, struct outbox_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt_locked(st, "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?", PARAMS(P_I64(id)),
                        &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW)
        outbox_read(st, s, out);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

int store_outbox_mark(struct store *st, int64_t id, const char *state, int attempts,
                      int64_t next_attempt_at, const char *last_error, int64_t now)
{
    bool sent;

    if (!state || (strcmp(state, "pending") != 0 && strcmp(state, "sent") != 0 &&
                   strcmp(state, "failed") != 0))
        return -NA_EINVAL;
    if (attempts < 0)
        return -NA_EINVAL;
    sent = strcmp(state, "sent") == 0;
    return st_exec_id(st,
                      "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, "
                      "last_error = ?, sent_at = CASE WHEN ? = 1 THEN ? ELSE sent_at END "
                      "WHERE id = ? AND owner = ? RETURNING id",
                      PARAMS(P_TEXT(state), P_I64(attempts), P_ID(next_attempt_at),
                             P_TEXT(last_error), P_BOOL(sent), P_I64(now), P_I64(id),
                             P_TEXT(st->node)),
                      NULL);
}

int store_outbox_for_escalation(struct store *st, int64_t escalation_id,
                                struct outbox_row **out_rows, size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct outbox_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_stmt(st, "SELECT " OUTBOX_COLS " FROM outbox WHERE escalation_id = ? ORDER BY id",
                 PARAMS(P_I64(escalation_id)), &s);
    if (rc < 0)
        return rc;
    while ((rc = st_step(st, s)) == DB_ROW) {
        /* Grows by powers of two, as st_push_id. */
        if (n == 0 || (n & (n - 1)) == 0)
            rows = xrealloc(rows, n ? n * 2 : 1, sizeof *rows);
        outbox_read(st, s, &rows[n++]);
    }
    st_done(st, s);
    if (rc < 0)
        goto fail;
    *out_rows = rows;
    *out_n = n;
    return 0;
fail:
    outbox_rows_free(rows, n);
    return rc;
}

/* ---- contact channels ---- */

void channel_row_fini(struct channel_row *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->kind);
    free(r->address);
    free(r->secret);
    free(r->template);
    memset(r, 0, sizeof *r);
}

void channel_rows_free(struct channel_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        channel_row_fini(&rows[i]);
    free(rows);
}

#define CHANNEL_COLS                                                                               \
    "id, organisation_id, user_id, name, kind, address, secret, template, created_at"

static void channel_read(struct store *st, struct db_stmt *s, struct channel_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->user_id = st_col_i64(st, s, 2);
    r->name = st_col_str(st, s, 3);
    r->kind = st_col_str(st, s, 4);
    r->address = st_col_str(st, s, 5);
    r->secret = st_col_str(st, s, 6);
    r->template = st_col_str(st, s, 7);
    r->created_at = st_col_i64(st, s, 8);
}

int store_channel_create(struct store *st, const struct channel_row *r, int64_t *out_id)
{
    if (!r->name || !r->kind || r->user_id < 0)
        return -NA_EINVAL;
    /* The SELECT checks the organisation and that the user is one of its own. */
    return st_exec_id(st,
                      "INSERT INTO contact_channels (organisation_id, user_id, name, kind, "
                      "address, secret, template, created_at) "
                      "SELECT o.id, ?, ?, ?, ?, ?, ?, ? FROM organisations o WHERE o.id = ? AND "
                      "(? = 0 OR EXISTS (SELECT 1 FROM users u "
                      "WHERE u.id = ? AND u.organisation_id = o.id)) RETURNING id",
                      PARAMS(P_ID(r->user_id), P_TEXT(r->name), P_TEXT(r->kind), P_TEXT(r->address),
                             P_TEXT(r->secret), P_TEXT(r->template), P_I64(r->created_at),
                             P_I64(r->organisation_id), P_I64(r->user_id), P_I64(r->user_id)),
                      out_id);
}

int store_channel_get(struct store *st, int64_t org_id, int64_t id, struct channel_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt(
        st, "SELECT " CHANNEL_COLS " FROM contact_channels WHERE id = ? AND organisation_id = ?",
        PARAMS(P_I64(id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW)
        channel_read(st, s, out);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

int store_channel_list(struct store *st, int64_t org_id, int64_t user_id, bool org_level,
                       struct channel_row **out_rows, size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct channel_row *rows = NULL;
    bool only_org = user_id == 0 && org_level;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_stmt(st,
                 "SELECT " CHANNEL_COLS " FROM contact_channels WHERE organisation_id = ? "
                 "AND (? = 0 OR user_id = ?) AND (? = 0 OR user_id IS NULL) ORDER BY id",
                 PARAMS(P_I64(org_id), P_I64(user_id), P_I64(user_id), P_BOOL(only_org)), &s);
    if (rc < 0)
        return rc;
    while ((rc = st_step(st, s)) == DB_ROW) {
        /* Grows by powers of two, as st_push_id. */
        if (n == 0 || (n & (n - 1)) == 0)
            rows = xrealloc(rows, n ? n * 2 : 1, sizeof *rows);
        channel_read(st, s, &rows[n++]);
    }
    st_done(st, s);
    if (rc < 0)
        goto fail;
    *out_rows = rows;
    *out_n = n;
    return 0;
fail:
    channel_rows_free(rows, n);
    return rc;
}

int store_channel_delete(struct store *st, int64_t org_id, int64_t id)
{
    return st_exec_id(st,
                      "DELETE FROM contact_channels WHERE id = ? AND organisation_id = ? "
                      "RETURNING id",
                      PARAMS(P_I64(id), P_I64(org_id)), NULL);
}

/* ---- escalation policies ---- */

int store_policy_get(struct store *st, int64_t org_id, int64_t team_id, char **out_json)
{
    struct db_stmt *s = NULL;
    int rc;

    *out_json = NULL;
    rc = st_stmt(st,
                 "SELECT levels FROM escalation_policies WHERE organisation_id = ? "
                 "AND COALESCE(team_id, 0) = ?",
                 PARAMS(P_I64(org_id), P_I64(team_id)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW)
        *out_json = st_col_str(st, s, 0);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

int store_policy_put(struct store *st, int64_t org_id, int64_t team_id, const char *json,
                     int64_t now)
{
    if (!json || team_id < 0)
        return -NA_EINVAL;
    /* One statement per scope, each naming the partial unique index it upserts on. */
    if (team_id == 0)
        return st_exec_id(
            st,
            "INSERT INTO escalation_policies (organisation_id, team_id, levels, "
            "updated_at) SELECT id, NULL, ?, ? FROM organisations WHERE id = ? "
            "ON CONFLICT (organisation_id) WHERE team_id IS NULL "
            "DO UPDATE SET levels = excluded.levels, updated_at = excluded.updated_at "
            "RETURNING id",
            PARAMS(P_TEXT(json), P_I64(now), P_I64(org_id)), NULL);
    return st_exec_id(st,
                      "INSERT INTO escalation_policies (organisation_id, team_id, levels, "
                      "updated_at) SELECT organisation_id, id, ?, ? FROM teams "
                      "WHERE id = ? AND organisation_id = ? "
                      "ON CONFLICT (team_id) WHERE team_id IS NOT NULL "
                      "DO UPDATE SET levels = excluded.levels, updated_at = excluded.updated_at "
                      "RETURNING id",
                      PARAMS(P_TEXT(json), P_I64(now), P_I64(team_id), P_I64(org_id)), NULL);
}

int store_policy_delete(struct store *st, int64_t org_id, int64_t team_id)
{
    return st_exec_id(st,
                      "DELETE FROM escalation_policies WHERE organisation_id = ? "
                      "AND COALESCE(team_id, 0) = ? RETURNING id",
                      PARAMS(P_I64(org_id), P_I64(team_id)), NULL);
}
