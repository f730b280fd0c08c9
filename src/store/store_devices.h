#ifndef NA_STORE_STORE_DEVICES_H
#define NA_STORE_STORE_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * Devices (what a worker carries or an alarm panel) and the events they send over SIA
 * DC-09. Same conventions as store.h: 0 or a negated NA_E* code; -NA_ENOTFOUND also for
 * another organisation's rows; rows own their strings; absent optional values are NULL or
 * 0; times in ms.
 */

/* ---- devices ---- */

struct device_row {
    int64_t id;
    int64_t organisation_id;
    char *kind;         /* "lone_worker_device", "panel", "app", "other" */
    char *identifier;   /* serial number or IMEI, unique in the organisation */
    char *label;        /* NULL */
    char *phone;        /* the device's own number; NULL */
    int64_t worker_id;  /* issued to; 0: nobody */
    int64_t issued_at;  /* 0 when not issued */
    char *dc09_account; /* upper-case hex, 3..16; unique on the server; NULL: none */
    char *dc09_key;     /* upper-case hex AES key (32, 48 or 64); NULL: none. Never shown */
    bool dc09_encryption_required; /* plain messages from its account are refused */
    int64_t supervision_ms;        /* silent longer than this: loss of signal; 0: none */
    bool supervision_alarm;        /* a loss of signal also opens an alarm */
    int64_t last_contact_at;       /* last message of any kind; 0: never */
    int64_t last_test_at;          /* last test or periodic test; 0: never */
    bool battery_low;
    int64_t battery_at;    /* last battery report (low or restored); 0 */
    int64_t silent_due_at; /* due work: loss of signal is told at this time; 0: none */
    int64_t lost_at;       /* loss of signal told at; 0: in contact */
    int64_t lost_alarm_id; /* the alarm the loss opened; 0 */
    int64_t created_at;
    int64_t updated_at;
};
/* Frees r's strings and zeroes it; NULL is a no-op. */
void device_row_fini(struct device_row *r);
/* Finis rows[0..n) and frees rows; NULL is a no-op. */
void device_rows_free(struct device_row *rows, size_t n);

/*
 * Inserts d (borrowed; the contact, battery, due and lost fields are written as given,
 * created_at and updated_at too). -NA_EINVAL without kind or identifier; -NA_ENOTFOUND when
 * the worker is not in d->organisation_id; -NA_ECONFLICT when the identifier is taken in the
 * organisation or the account on the server.
 */
int store_device_create(struct store *st, const struct device_row *d, int64_t *out_id);
/* The device id of org_id; caller finis out. */
int store_device_get(struct store *st, int64_t org_id, int64_t id, struct device_row *out);
/* The device id of any organisation (the scheduler's jobs carry ids only). */
int store_device_get_any(struct store *st, int64_t id, struct device_row *out);
/* The device whose DC-09 account is account (upper case), of any organisation. */
int store_device_by_account(struct store *st, const char *account, struct device_row *out);
/* Devices of org_id with id > after_id, ascending, at most limit; worker_id 0: all, else
 * only those issued to that worker. Caller frees rows. */
int store_device_list(struct store *st, int64_t org_id, int64_t worker_id, int64_t after_id,
                      int limit, struct device_row **out_rows, size_t *out_n);
/* Writes every field of d (matched by d->id and d->organisation_id) but id, organisation
 * and created_at. Errors as store_device_create. */
int store_device_update(struct store *st, const struct device_row *d);
/* What a message changed on device d->id (the receiver, once per frame): writes only
 * last_contact_at, last_test_at, battery_low, battery_at and silent_due_at of d, in one
 * statement. -NA_ENOTFOUND when the device is gone. */
int store_device_contact(struct store *st, const struct device_row *d);
/* Deletes the device; its events stay, unassigned from it. */
int store_device_delete(struct store *st, int64_t org_id, int64_t id);

/* ---- DC-09 events ---- */

struct dc09_event_row {
    int64_t id;
    int64_t organisation_id; /* 0: an account no device has (unassigned) */
    int64_t device_id;       /* 0: none */
    int64_t worker_id;       /* the device's worker when it came; 0: none */
    char *account;           /* upper case */
    char *receiver;          /* NULL: none given */
    char *prefix;
    char *token; /* "SIA-DCS", "ADM-CID", "NULL" */
    bool encrypted;
    int seq;
    char *digest; /* hex hash of token, account, data and extended data (not the time) */
    char *code;   /* the code that decided the action ("1120", "PA"); NULL */
    char *zone;   /* NULL */
    char *action; /* enum dc09_action's name */
    char *label;  /* the code's meaning; NULL */
    char *data;   /* the data block as read (decrypted), printable ASCII */
    bool has_position;
    double latitude, longitude;
    int64_t event_at;   /* H extended data; 0 */
    int64_t sent_at;    /* the message's timestamp; 0 */
    char *verification; /* V link; NULL */
    char *extra;        /* JSON object of the other extended data ({"I": "...", ...}); NULL */
    char *transport;    /* "tcp" or "udp" */
    char *peer;         /* the sender's address "HOST:PORT"; NULL */
    int64_t received_at;
    int64_t pending_at; /* due work: the action is still to be applied; 0: done or none */
    int64_t applied_at; /* 0 */
    int64_t alarm_id;   /* the alarm it opened; 0 */
};
void dc09_event_row_fini(struct dc09_event_row *r);
void dc09_event_rows_free(struct dc09_event_row *rows, size_t n);

/* Inserts r (borrowed; id ignored); *out_id gets the new id. When r->pending_at is set the
 * row becomes this node's due work (DUE_DC09). -NA_EINVAL without account, prefix, token,
 * digest, action, data or transport. */
int store_dc09_event_add(struct store *st, const struct dc09_event_row *r, int64_t *out_id);
/*
 * A repeat of a message: the id of the latest event with account, seq and digest received
 * at or after since; 0 when none.
 */
int store_dc09_event_repeat(struct store *st, const char *account, int seq, const char *digest,
                            int64_t since, int64_t *out_id);
/* The event id of org_id (org_id 0: an unassigned one); caller finis out. */
int store_dc09_event_get(struct store *st, int64_t org_id, int64_t id, struct dc09_event_row *out);
/* The event id of any organisation (the scheduler's jobs). */
int store_dc09_event_get_any(struct store *st, int64_t id, struct dc09_event_row *out);

/* Which events to list. */
struct dc09_event_filter {
    int64_t device_id;  /* 0: any */
    int64_t worker_id;  /* 0: any */
    const char *action; /* NULL: any */
    bool no_link;       /* leave out link tests (NULL messages, periodic tests) */
};
/*
 * Events of org_id (org_id 0: the unassigned ones) matching f, newest first: id < before_id
 * (0: from the newest), at most limit. Caller frees rows.
 */
int store_dc09_event_list(struct store *st, int64_t org_id, const struct dc09_event_filter *f,
                          int64_t before_id, int limit, struct dc09_event_row **out_rows,
                          size_t *out_n);
/* The action of event id was applied at now: pending_at cleared, applied_at and alarm_id
 * (0: none) written. */
int store_dc09_event_applied(struct store *st, int64_t id, int64_t now, int64_t alarm_id);

#endif
