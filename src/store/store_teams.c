/*
 * Teams and their members (store.h). Every query is scoped by organisation id.
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

void team_row_fini(struct team_row *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->member_ids);
    memset(r, 0, sizeof *r);
}

void team_rows_free(struct team_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        team_row_fini(&rows[i]);
    free(rows);
}

#define TEAM_COLS "id, organisation_id, name, line_manager_id, created_at"

static void team_read(struct store *st, struct db_stmt *s, struct team_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->name = st_col_str(st, s, 2);
    r->line_manager_id = st_col_i64(st, s, 3); /* NULL reads as 0 */
    r->created_at = st_col_i64(st, s, 4);
}

/* The rows being filled by team_attach_members and their ids (ascending). */
struct team_attach {
    struct team_row *rows;
    const int64_t *ids;
    size_t n;
};

static void team_attach_member(struct store *st, struct db_stmt *s, void *arg)
{
    struct team_attach *a = arg;
    long i = st_find_id(a->ids, a->n, st_col_i64(st, s, 0));
    if (i >= 0)
        st_push_id(&a->rows[i].member_ids, &a->rows[i].n_members, st_col_i64(st, s, 1));
}

/*
 * Fills member_ids of rows[0..n) (ascending ids) with queries over their ids rather than
 * one per team.
 */
static int team_attach_members(struct store *st, int64_t org_id, struct team_row *rows, size_t n)
{
    struct team_attach a = {.rows = rows, .n = n};
    int64_t *ids = NULL;
    int rc;

    if (n == 0)
        return 0;
    ids = xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = rows[i].id;
    a.ids = ids;
    rc = st_query_in(st,
                     "SELECT tm.team_id, tm.user_id FROM team_members tm "
                     "JOIN teams t ON t.id = tm.team_id "
                     "WHERE t.organisation_id = ? AND tm.team_id IN ",
                     " ORDER BY tm.team_id, tm.user_id", org_id, ids, n, team_attach_member, &a);
    free(ids);
    return rc < 0 ? rc : 0;
}

/* -NA_ENOTFOUND unless user_id is 0 or a user of org_id. */
static int team_check_user(struct store *st, int64_t org_id, int64_t user_id)
{
    if (user_id == 0)
        return 0;
    return st_exec_id(st, "SELECT id FROM users WHERE id = ? AND organisation_id = ?",
                      PARAMS(P_I64(user_id), P_I64(org_id)), NULL);
}

int store_team_create(struct store *st, int64_t org_id, const char *name, int64_t line_manager_id,
                      int64_t now, int64_t *out_id)
{
    if (!name || line_manager_id < 0)
        return -NA_EINVAL;
    /* The SELECT checks the organisation and the manager in the same statement. */
    return st_exec_id(st,
                      "INSERT INTO teams (organisation_id, name, line_manager_id, created_at) "
                      "SELECT o.id, ?, ?, ? FROM organisations o WHERE o.id = ? AND "
                      "(? = 0 OR EXISTS (SELECT 1 FROM users u "
                      "WHERE u.id = ? AND u.organisation_id = o.id)) RETURNING id",
                      PARAMS(P_TEXT(name), P_ID(line_manager_id), P_I64(now), P_I64(org_id),
                             P_I64(line_manager_id), P_I64(line_manager_id)),
                      out_id);
}

int store_team_get(struct store *st, int64_t org_id, int64_t team_id, struct team_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt(st, "SELECT " TEAM_COLS " FROM teams WHERE id = ? AND organisation_id = ?",
                 PARAMS(P_I64(team_id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW)
        team_read(st, s, out);
    st_done(st, s);
    if (rc == DB_DONE)
        rc = -NA_ENOTFOUND;
    if (rc < 0)
        goto fail;
    rc = team_attach_members(st, org_id, out, 1);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    team_row_fini(out);
    return rc;
}

int store_team_list(struct store *st, int64_t org_id, int64_t after_id, int limit,
                    struct team_row **out_rows, size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct team_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    rc = st_stmt(st,
                 "SELECT " TEAM_COLS " FROM teams WHERE organisation_id = ? AND id > ? "
                 "ORDER BY id LIMIT ?",
                 PARAMS(P_I64(org_id), P_I64(after_id), P_I64(limit)), &s);
    if (rc < 0)
        return rc;
    rows = xcalloc((size_t)limit, sizeof *rows);
    while (n < (size_t)limit && (rc = st_step(st, s)) == DB_ROW)
        team_read(st, s, &rows[n++]);
    st_done(st, s);
    if (rc < 0)
        goto fail;
    rc = team_attach_members(st, org_id, rows, n);
    if (rc < 0)
        goto fail;
    *out_rows = rows;
    *out_n = n;
    return 0;
fail:
    team_rows_free(rows, n);
    return rc;
}

int store_team_update(struct store *st, int64_t org_id, int64_t team_id, const char *name,
                      bool set_line_manager, int64_t line_manager_id)
{
    int64_t check = set_line_manager ? line_manager_id : 0;

    if (line_manager_id < 0)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "UPDATE teams SET name = COALESCE(?, name), "
                      "line_manager_id = CASE WHEN ? = 1 THEN ? ELSE line_manager_id END "
                      "WHERE id = ? AND organisation_id = ? AND "
                      "(? = 0 OR EXISTS (SELECT 1 FROM users u "
                      "WHERE u.id = ? AND u.organisation_id = teams.organisation_id)) "
                      "RETURNING id",
                      PARAMS(P_TEXT(name), P_BOOL(set_line_manager), P_ID(line_manager_id),
                             P_I64(team_id), P_I64(org_id), P_I64(check), P_I64(check)),
                      NULL);
}

int store_team_delete(struct store *st, int64_t org_id, int64_t team_id)
{
    return st_exec_id(st, "DELETE FROM teams WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_I64(team_id), P_I64(org_id)), NULL);
}

static int team_check(struct store *st, int64_t org_id, int64_t team_id)
{
    return st_exec_id(st, "SELECT id FROM teams WHERE id = ? AND organisation_id = ?",
                      PARAMS(P_I64(team_id), P_I64(org_id)), NULL);
}

int store_team_add_member(struct store *st, int64_t org_id, int64_t team_id, int64_t user_id)
{
    int rc = team_check(st, org_id, team_id);
    if (rc < 0)
        return rc;
    if (user_id <= 0)
        return -NA_ENOTFOUND;
    rc = team_check_user(st, org_id, user_id);
    if (rc < 0)
        return rc;
    return st_exec(st,
                   "INSERT INTO team_members (team_id, user_id) VALUES (?, ?) "
                   "ON CONFLICT DO NOTHING",
                   PARAMS(P_I64(team_id), P_I64(user_id)));
}

int store_team_remove_member(struct store *st, int64_t org_id, int64_t team_id, int64_t user_id)
{
    int rc = team_check(st, org_id, team_id);
    if (rc < 0)
        return rc;
    return st_exec(st, "DELETE FROM team_members WHERE team_id = ? AND user_id = ?",
                   PARAMS(P_I64(team_id), P_I64(user_id)));
}

int store_teams_managed_by(struct store *st, int64_t org_id, int64_t user_id, int64_t **out_ids,
                           size_t *out_n)
{
    return st_query_ids(st,
                        "SELECT id FROM teams WHERE organisation_id = ? AND line_manager_id = ? "
                        "ORDER BY id",
                        PARAMS(P_I64(org_id), P_I64(user_id)), out_ids, out_n);
}
