/*
 * Users and their vehicles (store.h). Every tenant query is scoped by organisation id;
 * only the login lookup by username crosses organisations.
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

void vehicle_row_fini(struct vehicle_row *r)
{
    if (!r)
        return;
    free(r->registration);
    free(r->make);
    free(r->model);
    free(r->colour);
    memset(r, 0, sizeof *r);
}

void user_row_fini(struct user_row *r)
{
    if (!r)
        return;
    free(r->username);
    free(r->display_name);
    free(r->email);
    free(r->phone);
    free(r->home_address);
    free(r->next_of_kin.name);
    free(r->next_of_kin.relation);
    free(r->next_of_kin.phone);
    free(r->password_hash);
    free(r->team_ids);
    for (size_t i = 0; r->vehicles && i < r->n_vehicles; i++)
        vehicle_row_fini(&r->vehicles[i]);
    free(r->vehicles);
    memset(r, 0, sizeof *r);
}

void user_rows_free(struct user_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        user_row_fini(&rows[i]);
    free(rows);
}

#define USER_COLS                                                                                  \
    "u.id, u.organisation_id, u.username, u.display_name, u.email, u.phone, u.home_address, "      \
    "u.nok_name, u.nok_relation, u.nok_phone, u.roles, u.disabled, "                               \
    "u.password_change_required, u.password_hash, u.created_at, u.updated_at, "                    \
    "u.off_duty_since"

static void user_read(struct store *st, struct db_stmt *s, struct user_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->username = st_col_str(st, s, 2);
    r->display_name = st_col_str(st, s, 3);
    r->email = st_col_str(st, s, 4);
    r->phone = st_col_str(st, s, 5);
    r->home_address = st_col_str(st, s, 6);
    r->next_of_kin.name = st_col_str(st, s, 7);
    r->next_of_kin.relation = st_col_str(st, s, 8);
    r->next_of_kin.phone = st_col_str(st, s, 9);
    r->roles = (unsigned)st_col_i64(st, s, 10);
    r->disabled = st_col_bool(st, s, 11);
    r->password_change_required = st_col_bool(st, s, 12);
    r->password_hash = st_col_str(st, s, 13);
    r->created_at = st_col_i64(st, s, 14);
    r->updated_at = st_col_i64(st, s, 15);
    r->off_duty_since = st_col_i64(st, s, 16);
}

static void user_push_vehicle(struct store *st, struct db_stmt *s, struct user_row *r)
{
    struct vehicle_row *v;

    r->vehicles = xrealloc(r->vehicles, r->n_vehicles + 1, sizeof *r->vehicles);
    v = &r->vehicles[r->n_vehicles++];
    v->id = st_col_i64(st, s, 1);
    v->user_id = st_col_i64(st, s, 0);
    v->registration = st_col_str(st, s, 2);
    v->make = st_col_str(st, s, 3);
    v->model = st_col_str(st, s, 4);
    v->colour = st_col_str(st, s, 5);
}

/* The rows being filled by user_attach and their ids (ascending). */
struct user_attach {
    struct user_row *rows;
    const int64_t *ids;
    size_t n;
};

static void user_attach_team(struct store *st, struct db_stmt *s, void *arg)
{
    struct user_attach *a = arg;
    long i = st_find_id(a->ids, a->n, st_col_i64(st, s, 0));
    if (i >= 0)
        st_push_id(&a->rows[i].team_ids, &a->rows[i].n_team_ids, st_col_i64(st, s, 1));
}

static void user_attach_vehicle(struct store *st, struct db_stmt *s, void *arg)
{
    struct user_attach *a = arg;
    long i = st_find_id(a->ids, a->n, st_col_i64(st, s, 0));
    if (i >= 0)
        user_push_vehicle(st, s, &a->rows[i]);
}

/*
 * Fills team_ids and vehicles of rows[0..n) (ascending ids, all of org_id) with queries
 * over their ids (a few per page rather than two per user; never the whole id range
 * between them, which a filtered page can stretch over the organisation).
 */
static int user_attach(struct store *st, int64_t org_id, struct user_row *rows, size_t n)
{
    struct user_attach a = {.rows = rows, .n = n};
    int64_t *ids = NULL;
    int rc;

    if (n == 0)
        return 0;
    ids = xcalloc(n, sizeof *ids);
    for (size_t k = 0; k < n; k++)
        ids[k] = rows[k].id;
    a.ids = ids;
    rc = st_query_in(st,
                     "SELECT tm.user_id, tm.team_id FROM team_members tm "
                     "JOIN users u ON u.id = tm.user_id "
                     "WHERE u.organisation_id = ? AND tm.user_id IN ",
                     " ORDER BY tm.user_id, tm.team_id", org_id, ids, n, user_attach_team, &a);
    if (rc >= 0)
        rc = st_query_in(st,
                         "SELECT user_id, id, registration, make, model, colour FROM vehicles "
                         "WHERE organisation_id = ? AND user_id IN ",
                         " ORDER BY user_id, id", org_id, ids, n, user_attach_vehicle, &a);
    free(ids);
    return rc < 0 ? rc : 0;
}

/* One user by a prepared single-row query, then its teams and vehicles. */
static int user_get_one(struct store *st, struct db_stmt *s, struct user_row *out)
{
    int rc = st_step(st, s);
    if (rc == DB_ROW)
        user_read(st, s, out);
    st_done(st, s);
    if (rc == DB_DONE)
        rc = -NA_ENOTFOUND;
    if (rc < 0)
        goto fail;
    rc = user_attach(st, out->organisation_id, out, 1);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    user_row_fini(out);
    return rc;
}

int store_user_create(struct store *st, const struct user_new *u, int64_t *out_id)
{
    if (!u->username)
        return -NA_EINVAL;
    /* The SELECT makes a missing organisation -NA_ENOTFOUND, not a foreign key error. */
    return st_exec_id(
        st,
        "INSERT INTO users (organisation_id, username, display_name, email, phone, "
        "home_address, nok_name, nok_relation, nok_phone, roles, password_hash, "
        "password_change_required, disabled, created_at, updated_at) "
        "SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ? FROM organisations WHERE id = ? "
        "RETURNING id",
        PARAMS(P_TEXT(u->username), P_TEXT(u->display_name), P_TEXT(u->email), P_TEXT(u->phone),
               P_TEXT(u->home_address), P_TEXT(u->nok_name), P_TEXT(u->nok_relation),
               P_TEXT(u->nok_phone), P_I64(u->roles), P_TEXT(u->password_hash),
               P_BOOL(u->password_change_required), P_I64(u->now), P_I64(u->now),
               P_I64(u->organisation_id)),
        out_id);
}

int store_user_get(struct store *st, int64_t org_id, int64_t user_id, struct user_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    /* Locked in a transaction: the vehicle limit is counted on this very row. */
    rc = st_stmt_locked(
        st, "SELECT " USER_COLS " FROM users u WHERE u.id = ? AND u.organisation_id = ?",
        PARAMS(P_I64(user_id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    return user_get_one(st, s, out);
}

int store_user_get_by_username(struct store *st, const char *username, struct user_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!username)
        return -NA_EINVAL;
    rc = st_stmt(st, "SELECT " USER_COLS " FROM users u WHERE u.username = ?",
                 PARAMS(P_TEXT(username)), &s);
    if (rc < 0)
        return rc;
    return user_get_one(st, s, out);
}

int store_user_list(struct store *st, int64_t org_id, const struct user_filter *f, int64_t after_id,
                    int limit, struct user_row **out_rows, size_t *out_n)
{
    static const struct user_filter none = {0};
    struct db_stmt *s = NULL;
    struct user_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    if (!f)
        f = &none;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    /* CAST gives PostgreSQL the parameter's type where nothing else does. */
    rc = st_stmt(st,
                 "SELECT " USER_COLS " FROM users u WHERE u.organisation_id = ? AND u.id > ? "
                 "AND (? = 0 OR EXISTS (SELECT 1 FROM team_members tm "
                 "WHERE tm.user_id = u.id AND tm.team_id = ?)) "
                 "AND (? = 0 OR (u.roles & ?) <> 0) "
                 "AND (CAST(? AS TEXT) IS NULL OR u.username = ?) "
                 "ORDER BY u.id LIMIT ?",
                 PARAMS(P_I64(org_id), P_I64(after_id), P_I64(f->team_id), P_I64(f->team_id),
                        P_I64(f->roles), P_I64(f->roles), P_TEXT(f->username), P_TEXT(f->username),
                        P_I64(limit)),
                 &s);
    if (rc < 0)
        return rc;
    rows = xcalloc((size_t)limit, sizeof *rows);
    while (n < (size_t)limit && (rc = st_step(st, s)) == DB_ROW)
        user_read(st, s, &rows[n++]);
    st_done(st, s);
    if (rc < 0)
        goto fail;
    rc = user_attach(st, org_id, rows, n);
    if (rc < 0)
        goto fail;
    *out_rows = rows;
    *out_n = n;
    return 0;
fail:
    user_rows_free(rows, n);
    return rc;
}

int store_user_update(struct store *st, int64_t org_id, int64_t user_id, const struct user_patch *p)
{
    /* One statement: each CASE writes its field only when the flag is set. */
    return st_exec_id(st,
                      "UPDATE users SET "
                      "display_name = CASE WHEN ? = 1 THEN ? ELSE display_name END, "
                      "email = CASE WHEN ? = 1 THEN ? ELSE email END, "
                      "phone = CASE WHEN ? = 1 THEN ? ELSE phone END, "
                      "home_address = CASE WHEN ? = 1 THEN ? ELSE home_address END, "
                      "nok_name = CASE WHEN ? = 1 THEN ? ELSE nok_name END, "
                      "nok_relation = CASE WHEN ? = 1 THEN ? ELSE nok_relation END, "
                      "nok_phone = CASE WHEN ? = 1 THEN ? ELSE nok_phone END, "
                      "roles = CASE WHEN ? = 1 THEN ? ELSE roles END, "
                      "disabled = CASE WHEN ? = 1 THEN ? ELSE disabled END, "
                      "updated_at = ? WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_BOOL(p->set_display_name), P_TEXT(p->display_name),
                             P_BOOL(p->set_email), P_TEXT(p->email), P_BOOL(p->set_phone),
                             P_TEXT(p->phone), P_BOOL(p->set_home_address), P_TEXT(p->home_address),
                             P_BOOL(p->set_next_of_kin), P_TEXT(p->nok_name),
                             P_BOOL(p->set_next_of_kin), P_TEXT(p->nok_relation),
                             P_BOOL(p->set_next_of_kin), P_TEXT(p->nok_phone), P_BOOL(p->set_roles),
                             P_I64(p->roles), P_BOOL(p->set_disabled), P_BOOL(p->disabled),
                             P_I64(p->now), P_I64(user_id), P_I64(org_id)),
                      NULL);
}

int store_user_set_password(struct store *st, int64_t org_id, int64_t user_id, const char *hash,
                            bool change_required, int64_t now)
{
    return st_exec_id(
        st,
        "UPDATE users SET password_hash = ?, password_change_required = ?, "
        "updated_at = ? WHERE id = ? AND organisation_id = ? RETURNING id",
        PARAMS(P_TEXT(hash), P_BOOL(change_required), P_I64(now), P_I64(user_id), P_I64(org_id)),
        NULL);
}

int store_user_count_with_roles(struct store *st, int64_t org_id, unsigned roles, int64_t *out_n)
{
    *out_n = 0;
    return st_exec_id(st,
                      "SELECT COUNT(*) FROM users "
                      "WHERE organisation_id = ? AND disabled = 0 AND (roles & ?) <> 0",
                      PARAMS(P_I64(org_id), P_I64(roles)), out_n);
}

int store_user_team_ids(struct store *st, int64_t org_id, int64_t user_id, int64_t **out_ids,
                        size_t *out_n)
{
    return st_query_ids(st,
                        "SELECT tm.team_id FROM team_members tm JOIN users u ON u.id = tm.user_id "
                        "WHERE tm.user_id = ? AND u.organisation_id = ? ORDER BY tm.team_id",
                        PARAMS(P_I64(user_id), P_I64(org_id)), out_ids, out_n);
}

int store_user_ids_with_roles(struct store *st, int64_t org_id, unsigned roles, int64_t **out_ids,
                              size_t *out_n)
{
    return st_query_ids(st,
                        "SELECT id FROM users WHERE organisation_id = ? AND disabled = 0 "
                        "AND (roles & ?) <> 0 ORDER BY id LIMIT ?",
                        PARAMS(P_I64(org_id), P_I64(roles), P_I64(STORE_LIST_MAX)), out_ids, out_n);
}

int store_vehicle_add(struct store *st, int64_t org_id, int64_t user_id, const char *registration,
                      const char *make, const char *model, const char *colour, int64_t *out_id)
{
    if (!registration)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "INSERT INTO vehicles (organisation_id, user_id, registration, make, model, "
                      "colour) SELECT organisation_id, id, ?, ?, ?, ? FROM users "
                      "WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_TEXT(registration), P_TEXT(make), P_TEXT(model), P_TEXT(colour),
                             P_I64(user_id), P_I64(org_id)),
                      out_id);
}

int store_vehicle_delete(struct store *st, int64_t org_id, int64_t user_id, int64_t vehicle_id)
{
    return st_exec_id(st,
                      "DELETE FROM vehicles WHERE id = ? AND user_id = ? AND organisation_id = ? "
                      "RETURNING id",
                      PARAMS(P_I64(vehicle_id), P_I64(user_id), P_I64(org_id)), NULL);
}

int store_user_set_duty(struct store *st, int64_t org_id, int64_t user_id, int64_t off_duty_since,
                        int64_t now)
{
    return st_exec_id(st,
                      "UPDATE users SET off_duty_since = ?, updated_at = ? "
                      "WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_ID(off_duty_since), P_I64(now), P_I64(user_id), P_I64(org_id)),
                      NULL);
}
