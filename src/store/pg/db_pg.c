/*
 * PostgreSQL driver for db.h, on libpq: server-side prepared statements cached per
 * connection by SQL text, `?` placeholders rewritten to $1..$n, parameters and results in
 * text format, results fully materialised by the first step.
 *
 * Two behaviours of SQLite that the store relies on are kept here:
 * - A failed statement inside a transaction leaves the transaction usable (a duplicate
 *   key the caller expects, then more work and a commit). PostgreSQL aborts the whole
 *   transaction instead, so inside a transaction each statement runs under a savepoint,
 *   sent in one pipeline with the statement (one round trip; one more on failure).
 * - A connection survives the database restarting: when the session has ended and no
 *   transaction was open, the next exec or prepare reconnects once. A transaction open
 *   when the session ended is gone; until the caller has learnt that (in_transaction
 *   answers false), nothing reconnects, so that no statement of it runs in autocommit.
 */
#include "store/db.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/str.h"
#include "util/log.h"

/*
 * Enough for every query of the store; past it, a statement is checked with the unnamed
 * prepared statement and run with its text each time (slower, still correct).
 */
#define DB_PG_CACHE_MAX 256

/* Seconds to wait for a connection (and each reconnection) unless the URL says. */
#define DB_PG_CONNECT_TIMEOUT_S "5"

/* 'notalone' in ASCII: the one advisory lock key of this project. */
#define DB_PG_SCHEMA_LOCK "SELECT pg_advisory_xact_lock(7957707028366847589)"

/* A statement as the server knows it: shared by every handle of the same SQL text. */
struct db_prep {
    char *sql;    /* the store's text, the cache key; owned */
    char *pg_sql; /* with $1..$n; owned */
    uint32_t hash;
    int n_params;
    bool cached;      /* named and in db->cache; else unnamed, owned by one handle */
    char name[16];    /* server-side name ("na1", ...); "" when not cached */
    uint64_t session; /* db->session it was prepared in; 0 before */
};

/* One use of a statement: parameters and, once stepped, the result. */
struct db_stmt {
    struct db *db;
    struct db_prep *prep; /* borrowed from db->cache, or owned when !prep->cached */
    char **params;        /* n_params owned copies; NULL binds NULL */
    PGresult *res;        /* NULL until the first step */
    int next_row;
    int row;
};

struct db {
    PGconn *conn;
    int busy_timeout_ms;
    /* Counts sessions: a prepared statement lives in the session that prepared it. */
    uint64_t session;
    /* A transaction block was open at the last exchange with the server. */
    bool open_tx;
    /* The server said FATAL: the session is ending, whatever the socket says yet. */
    bool ended;
    unsigned next_name;
    struct db_prep *cache[DB_PG_CACHE_MAX];
    size_t n_cache;
};

/* ---- errors ---- */

/* False once the session has ended or is ending. */
static bool db_pg_usable(const struct db *db)
{
    return PQstatus(db->conn) == CONNECTION_OK && !db->ended;
}

static bool sqlstate_is(const char *state, const char *want)
{
    return state && strcmp(state, want) == 0;
}

/* The negated NA_E* code of a failure with SQLSTATE state (NULL: raised by libpq). */
static int db_pg_code(const char *state, bool conn_bad)
{
    static const char *const unavailable[] = {"57P01", "57P02", "57P03", "53300",
                                              "40001", "40P01", "55P03"};

    if (conn_bad)
        return -NA_EUNAVAILABLE;
    if (sqlstate_is(state, "23505"))
        return -NA_ECONFLICT;
    /* A foreign key violation (23503) stays -NA_ESTORE, as the SQLite driver has it. */
    if (state && strncmp(state, "08", 2) == 0)
        return -NA_EUNAVAILABLE;
    for (size_t i = 0; i < sizeof unavailable / sizeof unavailable[0]; i++)
        if (sqlstate_is(state, unavailable[i]))
            return -NA_EUNAVAILABLE;
    return -NA_ESTORE;
}

/* First line of s quoted into msg (libpq's messages end with a newline). */
static void db_pg_quote_line(char *msg, size_t n, const char *s)
{
    char line[256];
    size_t len = strcspn(s ? s : "", "\n");

    if (len >= sizeof line)
        len = sizeof line - 1;
    memcpy(line, s ? s : "", len);
    line[len] = '\0';
    log_quote(msg, n, line);
}

/*
 * Maps a failed result (NULL: libpq could not even make one) to a negated NA_E* code and
 * logs it: the SQLSTATE and the primary message, never parameters. A data exception's
 * message quotes the offending value, so for those only the SQLSTATE is logged.
 */
static int db_pg_error(struct db *db, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *text = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *severity = res ? PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
    char msg[300];
    int rc;

    /* The server ends the session after a FATAL, even if libpq has not seen EOF yet. */
    if (severity && strcmp(severity, "FATAL") == 0)
        db->ended = true;
    rc = db_pg_code(state, !db_pg_usable(db));

    if (state && strncmp(state, "22", 2) == 0)
        text = "data exception";
    db_pg_quote_line(msg, sizeof msg, text ? text : PQerrorMessage(db->conn));
    if (rc == -NA_ECONFLICT)
        log_debug("db_conflict", "sqlstate=%s", state);
    else if (rc == -NA_EUNAVAILABLE)
        log_warn("db_unavailable", "sqlstate=%s msg=%s", state ? state : "none", msg);
    else
        log_error("db_error", "sqlstate=%s msg=%s", state ? state : "none", msg);
    return rc;
}

static bool db_pg_result_ok(const PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Called after every exchange with the server; see struct db.open_tx. */
static void db_pg_note(struct db *db)
{
    PGTransactionStatusType ts;

    /* A session that ended keeps the last state seen: it tells whether a transaction
     * died with it. A session told it is ending (a FATAL notice right after a COMMIT
     * that succeeded) still has the state libpq read before: keep that one, or a
     * committed transaction would pass for an open one and the connection never
     * reconnect. */
    if (PQstatus(db->conn) != CONNECTION_OK)
        return;
    ts = PQtransactionStatus(db->conn);
    db->open_tx = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
}

/* ---- connection ---- */

static void db_pg_notice(void *arg, const PGresult *res)
{
    struct db *db = arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char msg[300];

    /* NOTICEs ("already exists, skipping") are routine; libpq would print them. A FATAL
     * outside a statement is a session's last words before the server closes it. */
    if (severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0))
        db->ended = true;
    db_pg_quote_line(msg, sizeof msg, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    log_debug("db_notice", "severity=%s msg=%s", severity ? severity : "none", msg);
}

/* Runs sql (no parameters, results ignored) without reconnecting. */
static int db_pg_exec_now(struct db *db, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    int rc = db_pg_result_ok(res) ? 0 : db_pg_error(db, res);

    /* COMMIT of a transaction that had failed answers "ROLLBACK", not an error. */
    if (!rc && strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        log_error("db_commit_rolled_back", "sqlstate=none");
        rc = -NA_ESTORE;
    }
    PQclear(res);
    db_pg_note(db);
    return rc;
}

/* Settings of a session; run again after every reconnection. */
static int db_pg_session_setup(struct db *db)
{
    char sql[192];
    /* lock_timeout 0 would wait forever; a busy timeout of 0 means do not wait. A node
     * that vanishes inside a transaction (power, network) must not hold its locks, the
     * rows of its visits and the event lock every node commits through, until TCP gives
     * up hours later: the server ends a transaction left idle for 5 s. */
    int ms = db->busy_timeout_ms > 0 ? db->busy_timeout_ms : 1;
    int w = snprintf(sql, sizeof sql,
                     "SET lock_timeout = %d; SET client_encoding = 'UTF8'; "
                     "SET idle_in_transaction_session_timeout = 5000",
                     ms);

    if (w < 0 || (size_t)w >= sizeof sql)
        return -NA_ESTORE;
    return db_pg_exec_now(db, sql);
}

/*
 * Reads what the server sent while the connection was idle. A session that ended (a
 * restart, pg_terminate_backend) has left its last error and then EOF on the socket:
 * noticing them now marks the connection bad before a statement is sent into it, instead
 * of after. Costs one poll() when nothing is pending.
 */
static void db_pg_read_idle(struct db *db)
{
    struct pollfd p = {.fd = PQsocket(db->conn), .events = POLLIN};

    /* Bounded: the error and the EOF may come in separate reads. */
    for (int i = 0; i < 4 && db_pg_usable(db) && poll(&p, 1, 0) > 0; i++) {
        if (!PQconsumeInput(db->conn))
            break;
        /* Parses it: the error goes to the notice processor, not to the next statement. */
        PQisBusy(db->conn);
    }
}

/*
 * Makes the connection usable before a statement: a session that ended while no
 * transaction was open is replaced (one attempt). Prepared statements died with it:
 * bumping db->session marks every one for preparation again, including those borrowed.
 */
static int db_pg_ready(struct db *db)
{
    char msg[300];
    int rc;

    if (db_pg_usable(db) && PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        db_pg_read_idle(db);
    if (db_pg_usable(db))
        return 0;
    if (db->open_tx)
        return -NA_EUNAVAILABLE;
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db_pg_quote_line(msg, sizeof msg, PQerrorMessage(db->conn));
        log_warn("db_reconnect_failed", "msg=%s", msg);
        return -NA_EUNAVAILABLE;
    }
    db->session++;
    db->open_tx = false;
    db->ended = false;
    log_info("db_reconnected", "session=%" PRIu64, db->session);
    rc = db_pg_session_setup(db);
    /* Without its settings (a lock timeout) the session must not be used: try again. */
    if (rc < 0)
        db->ended = true;
    return rc;
}

static int db_pg_exec(struct db *db, const char *sql)
{
    int rc = db_pg_ready(db);
    return rc < 0 ? rc : db_pg_exec_now(db, sql);
}

static bool db_pg_in_transaction(struct db *db)
{
    PGTransactionStatusType ts;

    /* The server ended the session and rolled back whatever was open; the caller asks
     * this on its way out of the transaction, so from now on reconnecting is safe. */
    if (!db_pg_usable(db)) {
        db->open_tx = false;
        return false;
    }
    ts = PQtransactionStatus(db->conn);
    return ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
}

static void db_pg_prep_free(struct db_prep *p)
{
    if (!p)
        return;
    free(p->sql);
    free(p->pg_sql);
    free(p);
}

static void db_pg_close(struct db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->n_cache; i++)
        db_pg_prep_free(db->cache[i]);
    /* Prepared statements end with the session. */
    PQfinish(db->conn);
    free(db);
}

/* -NA_EINVAL for a connection string libpq cannot parse; its message may quote the
 * string (a password), so none is logged. */
static int db_pg_check_url(const char *url)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);

    if (opts) {
        PQconninfoFree(opts);
        return 0;
    }
    PQfreemem(err);
    log_error("db_url_invalid", "backend=postgresql");
    return -NA_EINVAL;
}

/*
 * Connects with defaults the URL may override (it is expanded after them): a connection
 * attempt gives up after a few seconds instead of the operating system's minutes, and the
 * server lists the session under this program's name.
 */
static PGconn *db_pg_connect(const char *url)
{
    /* Before dbname, so that the URL's own values win. Keepalives and a send timeout:
     * a database that vanished from the network is noticed in seconds, not after the
     * kernel's retransmissions (a quarter of an hour) with the scheduler waiting. */
    static const char *const keys[] = {"connect_timeout",
                                       "fallback_application_name",
                                       "keepalives",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "tcp_user_timeout",
                                       "dbname",
                                       NULL};
    const char *values[] = {
        DB_PG_CONNECT_TIMEOUT_S, "notalone", "1", "5", "2", "3", "10000", url, NULL};

    return PQconnectdbParams(keys, values, 1);
}

static int db_pg_open(const struct db_config *cfg, struct db **out)
{
    struct db *db = NULL;
    char msg[300];
    int rc;

    *out = NULL;
    if (!cfg || !cfg->url || !cfg->url[0])
        return -NA_EINVAL;
    rc = db_pg_check_url(cfg->url);
    if (rc < 0)
        return rc;
    db = xcalloc(1, sizeof *db);
    db->busy_timeout_ms = cfg->busy_timeout_ms;
    db->session = 1;
    db->conn = db_pg_connect(cfg->url);
    if (!db->conn) {
        rc = -NA_ESTORE;
        goto fail;
    }
    PQsetNoticeReceiver(db->conn, db_pg_notice, db);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db_pg_quote_line(msg, sizeof msg, PQerrorMessage(db->conn));
        log_error("db_connect_failed", "msg=%s", msg);
        rc = -NA_EUNAVAILABLE;
        goto fail;
    }
    rc = db_pg_session_setup(db);
    if (rc < 0)
        goto fail;
    *out = db;
    return 0;
fail:
    db_pg_close(db);
    return rc;
}

/* ---- statements ---- */

/*
 * sql with its `?` placeholders numbered $1..$n; *out_n gets n. A `?` inside a quoted
 * string or identifier or a -- comment is text. Assumes standard_conforming_strings
 * (the default): a quote inside a literal is doubled, never backslashed. Caller frees.
 */
static char *db_pg_rewrite(const char *sql, int *out_n)
{
    size_t len = strlen(sql);
    size_t marks = 0;
    char *out;
    size_t o = 0;
    char quote = 0;
    int n = 0;

    for (const char *p = sql; *p; p++)
        marks += *p == '?';
    /* "$" and up to 10 digits replace each one-byte "?". */
    out = xmalloc(len + marks * 10 + 1);
    for (const char *p = sql; *p; p++) {
        if (quote) {
            quote = *p == quote ? 0 : quote;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (p[0] == '-' && p[1] == '-') {
            quote = '\n';
        } else if (*p == '?') {
            o += (size_t)snprintf(out + o, 12, "$%d", ++n);
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
    *out_n = n;
    return out;
}

/* Prepares p on the server unless it already is in this session. */
static int db_pg_prep_ready(struct db *db, struct db_prep *p)
{
    PGresult *res;
    int rc;

    if (p->session == db->session)
        return 0;
    res = PQprepare(db->conn, p->name, p->pg_sql, p->n_params, NULL);
    rc = db_pg_result_ok(res) ? 0 : db_pg_error(db, res);
    PQclear(res);
    db_pg_note(db);
    if (!rc)
        p->session = db->session;
    return rc;
}

static struct db_prep *db_pg_cache_find(struct db *db, const char *sql, uint32_t hash)
{
    for (size_t i = 0; i < db->n_cache; i++) {
        struct db_prep *p = db->cache[i];
        if (p->hash == hash && strcmp(p->sql, sql) == 0)
            return p;
    }
    return NULL;
}

/* A new server-side statement for sql, cached while there is room. */
static int db_pg_prep_new(struct db *db, const char *sql, uint32_t hash, struct db_prep **out)
{
    struct db_prep *p = xcalloc(1, sizeof *p);
    int rc;

    *out = NULL;
    p->sql = xstrdup(sql);
    p->hash = hash;
    p->pg_sql = db_pg_rewrite(sql, &p->n_params);
    p->cached = db->n_cache < DB_PG_CACHE_MAX;
    if (p->cached)
        snprintf(p->name, sizeof p->name, "na%u", ++db->next_name);
    /* Uncached, the unnamed statement checks the text now; steps send it again. */
    rc = db_pg_prep_ready(db, p);
    if (rc < 0) {
        db_pg_prep_free(p);
        return rc;
    }
    if (p->cached)
        db->cache[db->n_cache++] = p;
    *out = p;
    return 0;
}

static int db_pg_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    uint32_t hash = str_hash(sql);
    struct db_prep *p;
    struct db_stmt *s;
    int rc;

    *out = NULL;
    rc = db_pg_ready(db);
    if (rc < 0)
        return rc;
    /* Results are materialised, so handles of one text share the server's statement:
     * one in use by an enclosing loop costs the nested one nothing. */
    p = db_pg_cache_find(db, sql, hash);
    rc = p ? db_pg_prep_ready(db, p) : db_pg_prep_new(db, sql, hash, &p);
    if (rc < 0)
        return rc;
    s = xcalloc(1, sizeof *s);
    s->db = db;
    s->prep = p;
    if (p->n_params > 0)
        s->params = xcalloc((size_t)p->n_params, sizeof *s->params);
    *out = s;
    return 0;
}

/* Takes ownership of v (may be NULL: binds NULL). */
static int db_pg_bind(struct db_stmt *s, int idx, char *v)
{
    if (idx < 1 || idx > s->prep->n_params || s->res) {
        log_error("db_bind_out_of_range", "idx=%d n=%d", idx, s->prep->n_params);
        free(v);
        return -NA_ESTORE;
    }
    free(s->params[idx - 1]);
    s->params[idx - 1] = v;
    return 0;
}

static int db_pg_bind_int64(struct db_stmt *s, int idx, int64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, v);
    return db_pg_bind(s, idx, xstrdup(text));
}

static int db_pg_bind_text(struct db_stmt *s, int idx, const char *v)
{
    return db_pg_bind(s, idx, v ? xstrdup(v) : NULL);
}

static int db_pg_bind_null(struct db_stmt *s, int idx)
{
    return db_pg_bind(s, idx, NULL);
}

static int db_pg_bind_double(struct db_stmt *s, int idx, double v)
{
    char text[32];
    /* 17 significant digits: every binary64 survives the trip through text exactly. */
    snprintf(text, sizeof text, "%.17g", v);
    return db_pg_bind(s, idx, xstrdup(text));
}

/* Queues the statement (pipeline mode). */
static int db_pg_send(struct db_stmt *s)
{
    const struct db_prep *p = s->prep;
    const char *const *v = (const char *const *)s->params;

    if (p->cached)
        return PQsendQueryPrepared(s->db->conn, p->name, p->n_params, v, NULL, NULL, 0);
    return PQsendQueryParams(s->db->conn, p->pg_sql, p->n_params, NULL, v, NULL, NULL, 0);
}

static PGresult *db_pg_run_plain(struct db_stmt *s)
{
    const struct db_prep *p = s->prep;
    const char *const *v = (const char *const *)s->params;

    if (p->cached)
        return PQexecPrepared(s->db->conn, p->name, p->n_params, v, NULL, NULL, 0);
    return PQexecParams(s->db->conn, p->pg_sql, p->n_params, NULL, v, NULL, NULL, 0);
}

/*
 * Results of the pipeline SAVEPOINT, statement, RELEASE, sync: the statement's result,
 * or the first failure (a statement's own failure is its result; the queries after it
 * only report being aborted).
 */
static PGresult *db_pg_pipeline_results(PGconn *c)
{
    PGresult *stmt = NULL;
    PGresult *fail = NULL;
    int query = 0;

    /* Each query's results end with NULL; the sync follows the third. */
    while (query <= 3) {
        PGresult *r = PQgetResult(c);
        if (!r) {
            if (PQstatus(c) != CONNECTION_OK)
                break;
            query++;
            continue;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (query == 1 && !stmt)
            stmt = r;
        else if (!fail && PQresultStatus(r) == PGRES_FATAL_ERROR)
            fail = r;
        else
            PQclear(r);
    }
    if (!fail)
        return stmt;
    PQclear(stmt);
    return fail;
}

/* Runs the statement under a savepoint, in one round trip. */
static PGresult *db_pg_run_guarded(struct db_stmt *s)
{
    PGconn *c = s->db->conn;
    PGresult *res = NULL;

    if (!PQenterPipelineMode(c))
        return NULL;
    if (PQsendQueryParams(c, "SAVEPOINT na_statement", 0, NULL, NULL, NULL, NULL, 0) &&
        db_pg_send(s) &&
        PQsendQueryParams(c, "RELEASE SAVEPOINT na_statement", 0, NULL, NULL, NULL, NULL, 0) &&
        PQpipelineSync(c))
        res = db_pg_pipeline_results(c);
    /* Fails only with results pending, after a lost connection that reset clears. */
    PQexitPipelineMode(c);
    return res;
}

/* After a statement failed under its savepoint: the transaction goes on without it. */
static void db_pg_undo_statement(struct db *db)
{
    PGresult *res;

    if (!db_pg_usable(db) || PQtransactionStatus(db->conn) != PQTRANS_INERROR)
        return;
    res = PQexec(db->conn, "ROLLBACK TO SAVEPOINT na_statement; RELEASE SAVEPOINT na_statement");
    /* Failing, the transaction stays aborted: its COMMIT then fails, nothing is lost. */
    if (!db_pg_result_ok(res))
        db_pg_error(db, res);
    PQclear(res);
}

/* Sends the statement and keeps its result in s->res. */
static int db_pg_execute(struct db_stmt *s)
{
    struct db *db = s->db;
    bool guarded = PQtransactionStatus(db->conn) == PQTRANS_INTRANS;
    PGresult *res;
    int rc;

    /* A reconnection since prepare (by a nested query) needs it prepared again. */
    rc = s->prep->cached ? db_pg_prep_ready(db, s->prep) : 0;
    if (rc < 0)
        return rc;
    res = guarded ? db_pg_run_guarded(s) : db_pg_run_plain(s);
    if (db_pg_result_ok(res)) {
        s->res = res;
        db_pg_note(db);
        return 0;
    }
    rc = db_pg_error(db, res);
    PQclear(res);
    if (guarded)
        db_pg_undo_statement(db);
    db_pg_note(db);
    return rc;
}

static int db_pg_step(struct db_stmt *s)
{
    int rc;

    if (!s->res) {
        rc = db_pg_execute(s);
        if (rc < 0)
            return rc;
    }
    if (s->next_row >= PQntuples(s->res))
        return DB_DONE;
    s->row = s->next_row++;
    return DB_ROW;
}

/* The text of a column of the current row; NULL for SQL NULL or no row. */
static const char *db_pg_value(struct db_stmt *s, int col)
{
    if (!s->res || s->next_row == 0 || col < 0 || col >= PQnfields(s->res) ||
        PQgetisnull(s->res, s->row, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

static int64_t db_pg_column_int64(struct db_stmt *s, int col)
{
    const char *v = db_pg_value(s, col);

    if (!v)
        return 0;
    /* A boolean expression (EXISTS, a comparison) comes as t or f. */
    if (strcmp(v, "t") == 0)
        return 1;
    if (strcmp(v, "f") == 0)
        return 0;
    return strtoll(v, NULL, 10);
}

static double db_pg_column_double(struct db_stmt *s, int col)
{
    const char *v = db_pg_value(s, col);
    /* The server writes the shortest text that reads back to the same binary64. */
    return v ? strtod(v, NULL) : 0.0;
}

static const char *db_pg_column_text(struct db_stmt *s, int col)
{
    return db_pg_value(s, col);
}

static bool db_pg_column_is_null(struct db_stmt *s, int col)
{
    return !s->res || s->next_row == 0 || col < 0 || col >= PQnfields(s->res) ||
           PQgetisnull(s->res, s->row, col);
}

static void db_pg_reset(struct db_stmt *s)
{
    if (!s)
        return;
    PQclear(s->res);
    for (int i = 0; s->params && i < s->prep->n_params; i++)
        free(s->params[i]);
    free(s->params);
    if (!s->prep->cached)
        db_pg_prep_free(s->prep);
    free(s);
}

/* ---- notifications for the live event stream (db_ops.listen, wait_notify) ----
 * Added for store_events.c: LISTEN on a connection of its own, NOTIFY in the committing
 * transaction (db_ops.notify_sql), and a lock that makes event ids commit in order. */

/* 'notalone' in ASCII plus one: a key of its own, apart from the schema lock. */
#define DB_PG_EVENTS_LOCK "SELECT pg_advisory_xact_lock(7957707028366847590)"

static int db_pg_listen(struct db *db, const char *channel)
{
    char sql[128];
    char *quoted;
    int w;

    if (!db_pg_usable(db))
        return -NA_EUNAVAILABLE;
    quoted = PQescapeIdentifier(db->conn, channel, strlen(channel));
    if (!quoted)
        return -NA_ESTORE;
    w = snprintf(sql, sizeof sql, "LISTEN %s", quoted);
    PQfreemem(quoted);
    if (w < 0 || (size_t)w >= sizeof sql)
        return -NA_ESTORE;
    return db_pg_exec(db, sql);
}

/* Frees every notification libpq has read; true when there was one. */
static bool db_pg_drain_notifies(struct db *db)
{
    PGnotify *n;
    bool any = false;

    while ((n = PQnotifies(db->conn)) != NULL) {
        any = true;
        PQfreemem(n);
    }
    return any;
}

static int db_pg_wait_notify(struct db *db, int timeout_ms, int wake_fd, bool *out_notified)
{
    struct pollfd p[2] = {{.fd = PQsocket(db->conn), .events = POLLIN},
                          {.fd = wake_fd, .events = POLLIN}};

    *out_notified = false;
    if (!db_pg_usable(db) || p[0].fd < 0)
        return -NA_EUNAVAILABLE;
    /* Notifications that came with an earlier result already wait in libpq. */
    *out_notified = db_pg_drain_notifies(db);
    if (*out_notified)
        return 0;
    if (poll(p, wake_fd >= 0 ? 2 : 1, timeout_ms) < 0)
        return -NA_EIO;
    if (p[0].revents == 0)
        return 0;
    /* A server going down sends its FATAL and closes: that ends the session here. */
    if (!PQconsumeInput(db->conn)) {
        db->ended = true;
        return -NA_EUNAVAILABLE;
    }
    *out_notified = db_pg_drain_notifies(db);
    return db_pg_usable(db) ? 0 : -NA_EUNAVAILABLE;
}

/* ---- end of the notifications' addition ---- */

const struct db_ops db_pg_ops = {
    .name = "postgresql",
    .begin_sql = "BEGIN",
    .single_writer = false,
    .id_column = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .table_exists_sql =
        "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?",
    /* NO KEY UPDATE: these rows' keys never change, and a plain FOR UPDATE would also block
     * every insert whose foreign key names the row (a case step naming its user). */
    .lock_suffix = " FOR NO KEY UPDATE",
    .claim_suffix = " FOR UPDATE SKIP LOCKED",
    .schema_lock_sql = DB_PG_SCHEMA_LOCK,
    .checkpoint_defer_sql = NULL,
    .checkpoint_sql = NULL,
    .open = db_pg_open,
    .close = db_pg_close,
    .in_transaction = db_pg_in_transaction,
    .exec = db_pg_exec,
    .prepare = db_pg_prepare,
    .bind_int64 = db_pg_bind_int64,
    .bind_text = db_pg_bind_text,
    .bind_null = db_pg_bind_null,
    .bind_double = db_pg_bind_double,
    .step = db_pg_step,
    .column_int64 = db_pg_column_int64,
    .column_double = db_pg_column_double,
    .column_text = db_pg_column_text,
    .column_is_null = db_pg_column_is_null,
    .reset = db_pg_reset,
    /* The notifications' addition (above). */
    .events_lock_sql = DB_PG_EVENTS_LOCK,
    .notify_sql = "SELECT pg_notify('notalone_events', ?)",
    .listen = db_pg_listen,
    .wait_notify = db_pg_wait_notify,
};
