#ifndef NA_DC09_FRAME_H
#define NA_DC09_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * SIA DC-09 (ANSI/SIA DC-09-2013 and its 2021 revision) messages: finding them in a byte
 * stream, checking and reading every field, decrypting, and writing the answers. No I/O,
 * no storage, no clock: the current time is a parameter.
 *
 *   <LF> crc 0LLL "id" seq [Rrcvr] Lpref #acct [data] [x-data]... [timestamp] <CR>
 *
 * crc is CRC-16 (polynomial 0x8005 reflected, initial value 0) of the bytes from the
 * opening quote of the id to the end of the timestamp, as four hex characters (either
 * case) or, as some panels send it, two binary bytes (most significant first); 0LLL is
 * '0' and the hex count of those same bytes. An encrypted message ("*SIA-DCS", "*ADM-CID",
 * "*NULL") carries, after the '[', the hex of AES-CBC (key of 128, 192 or 256 bits, IV of
 * zeros, no padding) over: pad '|' data ']' [x-data]... timestamp, where pad is 0 to 15
 * characters other than '|', '[' and ']' making the length a multiple of 16.
 *
 * Every text field is checked: hex where hex is due, lengths within the standard's, the
 * timestamp a real UTC time. Slices (pointer, length) point into the caller's bytes.
 */

/* Largest frame accepted, LF to CR: the length field's own maximum (0x0FFF bytes between
 * the crc/length header and the CR) plus that header. */
#define DC09_FRAME_MAX (1 + 4 + 4 + 0x0FFF + 1)
/* Largest answer written by dc09_answer_*: enough for an encrypted ACK. */
#define DC09_ANSWER_MAX 256
/* Most codes read from one SIA-DCS data block (further ones are kept in the raw data). */
#define DC09_CODES_MAX 8

/* Results of the calls below (negative, like NA_E* codes, but DC-09's own verdicts). */
enum dc09_error {
    DC09_OK = 0,
    DC09_ECRC = -1,       /* the CRC does not match: answered with NAK */
    DC09_ELENGTH = -2,    /* the length field does not match: answered with NAK */
    DC09_EFORMAT = -3,    /* a field is malformed or out of range: answered with NAK */
    DC09_ETOKEN = -4,     /* an id token this receiver does not know: answered with DUH */
    DC09_EDECRYPT = -5,   /* the key does not open it (no readable data): NAK */
    DC09_ETIMESTAMP = -6, /* encrypted without a timestamp, or outside the window: NAK */
    DC09_ELIMIT = -7,     /* over the receiver's limit of unassigned events: DUH */
};
/* A short name of a verdict for logs and counters ("crc", "length", ...; "ok"). */
const char *dc09_error_name(int err);

/* The id tokens. */
enum dc09_token {
    DC09_TOKEN_UNKNOWN = 0, /* anything else: answered with DUH */
    DC09_TOKEN_SIA_DCS = 1,
    DC09_TOKEN_ADM_CID = 2,
    DC09_TOKEN_NULL = 3,
    DC09_TOKEN_ACK = 4, /* answers, read by the sending tool */
    DC09_TOKEN_NAK = 5,
    DC09_TOKEN_DUH = 6,
};
/* "SIA-DCS", "ADM-CID", "NULL", "ACK", "NAK", "DUH"; "" for unknown. */
const char *dc09_token_name(enum dc09_token t);

/* Where the next frame is in a stream of received bytes. */
struct dc09_span {
    size_t skip; /* bytes before it that belong to no frame: drop them */
    size_t len;  /* the frame, LF to CR, after skip; 0: incomplete, read more */
    /* A frame whose length field does not lead to its CR, delimited by the next CR
     * instead: parse it to answer it (DC09_ELENGTH), then drop it. */
    bool bad_length;
};
/*
 * Finds the next frame in p[0..n). Everything before an LF is skipped; a frame's end is
 * found from its length field, never by searching for CR (a binary CRC may hold one). A
 * header that cannot start a frame is skipped up to the next LF. When no frame can end
 * within max_frame (<= DC09_FRAME_MAX) bytes, the bytes are skipped. Never reads past n.
 */
void dc09_frame_next(const uint8_t *p, size_t n, size_t max_frame, struct dc09_span *out);

/* A slice of the caller's bytes (or of struct dc09_payload's own buffer). */
struct dc09_slice {
    const char *p;
    size_t len;
};

/* The header of a frame, checked. */
struct dc09_frame {
    bool crc_binary; /* the CRC came as two bytes: answers are framed alike */
    enum dc09_token token;
    struct dc09_slice token_text; /* without quotes and '*', as received */
    bool encrypted;
    unsigned seq;               /* 0..9999 */
    struct dc09_slice seq_text; /* the four digits as received, echoed in answers */
    struct dc09_slice receiver; /* hex after 'R', as received; len 0: none given */
    struct dc09_slice prefix;   /* hex after 'L', as received */
    struct dc09_slice account;  /* hex after '#', as received (3..16 characters) */
    char account_norm[17];      /* account in upper case, for lookups */
    struct dc09_slice body;     /* plain: from '[' to the end of the last ']'; encrypted:
                                   the hex after '['; NULL messages may have "[]" */
    bool has_timestamp;         /* plain messages only; encrypted: see the payload */
    int64_t timestamp_ms;       /* UTC */
};

/*
 * Checks the frame p[0..len) (LF to CR, as dc09_frame_next found it) and reads its header
 * into out (slices into p). DC09_ECRC, DC09_ELENGTH, DC09_EFORMAT or DC09_ETOKEN; on
 * DC09_ETOKEN and on DC09_EFORMAT past the account the header fields read so far are set,
 * so that the answer can echo them (out->account.len > 0 then).
 */
int dc09_frame_parse(const uint8_t *p, size_t len, struct dc09_frame *out);

/* Extended data of a message. Slices point into struct dc09_payload.text. */
struct dc09_xdata {
    bool has_position;
    double longitude, latitude; /* X and Y, decimal degrees, west and south negative */
    bool has_event_time;
    int64_t event_time_ms;          /* H: when the event happened (UTC) */
    struct dc09_slice verification; /* V: a verification or audio link; len 0: none */
    struct dc09_slice site;         /* I: the site or alarm text; len 0: none */
    struct dc09_slice program;      /* P; len 0: none */
    struct dc09_slice mac;          /* M: the transmitter's MAC address; len 0: none */
    /* Every extended field, each as "<type><value>", for storage; at most 16. */
    struct dc09_slice fields[16];
    size_t n_fields;
};

/* One event code of a data block. */
struct dc09_code {
    char code[5];  /* ADM-CID: qualifier and event ("1120", "3302"); SIA-DCS: "PA", "YT" */
    char zone[8];  /* ADM-CID: zone or user (3 digits); SIA-DCS: the number after the code */
    char group[4]; /* ADM-CID: the partition (2 digits); SIA-DCS: the "ri" area; "" */
};

/* The readable part of a message: data block, extended data and timestamp. */
struct dc09_payload {
    char text[DC09_FRAME_MAX]; /* plain text of the body (decrypted when it was not) */
    size_t text_len;
    struct dc09_slice data;         /* inside the data block's brackets, without "#acct|" */
    struct dc09_slice data_account; /* the account repeated in the data block; len 0 */
    struct dc09_code codes[DC09_CODES_MAX];
    size_t n_codes; /* 0 for NULL messages */
    struct dc09_xdata x;
    bool has_timestamp;
    int64_t timestamp_ms;
};

/*
 * Reads the body of f (a plain message) into out: the data block of its token (ADM-CID:
 * "QEEE GG ZZZ"; SIA-DCS: "N", modifiers such as "ri1", "id", "ti12:00" and two-letter codes
 * with optional numbers, separated by '/'; NULL: "[]"), the extended data and the timestamp.
 * DC09_EFORMAT when anything is malformed.
 */
int dc09_payload_parse(const struct dc09_frame *f, struct dc09_payload *out);

/*
 * Decrypts the body of an encrypted f with key (key_len 16, 24 or 32 bytes) and reads it
 * like dc09_payload_parse. DC09_EDECRYPT when the hex is malformed or the plain text is not
 * pad '|' ...; DC09_EFORMAT when it opens but is malformed; DC09_ETIMESTAMP when it has no
 * timestamp.
 */
int dc09_payload_decrypt(const struct dc09_frame *f, const uint8_t *key, size_t key_len,
                         struct dc09_payload *out);

/* Whether a message time t is acceptable at now: from now - past_ms to now + future_ms
 * (the standard's window is 40 s back and 20 s ahead). */
bool dc09_timestamp_ok(int64_t t, int64_t now, int64_t past_ms, int64_t future_ms);

/* Parses a key of 32, 48 or 64 hex characters into key (32 bytes); *key_len gets 16, 24
 * or 32. -1 when malformed. */
int dc09_key_parse(const char *hex, uint8_t key[32], size_t *key_len);

/* Whether s[0..len) is min..max hex digits (either case). */
bool dc09_hex_ok(const char *s, size_t len, size_t min, size_t max);
/* Whether s[0..len) is an account number: 3 to 16 hex digits (either case). */
bool dc09_account_ok(const char *s, size_t len);
/* Copies s[0..len) to out (len characters, not NUL-terminated; out may be s), its
 * lower-case letters in upper case: how accounts and keys are stored and compared. */
void dc09_upper(const char *s, size_t len, char *out);

/* The CRC of p[0..n). */
uint16_t dc09_crc16(const void *p, size_t n);

/* Where an answer's padding comes from: fills buf with n random bytes. NULL: libsodium. */
typedef void (*dc09_random_fn)(void *buf, size_t n);

/*
 * The answers, framed and ready to send (LF to CR) into out (at least DC09_ANSWER_MAX);
 * *out_len gets the length. Each echoes f's sequence, receiver (omitted when f had none),
 * prefix and account; the CRC is written as f's was (hex or binary).
 * ACK: encrypted ("*ACK", pad '|' ']' timestamp) when key is not NULL, else plain "[]".
 * NAK: "NAK" with sequence 0000, f's receiver and prefix (R0 L0 when f is NULL or they
 * were not read), "A0[]" and now as timestamp; never encrypted.
 * DUH: plain "[]".
 */
int dc09_answer_ack(const struct dc09_frame *f, const uint8_t *key, size_t key_len, int64_t now,
                    dc09_random_fn rnd, char *out, size_t *out_len);
int dc09_answer_nak(const struct dc09_frame *f, int64_t now, char *out, size_t *out_len);
int dc09_answer_duh(const struct dc09_frame *f, char *out, size_t *out_len);

/* A message to build (dc09_build): for the sending tool, the benchmark and tests. */
struct dc09_build {
    enum dc09_token token; /* SIA_DCS, ADM_CID or NULL */
    unsigned seq;
    const char *receiver; /* NULL: omitted */
    const char *prefix;   /* "0" when NULL */
    const char *account;
    const char *data;  /* inside the data block, without "#acct|" ("1120 01 015", "Nri1/PA501") */
    const char *xdata; /* extended data as sent ("[XE12.5][YN55.1]"); NULL: none */
    bool timestamp;    /* append now as timestamp (always when encrypting) */
    int64_t now;
    const uint8_t *key; /* encrypt with it; NULL: plain */
    size_t key_len;
    bool crc_binary;    /* write the CRC as two bytes */
    dc09_random_fn rnd; /* NULL: libsodium */
};
/* Writes the frame (LF to CR) into out (size n). -1 when it does not fit or b is
 * malformed. */
int dc09_build(const struct dc09_build *b, char *out, size_t n, size_t *out_len);

#endif
