/*
 * Devices (what a worker carries, alarm panels) and the events they send over SIA DC-09
 * (docs/api.md, "Devices" and "DC-09 events"). A device's DC-09 key is written here and
 * never shown: no answer, list, audit line or log carries it, only whether there is one.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/roles.h"
#include "core/validate.h"
#include "dc09/codes.h"
#include "dc09/frame.h"
#include "http/api.h"
#include "http/json_in.h"
#include "http/render.h"
#include "store/store_alarms.h"
#include "store/store_devices.h"
#include "util/alloc.h"
#include "util/error.h"
#include "watch/watch.h"

#define IDENTIFIER_MAX    64
#define LABEL_MAX         100
#define SUPERVISION_MIN_S 60
#define SUPERVISION_MAX_S (7LL * 24 * 3600)
/* Those who see every device and DC-09 event of their organisation: the alarm handlers'. */
#define DEVICE_ALL_ROLES ACCESS_ALARM_ROLES
/* Workers whose facts one request remembers; beyond, they are read again. */
#define FACTS_MAX 256

static const char *const device_kinds[] = {"lone_worker_device", "panel", "app", "other"};

/* ---- checks ---- */

static int check_kind(const char *s)
{
    for (size_t i = 0; i < sizeof device_kinds / sizeof device_kinds[0]; i++)
        if (strcmp(s, device_kinds[i]) == 0)
            return 0;
    return -NA_EINVAL;
}

/* 1-64 printable ASCII characters, not starting or ending with a space. */
static int check_identifier(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > IDENTIFIER_MAX || s[0] == ' ' || s[n - 1] == ' ')
        return -NA_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return -NA_EINVAL;
    return 0;
}

static int check_label(const char *s)
{
    return validate_text(s, 1, LABEL_MAX);
}

static int check_account(const char *s)
{
    return dc09_account_ok(s, strlen(s)) ? 0 : -NA_EINVAL;
}

/* 32, 48 or 64 hex characters (AES-128, -192, -256); the bytes read are wiped. */
static int check_key(const char *s)
{
    uint8_t key[32];
    size_t len;
    int rc = strlen(s) <= 64 && dc09_key_parse(s, key, &len) == 0 ? 0 : -NA_EINVAL;
    sodium_memzero(key, sizeof key);
    return rc;
}

/* ---- reading a device from the body ---- */

/* The fields of a POST or PATCH; strings borrowed from the body. */
struct device_input {
    const char *kind, *identifier, *label, *phone;
    bool has_kind, has_identifier, has_label, has_phone;
    bool has_worker;
    int64_t worker_id; /* 0: not issued */
    bool has_dc09, dc09_null;
    const char *account;
    bool has_account;
    const char *key; /* NULL with has_key: remove it */
    bool has_key;
    bool encryption_required, has_encryption;
    bool has_supervision, supervision_null;
    int64_t interval_s;
    bool has_interval;
    bool alarm, has_alarm;
};

/* An object or null under key; *out NULL for null or absent. */
static int read_object(struct request *r, const char *key, json_t **out, bool *present, bool *null)
{
    json_t *v = json_object_get(r->body, key);
    *present = v != NULL;
    *null = v && json_is_null(v);
    *out = v && json_is_object(v) ? v : NULL;
    if (v && !*null && !*out)
        return request_fail(r, -NA_EINVAL, key, "must be an object or null");
    return 0;
}

/* A true or false member of a nested object, named field in errors. */
static int read_flag(struct request *r, json_t *obj, const char *key, const char *field, bool *out,
                     bool *present)
{
    json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    if (v && !json_is_boolean(v))
        return request_fail(r, -NA_EINVAL, field, "must be true or false");
    *out = v && json_is_true(v);
    return 0;
}

static int read_dc09(struct request *r, struct device_input *in)
{
    static const char *const fields[] = {"account", "key", "encryption_required", NULL};
    json_t *o;
    int rc = read_object(r, "dc09", &o, &in->has_dc09, &in->dc09_null);
    if (rc || !o)
        return rc;
    rc = jin_only(r, o, "dc09.", fields);
    if (!rc)
        rc = jin_str(r, o, "dc09.", "account", 0, check_account, "3-16 hex digits", &in->account,
                     &in->has_account);
    if (!rc)
        rc = jin_str(r, o, "dc09.", "key", JIN_NULLABLE, check_key,
                     "32, 48 or 64 hex digits (an AES-128, -192 or -256 key)", &in->key,
                     &in->has_key);
    if (!rc)
        rc = read_flag(r, o, "encryption_required", "dc09.encryption_required",
                       &in->encryption_required, &in->has_encryption);
    return rc;
}

static int read_supervision(struct request *r, struct device_input *in)
{
    static const char *const fields[] = {"interval_s", "alarm", NULL};
    json_t *o, *v;
    int rc = read_object(r, "supervision", &o, &in->has_supervision, &in->supervision_null);
    if (rc || !o)
        return rc;
    rc = jin_only(r, o, "supervision.", fields);
    v = json_object_get(o, "interval_s");
    in->has_interval = v != NULL;
    if (!rc && v &&
        (!json_is_integer(v) || json_integer_value(v) < SUPERVISION_MIN_S ||
         json_integer_value(v) > SUPERVISION_MAX_S))
        rc = request_fail(r, -NA_EINVAL, "supervision.interval_s", "seconds, 60 to 604800");
    if (!rc && v)
        in->interval_s = (int64_t)json_integer_value(v);
    if (!rc)
        rc = read_flag(r, o, "alarm", "supervision.alarm", &in->alarm, &in->has_alarm);
    return rc;
}

/* The body's fields; create: kind and identifier are required. */
static int read_input(struct request *r, bool create, struct device_input *in)
{
    static const char *const fields[] = {"kind",      "identifier", "label",       "phone",
                                         "worker_id", "dc09",       "supervision", NULL};
    unsigned required = create ? JIN_REQUIRED : 0;
    memset(in, 0, sizeof *in);
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "kind", required, check_kind,
                     "lone_worker_device, panel, app or other", &in->kind, &in->has_kind);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "identifier", required, check_identifier,
                     "1-64 printable ASCII characters", &in->identifier, &in->has_identifier);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "label", JIN_NULLABLE, check_label,
                     "1-100 characters, no control characters", &in->label, &in->has_label);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "phone", JIN_NULLABLE, validate_phone,
                     "3-32 of 0-9 + - ( ) . and space", &in->phone, &in->has_phone);
    if (!rc)
        rc = jin_id(r, r->body, "worker_id", JIN_NULLABLE, &in->worker_id, &in->has_worker);
    if (!rc)
        rc = read_dc09(r, in);
    if (!rc)
        rc = read_supervision(r, in);
    return rc;
}

/* ---- applying it to a row ---- */

/* Replaces *dst with a copy of s (NULL: none), upper-cased when upper. */
static void set_text(char **dst, const char *s, bool upper)
{
    if (*dst)
        sodium_memzero(*dst, strlen(*dst));
    free(*dst);
    *dst = s ? xstrdup(s) : NULL;
    if (upper && *dst)
        dc09_upper(*dst, strlen(*dst), *dst);
}

/* device_row_fini, the key wiped first. */
static void device_free(struct device_row *d)
{
    set_text(&d->dc09_key, NULL, false);
    device_row_fini(d);
}

/* The worker a device is issued to must be a user of the caller's organisation. */
static int check_worker(struct request *r, int64_t worker_id)
{
    struct user_row u = {0};
    int rc = worker_id ? store_user_get(r->st, r->who.organisation_id, worker_id, &u) : 0;
    user_row_fini(&u);
    return rc == -NA_ENOTFOUND ? request_fail(r, -NA_EINVAL, "worker_id", "no such user") : rc;
}

static int apply_dc09(struct request *r, const struct device_input *in, struct device_row *d)
{
    if (!in->has_dc09)
        return 0;
    if (in->dc09_null) {
        set_text(&d->dc09_account, NULL, false);
        set_text(&d->dc09_key, NULL, false);
        d->dc09_encryption_required = false;
        return 0;
    }
    if (!in->has_account && !d->dc09_account)
        return request_fail(r, -NA_EINVAL, "dc09.account", "required");
    if (in->has_account)
        set_text(&d->dc09_account, in->account, true);
    if (in->has_key)
        set_text(&d->dc09_key, in->key, true);
    if (in->has_encryption)
        d->dc09_encryption_required = in->encryption_required;
    if (d->dc09_encryption_required && !d->dc09_key)
        return request_fail(r, -NA_EINVAL, "dc09.encryption_required", "needs a key");
    return 0;
}

static int apply_supervision(struct request *r, const struct device_input *in, struct device_row *d)
{
    if (!in->has_supervision)
        return 0;
    if (in->supervision_null) {
        d->supervision_ms = 0;
        d->supervision_alarm = false;
        return 0;
    }
    if (!in->has_interval && !d->supervision_ms)
        return request_fail(r, -NA_EINVAL, "supervision.interval_s", "required");
    if (in->has_interval)
        d->supervision_ms = in->interval_s * 1000;
    if (in->has_alarm)
        d->supervision_alarm = in->alarm;
    return 0;
}

/*
 * When a supervised device that is not lost is told silent: its last contact (or now,
 * never heard) plus the interval; 0 without supervision. A lost device keeps its state
 * until it is heard again.
 */
static void set_silent_due(struct device_row *d, int64_t now)
{
    if (!d->supervision_ms)
        d->silent_due_at = 0;
    else if (!d->lost_at)
        d->silent_due_at = (d->last_contact_at ? d->last_contact_at : now) + d->supervision_ms;
}

static int apply_input(struct request *r, const struct device_input *in, struct device_row *d)
{
    int rc = in->has_worker ? check_worker(r, in->worker_id) : 0;
    if (in->has_kind)
        set_text(&d->kind, in->kind, false);
    if (in->has_identifier)
        set_text(&d->identifier, in->identifier, false);
    if (in->has_label)
        set_text(&d->label, in->label, false);
    if (in->has_phone)
        set_text(&d->phone, in->phone, false);
    if (in->has_worker && in->worker_id != d->worker_id) {
        d->worker_id = in->worker_id;
        d->issued_at = in->worker_id ? r->now : 0;
    }
    if (!rc)
        rc = apply_dc09(r, in, d);
    if (!rc)
        rc = apply_supervision(r, in, d);
    set_silent_due(d, r->now);
    d->updated_at = r->now;
    return rc;
}

/* ---- rendering ---- */

static json_t *render_dc09(const struct device_row *d)
{
    if (!d->dc09_account)
        return json_null();
    return json_pack("{s:s,s:b,s:b}", "account", d->dc09_account, "has_key", d->dc09_key != NULL,
                     "encryption_required", d->dc09_encryption_required);
}

static json_t *render_supervision(const struct device_row *d)
{
    if (!d->supervision_ms)
        return json_null();
    json_t *o = json_pack("{s:I,s:b}", "interval_s", (json_int_t)(d->supervision_ms / 1000),
                          "alarm", d->supervision_alarm);
    render_set_time(o, "due_at", d->silent_due_at);
    return o;
}

/* A device as docs/api.md shows it: never its key. */
static json_t *render_device(const struct device_row *d)
{
    json_t *o = json_pack("{s:I}", "id", (json_int_t)d->id);
    render_set_str(o, "kind", d->kind);
    render_set_str(o, "identifier", d->identifier);
    render_set_str(o, "label", d->label);
    render_set_str(o, "phone", d->phone);
    render_set_id(o, "worker_id", d->worker_id);
    render_set_time(o, "issued_at", d->issued_at);
    json_object_set_new(o, "dc09", render_dc09(d));
    json_object_set_new(o, "supervision", render_supervision(d));
    render_set_time(o, "last_contact_at", d->last_contact_at);
    render_set_time(o, "last_test_at", d->last_test_at);
    json_t *battery = json_pack("{s:b}", "low", d->battery_low);
    render_set_time(battery, "at", d->battery_at);
    json_object_set_new(o, "battery", battery);
    render_set_str(o, "signal", d->lost_at ? "lost" : d->supervision_ms ? "ok" : "unsupervised");
    render_set_time(o, "lost_at", d->lost_at);
    render_set_time(o, "created_at", d->created_at);
    render_set_time(o, "updated_at", d->updated_at);
    return o;
}

/* An event; its coordinates only when show_position. */
static json_t *render_event(const struct dc09_event_row *e, bool show_position)
{
    json_t *o = json_pack("{s:I}", "id", (json_int_t)e->id);
    render_set_id(o, "device_id", e->device_id);
    render_set_id(o, "worker_id", e->worker_id);
    render_set_str(o, "account", e->account);
    render_set_str(o, "receiver", e->receiver);
    render_set_str(o, "prefix", e->prefix);
    render_set_str(o, "token", e->token);
    json_object_set_new(o, "encrypted", json_boolean(e->encrypted));
    json_object_set_new(o, "seq", json_integer(e->seq));
    render_set_str(o, "code", e->code);
    render_set_str(o, "zone", e->zone);
    render_set_str(o, "action", e->action);
    render_set_str(o, "label", e->label);
    render_set_str(o, "data", e->data);
    json_object_set_new(
        o, "position",
        e->has_position && show_position
            ? json_pack("{s:f,s:f}", "latitude", e->latitude, "longitude", e->longitude)
            : json_null());
    render_set_time(o, "event_at", e->event_at);
    render_set_time(o, "sent_at", e->sent_at);
    render_set_str(o, "verification", e->verification);
    json_t *extra = e->extra ? json_loads(e->extra, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (extra && !json_is_object(extra)) {
        json_decref(extra);
        extra = NULL;
    }
    json_object_set_new(o, "extra", extra ? extra : json_null());
    render_set_str(o, "transport", e->transport);
    render_set_str(o, "peer", e->peer);
    render_set_time(o, "received_at", e->received_at);
    render_set_time(o, "applied_at", e->applied_at);
    render_set_id(o, "alarm_id", e->alarm_id);
    return o;
}

/* ---- who sees what ---- */

/* What one request learnt of the workers it met: -1 not read yet, else 0 or 1. */
struct worker_facts {
    size_t n;
    struct {
        int64_t id;
        signed char managed; /* the caller is the line manager of one of their teams */
        signed char consent; /* they share their location with operators */
    } w[FACTS_MAX];
};

static int facts_slot(struct worker_facts *f, int64_t worker_id)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->w[i].id == worker_id)
            return (int)i;
    if (f->n == FACTS_MAX)
        return -1;
    f->w[f->n].id = worker_id;
    f->w[f->n].managed = -1;
    f->w[f->n].consent = -1;
    return (int)f->n++;
}

/* Whether the caller is the line manager of one of worker_id's teams. */
static int manages_worker(struct request *r, struct worker_facts *f, int64_t worker_id, bool *out)
{
    int64_t *teams = NULL;
    size_t n = 0;
    *out = false;
    if (!worker_id || !r->who.n_managed_team_ids)
        return 0;
    int slot = facts_slot(f, worker_id);
    if (slot >= 0 && f->w[slot].managed >= 0) {
        *out = f->w[slot].managed;
        return 0;
    }
    int rc = store_user_team_ids(r->st, r->who.organisation_id, worker_id, &teams, &n);
    *out = !rc && access_manages_any(&r->who, teams, n);
    free(teams);
    if (rc == -NA_ENOTFOUND)
        rc = 0;
    if (!rc && slot >= 0)
        f->w[slot].managed = *out;
    return rc;
}

/* Whether worker_id consented to share their location with those who handle alarms. */
static int worker_consents(struct request *r, struct worker_facts *f, int64_t worker_id, bool *out)
{
    struct alert_profile p;
    int slot = facts_slot(f, worker_id);
    if (slot >= 0 && f->w[slot].consent >= 0) {
        *out = f->w[slot].consent;
        return 0;
    }
    int rc = store_alert_profile_get(r->st, r->who.organisation_id, worker_id, &p);
    *out = !rc && p.location_consent;
    alert_profile_fini(&p);
    if (rc == -NA_ENOTFOUND)
        rc = 0;
    if (!rc && slot >= 0)
        f->w[slot].consent = *out;
    return rc;
}

/* Its worker; admins, operators, senior managers, the LSMS; line managers of the worker. */
static int device_visible(struct request *r, struct worker_facts *f, const struct device_row *d,
                          bool *out)
{
    *out = (d->worker_id && d->worker_id == r->who.user_id) ||
           access_has_role(&r->who, DEVICE_ALL_ROLES);
    if (*out)
        return 0;
    return manages_worker(r, f, d->worker_id, out);
}

/*
 * As an alarm (access_sees_alarm): never its own worker, since a duress event must not
 * show on their device; those who handle alarms, and line managers of the worker.
 */
static int event_visible(struct request *r, struct worker_facts *f, const struct dc09_event_row *e,
                         bool *out)
{
    *out = access_sees_alarm(&r->who, e->worker_id, 0, NULL, 0);
    if (*out || e->worker_id == r->who.user_id)
        return 0;
    return manages_worker(r, f, e->worker_id, out);
}

/* ---- devices ---- */

/* The device of the path, when the caller sees it (else -NA_ENOTFOUND); caller frees *d. */
static int load_device(struct request *r, struct device_row *d)
{
    struct worker_facts f = {0};
    int64_t id;
    bool visible = false;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_device_get(r->st, r->who.organisation_id, id, d);
    if (!rc)
        rc = device_visible(r, &f, d, &visible);
    return !rc && !visible ? -NA_ENOTFOUND : rc;
}

/*
 * A write refused as a conflict: the account taken on the server, or else the identifier
 * in the organisation. The transaction is over (a failed statement ends it on PostgreSQL).
 */
static int conflict(struct request *r, const struct device_row *d)
{
    struct device_row other = {0};
    store_rollback(r->st);
    int rc =
        d->dc09_account ? store_device_by_account(r->st, d->dc09_account, &other) : -NA_ENOTFOUND;
    bool account = !rc && other.id != d->id;
    device_free(&other);
    if (rc && rc != -NA_ENOTFOUND)
        return rc;
    if (account)
        return request_fail(r, -NA_ECONFLICT, "dc09.account",
                            "already registered to a device on this server");
    return request_fail(r, -NA_ECONFLICT, "identifier",
                        "already used by a device of the organisation");
}

/* What an audit line says of a change of key (never the key). */
static const char *key_detail(const struct device_input *in)
{
    if (in->has_dc09 && in->dc09_null)
        return "dc09 removed";
    if (in->has_key)
        return in->key ? "dc09 key set" : "dc09 key removed";
    return NULL;
}

/* Writes d in the open transaction (d->id 0: a new one), audits, commits, schedules. */
static int save_device(struct request *r, const struct device_input *in, struct device_row *d)
{
    bool create = d->id == 0;
    int rc = create ? store_device_create(r->st, d, &d->id) : store_device_update(r->st, d);
    if (!rc)
        rc = api_audit(r, create ? "device.create" : "device.update", "device", d->id,
                       key_detail(in));
    if (!rc)
        rc = store_commit(r->st);
    if (rc == -NA_ECONFLICT)
        return conflict(r, d);
    /* The worker left the organisation between the check and the write. */
    if (rc == -NA_ENOTFOUND && create)
        return request_fail(r, -NA_EINVAL, "worker_id", "no such user");
    if (!rc)
        watch_device_silent_changed(r->api->watch, d->id, d->silent_due_at);
    return rc;
}

int api_device_create(struct request *r)
{
    struct device_input in;
    struct device_row d = {.organisation_id = r->who.organisation_id, .created_at = r->now};
    if (!access_has_role(&r->who, ROLE_ADMIN))
        return -NA_EFORBIDDEN;
    int rc = read_input(r, true, &in);
    if (!rc)
        rc = apply_input(r, &in, &d);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = save_device(r, &in, &d);
    if (!rc)
        rc = request_answer(r, 201, render_device(&d));
    device_free(&d);
    return rc;
}

int api_device_update(struct request *r)
{
    struct device_input in;
    struct device_row d = {0};
    int64_t id;
    if (!access_has_role(&r->who, ROLE_ADMIN))
        return -NA_EFORBIDDEN;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = read_input(r, false, &in);
    /* Read in the transaction, locked: the receiver writes the same row as it hears it. */
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_device_get(r->st, r->who.organisation_id, id, &d);
    if (!rc)
        rc = apply_input(r, &in, &d);
    if (!rc)
        rc = save_device(r, &in, &d);
    if (!rc)
        rc = request_answer(r, 200, render_device(&d));
    device_free(&d);
    return rc;
}

int api_device_get(struct request *r)
{
    struct device_row d = {0};
    int rc = load_device(r, &d);
    if (!rc)
        rc = request_answer(r, 200, render_device(&d));
    device_free(&d);
    return rc;
}

int api_device_delete(struct request *r)
{
    int64_t id;
    if (!access_has_role(&r->who, ROLE_ADMIN))
        return -NA_EFORBIDDEN;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_begin(r->st);
    if (!rc)
        rc = store_device_delete(r->st, r->who.organisation_id, id);
    if (!rc)
        rc = api_audit(r, "device.delete", "device", id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    if (rc)
        return rc;
    watch_device_silent_changed(r->api->watch, id, 0);
    return request_answer(r, 204, NULL);
}

/* Items of the rows the caller sees. */
static int device_items(struct request *r, const struct device_row *rows, size_t n, json_t *items)
{
    struct worker_facts *f = xcalloc(1, sizeof *f);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        bool visible = false;
        rc = device_visible(r, f, &rows[i], &visible);
        if (!rc && visible)
            json_array_append_new(items, render_device(&rows[i]));
    }
    free(f);
    return rc;
}

int api_device_list(struct request *r)
{
    struct device_row *rows = NULL;
    size_t n = 0;
    int limit;
    int64_t after, worker_id;
    int rc = request_query_id(r, "worker_id", &worker_id);
    if (!rc)
        rc = request_page(r, "after", &limit, &after);
    if (rc)
        return rc;
    /* Someone who sees only their own devices reads only those. */
    bool own_only = !access_has_role(&r->who, DEVICE_ALL_ROLES) && !r->who.n_managed_team_ids;
    if (own_only && worker_id && worker_id != r->who.user_id)
        return request_answer(r, 200, render_page(json_array(), "next_after", 0));
    if (own_only)
        worker_id = r->who.user_id;
    rc = store_device_list(r->st, r->who.organisation_id, worker_id, after, limit + 1, &rows, &n);
    if (rc)
        return rc;
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    rc = device_items(r, rows, shown, items);
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    for (size_t i = 0; i < n; i++)
        set_text(&rows[i].dc09_key, NULL, false);
    device_rows_free(rows, n);
    if (rc) {
        json_decref(items);
        return rc;
    }
    return request_answer(r, 200, render_page(items, "next_after", next));
}

/* ---- DC-09 events ---- */

/* A true or false query parameter (default when absent); 400 otherwise. */
static int query_bool(struct request *r, const char *name, bool dflt, bool *out)
{
    const char *v = request_query(r, name);
    *out = dflt;
    if (!v)
        return 0;
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        *out = v[0] == 't';
        return 0;
    }
    return request_fail(r, -NA_EMALFORMED, name, "true or false");
}

/* The filter of the query; *org gets the organisation listed (0: the unassigned events). */
static int read_event_filter(struct request *r, struct dc09_event_filter *f, int64_t *org)
{
    bool unassigned, link;
    enum dc09_action action;
    memset(f, 0, sizeof *f);
    int rc = query_bool(r, "unassigned", false, &unassigned);
    if (!rc)
        rc = query_bool(r, "link", false, &link);
    if (!rc)
        rc = request_query_id(r, "device_id", &f->device_id);
    if (!rc)
        rc = request_query_id(r, "worker_id", &f->worker_id);
    f->action = request_query(r, "action");
    if (!rc && f->action && dc09_action_parse(f->action, &action))
        rc = request_fail(r, -NA_EMALFORMED, "action",
                          "record, link, restore, battery_ok, position, test, battery_low, "
                          "amber, red or duress");
    if (!rc && unassigned && (f->device_id || f->worker_id))
        rc = request_fail(r, -NA_EMALFORMED, f->device_id ? "device_id" : "worker_id",
                          "unassigned events have no device or worker");
    if (rc)
        return rc;
    f->no_link = !link;
    *org = unassigned ? 0 : r->who.organisation_id;
    if (unassigned)
        return r->who.org_is_host && access_has_role(&r->who, ROLE_OPERATOR | ROLE_ADMIN)
                   ? 0
                   : -NA_EFORBIDDEN;
    /* Workers and buddies never: a duress event must not show on the worker's device. */
    return access_has_role(&r->who, DEVICE_ALL_ROLES) || r->who.n_managed_team_ids ? 0
                                                                                   : -NA_EFORBIDDEN;
}

/* Items of the events the caller sees; coordinates of a worker only with their consent.
 * *located gets how many shown carry a worker's coordinates. */
static int event_items(struct request *r, const struct dc09_event_row *rows, size_t n,
                       json_t *items, size_t *located_n)
{
    struct worker_facts *f = xcalloc(1, sizeof *f);
    int rc = 0;
    *located_n = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        bool visible = false, located = true;
        rc = event_visible(r, f, &rows[i], &visible);
        if (rc || !visible)
            continue;
        if (rows[i].has_position && rows[i].worker_id) {
            rc = worker_consents(r, f, rows[i].worker_id, &located);
            *located_n += !rc && located;
        }
        if (!rc)
            json_array_append_new(items, render_event(&rows[i], located));
    }
    free(f);
    return rc;
}

/* Where workers were is personal data: a list that showed any is in the audit log, once,
 * naming the newest event and how many positions it showed. */
static int audit_positions(struct request *r, const json_t *items, size_t located_n)
{
    char detail[48];
    if (!located_n)
        return 0;
    snprintf(detail, sizeof detail, "positions=%zu", located_n);
    json_int_t newest = json_integer_value(json_object_get(json_array_get(items, 0), "id"));
    return api_audit(r, "dc09_event.read_positions", "dc09_event", (int64_t)newest, detail);
}

int api_dc09_event_list(struct request *r)
{
    struct dc09_event_filter f;
    struct dc09_event_row *rows = NULL;
    size_t n = 0;
    int64_t org, before;
    int limit;
    int rc = read_event_filter(r, &f, &org);
    if (!rc)
        rc = request_page(r, "before", &limit, &before);
    if (!rc)
        rc = store_dc09_event_list(r->st, org, &f, before, limit + 1, &rows, &n);
    if (rc)
        return rc;
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n, located_n = 0;
    rc = event_items(r, rows, shown, items, &located_n);
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    dc09_event_rows_free(rows, n);
    if (!rc)
        rc = audit_positions(r, items, located_n);
    if (rc) {
        json_decref(items);
        return rc;
    }
    return request_answer(r, 200, render_page(items, "next_before", next));
}
