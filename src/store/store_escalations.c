/*
 * Escalation cases, their steps, one-time acknowledgement links and the people a case
 * tells (store_watch.h). Tenant queries are scoped by organisation id; the *_any lookups,
 * the notified users and the links serve the scheduler and the link handler, which know
 * no organisation.
 */
#include "store/store_internal.h"
#include "store/store_watch.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

void escalation_row_fini(struct escalation_row *r)
{
    if (!r)
        return;
    free(r->policy);
    free(r->outcome_note);
    free(r->police_reference);
    memset(r, 0, sizeof *r);
}

void escalation_rows_free(struct escalation_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        escalation_row_fini(&rows[i]);
    free(rows);
}

#define ESCALATION_COLS                                                                            \
    "id, organisation_id, visit_id, state, level, level_due_at, acknowledged_by, "                 \
    "acknowledged_at, opened_at, resolved_at, missed_deadline_at, policy, outcome, "               \
    "outcome_note, police_reference, resolved_by"

static void escalation_read(struct store *st, struct db_stmt *s, struct escalation_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->visit_id = st_col_i64(st, s, 2);
    r->c.state = (enum escalation_state)st_col_i64(st, s, 3);
    r->c.level = (int)st_col_i64(st, s, 4);
    r->c.level_due_at = st_col_i64(st, s, 5);
    r->c.acknowledged_by = st_col_i64(st, s, 6);
    r->c.acknowledged_at = st_col_i64(st, s, 7);
    r->c.opened_at = st_col_i64(st, s, 8);
    r->c.resolved_at = st_col_i64(st, s, 9);
    r->missed_deadline_at = st_col_i64(st, s, 10);
    r->policy = st_col_str(st, s, 11);
    r->outcome = (int)st_col_i64(st, s, 12);
    r->outcome_note = st_col_str(st, s, 13);
    r->police_reference = st_col_str(st, s, 14);
    r->resolved_by = st_col_i64(st, s, 15);
}

/* The ranges of the enums stored as integers. */
static int escalation_check(const struct escalation_row *r)
{
    if (r->c.state != ESCALATION_OPEN && r->c.state != ESCALATION_RESOLVED)
        return -NA_EINVAL;
    if (r->outcome < ESCALATION_OUTCOME_NONE || r->outcome > ESCALATION_OUTCOME_POLICE)
        return -NA_EINVAL;
    if (r->c.level < 0 || r->visit_id <= 0)
        return -NA_EINVAL;
    return 0;
}

int store_escalation_create(struct store *st, const struct escalation_row *r, int64_t *out_id)
{
    const struct escalation_case *c = &r->c;
    int rc = escalation_check(r);

    if (rc < 0)
        return rc;
    /* The SELECT checks the visit's organisation; the partial unique index on open cases
     * makes a second open case of the visit -NA_ECONFLICT. */
    return st_exec_id(
        st,
        "INSERT INTO escalations (organisation_id, visit_id, state, level, level_due_at, "
        "acknowledged_by, acknowledged_at, opened_at, resolved_at, missed_deadline_at, policy, "
        "outcome, outcome_note, police_reference, resolved_by, owner) "
        "SELECT organisation_id, id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM visits "
        "WHERE id = ? AND organisation_id = ? RETURNING id",
        PARAMS(P_I64(c->state), P_I64(c->level), P_ID(c->level_due_at), P_ID(c->acknowledged_by),
               P_ID(c->acknowledged_at), P_I64(c->opened_at), P_ID(c->resolved_at),
               P_ID(r->missed_deadline_at), P_TEXT(r->policy), P_I64(r->outcome),
               P_TEXT(r->outcome_note), P_TEXT(r->police_reference), P_ID(r->resolved_by),
               P_TEXT(st->node), P_I64(r->visit_id), P_I64(r->organisation_id)),
        out_id);
}

/*
 * In a transaction on a shared database: locks the case's visit before the case. Every
 * transaction that changes both takes the visit first (a check-in reads the visit, then
 * its open case), so a case read first must not reverse the order: two nodes would each
 * hold what the other waits for.
 */
int st_lock_visit_of_case(struct store *st, int64_t case_id)
{
    if (!st->in_tx || !st->ops->lock_suffix[0])
        return 0;
    int rc = st_lock_row(st,
                         "SELECT v.id FROM visits v WHERE v.id = "
                         "(SELECT e.visit_id FROM escalations e WHERE e.id = ?)",
                         PARAMS(P_I64(case_id)));
    return rc == -NA_ENOTFOUND ? 0 : rc; /* no case: its reader says so */
}

/* One case by a prepared single-row query. */
static int escalation_get_one(struct store *st, struct db_stmt *s, struct escalation_row *out)
{
    int rc = st_step(st, s);
    if (rc == DB_ROW)
        escalation_read(st, s, out);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

int store_escalation_get(struct store *st, int64_t org_id, int64_t id, struct escalation_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_lock_visit_of_case(st, id);
    if (rc < 0)
        return rc;
    rc = st_stmt_locked(
        st, "SELECT " ESCALATION_COLS " FROM escalations WHERE id = ? AND organisation_id = ?",
        PARAMS(P_I64(id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    return escalation_get_one(st, s, out);
}

int store_escalation_get_any(struct store *st, int64_t id, struct escalation_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_lock_visit_of_case(st, id);
    if (rc < 0)
        return rc;
    rc = st_stmt_locked(st, "SELECT " ESCALATION_COLS " FROM escalations WHERE id = ?",
                        PARAMS(P_I64(id)), &s);
    if (rc < 0)
        return rc;
    return escalation_get_one(st, s, out);
}

int store_escalation_open_for_visit(struct store *st, int64_t org_id, int64_t visit_id,
                                    struct escalation_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt_locked(st,
                        "SELECT " ESCALATION_COLS " FROM escalations "
                        "WHERE visit_id = ? AND state = 1 AND organisation_id = ?",
                        PARAMS(P_I64(visit_id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    return escalation_get_one(st, s, out);
}

int store_escalation_update(struct store *st, const struct escalation_row *r)
{
    const struct escalation_case *c = &r->c;
    int rc = escalation_check(r);

    if (rc < 0)
        return rc;
    return st_exec_id(
        st,
        "UPDATE escalations SET state = ?, level = ?, level_due_at = ?, acknowledged_by = ?, "
        "acknowledged_at = ?, opened_at = ?, resolved_at = ?, outcome = ?, outcome_note = ?, "
        "police_reference = ?, resolved_by = ?, owner = ? WHERE id = ? AND organisation_id = ? "
        "RETURNING id",
        PARAMS(P_I64(c->state), P_I64(c->level), P_ID(c->level_due_at), P_ID(c->acknowledged_by),
               P_ID(c->acknowledged_at), P_I64(c->opened_at), P_ID(c->resolved_at),
               P_I64(r->outcome), P_TEXT(r->outcome_note), P_TEXT(r->police_reference),
               P_ID(r->resolved_by), P_TEXT(st->node), P_I64(r->id), P_I64(r->organisation_id)),
        NULL);
}

int store_escalation_list(struct store *st, int64_t org_id, const struct escalation_filter *f,
                          int64_t after_id, int limit, struct escalation_row **out_rows,
                          size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct escalation_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    rc = st_stmt(st,
                 "SELECT " ESCALATION_COLS " FROM escalations WHERE organisation_id = ? "
                 "AND id > ? AND (? = 0 OR state = ?) AND (? = 0 OR visit_id = ?) "
                 "ORDER BY id LIMIT ?",
                 PARAMS(P_I64(org_id), P_I64(after_id), P_I64(f->state), P_I64(f->state),
                        P_I64(f->visit_id), P_I64(f->visit_id), P_I64(limit)),
                 &s);
    if (rc < 0)
        return rc;
    rows = xcalloc((size_t)limit, sizeof *rows);
    while (n < (size_t)limit && (rc = st_step(st, s)) == DB_ROW)
        escalation_read(st, s, &rows[n++]);
    st_done(st, s);
    if (rc < 0)
        goto fail;
    *out_rows = rows;
    *out_n = n;
    return 0;
fail:
    escalation_rows_free(rows, n);
    return rc;
}

/* ---- steps ---- */

int store_escalation_step_add(struct store *st, const struct escalation_step *s)
{
    if (!s->kind)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "INSERT INTO escalation_steps (escalation_id, organisation_id, at, level, "
                      "kind, user_id, channel_id, outbox_id, detail) "
                      "SELECT id, organisation_id, ?, ?, ?, ?, ?, ?, ? FROM escalations "
                      "WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_I64(s->at), P_I64(s->level), P_TEXT(s->kind), P_ID(s->user_id),
                             P_ID(s->channel_id), P_ID(s->outbox_id), P_TEXT(s->detail),
                             P_I64(s->escalation_id), P_I64(s->organisation_id)),
                      NULL);
}

void escalation_step_rows_free(struct escalation_step_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].kind);
        free(rows[i].detail);
    }
    free(rows);
}

static void escalation_step_read(struct store *st, struct db_stmt *s, struct escalation_step_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->at = st_col_i64(st, s, 1);
    r->level = (int)st_col_i64(st, s, 2);
    r->kind = st_col_str(st, s, 3);
    r->user_id = st_col_i64(st, s, 4);
    r->channel_id = st_col_i64(st, s, 5);
    r->outbox_id = st_col_i64(st, s, 6);
    r->detail = st_col_str(st, s, 7);
}

int store_escalation_steps(struct store *st, int64_t org_id, int64_t escalation_id,
                           struct escalation_step_row **out_rows, size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct escalation_step_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    /* A case without steps and another organisation's case must differ. */
    rc = st_exec_id(st, "SELECT id FROM escalations WHERE id = ? AND organisation_id = ?",
                    PARAMS(P_I64(escalation_id), P_I64(org_id)), NULL);
    if (rc < 0)
        return rc;
    rc = st_stmt(st,
                 "SELECT id, at, level, kind, user_id, channel_id, outbox_id, detail "
                 "FROM escalation_steps WHERE escalation_id = ? AND organisation_id = ? "
                 "ORDER BY id",
                 PARAMS(P_I64(escalation_id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    while ((rc = st_step(st, s)) == DB_ROW) {
        /* Grows by powers of two, as st_push_id. */
        if (n == 0 || (n & (n - 1)) == 0)
            rows = xrealloc(rows, n ? n * 2 : 1, sizeof *rows);
        escalation_step_read(st, s, &rows[n++]);
    }
    st_done(st, s);
    if (rc < 0)
        goto fail;
    *out_rows = rows;
    *out_n = n;
    return 0;
fail:
    escalation_step_rows_free(rows, n);
    return rc;
}

int store_escalation_notified_users(struct store *st, int64_t escalation_id, int64_t **out_ids,
                                    size_t *out_n)
{
    /* Whoever was told, or answered, hears that the worker is safe. */
    return st_query_ids(st,
                        "SELECT DISTINCT user_id FROM escalation_steps WHERE escalation_id = ? "
                        "AND user_id IS NOT NULL "
                        "AND kind IN ('notified', 'delivered', 'acknowledged') ORDER BY user_id",
                        PARAMS(P_I64(escalation_id)), out_ids, out_n);
}

/* ---- acknowledgement links ---- */

int store_ack_link_create(struct store *st, const char *token_hash, int64_t escalation_id,
                          int64_t user_id, int64_t expires_at)
{
    if (!token_hash || user_id <= 0)
        return -NA_EINVAL;
    return st_exec_id(
        st,
        "INSERT INTO ack_links (token_hash, escalation_id, user_id, expires_at) "
        "SELECT ?, id, ?, ? FROM escalations WHERE id = ? RETURNING escalation_id",
        PARAMS(P_TEXT(token_hash), P_I64(user_id), P_I64(expires_at), P_I64(escalation_id)), NULL);
}

int store_ack_link_use(struct store *st, const char *token_hash, int64_t now,
                       int64_t *out_escalation_id, int64_t *out_user_id)
{
    struct db_stmt *s = NULL;
    int rc;

    *out_escalation_id = 0;
    *out_user_id = 0;
    if (!token_hash)
        return -NA_EINVAL;
    /* One statement: two concurrent uses cannot both see the link unused. */
    rc = st_stmt(st,
                 "UPDATE ack_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
                 "AND expires_at > ? RETURNING escalation_id, user_id",
                 PARAMS(P_I64(now), P_TEXT(token_hash), P_I64(now)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW) {
        *out_escalation_id = st_col_i64(st, s, 0);
        *out_user_id = st_col_i64(st, s, 1);
        /* The write completes (and in autocommit mode commits) at the last step. */
        rc = st_step(st, s);
    } else if (rc == DB_DONE) {
        rc = -NA_ENOTFOUND;
    }
    st_done(st, s);
    if (rc < 0) {
        *out_escalation_id = 0;
        *out_user_id = 0;
        return rc;
    }
    return 0;
}

/* ---- people ---- */

int store_line_managers_of(struct store *st, int64_t org_id, int64_t user_id, int64_t **out_ids,
                           size_t *out_n)
{
    /* A manager is not their own contact: that level is then unreachable and is skipped. */
    return st_query_ids(st,
                        "SELECT DISTINCT t.line_manager_id FROM team_members tm "
                        "JOIN teams t ON t.id = tm.team_id "
                        "JOIN users u ON u.id = t.line_manager_id "
                        "WHERE tm.user_id = ? AND t.organisation_id = ? "
                        "AND u.organisation_id = t.organisation_id AND u.disabled = 0 "
                        "AND t.line_manager_id <> tm.user_id ORDER BY t.line_manager_id",
                        PARAMS(P_I64(user_id), P_I64(org_id)), out_ids, out_n);
}

int store_escalation_exists_for_deadline(struct store *st, int64_t org_id, int64_t visit_id,
                                         int64_t missed_at, bool *out)
{
    int rc = st_exec_id(st,
                        "SELECT id FROM escalations WHERE visit_id = ? AND organisation_id = ? "
                        "AND missed_deadline_at = ? LIMIT 1",
                        PARAMS(P_I64(visit_id), P_I64(org_id), P_I64(missed_at)), NULL);
    *out = rc == 0;
    return rc == -NA_ENOTFOUND ? 0 : rc;
}
