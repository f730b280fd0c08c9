#ifndef NA_DC09_INGEST_H
#define NA_DC09_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dc09/codes.h"
#include "dc09/frame.h"
#include "store/store.h"

struct watch;

/*
 * One received DC-09 frame, from bytes to a stored event and the answer to send: the
 * receiver's writer thread calls dc09_ingest for each frame of a batch inside one
 * transaction, commits, and only then sends the answers (durable before acknowledged).
 */

/* A token bucket: at most rate events a second on average, burst at once. */
struct dc09_bucket {
    double rate, burst;
    double tokens;
    int64_t at; /* when tokens was counted (ms) */
};
/* A full bucket. */
void dc09_bucket_init(struct dc09_bucket *b, double rate, double burst);
/* Takes one token at now: false when none is left. */
bool dc09_bucket_take(struct dc09_bucket *b, int64_t now);

struct dc09_ingest_config {
    const struct dc09_codes *codes; /* borrowed */
    /* A message with the same account, sequence and content (not its timestamp) within
     * this of an earlier one is a repeat: acknowledged again, not stored again. */
    int64_t repeat_window_ms;
    int64_t past_ms, future_ms; /* the timestamp window (dc09_timestamp_ok) */
    dc09_random_fn rnd;         /* padding of encrypted answers; NULL: libsodium */
    /* New events of accounts no device has are stored at most at this pace (NULL: no
     * limit); beyond it they are answered DUH and not stored: anyone who reaches the port
     * could otherwise fill the disk with made-up accounts. The caller's thread alone uses
     * it (the receiver's writer). */
    struct dc09_bucket *unassigned;
};

/* What dc09_ingest made of a frame. */
struct dc09_ingest_result {
    int verdict;                 /* DC09_OK, or the dc09_error that was answered */
    enum dc09_token answer;      /* DC09_TOKEN_ACK, _NAK or _DUH */
    char reply[DC09_ANSWER_MAX]; /* to send once the transaction commits */
    size_t reply_len;
    char nak[DC09_ANSWER_MAX]; /* to send instead when it does not commit */
    size_t nak_len;
    bool repeat;           /* acknowledged again; no event stored, only the device's contact */
    int64_t event_id;      /* the stored event; 0: none */
    int64_t pending_at;    /* the event's action is due (watch_dc09_event_changed); 0 */
    int64_t device_id;     /* the device heard from; 0: none */
    int64_t silent_due_at; /* its next loss-of-signal check (watch_device_silent_changed) */
};

/*
 * In the caller's transaction: reads frame p[0..len) (as dc09_frame_next found it;
 * bad_length as it said), looks up its account's device, decrypts, checks the timestamp,
 * and stores the event with the device's contact, test and battery state (a repeat: only
 * its contact). Refusals are answers: a wrong CRC or length, a malformed field, a stale or
 * missing timestamp on an encrypted message, or a key that does not open it: NAK; an
 * unknown id token or an answer's (ACK, NAK, DUH: DC09_ETOKEN), an encrypted message from
 * an account without key, or a plain one from an account that requires encryption: DUH;
 * the result then holds no event. A storage failure is
 * returned, with out->nak filled once the header was read, and the caller rolls back (the
 * receiver's writer then NAKs the refused frame alone and stores the rest of its batch
 * again without it; the whole batch is NAKed only when the database is busy or the commit
 * fails). now is the frame's receipt time; transport is "tcp" or "udp"; peer (may be NULL)
 * the sender's "HOST:PORT".
 */
int dc09_ingest(struct store *st, const struct dc09_ingest_config *cfg, const uint8_t *p,
                size_t len, bool bad_length, const char *transport, const char *peer, int64_t now,
                struct dc09_ingest_result *out);

/* After the commit: hands the event's due action and the device's next check to the
 * watch. */
void dc09_ingest_schedule(struct watch *w, const struct dc09_ingest_result *r);

#endif
