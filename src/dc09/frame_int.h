#ifndef NA_DC09_FRAME_INT_H
#define NA_DC09_FRAME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Internals of the dc09 module shared by frame.c (reading) and crypt.c (encryption and
 * writing). Not for use outside src/dc09/frame.c, crypt.c and their tests.
 */

/* Length of a timestamp "_HH:MM:SS,MM-DD-YYYY". */
#define DC09_TS_LEN 20

/* The value of hex digit c (either case); -1 when c is none. */
int dc09_hex_value(char c);

/* Decodes n hex characters (n even, either case) into out (n / 2 bytes). -1 when one is not
 * a hex digit or n is odd. */
int dc09_hex_decode(const char *hex, size_t n, uint8_t *out);

/* Upper-case hex of n bytes into out (2n characters, not NUL-terminated). */
void dc09_hex_upper(const uint8_t *p, size_t n, char *out);

/* AES-CBC with an IV of zeros and no padding over n bytes (a multiple of 16) from in to out
 * (may not overlap). key_len 16, 24 or 32. -1 when the key length is wrong or OpenSSL
 * fails. */
int dc09_aes_cbc(bool encrypt, const uint8_t *key, size_t key_len, const uint8_t *in, size_t n,
                 uint8_t *out);

/* Writes t (UTC ms, >= 0) as "_HH:MM:SS,MM-DD-YYYY" into out (DC09_TS_LEN characters, not
 * NUL-terminated). */
void dc09_ts_write(int64_t t, char out[DC09_TS_LEN]);

/* Reads "HH:MM:SS,MM-DD-YYYY" (19 characters, no leading '_') as UTC ms into *out. -1 when
 * malformed or not a real time (24:00:00, 02-30-2026). */
int dc09_ts_parse(const char *s, size_t n, int64_t *out);

#endif
