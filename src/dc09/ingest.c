/*
 * One received DC-09 frame into storage (ingest.h). It runs on the receiver's writer
 * thread for every frame of a batch, inside the batch's transaction, tens of thousands of
 * times a second: per frame one device read, one repeat lookup, one insert (none for a
 * repeat) and one device update, nothing else. Whatever the event asks of the watch (an
 * alarm, a notice) is left to a scheduler job through the event's pending_at, so that the
 * frame's cost stays flat.
 */
#include "dc09/ingest.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_devices.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch.h"

/* What one frame is read into: the frame, its readable part and the strings stored. */
struct ingest_msg {
    struct dc09_frame f;
    struct dc09_payload pl;
    struct dc09_meaning meaning;
    size_t code_index;
    uint8_t key[32];
    size_t key_len;
    bool has_key;
    char receiver[8];
    char prefix[8];
    char digest[crypto_hash_sha256_BYTES * 2 + 1];
    char data[DC09_FRAME_MAX + 1];
    char verification[DC09_FRAME_MAX + 1];
};

/* s as a NUL-terminated copy in buf (size n, larger than any slice of a frame); NULL when
 * s is empty. */
static const char *slice_str(struct dc09_slice s, char *buf, size_t n)
{
    if (s.len == 0 || s.len >= n)
        return NULL;
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    return buf;
}

/* The answer to a frame that stores nothing: answer (NAK or DUH) for verdict. */
static void refuse(struct dc09_ingest_result *out, const struct dc09_frame *f,
                   enum dc09_token answer, int verdict)
{
    out->verdict = verdict;
    out->answer = answer;
    if (answer == DC09_TOKEN_NAK) {
        memcpy(out->reply, out->nak, out->nak_len);
        out->reply_len = out->nak_len;
    } else if (dc09_answer_duh(f, out->reply, &out->reply_len) < 0) {
        out->reply_len = 0;
    }
}

void dc09_bucket_init(struct dc09_bucket *b, double rate, double burst)
{
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->at = 0;
}

bool dc09_bucket_take(struct dc09_bucket *b, int64_t now)
{
    if (now > b->at) {
        double refill = b->at ? (double)(now - b->at) / 1000.0 * b->rate : b->burst;
        b->tokens = b->tokens + refill > b->burst ? b->burst : b->tokens + refill;
        b->at = now;
    }
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

/* Hex SHA-256 of what makes a message itself: token, account, data and extended data,
 * not its timestamp or padding (a transmitter's retry carries a new time). */
static void message_digest(struct ingest_msg *m)
{
    static const unsigned char bar = '|';
    const char *token = dc09_token_name(m->f.token);
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)token, strlen(token));
    crypto_hash_sha256_update(&h, &bar, 1);
    crypto_hash_sha256_update(&h, (const unsigned char *)m->f.account_norm,
                              strlen(m->f.account_norm));
    crypto_hash_sha256_update(&h, &bar, 1);
    crypto_hash_sha256_update(&h, (const unsigned char *)m->pl.data.p, m->pl.data.len);
    for (size_t i = 0; i < m->pl.x.n_fields; i++) {
        crypto_hash_sha256_update(&h, &bar, 1);
        crypto_hash_sha256_update(&h, (const unsigned char *)m->pl.x.fields[i].p,
                                  m->pl.x.fields[i].len);
    }
    crypto_hash_sha256_final(&h, hash);
    sodium_bin2hex(m->digest, sizeof m->digest, hash, sizeof hash);
}

/* The extended data without a column of its own, as a JSON object by type letter;
 * NULL when there is none. Caller frees. */
static char *extra_json(const struct dc09_xdata *x)
{
    json_t *o = NULL;
    char *text = NULL;
    for (size_t i = 0; i < x->n_fields; i++) {
        const struct dc09_slice *s = &x->fields[i];
        char type[2] = {s->p[0], '\0'};
        if (strchr("XYHV", type[0]))
            continue;
        if (!o)
            o = json_object();
        json_object_set_new(o, type, json_stringn(s->p + 1, s->len - 1));
    }
    if (o)
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

/* The device's key for an encrypted message; false without one (answered DUH). */
static bool device_key(const struct device_row *d, struct ingest_msg *m)
{
    m->has_key = d && d->dc09_key && dc09_key_parse(d->dc09_key, m->key, &m->key_len) == 0;
    return m->has_key;
}

/* The readable part of the frame, checked as the standard asks; a verdict, and in *answer
 * the refusal's kind. */
static int read_payload(const struct dc09_ingest_config *cfg, const struct device_row *d,
                        struct ingest_msg *m, int64_t now, enum dc09_token *answer)
{
    int v;
    *answer = DC09_TOKEN_NAK;
    if (m->f.encrypted) {
        if (!device_key(d, m)) {
            *answer = DC09_TOKEN_DUH;
            return DC09_EDECRYPT;
        }
        v = dc09_payload_decrypt(&m->f, m->key, m->key_len, &m->pl);
        if (v == DC09_OK &&
            !dc09_timestamp_ok(m->pl.timestamp_ms, now, cfg->past_ms, cfg->future_ms))
            v = DC09_ETIMESTAMP;
        return v;
    }
    if (d && d->dc09_encryption_required) {
        *answer = DC09_TOKEN_DUH;
        return DC09_ETOKEN;
    }
    /* A plain message's time is kept, not checked: the standard checks encrypted ones. */
    return dc09_payload_parse(&m->f, &m->pl);
}

/* Whether the event's action is left to the watch (pending_at). */
static bool event_pending(const struct device_row *d, enum dc09_action a)
{
    if (!d) /* unassigned: no alarm to open, but a panic must still reach someone */
        return a == DC09_ACTION_RED || a == DC09_ACTION_DURESS;
    if (d->lost_at)
        return true; /* its return is told by the job */
    switch (a) {
    case DC09_ACTION_RED:
    case DC09_ACTION_DURESS:
    case DC09_ACTION_TEST:
    case DC09_ACTION_AMBER:
    case DC09_ACTION_POSITION:
        return true;
    case DC09_ACTION_BATTERY_LOW:
        return !d->battery_low; /* once per low spell */
    default:
        return false;
    }
}

/* The event row of m (strings borrowed from m, cfg and the device). */
static void event_fill(struct ingest_msg *m, const struct device_row *d, const char *transport,
                       const char *peer, int64_t now, struct dc09_event_row *e)
{
    const struct dc09_code *c = m->pl.n_codes ? &m->pl.codes[m->code_index] : NULL;
    const struct dc09_xdata *x = &m->pl.x;
    memset(e, 0, sizeof *e);
    e->organisation_id = d ? d->organisation_id : 0;
    e->device_id = d ? d->id : 0;
    e->worker_id = d ? d->worker_id : 0;
    e->account = m->f.account_norm;
    e->receiver = (char *)slice_str(m->f.receiver, m->receiver, sizeof m->receiver);
    e->prefix = (char *)slice_str(m->f.prefix, m->prefix, sizeof m->prefix);
    e->token = (char *)dc09_token_name(m->f.token);
    e->encrypted = m->f.encrypted;
    e->seq = (int)m->f.seq;
    e->digest = m->digest;
    e->code = c && c->code[0] ? (char *)c->code : NULL;
    e->zone = c && c->zone[0] ? (char *)c->zone : NULL;
    e->action = (char *)dc09_action_name(m->meaning.action);
    e->label = (char *)m->meaning.label;
    e->data = (char *)slice_str(m->pl.data, m->data, sizeof m->data);
    if (!e->data)
        e->data = (char *)"";
    e->has_position = x->has_position;
    e->latitude = x->latitude;
    e->longitude = x->longitude;
    e->event_at = x->has_event_time ? x->event_time_ms : 0;
    e->sent_at = m->pl.has_timestamp ? m->pl.timestamp_ms : 0;
    e->verification = (char *)slice_str(x->verification, m->verification, sizeof m->verification);
    e->transport = (char *)transport;
    e->peer = (char *)peer;
    e->received_at = now;
    e->pending_at = event_pending(d, m->meaning.action) ? now : 0;
}

/* Any message, a repeat too, is contact: the device is heard, its check moves on. */
static void device_contact(struct device_row *d, int64_t now)
{
    d->last_contact_at = now;
    /* A lost device stays unsupervised until the job has told its return. */
    d->silent_due_at = d->supervision_ms && !d->lost_at ? now + d->supervision_ms : 0;
}

/* What the message tells of its device: in contact, supervised, tested, its battery. */
static void device_heard(struct device_row *d, enum dc09_action a, int64_t now)
{
    device_contact(d, now);
    if (a == DC09_ACTION_LINK || a == DC09_ACTION_TEST)
        d->last_test_at = now;
    if (a == DC09_ACTION_BATTERY_LOW || a == DC09_ACTION_BATTERY_OK) {
        d->battery_low = a == DC09_ACTION_BATTERY_LOW;
        d->battery_at = now;
    }
}

/* Writes device d's new state (one statement); out gets its next check. */
static int device_write(struct store *st, const struct device_row *d,
                        struct dc09_ingest_result *out)
{
    int rc = store_device_contact(st, d);
    out->device_id = d->id;
    out->silent_due_at = d->silent_due_at;
    return rc;
}

/* Stores the event of m and its device's new state; out gets what to schedule. */
static int store_message(struct store *st, struct ingest_msg *m, struct device_row *d,
                         const char *transport, const char *peer, int64_t now,
                         struct dc09_ingest_result *out)
{
    struct dc09_event_row e;
    event_fill(m, d, transport, peer, now, &e);
    e.extra = extra_json(&m->pl.x);
    int rc = store_dc09_event_add(st, &e, &out->event_id);
    free(e.extra);
    out->pending_at = rc ? 0 : e.pending_at;
    if (rc || !d)
        return rc;
    device_heard(d, m->meaning.action, now);
    return device_write(st, d, out);
}

/* A repeat stores nothing, but its device is sending: a transmitter that retries because
 * our ACKs do not reach it must not be declared lost meanwhile. */
static int store_repeat(struct store *st, struct device_row *d, int64_t now,
                        struct dc09_ingest_result *out)
{
    if (!d)
        return 0;
    device_contact(d, now);
    return device_write(st, d, out);
}

/* device_row_fini, the key wiped first: every lookup reads it, needed or not. */
static void device_done(struct device_row *d)
{
    if (d->dc09_key)
        sodium_memzero(d->dc09_key, strlen(d->dc09_key));
    device_row_fini(d);
}

/* The answers a transmitter reads: sent to a receiver they are no message to store. */
static bool answer_token(enum dc09_token t)
{
    return t == DC09_TOKEN_ACK || t == DC09_TOKEN_NAK || t == DC09_TOKEN_DUH;
}

/* The frame's header into m->f, and the NAK every frame can fall back on. */
static int read_frame(const uint8_t *p, size_t len, bool bad_length, struct ingest_msg *m,
                      int64_t now, struct dc09_ingest_result *out)
{
    int v = dc09_frame_parse(p, len, &m->f);
    if (bad_length)
        v = DC09_ELENGTH;
    if (dc09_answer_nak(&m->f, now, out->nak, &out->nak_len) < 0)
        out->nak_len = 0;
    return v;
}

/* The ACK of a stored (or repeated) message, encrypted when it was. */
static void acknowledge(const struct dc09_ingest_config *cfg, struct ingest_msg *m, int64_t now,
                        struct dc09_ingest_result *out)
{
    out->verdict = DC09_OK;
    out->answer = DC09_TOKEN_ACK;
    if (dc09_answer_ack(&m->f, m->f.encrypted ? m->key : NULL, m->key_len, now, cfg->rnd,
                        out->reply, &out->reply_len) < 0)
        out->reply_len = 0;
}

int dc09_ingest(struct store *st, const struct dc09_ingest_config *cfg, const uint8_t *p,
                size_t len, bool bad_length, const char *transport, const char *peer, int64_t now,
                struct dc09_ingest_result *out)
{
    /* On the stack, not zeroed: about 12 KiB, most of it buffers each read fills first. */
    struct ingest_msg m;
    struct device_row d = {0};
    enum dc09_token answer;
    int64_t repeat = 0;
    int rc = 0;
    memset(out, 0, sizeof *out);
    m.has_key = false;
    m.key_len = 0;
    m.code_index = 0;
    int v = read_frame(p, len, bad_length, &m, now, out);
    if (v == DC09_OK && answer_token(m.f.token))
        v = DC09_ETOKEN;
    if (v != DC09_OK) {
        refuse(out, &m.f, v == DC09_ETOKEN ? DC09_TOKEN_DUH : DC09_TOKEN_NAK, v);
        return 0;
    }
    rc = store_device_by_account(st, m.f.account_norm, &d);
    bool known = rc == 0;
    if (rc && rc != -NA_ENOTFOUND)
        goto done;
    rc = 0;
    v = read_payload(cfg, known ? &d : NULL, &m, now, &answer);
    if (v != DC09_OK) {
        refuse(out, &m.f, answer, v);
        goto done;
    }
    dc09_codes_message(cfg->codes, m.f.token, &m.pl, &m.meaning, &m.code_index);
    message_digest(&m);
    rc = store_dc09_event_repeat(st, m.f.account_norm, (int)m.f.seq, m.digest,
                                 now - cfg->repeat_window_ms, &repeat);
    out->repeat = !rc && repeat;
    if (!rc && repeat) {
        rc = store_repeat(st, known ? &d : NULL, now, out);
    } else if (!rc && !known && cfg->unassigned && !dc09_bucket_take(cfg->unassigned, now)) {
        refuse(out, &m.f, DC09_TOKEN_DUH, DC09_ELIMIT);
        goto done;
    } else if (!rc) {
        rc = store_message(st, &m, known ? &d : NULL, transport, peer, now, out);
    }
    if (!rc)
        acknowledge(cfg, &m, now, out);
done:
    device_done(&d);
    sodium_memzero(m.key, sizeof m.key);
    return rc;
}

void dc09_ingest_schedule(struct watch *w, const struct dc09_ingest_result *r)
{
    if (r->pending_at)
        watch_dc09_event_changed(w, r->event_id, r->pending_at);
    if (r->device_id)
        watch_device_silent_changed(w, r->device_id, r->silent_due_at);
}
