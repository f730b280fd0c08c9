#ifndef NA_UTIL_SECRET_H
#define NA_UTIL_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Secrets: random tokens, their hashes, and password hashing (Argon2id through libsodium).
 * secret_init() must succeed before any other call.
 */

#define SECRET_TOKEN_HEX  64 /* hex characters of the random part of a token (256 bits) */
#define SECRET_TOKEN_LEN  (5 + SECRET_TOKEN_HEX) /* "na_s_" or "na_k_" + hex */
#define SECRET_HASH_HEX   64                     /* SHA-256 in hex */
#define SECRET_PWHASH_MAX 128                    /* bytes of an encoded Argon2id hash, with NUL */
#define SECRET_OTP_LEN    24                     /* one-time password "xxxx-xxxx-xxxx-xxxx-xxxx" */

/* Initialises libsodium. -NA_EIO when it cannot. */
int secret_init(void);

/* A new random token "<prefix><64 hex>" into dst (size >= SECRET_TOKEN_LEN + 1). */
void secret_token_new(const char *prefix, char *dst, size_t n);
/* Lowercase hex SHA-256 of len bytes into dst (size >= SECRET_HASH_HEX + 1). */
void secret_hash_hex(const char *data, size_t len, char *dst);

/*
 * Hashes a password with Argon2id (libsodium's interactive limits) into dst
 * (size SECRET_PWHASH_MAX). -NA_EIO when hashing fails (out of memory).
 */
int secret_password_hash(const char *password, size_t len, char dst[SECRET_PWHASH_MAX]);
/* True when password matches the encoded hash. Constant time in the password. */
bool secret_password_verify(const char *hash, const char *password, size_t len);

/* A random one-time password of 20 letters and digits in groups of four (~100 bits). */
void secret_one_time_password(char dst[SECRET_OTP_LEN + 1]);

/* Constant-time comparison of two equal-length byte strings. */
bool secret_equal(const void *a, const void *b, size_t len);

#endif
