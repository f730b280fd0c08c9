/*
 * Sessions, API keys, login throttling and the audit log (store.h). Tokens and keys are
 * stored only as hashes.
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

/* ---- sessions and credential lookup ---- */

int store_session_create(struct store *st, int64_t user_id, const char *token_hash, int64_t now,
                         int64_t expires_at, int64_t *out_id)
{
    if (!token_hash)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "INSERT INTO sessions (user_id, token_hash, created_at, expires_at) "
                      "SELECT id, ?, ?, ? FROM users WHERE id = ? RETURNING id",
                      PARAMS(P_TEXT(token_hash), P_I64(now), P_I64(expires_at), P_I64(user_id)),
                      out_id);
}

/* Runs a credential query (one row of the columns below) into out. */
static int credential_query(struct store *st, const char *sql, const struct db_param *params,
                            size_t n, enum credential_kind kind, struct credential *out)
{
    struct db_stmt *s = NULL;
    int rc = st_stmt(st, sql, params, n, &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW) {
        out->kind = kind;
        out->id = st_col_i64(st, s, 0);
        out->user_id = st_col_i64(st, s, 1);
        out->organisation_id = st_col_i64(st, s, 2);
        out->roles = (unsigned)st_col_i64(st, s, 3);
        out->disabled = st_col_bool(st, s, 4);
        out->password_change_required = st_col_bool(st, s, 5);
        out->org_is_host = st_col_bool(st, s, 6);
        out->expires_at = st_col_i64(st, s, 7);
    }
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

#define CREDENTIAL_USER_COLS                                                                       \
    "u.id, u.organisation_id, u.roles, u.disabled, u.password_change_required, o.is_host"

int store_credential_lookup(struct store *st, const char *token_hash, int64_t now,
                            struct credential *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    if (!token_hash)
        return -NA_EINVAL;
    rc = credential_query(st,
                          "SELECT s.id, " CREDENTIAL_USER_COLS ", s.expires_at FROM sessions s "
                          "JOIN users u ON u.id = s.user_id "
                          "JOIN organisations o ON o.id = u.organisation_id "
                          "WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ?",
                          PARAMS(P_TEXT(token_hash), P_I64(now)), CREDENTIAL_SESSION, out);
    if (rc != -NA_ENOTFOUND)
        return rc;
    return credential_query(st,
                            "SELECT k.id, " CREDENTIAL_USER_COLS ", 0 FROM api_keys k "
                            "JOIN users u ON u.id = k.user_id "
                            "AND u.organisation_id = k.organisation_id "
                            "JOIN organisations o ON o.id = u.organisation_id "
                            "WHERE k.key_hash = ? AND k.revoked_at IS NULL",
                            PARAMS(P_TEXT(token_hash)), CREDENTIAL_API_KEY, out);
}

int store_session_revoke(struct store *st, int64_t session_id, int64_t now)
{
    /* An already revoked session keeps its first revocation time. */
    return st_exec_id(st,
                      "UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? "
                      "RETURNING id",
                      PARAMS(P_I64(now), P_I64(session_id)), NULL);
}

int store_sessions_revoke_user(struct store *st, int64_t user_id, int64_t now)
{
    return st_exec(st,
                   "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                   PARAMS(P_I64(now), P_I64(user_id)));
}

int store_sessions_revoke_user_except(struct store *st, int64_t user_id, int64_t keep_session_id,
                                      int64_t now)
{
    return st_exec(st,
                   "UPDATE sessions SET revoked_at = ? "
                   "WHERE user_id = ? AND id <> ? AND revoked_at IS NULL",
                   PARAMS(P_I64(now), P_I64(user_id), P_I64(keep_session_id)));
}

/* ---- API keys ---- */

void api_key_row_fini(struct api_key_row *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->prefix);
    memset(r, 0, sizeof *r);
}

void api_key_rows_free(struct api_key_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        api_key_row_fini(&rows[i]);
    free(rows);
}

#define API_KEY_COLS "id, organisation_id, user_id, name, prefix, created_at, revoked_at"

static void api_key_read(struct store *st, struct db_stmt *s, struct api_key_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->user_id = st_col_i64(st, s, 2);
    r->name = st_col_str(st, s, 3);
    r->prefix = st_col_str(st, s, 4);
    r->created_at = st_col_i64(st, s, 5);
    r->revoked_at = st_col_i64(st, s, 6); /* NULL reads as 0 */
}

int store_api_key_create(struct store *st, int64_t org_id, int64_t user_id, const char *name,
                         const char *prefix, const char *key_hash, int64_t now, int64_t *out_id)
{
    if (!name || !prefix || !key_hash)
        return -NA_EINVAL;
    return st_exec_id(st,
                      "INSERT INTO api_keys (organisation_id, user_id, name, prefix, key_hash, "
                      "created_at) SELECT organisation_id, id, ?, ?, ?, ? FROM users "
                      "WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_TEXT(name), P_TEXT(prefix), P_TEXT(key_hash), P_I64(now),
                             P_I64(user_id), P_I64(org_id)),
                      out_id);
}

int store_api_key_get(struct store *st, int64_t org_id, int64_t key_id, struct api_key_row *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    rc = st_stmt(st, "SELECT " API_KEY_COLS " FROM api_keys WHERE id = ? AND organisation_id = ?",
                 PARAMS(P_I64(key_id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW)
        api_key_read(st, s, out);
    st_done(st, s);
    return rc < 0 ? rc : rc == DB_ROW ? 0 : -NA_ENOTFOUND;
}

int store_api_key_list(struct store *st, int64_t org_id, int64_t user_id, int64_t after_id,
                       int limit, struct api_key_row **out_rows, size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct api_key_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    rc = st_stmt(
        st,
        "SELECT " API_KEY_COLS " FROM api_keys WHERE organisation_id = ? "
        "AND (? = 0 OR user_id = ?) AND id > ? ORDER BY id LIMIT ?",
        PARAMS(P_I64(org_id), P_I64(user_id), P_I64(user_id), P_I64(after_id), P_I64(limit)), &s);
    if (rc < 0)
        return rc;
    rows = xcalloc((size_t)limit, sizeof *rows);
    while (n < (size_t)limit && (rc = st_step(st, s)) == DB_ROW)
        api_key_read(st, s, &rows[n++]);
    st_done(st, s);
    if (rc < 0) {
        api_key_rows_free(rows, n);
        return rc;
    }
    *out_rows = rows;
    *out_n = n;
    return 0;
}

int store_api_key_revoke(struct store *st, int64_t org_id, int64_t key_id, int64_t now)
{
    return st_exec_id(st,
                      "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) "
                      "WHERE id = ? AND organisation_id = ? RETURNING id",
                      PARAMS(P_I64(now), P_I64(key_id), P_I64(org_id)), NULL);
}

int store_api_keys_revoke_user(struct store *st, int64_t org_id, int64_t user_id, int64_t now)
{
    return st_exec(st,
                   "UPDATE api_keys SET revoked_at = ? "
                   "WHERE user_id = ? AND organisation_id = ? AND revoked_at IS NULL",
                   PARAMS(P_I64(now), P_I64(user_id), P_I64(org_id)));
}

/* ---- login throttling ---- */

int store_login_attempts_get(struct store *st, const char *username, struct login_attempts *out)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!username)
        return -NA_EINVAL;
    /* In a transaction the counter is locked until commit, so that attempts arriving at
     * several nodes at once are all counted; a row of zeros gives the lock something to
     * hold the first time (and means no failures, as no row does). */
    if (st->in_tx && st->ops->lock_suffix[0]) {
        rc = st_exec(st,
                     "INSERT INTO login_attempts (username, failures, last_failure_at, "
                     "locked_until) VALUES (?, 0, 0, 0) ON CONFLICT (username) DO NOTHING",
                     PARAMS(P_TEXT(username)));
        if (rc < 0)
            return rc;
    }
    rc = st_stmt_locked(st,
                        "SELECT failures, last_failure_at, locked_until FROM login_attempts "
                        "WHERE username = ?",
                        PARAMS(P_TEXT(username)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW) {
        out->failures = (int)st_col_i64(st, s, 0);
        out->last_failure_at = st_col_i64(st, s, 1);
        out->locked_until = st_col_i64(st, s, 2);
    }
    st_done(st, s);
    return rc < 0 ? rc : 0;
}

int store_login_attempts_put(struct store *st, const char *username, const struct login_attempts *a)
{
    if (!username)
        return -NA_EINVAL;
    return st_exec(st,
                   "INSERT INTO login_attempts (username, failures, last_failure_at, "
                   "locked_until) VALUES (?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
                   "failures = excluded.failures, last_failure_at = excluded.last_failure_at, "
                   "locked_until = excluded.locked_until",
                   PARAMS(P_TEXT(username), P_I64(a->failures), P_I64(a->last_failure_at),
                          P_I64(a->locked_until)));
}

int store_login_attempts_clear(struct store *st, const char *username)
{
    if (!username)
        return -NA_EINVAL;
    return st_exec(st, "DELETE FROM login_attempts WHERE username = ?", PARAMS(P_TEXT(username)));
}

/* A throttle's longest wait (before the lock) is 2^6 s: an hour outlasts it. */
#define PURGE_ATTEMPTS_AFTER_MS ((int64_t)60 * 60 * 1000)
#define PURGE_SESSIONS_AFTER_MS ((int64_t)7 * 24 * 60 * 60 * 1000)

int store_purge_expired(struct store *st, int64_t now)
{
    int rc =
        st_exec(st, "DELETE FROM login_attempts WHERE last_failure_at < ? AND locked_until <= ?",
                PARAMS(P_I64(now - PURGE_ATTEMPTS_AFTER_MS), P_I64(now)));
    if (rc < 0)
        return rc;
    int64_t cut = now - PURGE_SESSIONS_AFTER_MS;
    return st_exec(st, "DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?",
                   PARAMS(P_I64(cut), P_I64(cut)));
}

/* ---- audit log ---- */

int store_audit_append(struct store *st, const struct audit_event *e)
{
    if (!e->action)
        return -NA_EINVAL;
    return st_exec(st,
                   "INSERT INTO audit_events (organisation_id, actor_user_id, action, "
                   "target_type, target_id, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   PARAMS(P_I64(e->organisation_id), P_I64(e->actor_user_id), P_TEXT(e->action),
                          P_TEXT(e->target_type), P_I64(e->target_id), P_TEXT(e->detail),
                          P_I64(e->at)));
}

void audit_rows_free(struct audit_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].action);
        free(rows[i].target_type);
        free(rows[i].detail);
    }
    free(rows);
}

static void audit_read(struct store *st, struct db_stmt *s, struct audit_row *r)
{
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->actor_user_id = st_col_i64(st, s, 2);
    r->action = st_col_str(st, s, 3);
    r->target_type = st_col_str(st, s, 4);
    r->target_id = st_col_i64(st, s, 5);
    r->detail = st_col_str(st, s, 6);
    r->at = st_col_i64(st, s, 7);
}

int store_audit_list(struct store *st, int64_t org_id, int64_t before_id, int limit,
                     struct audit_row **out_rows, size_t *out_n)
{
    struct db_stmt *s = NULL;
    struct audit_row *rows = NULL;
    size_t n = 0;
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_check_limit(limit);
    if (rc < 0)
        return rc;
    rc = st_stmt(st,
                 "SELECT id, organisation_id, actor_user_id, action, target_type, target_id, "
                 "detail, at FROM audit_events WHERE organisation_id = ? "
                 "AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?",
                 PARAMS(P_I64(org_id), P_I64(before_id), P_I64(before_id), P_I64(limit)), &s);
    if (rc < 0)
        return rc;
    rows = xcalloc((size_t)limit, sizeof *rows);
    while (n < (size_t)limit && (rc = st_step(st, s)) == DB_ROW)
        audit_read(st, s, &rows[n++]);
    st_done(st, s);
    if (rc < 0) {
        audit_rows_free(rows, n);
        return rc;
    }
    *out_rows = rows;
    *out_n = n;
    return 0;
}
