/* Login, logout, the caller's own record and password. */
#include <stdio.h>
#include <string.h>

#include "core/roles.h"
#include "core/throttle.h"
#include "core/validate.h"
#include "http/json_in.h"
#include "http/api.h"
#include "http/render.h"
#include "util/error.h"
#include "util/log.h"

static int bounded_username(const char *s)
{
    return strlen(s) <= 256 ? 0 : -1;
}

static int bounded_password(const char *s)
{
    return strlen(s) <= LOGIN_PASSWORD_MAX_BYTES ? 0 : -1;
}

int api_count_attempt(struct request *r, const char *username, struct login_attempts *a)
{
    int64_t wait_ms;
    int rc = store_begin(r->st);
    if (!rc)
        rc = store_login_attempts_get(r->st, username, a);
    if (!rc && throttle_check(a, r->now, &wait_ms)) {
        r->retry_after_s = (wait_ms + 999) / 1000;
        rc = -NA_ERATE;
    }
    if (!rc) {
        throttle_record_failure(a, r->now);
        rc = store_login_attempts_put(r->st, username, a);
    }
    if (!rc)
        rc = store_commit(r->st);
    store_rollback(r->st);
    return rc;
}

/* Audits a failed attempt (already counted) when the user exists. */
static int audit_failure(struct request *r, const struct login_attempts *a,
                         const struct user_row *u)
{
    log_info("login_failed", "user_id=%lld failures=%d", (long long)u->id, a->failures);
    if (!u->id)
        return 0;
    const char *action = throttle_is_locked(a, r->now) ? "login.locked" : "login.failure";
    struct audit_event e = {.organisation_id = u->organisation_id,
                            .actor_user_id = u->id,
                            .action = action,
                            .target_type = "user",
                            .target_id = u->id,
                            .at = r->now};
    return store_audit_append(r->st, &e);
}

void api_csrf_token(const char *token, size_t len, char out[SECRET_HASH_HEX + 1])
{
    static const char prefix[] = "notalone-csrf:";
    char input[sizeof prefix + SECRET_TOKEN_LEN];
    if (len > SECRET_TOKEN_LEN)
        len = SECRET_TOKEN_LEN; /* tokens are never longer: the caller checked */
    memcpy(input, prefix, sizeof prefix - 1);
    memcpy(input + sizeof prefix - 1, token, len);
    secret_hash_hex(input, sizeof prefix - 1 + len, out);
}

/*
 * Sets the session cookie on the answer: the token, or "" with Max-Age=0 to clear it.
 * Strict same-site and HttpOnly: other sites' pages never send it, scripts never read it.
 */
static void set_session_cookie(struct request *r, const char *token, int64_t max_age_s)
{
    snprintf(r->header_name, sizeof r->header_name, "Set-Cookie");
    snprintf(r->header_value, sizeof r->header_value,
             "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", API_SESSION_COOKIE, token,
             (long long)max_age_s, r->api->cookie_secure ? "; Secure" : "");
}

/* The login's answer: the token itself, or with a cookie the CSRF token in its place. */
static json_t *session_answer(struct request *r, const char *token, int64_t expires,
                              struct user_row *u, bool cookie)
{
    json_t *answer =
        json_pack("{s:o,s:b,s:o}", "expires_at", render_time(expires), "password_change_required",
                  u->password_change_required, "user", render_user(u, USER_LAYER_PRIVATE));
    if (!answer)
        return NULL;
    if (!cookie) {
        json_object_set_new(answer, "token", json_string(token));
        return answer;
    }
    char csrf[SECRET_HASH_HEX + 1];
    api_csrf_token(token, strlen(token), csrf);
    json_object_set_new(answer, "csrf_token", json_string(csrf));
    set_session_cookie(r, token, r->api->session_ttl_ms / 1000);
    return answer;
}

/* Opens a session for u and answers with its token (in a cookie when cookie). */
static int open_session(struct request *r, const char *username, struct user_row *u, bool cookie)
{
    char token[SECRET_TOKEN_LEN + 1], hash[SECRET_HASH_HEX + 1];
    secret_token_new("na_s_", token, sizeof token);
    secret_hash_hex(token, strlen(token), hash);
    int64_t expires = r->now + r->api->session_ttl_ms, session_id;
    struct audit_event e = {.organisation_id = u->organisation_id,
                            .actor_user_id = u->id,
                            .action = "login.success",
                            .target_type = "user",
                            .target_id = u->id,
                            .at = r->now};
    /* Built first: once the session is committed, nothing may fail before the answer. */
    json_t *answer = session_answer(r, token, expires, u, cookie);
    if (!answer)
        return -NA_ESTORE;
    int rc = store_begin(r->st);
    if (!rc)
        rc = store_login_attempts_clear(r->st, username);
    if (!rc)
        rc = store_session_create(r->st, u->id, hash, r->now, expires, &session_id);
    if (!rc)
        rc = store_audit_append(r->st, &e);
    if (!rc)
        rc = store_commit(r->st);
    if (rc) {
        r->header_name[0] = '\0'; /* no cookie for a session that does not exist */
        json_decref(answer);
        return rc;
    }
    log_info("login", "user_id=%lld session_id=%lld cookie=%s", (long long)u->id,
             (long long)session_id, cookie ? "true" : "false");
    return request_answer(r, 200, answer);
}

int api_login(struct request *r)
{
    static const char *const fields[] = {"username", "password", "cookie", NULL};
    const char *name, *password;
    bool present, cookie = false;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "username", JIN_REQUIRED, bounded_username, "too long",
                     &name, &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "password", JIN_REQUIRED, bounded_password, "too long",
                     &password, &present);
    if (!rc)
        rc = jin_bool(r, r->body, "cookie", 0, &cookie, &present);
    if (rc)
        return rc;
    char username[257];
    api_lowercase(name, username, sizeof username);

    struct login_attempts a;
    rc = api_count_attempt(r, username, &a);
    if (rc)
        return rc;
    struct user_row u = {0};
    rc = store_user_get_by_username(r->st, username, &u);
    if (rc && rc != -NA_ENOTFOUND)
        return rc;
    /* Verify even for an unknown user, so the time taken does not tell who exists. */
    const char *hash = u.password_hash ? u.password_hash : r->api->dummy_password_hash;
    bool ok = secret_password_verify(hash, password, strlen(password)) && u.id && !u.disabled;
    if (ok)
        rc = open_session(r, username, &u, cookie);
    else
        rc = audit_failure(r, &a, &u);
    user_row_fini(&u);
    return rc ? rc : (ok ? 0 : -NA_EBADLOGIN);
}

int api_logout(struct request *r)
{
    if (r->who.via_api_key)
        return request_fail(r, -NA_EINVAL, NULL, "an API key is revoked, not logged out");
    int rc = store_session_revoke(r->st, r->credential_id, r->now);
    if (rc)
        return rc;
    log_info("logout", "user_id=%lld session_id=%lld", (long long)r->who.user_id,
             (long long)r->credential_id);
    if (r->via_cookie)
        set_session_cookie(r, "", 0);
    return request_answer(r, 204, NULL);
}

int api_me(struct request *r)
{
    struct user_row u = {0};
    struct org_row o = {0};
    int rc = store_user_get(r->st, r->who.organisation_id, r->who.user_id, &u);
    if (!rc)
        rc = store_org_get(r->st, r->who.organisation_id, &o);
    json_t *answer = NULL;
    if (!rc)
        answer =
            json_pack("{s:o,s:o,s:s}", "user", render_user(&u, USER_LAYER_PRIVATE), "organisation",
                      render_org(&o), "credential", r->who.via_api_key ? "api_key" : "session");
    /* The console gets its CSRF token back after a reload (the cookie outlives the page). */
    if (answer && r->via_cookie)
        json_object_set_new(answer, "csrf_token", json_string(r->csrf_token));
    if (!rc)
        request_answer(r, 200, answer);
    user_row_fini(&u);
    org_row_fini(&o);
    return rc;
}

static int check_new_password(const char *s)
{
    return validate_new_password(s, strlen(s));
}

int api_me_password(struct request *r)
{
    static const char *const fields[] = {"current_password", "new_password", NULL};
    const char *current, *next;
    bool present;
    if (r->who.via_api_key)
        return request_fail(r, -NA_EFORBIDDEN, NULL, "passwords cannot be changed with an API key");
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "current_password", JIN_REQUIRED, bounded_password,
                     "too long", &current, &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "new_password", JIN_REQUIRED, check_new_password,
                     "must be 10 to 256 bytes", &next, &present);
    if (rc)
        return rc;
    struct user_row u = {0};
    rc = store_user_get(r->st, r->who.organisation_id, r->who.user_id, &u);
    if (rc)
        goto done;
    if (strcmp(current, next) == 0) {
        rc = request_fail(r, -NA_EINVAL, "new_password", "must differ from the current one");
        goto done;
    }
    /* Checked and counted as a login is: the current password is a login's secret. */
    struct login_attempts a;
    rc = api_count_attempt(r, u.username, &a);
    if (rc)
        goto done;
    if (!secret_password_verify(u.password_hash, current, strlen(current))) {
        rc = audit_failure(r, &a, &u);
        rc = rc ? rc : request_fail(r, -NA_EBADLOGIN, "current_password", "wrong password");
        goto done;
    }
    char hash[SECRET_PWHASH_MAX];
    rc = secret_password_hash(next, strlen(next), hash);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_login_attempts_clear(r->st, u.username);
    if (!rc)
        rc = store_user_set_password(r->st, r->who.organisation_id, u.id, hash, false, r->now);
    if (!rc)
        rc = store_sessions_revoke_user_except(r->st, u.id, r->credential_id, r->now);
    if (!rc)
        rc = api_audit(r, "password.change", "user", u.id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc)
        request_answer(r, 204, NULL);
done:
    user_row_fini(&u);
    return rc;
}
