#ifndef NA_STORE_STORE_H
#define NA_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The storage interface: everything notaloned keeps goes through these calls. One
 * struct store is one database connection, used by one thread at a time. Behind it a
 * backend (SQLite now, PostgreSQL later) implements a small driver (db.h); the queries
 * here are written once in portable SQL.
 *
 * Conventions:
 * - Return 0 or a negated NA_E* code. -NA_ENOTFOUND when a row does not exist *or*
 *   belongs to another organisation: every call that reads or writes tenant data takes
 *   the organisation id and scopes by it, so isolation holds even if a handler forgets.
 * - -NA_ECONFLICT on a unique-key violation, -NA_EUNAVAILABLE when the database is busy
 *   or locked past the busy timeout (the client may retry), -NA_ESTORE otherwise.
 * - Times are ms since the epoch (UTC), passed in by the caller (time is an input).
 * - Strings in rows are owned by the row (free with the matching *_fini); absent optional
 *   strings are NULL. Input strings are borrowed for the call only.
 * - Ids are positive; 0 means "none".
 */
struct store;

/* Most rows one list call returns; a limit outside 1..STORE_LIST_MAX is -NA_EINVAL. */
#define STORE_LIST_MAX 1000

struct store_config {
    const char *path;    /* SQLite database file; created when missing */
    const char *url;     /* PostgreSQL connection string or URI; when set, path is unused */
    int busy_timeout_ms; /* how long to wait for a lock before -NA_EUNAVAILABLE */
    /* This process's name among the nodes sharing the database: rows with a due time
     * that this connection writes are scheduled by it (store_cluster.h). */
    const char *node;
    int64_t lease_ms; /* a node whose heartbeat is older than this is taken for dead */
    /* Called (any thread) after a commit that wrote events (store_events.h), so that this
     * process's readers of the live stream look at once; NULL: nobody to tell. */
    void (*on_events)(void *arg);
    void *on_events_arg;
};

/* Opens (creating if missing) the database. Caller closes with store_close. */
int store_open(const struct store_config *cfg, struct store **out);
/* Closes the connection; NULL is a no-op. */
void store_close(struct store *st);

/* Schema version this binary knows (the number of its last migration). */
int store_schema_version_latest(void);
/*
 * Applies the migrations the database lacks, each in its own transaction. A database
 * whose version is newer than this binary's gives -NA_EVERSION and is left untouched;
 * *out_version (may be NULL) receives the version now in force.
 */
int store_migrate(struct store *st, int *out_version);
/*
 * Inside a transaction: waits until no other connection holds this lock, and holds it
 * until commit or rollback. Migrations and the first start take it, so that nodes
 * started together on one database apply each step once.
 */
int store_lock_schema(struct store *st);
/* Current schema version of the database (0 for an empty one). */
int store_schema_version(struct store *st, int *out_version);
/* Cheap liveness check of the connection. */
int store_ping(struct store *st);

/*
 * SQLite's log (WAL) is copied into the database file by a checkpoint, which by default the
 * committing connection runs inside its commit once the log is long: a writer whose commit
 * latency matters (the DC-09 receiver's) defers that with store_checkpoint_defer and has
 * another connection call store_checkpoint now and then, which copies what it can without
 * waiting for or blocking writers. Both do nothing on PostgreSQL.
 */
int store_checkpoint_defer(struct store *st);
int store_checkpoint(struct store *st);

/*
 * Transactions. Calls outside a transaction commit on their own. store_begin starts an
 * immediate (write) transaction; nesting is an error (-NA_ESTORE). store_commit makes
 * the changes durable (synchronous=FULL) before returning: only then may a client be
 * told of success.
 */
int store_begin(struct store *st);
int store_commit(struct store *st);
/* Rolls back; safe to call when no transaction is open. */
void store_rollback(struct store *st);

/* ---- organisations ---- */

struct org_row {
    int64_t id;
    char *name;
    bool is_host; /* the organisation that runs this server; its admins create others */
    int64_t created_at;
};
void org_row_fini(struct org_row *r);
void org_rows_free(struct org_row *rows, size_t n);

int store_org_create(struct store *st, const char *name, bool is_host, int64_t now,
                     int64_t *out_id);
int store_org_get(struct store *st, int64_t org_id, struct org_row *out);
/* Organisations with id > after_id, ascending, at most limit. Caller frees rows. */
int store_org_list(struct store *st, int64_t after_id, int limit, struct org_row **out_rows,
                   size_t *out_n);
int store_org_rename(struct store *st, int64_t org_id, const char *name);
/*
 * In a transaction: holds the organisation until commit, for a check of the whole
 * organisation (that an administrator remains) that writers on other connections must
 * not interleave with. On SQLite, whose writers already exclude each other, only checks.
 */
int store_org_lock(struct store *st, int64_t org_id);
int store_org_count(struct store *st, int64_t *out_n);

/* ---- teams ---- */

struct team_row {
    int64_t id;
    int64_t organisation_id;
    char *name;
    int64_t line_manager_id; /* 0: none */
    int64_t created_at;
    int64_t *member_ids; /* ascending */
    size_t n_members;
};
void team_row_fini(struct team_row *r);
void team_rows_free(struct team_row *rows, size_t n);

/* -NA_ECONFLICT when the name is taken in the organisation. */
int store_team_create(struct store *st, int64_t org_id, const char *name, int64_t line_manager_id,
                      int64_t now, int64_t *out_id);
int store_team_get(struct store *st, int64_t org_id, int64_t team_id, struct team_row *out);
int store_team_list(struct store *st, int64_t org_id, int64_t after_id, int limit,
                    struct team_row **out_rows, size_t *out_n);
/* name NULL keeps the name; set_line_manager false keeps the manager (0 clears it). */
int store_team_update(struct store *st, int64_t org_id, int64_t team_id, const char *name,
                      bool set_line_manager, int64_t line_manager_id);
int store_team_delete(struct store *st, int64_t org_id, int64_t team_id);
/* Idempotent. -NA_ENOTFOUND when the team or the user is not in org_id. */
int store_team_add_member(struct store *st, int64_t org_id, int64_t team_id, int64_t user_id);
/* Idempotent (removing a non-member succeeds). */
int store_team_remove_member(struct store *st, int64_t org_id, int64_t team_id, int64_t user_id);
/* Ids of the teams whose line manager is user_id. Caller frees *out_ids. */
int store_teams_managed_by(struct store *st, int64_t org_id, int64_t user_id, int64_t **out_ids,
                           size_t *out_n);

/* ---- users ---- */

struct next_of_kin {
    char *name;
    char *relation;
    char *phone;
};

struct vehicle_row {
    int64_t id;
    int64_t user_id;
    char *registration;
    char *make;
    char *model;
    char *colour;
};
void vehicle_row_fini(struct vehicle_row *r);

struct user_row {
    int64_t id;
    int64_t organisation_id;
    char *username;
    char *display_name;
    char *email;
    char *phone;
    char *home_address;
    struct next_of_kin next_of_kin; /* all NULL when none recorded */
    unsigned roles;                 /* enum role bits */
    bool disabled;
    bool password_change_required;
    int64_t off_duty_since; /* 0: on duty */
    char *password_hash;    /* argon2id encoded string; NULL when no password set */
    int64_t created_at;
    int64_t updated_at;
    int64_t *team_ids; /* ascending */
    size_t n_team_ids;
    struct vehicle_row *vehicles; /* by id */
    size_t n_vehicles;
};
void user_row_fini(struct user_row *r);
void user_rows_free(struct user_row *rows, size_t n);

/* Fields of a new user (borrowed). */
struct user_new {
    int64_t organisation_id;
    const char *username;
    const char *display_name;
    const char *email;
    const char *phone;
    const char *home_address;
    const char *nok_name;
    const char *nok_relation;
    const char *nok_phone;
    unsigned roles;
    const char *password_hash;
    bool password_change_required;
    int64_t now;
};

/* -NA_ECONFLICT when the username is taken (usernames are unique server-wide). */
int store_user_create(struct store *st, const struct user_new *u, int64_t *out_id);
/* Full row, with team ids and vehicles. */
int store_user_get(struct store *st, int64_t org_id, int64_t user_id, struct user_row *out);
/* For login: any organisation. Username compared exactly (usernames are stored lowercase). */
int store_user_get_by_username(struct store *st, const char *username, struct user_row *out);

struct user_filter {
    int64_t team_id;      /* 0: any */
    unsigned roles;       /* 0: any; else users holding any of these roles */
    const char *username; /* NULL: any; else exactly this username */
};
/* Users of org_id with id > after_id, ascending, at most limit, with teams and vehicles. */
int store_user_list(struct store *st, int64_t org_id, const struct user_filter *f, int64_t after_id,
                    int limit, struct user_row **out_rows, size_t *out_n);

/*
 * A partial update: each set_* flag says the field is to be written; a NULL string with
 * its flag set clears the field.
 */
struct user_patch {
    bool set_display_name, set_email, set_phone, set_home_address, set_next_of_kin;
    bool set_roles, set_disabled;
    const char *display_name, *email, *phone, *home_address;
    const char *nok_name, *nok_relation, *nok_phone;
    unsigned roles;
    bool disabled;
    int64_t now;
};
int store_user_update(struct store *st, int64_t org_id, int64_t user_id,
                      const struct user_patch *p);
int store_user_set_password(struct store *st, int64_t org_id, int64_t user_id, const char *hash,
                            bool change_required, int64_t now);
/* Puts a user off duty since off_duty_since, or on duty (0). */
int store_user_set_duty(struct store *st, int64_t org_id, int64_t user_id, int64_t off_duty_since,
                        int64_t now);
/* Ids of the teams user_id of org_id belongs to, ascending (none for a user of another
 * organisation). Caller frees *out_ids. */
int store_user_team_ids(struct store *st, int64_t org_id, int64_t user_id, int64_t **out_ids,
                        size_t *out_n);
/* Ids of the enabled users of org_id holding any of roles, ascending, at most
 * STORE_LIST_MAX (whom an alarm tells: no profile fields read). Caller frees *out_ids. */
int store_user_ids_with_roles(struct store *st, int64_t org_id, unsigned roles, int64_t **out_ids,
                              size_t *out_n);
/* Number of enabled users of org_id holding any of roles. */
int store_user_count_with_roles(struct store *st, int64_t org_id, unsigned roles, int64_t *out_n);

/* -NA_ENOTFOUND when the user is not in org_id. */
int store_vehicle_add(struct store *st, int64_t org_id, int64_t user_id, const char *registration,
                      const char *make, const char *model, const char *colour, int64_t *out_id);
int store_vehicle_delete(struct store *st, int64_t org_id, int64_t user_id, int64_t vehicle_id);

/* ---- credentials: sessions and API keys ---- */

enum credential_kind { CREDENTIAL_SESSION = 1, CREDENTIAL_API_KEY = 2 };

/* Who a presented token belongs to. */
struct credential {
    enum credential_kind kind;
    int64_t id; /* session or API key id */
    int64_t user_id;
    int64_t organisation_id;
    unsigned roles;
    bool disabled;
    bool password_change_required;
    bool org_is_host;
    int64_t expires_at; /* 0: never (API keys) */
};

/* token_hash: lowercase hex SHA-256 of the token (the token itself is never stored). */
int store_session_create(struct store *st, int64_t user_id, const char *token_hash, int64_t now,
                         int64_t expires_at, int64_t *out_id);
/*
 * Finds an unrevoked session or API key by token hash. Sessions past expires_at (at now)
 * are -NA_ENOTFOUND. Disabled users are returned with disabled set; the caller refuses.
 */
int store_credential_lookup(struct store *st, const char *token_hash, int64_t now,
                            struct credential *out);
int store_session_revoke(struct store *st, int64_t session_id, int64_t now);
/* Revokes every session of a user (password reset, disable). */
int store_sessions_revoke_user(struct store *st, int64_t user_id, int64_t now);
/* As store_sessions_revoke_user but keeps session keep_session_id (0: keeps none). */
int store_sessions_revoke_user_except(struct store *st, int64_t user_id, int64_t keep_session_id,
                                      int64_t now);

struct api_key_row {
    int64_t id;
    int64_t organisation_id;
    int64_t user_id;
    char *name;
    char *prefix; /* first characters of the key, to recognise it */
    int64_t created_at;
    int64_t revoked_at; /* 0: active */
};
void api_key_row_fini(struct api_key_row *r);
void api_key_rows_free(struct api_key_row *rows, size_t n);

int store_api_key_create(struct store *st, int64_t org_id, int64_t user_id, const char *name,
                         const char *prefix, const char *key_hash, int64_t now, int64_t *out_id);
int store_api_key_get(struct store *st, int64_t org_id, int64_t key_id, struct api_key_row *out);
/* Keys of org_id (user_id 0) or of one user, including revoked ones, id > after_id. */
int store_api_key_list(struct store *st, int64_t org_id, int64_t user_id, int64_t after_id,
                       int limit, struct api_key_row **out_rows, size_t *out_n);
/* Idempotent on an already revoked key. */
int store_api_key_revoke(struct store *st, int64_t org_id, int64_t key_id, int64_t now);
/* Revokes every active key of a user of org_id (a password reset: a lost device). */
int store_api_keys_revoke_user(struct store *st, int64_t org_id, int64_t user_id, int64_t now);

/* ---- login throttling ---- */

/* Failed logins per username (also for usernames that do not exist). */
struct login_attempts {
    int failures;
    int64_t last_failure_at;
    int64_t locked_until; /* 0: not locked */
};
/* A username never seen gives zeros, not an error. In a transaction the counter stays
 * locked until commit (on a shared database), so concurrent attempts are all counted. */
int store_login_attempts_get(struct store *st, const char *username, struct login_attempts *out);
int store_login_attempts_put(struct store *st, const char *username,
                             const struct login_attempts *a);
int store_login_attempts_clear(struct store *st, const char *username);

/*
 * Deletes what no longer matters: login_attempts rows whose last failure is more than an
 * hour before now and that are not locked (their throttle has run out), and sessions that
 * expired or were revoked more than 7 days before now. Run at start (and periodically).
 */
int store_purge_expired(struct store *st, int64_t now);

/* ---- audit log ---- */

struct audit_event {
    int64_t id;
    int64_t organisation_id;
    int64_t actor_user_id;   /* 0: the system or an anonymous caller */
    const char *action;      /* "user.create", "user.read_personal", "login.failure" */
    const char *target_type; /* "user", "team", ... or NULL */
    int64_t target_id;
    const char *detail; /* short, never personal data or secrets; may be NULL */
    int64_t at;
};
int store_audit_append(struct store *st, const struct audit_event *e);

struct audit_row {
    int64_t id;
    int64_t organisation_id;
    int64_t actor_user_id;
    char *action;
    char *target_type;
    int64_t target_id;
    char *detail;
    int64_t at;
};
void audit_rows_free(struct audit_row *rows, size_t n);
/* Events of org_id, newest first: id < before_id (0: from the newest), at most limit. */
int store_audit_list(struct store *st, int64_t org_id, int64_t before_id, int limit,
                     struct audit_row **out_rows, size_t *out_n);

#endif
