#ifndef NA_HTTP_API_H
#define NA_HTTP_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/access.h"
#include "http/router.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/secret.h"

/*
 * The API's handlers and what they share. The server (server.c) parses the request,
 * finds the route, authenticates the caller and lends a storage connection; a handler
 * reads struct request, does its work and fills in the answer, or returns a negated
 * NA_E* code (with err_field / err_message when it knows more) that the server turns
 * into the documented error body.
 */

/* Settings and services every handler may use. Read-only once the server runs. */
struct watch;
struct visit_row;
struct stream_hub;
struct stream;
struct alarm_row;
struct id_list;

struct api {
    const struct clock *clock;
    struct clock *simulated_clock; /* the same clock when simulated (tests); else NULL */
    struct watch *watch;           /* deadlines, escalation, notifications */
    struct stream_hub *events;     /* the live event stream (http/stream.h) */
    int64_t session_ttl_ms;
    struct metrics *metrics;
    /* The web console's settings (GET /api/v1/console/settings): borrowed, NULL when unset. */
    const char *map_tiles;
    const char *map_attribution;
    const char *version; /* notaloned's version */
    bool cookie_secure;  /* session cookies carry Secure (served behind HTTPS) */
    /* Verified against when a login names no user, so that the answer takes as long. */
    char dummy_password_hash[SECRET_PWHASH_MAX];
};

struct request {
    const struct api *api;
    void *conn; /* the server's connection, for request_query() */
    const char *method;
    const char *path;
    struct route_params params;
    json_t *body; /* the JSON object sent; {} when no body; borrowed from the server */
    /* ROUTE_RAW_BODY: the bytes sent and their Content-Type (NULL when none); borrowed */
    const void *raw_body;
    size_t raw_len;
    const char *raw_type;
    struct store *st;
    bool authenticated;
    struct principal who;
    int64_t credential_id; /* the session or API key presented */
    /* The session came in the notalone_session cookie (the console), not a bearer token;
     * csrf_token is then the session's CSRF token (api_csrf_token), "" otherwise. */
    bool via_cookie;
    char csrf_token[SECRET_HASH_HEX + 1];
    int64_t *managed_team_ids; /* owned by the server */
    /* Hex SHA-256 of the token presented ("" before authentication). */
    char token_hash[SECRET_HASH_HEX + 1];
    int64_t now;

    /* The answer. */
    int status;
    json_t *answer;  /* JSON answer (the server frees it); NULL with status 204 */
    struct buf text; /* or a text answer, when content_type is set */
    const char *content_type;
    /* A Content-Type chosen at run time (content_type may point here), and one more header
     * of the answer (name "" when none), such as X-Content-SHA256 */
    char content_type_buf[128];
    char header_name[32];
    char header_value[256];
    /* or a live event stream (api_events.c): the server answers 200 text/event-stream and
     * the response owns it from then on */
    struct stream *stream;
    char err_field[128];
    char err_message[256];
    int64_t retry_after_s;
    char allow[64]; /* methods of the path, for a 405's Allow header */
};

/* The console's session cookie (docs/api.md, "Sessions"). */
#define API_SESSION_COOKIE "notalone_session"

/*
 * The CSRF token of a session: hex SHA-256 of a fixed prefix and the session's token, so
 * that it needs no storage and the console can be given it again (GET /api/v1/me), while
 * it tells nothing of the token. token is len bytes; out gets SECRET_HASH_HEX + 1 bytes.
 */
void api_csrf_token(const char *token, size_t len, char out[SECRET_HASH_HEX + 1]);

/* Access flags of a route. */
enum route_flags {
    ROUTE_PUBLIC = 1u << 0,        /* no authentication */
    ROUTE_PWCHANGE_OK = 1u << 1,   /* allowed while a one-time password is in force */
    ROUTE_BODY = 1u << 2,          /* takes a JSON body, which must not be empty */
    ROUTE_BODY_OPTIONAL = 1u << 3, /* takes a JSON body, which may be empty */
    /* takes a body of any type, up to STORE_EVIDENCE_MAX bytes, in raw_body / raw_type */
    ROUTE_RAW_BODY = 1u << 4,
};

struct route {
    const char *method;
    const char *pattern;
    int (*handler)(struct request *r);
    unsigned flags;
};

/* The route table, in matching order. */
extern const struct route api_routes[];
extern const size_t api_routes_count;

/* Value of a query parameter (borrowed, valid during the request) or NULL. */
const char *request_query(struct request *r, const char *name);
/* Value of a request header (borrowed, valid during the request) or NULL. */
const char *request_header(struct request *r, const char *name);

/*
 * Sets status and JSON answer (takes ownership of answer). Returns 0. 204 answers with no
 * body; any other status needs an answer: a NULL one (a json_pack that failed) makes the
 * server answer 500 internal.
 */
int request_answer(struct request *r, int status, json_t *answer);
/* Records which field is at fault and why; returns err (a negated NA_E* code). */
int request_fail(struct request *r, int err, const char *field, const char *message);

/* Path parameter i as an id; -NA_ENOTFOUND when it is not a positive integer. */
int request_param_id(struct request *r, size_t i, int64_t *out);
/* limit and after query parameters of a list (docs/api.md); -NA_EMALFORMED when bad. */
int request_page(struct request *r, const char *cursor_name, int *limit, int64_t *cursor);
/* Query parameter as an optional positive id (0 when absent); -NA_EMALFORMED when bad. */
int request_query_id(struct request *r, const char *name, int64_t *out);

/* Handlers (api_*.c). */
int api_healthz(struct request *r);
int api_readyz(struct request *r);
int api_metrics(struct request *r);
int api_login(struct request *r);
int api_logout(struct request *r);
int api_me(struct request *r);
int api_me_password(struct request *r);
int api_org_list(struct request *r);
int api_org_create(struct request *r);
int api_org_get(struct request *r);
int api_org_update(struct request *r);
int api_team_list(struct request *r);
int api_team_create(struct request *r);
int api_team_get(struct request *r);
int api_team_update(struct request *r);
int api_team_delete(struct request *r);
int api_team_member_put(struct request *r);
int api_team_member_delete(struct request *r);
int api_user_list(struct request *r);
int api_user_create(struct request *r);
int api_user_get(struct request *r);
int api_user_update(struct request *r);
int api_user_password_reset(struct request *r);
int api_vehicle_list(struct request *r);
int api_vehicle_add(struct request *r);
int api_vehicle_delete(struct request *r);
int api_key_list(struct request *r);
int api_key_create(struct request *r);
int api_key_delete(struct request *r);
int api_audit_list(struct request *r);
/*
 * Whether the caller sees visit v (docs/api.md, "Visits"): its worker and buddy, the line
 * managers of the worker's teams, senior managers, operators and admins. Cases of a visit
 * are visible to the same people.
 */
int api_visit_visible(struct request *r, const struct visit_row *v, bool *out);
/*
 * Whether the caller sees alarm a (docs/api.md, "Alarms", core/access.h's
 * access_sees_alarm): never its own worker; the buddy of its visit and the line managers of
 * the worker's teams, read only when the caller's roles do not settle it.
 */
int api_alarm_visible(struct request *r, const struct alarm_row *a, bool *out);

int api_me_duty(struct request *r);
int api_visit_list(struct request *r);
int api_visit_create(struct request *r);
int api_visit_get(struct request *r);
int api_visit_start(struct request *r);
int api_visit_checkin(struct request *r);
int api_visit_extend(struct request *r);
int api_visit_end(struct request *r);
int api_visit_buddy_accept(struct request *r);
int api_visit_buddy_change(struct request *r);
int api_escalation_list(struct request *r);
int api_escalation_get(struct request *r);
int api_escalation_acknowledge(struct request *r);
int api_escalation_resolve(struct request *r);
int api_ack_link(struct request *r);
int api_policy_get(struct request *r);
int api_policy_put(struct request *r);
int api_team_policy_get(struct request *r);
int api_team_policy_put(struct request *r);
int api_team_policy_delete(struct request *r);
int api_channel_list(struct request *r);
int api_channel_create(struct request *r);
int api_channel_delete(struct request *r);
int api_test_clock(struct request *r);
int api_events(struct request *r);
/* The web console's settings, public (console.c). */
int api_console_settings(struct request *r);

/* Alerts of workers and devices (api_alerts.c). */
int api_alert_red(struct request *r);
int api_alert_test(struct request *r);
int api_amber_list(struct request *r);
int api_amber_create(struct request *r);
int api_amber_clear(struct request *r);
int api_position_add(struct request *r);
int api_alert_profile_get(struct request *r);
int api_alert_profile_put(struct request *r);
int api_device_report(struct request *r);
int api_alarm_cancel(struct request *r);
/*
 * A code the worker typed where their normal code is asked (check-in, end of a visit,
 * cancel): *duress is set when it is their duress code. 0 for the normal or the duress
 * code; -NA_EINVAL (field "code") when it is neither, or when they have no codes set.
 */
int api_alert_code_check(struct request *r, const char *code, bool *duress);
/*
 * In the caller's transaction: opens a silent duress alarm for the caller (the worker),
 * raised by source ("checkin", "visit_end"). The caller then answers exactly as it would
 * have without it, and hands *outbox to the watch after the commit (and calls
 * watch_alarm_changed with *out).
 */
int api_duress_alarm(struct request *r, const char *source, struct alarm_row *out,
                     struct id_list *outbox);
/*
 * The action a duress code came with failed (a check-in of a visit already closed, a bad
 * field): its transaction is rolled back, and the silent alarm is opened on its own, in
 * a transaction of its own, so that the worker is helped whatever the answer says (the
 * answer stays the failure, as for the normal code). A failure here is logged.
 */
void api_duress_alarm_alone(struct request *r, const char *source);

/* Alarms, for those who handle them (api_alarms.c). */
int api_alarm_list(struct request *r);
int api_alarm_get(struct request *r);
int api_alarm_claim(struct request *r);
int api_alarm_call(struct request *r);
int api_alarm_note(struct request *r);
int api_alarm_escalate(struct request *r);
int api_alarm_close(struct request *r);
int api_evidence_list(struct request *r);
int api_evidence_upload(struct request *r);
int api_evidence_download(struct request *r);
int api_alarm_figures(struct request *r);
int api_alarm_settings_get(struct request *r);
int api_alarm_settings_put(struct request *r);
int api_urn_list(struct request *r);
int api_urn_create(struct request *r);
int api_urn_delete(struct request *r);
/*
 * The alarm named by path parameter 0, in the caller's organisation, when the caller sees
 * it (access_sees_alarm), or when worker_ok and it is the caller's own and raised by them
 * (alarm_worker_raised: never a silent one). -NA_ENOTFOUND otherwise. Caller finis *a
 * with alarm_row_fini (also on failure).
 */
int api_alarm_load(struct request *r, bool worker_ok, struct alarm_row *a);

/* Devices and their DC-09 events (api_devices.c). */
int api_device_list(struct request *r);
int api_device_create(struct request *r);
int api_device_get(struct request *r);
int api_device_update(struct request *r);
int api_device_delete(struct request *r);
int api_dc09_event_list(struct request *r);

/*
 * A new one-time password (shown once to whoever creates the account) and its Argon2id
 * hash. -NA_EIO when hashing fails.
 */
int api_one_time_password(char otp[SECRET_OTP_LEN + 1], char hash[SECRET_PWHASH_MAX]);
/* Lowercase ASCII copy of s into dst (size n; truncated to fit). */
void api_lowercase(const char *s, char *dst, size_t n);

/*
 * Counts an attempt for key (a username, or another secret's own key) as a failure before
 * the secret is checked, in one transaction with the throttle's check (core/throttle.h):
 * concurrent attempts queue on the write lock, so each sees the ones before it.
 * -NA_ERATE (with r->retry_after_s set) when the key must wait. Outside a transaction.
 * A right secret clears the count afterwards (store_login_attempts_clear).
 */
int api_count_attempt(struct request *r, const char *key, struct login_attempts *a);

/* Appends an audit event for the caller's organisation; the caller is the actor. */
int api_audit(struct request *r, const char *action, const char *target_type, int64_t target_id,
              const char *detail);

#endif
