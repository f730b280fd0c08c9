#include "util/secret.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/str.h"

int secret_init(void)
{
    return sodium_init() < 0 ? -NA_EIO : 0;
}

void secret_token_new(const char *prefix, char *dst, size_t n)
{
    unsigned char raw[SECRET_TOKEN_HEX / 2];
    char hex[SECRET_TOKEN_HEX + 1];
    randombytes_buf(raw, sizeof raw);
    hex_encode(raw, sizeof raw, hex);
    snprintf(dst, n, "%s%s", prefix, hex);
    sodium_memzero(raw, sizeof raw);
}

void secret_hash_hex(const char *data, size_t len, char *dst)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)data, len);
    hex_encode(digest, sizeof digest, dst);
}

int secret_password_hash(const char *password, size_t len, char dst[SECRET_PWHASH_MAX])
{
    _Static_assert(crypto_pwhash_STRBYTES <= SECRET_PWHASH_MAX, "hash buffer too small");
    if (crypto_pwhash_str_alg(dst, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13))
        return -NA_EIO;
    return 0;
}

bool secret_password_verify(const char *hash, const char *password, size_t len)
{
    if (!hash || strlen(hash) >= crypto_pwhash_STRBYTES)
        return false;
    return crypto_pwhash_str_verify(hash, password, len) == 0;
}

void secret_one_time_password(char dst[SECRET_OTP_LEN + 1])
{
    /* No 0/o, 1/l/i: the password is read off a screen and typed by hand. */
    static const char alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";
    size_t o = 0;
    for (int group = 0; group < 5; group++) {
        if (group)
            dst[o++] = '-';
        for (int i = 0; i < 4; i++)
            dst[o++] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
    }
    dst[o] = '\0';
}

bool secret_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}
