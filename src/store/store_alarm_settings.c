/*
 * The organisation's alarm settings and its police unique reference numbers (URNs)
 * (store_alarms.h). Every query is scoped by organisation id.
 */
#include "store/store_alarms.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/error.h"

/* ---- the organisation's alarm settings ---- */

static void settings_read(struct store *st, struct db_stmt *s, void *row)
{
    char **json = row;
    *json = st_col_str(st, s, 0);
}

int store_alarm_settings_get(struct store *st, int64_t org_id, char **out_json)
{
    return st_get(st, false, "SELECT settings FROM alarm_settings WHERE organisation_id = ?",
                  PARAMS(P_I64(org_id)), settings_read, out_json, sizeof *out_json);
}

int store_alarm_settings_put(struct store *st, int64_t org_id, const char *json, int64_t now)
{
    if (!json)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "INSERT INTO alarm_settings (organisation_id, settings, updated_at) "
                      "SELECT id, ?, ? FROM organisations WHERE id = ? "
                      "ON CONFLICT (organisation_id) DO UPDATE SET settings = excluded.settings, "
                      "updated_at = excluded.updated_at RETURNING organisation_id",
                      PARAMS(P_TEXT(json), P_I64(now), P_I64(org_id)), NULL);
}

/* ---- police URNs ---- */

void urn_row_fini(struct urn_row *r)
{
    if (!r)
        return;
    free(r->urn);
    free(r->label);
    memset(r, 0, sizeof *r);
}

void urn_rows_free(struct urn_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        urn_row_fini(&rows[i]);
    free(rows);
}

static void urn_rows_free_any(void *rows, size_t n)
{
    urn_rows_free(rows, n);
}

#define URN_COLS "p.id, p.organisation_id, p.team_id, p.urn, p.label, p.created_at"

static void urn_read(struct store *st, struct db_stmt *s, void *row)
{
    struct urn_row *r = row;
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->team_id = st_col_i64(st, s, 2);
    r->urn = st_col_str(st, s, 3);
    r->label = st_col_str(st, s, 4);
    r->created_at = st_col_i64(st, s, 5);
}

int store_urn_create(struct store *st, const struct urn_row *r, int64_t *out_id)
{
    if (!r->urn || r->team_id < 0)
        return -NA_EINVAL;
    /* The SELECT checks the team's organisation; one URN per scope by the unique indexes. */
    return st_exec_id(st,
                      "INSERT INTO police_urns (organisation_id, team_id, urn, label, created_at) "
                      "SELECT o.id, ?, ?, ?, ? FROM organisations o WHERE o.id = ? "
                      "AND (? = 0 OR EXISTS (SELECT 1 FROM teams t "
                      "WHERE t.id = ? AND t.organisation_id = o.id)) RETURNING id",
                      PARAMS(P_ID(r->team_id), P_TEXT(r->urn), P_TEXT(r->label),
                             P_I64(r->created_at), P_I64(r->organisation_id), P_I64(r->team_id),
                             P_I64(r->team_id)),
                      out_id);
}

int store_urn_list(struct store *st, int64_t org_id, struct urn_row **out_rows, size_t *out_n)
{
    static const struct st_list_kind kind = {sizeof(struct urn_row), urn_read, urn_rows_free_any};

    return st_list(st, &kind, STORE_LIST_MAX, false,
                   "SELECT " URN_COLS " FROM police_urns p WHERE p.organisation_id = ? "
                   "ORDER BY p.id LIMIT ?",
                   PARAMS(P_I64(org_id), P_I64(STORE_LIST_MAX)), (void **)out_rows, out_n);
}

int store_urn_delete(struct store *st, int64_t org_id, int64_t id)
{
    return st_exec_id(st,
                      "DELETE FROM police_urns WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_I64(id), P_I64(org_id)), NULL);
}

int store_urn_for_worker(struct store *st, int64_t org_id, int64_t worker_id, struct urn_row *out)
{
    /* The worker's teams by lowest id first, then the organisation's own (team NULL). */
    return st_get(st, false,
                  "SELECT " URN_COLS " FROM police_urns p WHERE p.organisation_id = ? "
                  "AND EXISTS (SELECT 1 FROM users u WHERE u.id = ? "
                  "AND u.organisation_id = p.organisation_id) "
                  "AND (p.team_id IS NULL OR p.team_id IN "
                  "(SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ?)) "
                  "ORDER BY CASE WHEN p.team_id IS NULL THEN 1 ELSE 0 END, p.team_id LIMIT 1",
                  PARAMS(P_I64(org_id), P_I64(worker_id), P_I64(worker_id)), urn_read, out,
                  sizeof *out);
}
