#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "dc09/frame.h"
#include "dc09/frame_int.h"

/*
 * The writing side of DC-09: the CRC, AES-CBC, hex, keys, and the frames this receiver
 * and the sending tool write (answers and built messages).
 */

/* CRC-16/ARC a byte at a time (polynomial 0x8005 reflected: 0xA001); the table is the CRC
 * of each byte value alone. */
static const uint16_t crc_table[256] = {
    0x0000, 0xC0C1, 0xC181, 0x0140, 0xC301, 0x03C0, 0x0280, 0xC241, 0xC601, 0x06C0, 0x0780, 0xC741,
    0x0500, 0xC5C1, 0xC481, 0x0440, 0xCC01, 0x0CC0, 0x0D80, 0xCD41, 0x0F00, 0xCFC1, 0xCE81, 0x0E40,
    0x0A00, 0xCAC1, 0xCB81, 0x0B40, 0xC901, 0x09C0, 0x0880, 0xC841, 0xD801, 0x18C0, 0x1980, 0xD941,
    0x1B00, 0xDBC1, 0xDA81, 0x1A40, 0x1E00, 0xDEC1, 0xDF81, 0x1F40, 0xDD01, 0x1DC0, 0x1C80, 0xDC41,
    0x1400, 0xD4C1, 0xD581, 0x1540, 0xD701, 0x17C0, 0x1680, 0xD641, 0xD201, 0x12C0, 0x1380, 0xD341,
    0x1100, 0xD1C1, 0xD081, 0x1040, 0xF001, 0x30C0, 0x3180, 0xF141, 0x3300, 0xF3C1, 0xF281, 0x3240,
    0x3600, 0xF6C1, 0xF781, 0x3740, 0xF501, 0x35C0, 0x3480, 0xF441, 0x3C00, 0xFCC1, 0xFD81, 0x3D40,
    0xFF01, 0x3FC0, 0x3E80, 0xFE41, 0xFA01, 0x3AC0, 0x3B80, 0xFB41, 0x3900, 0xF9C1, 0xF881, 0x3840,
    0x2800, 0xE8C1, 0xE981, 0x2940, 0xEB01, 0x2BC0, 0x2A80, 0xEA41, 0xEE01, 0x2EC0, 0x2F80, 0xEF41,
    0x2D00, 0xEDC1, 0xEC81, 0x2C40, 0xE401, 0x24C0, 0x2580, 0xE541, 0x2700, 0xE7C1, 0xE681, 0x2640,
    0x2200, 0xE2C1, 0xE381, 0x2340, 0xE101, 0x21C0, 0x2080, 0xE041, 0xA001, 0x60C0, 0x6180, 0xA141,
    0x6300, 0xA3C1, 0xA281, 0x6240, 0x6600, 0xA6C1, 0xA781, 0x6740, 0xA501, 0x65C0, 0x6480, 0xA441,
    0x6C00, 0xACC1, 0xAD81, 0x6D40, 0xAF01, 0x6FC0, 0x6E80, 0xAE41, 0xAA01, 0x6AC0, 0x6B80, 0xAB41,
    0x6900, 0xA9C1, 0xA881, 0x6840, 0x7800, 0xB8C1, 0xB981, 0x7940, 0xBB01, 0x7BC0, 0x7A80, 0xBA41,
    0xBE01, 0x7EC0, 0x7F80, 0xBF41, 0x7D00, 0xBDC1, 0xBC81, 0x7C40, 0xB401, 0x74C0, 0x7580, 0xB541,
    0x7700, 0xB7C1, 0xB681, 0x7640, 0x7200, 0xB2C1, 0xB381, 0x7340, 0xB101, 0x71C0, 0x7080, 0xB041,
    0x5000, 0x90C1, 0x9181, 0x5140, 0x9301, 0x53C0, 0x5280, 0x9241, 0x9601, 0x56C0, 0x5780, 0x9741,
    0x5500, 0x95C1, 0x9481, 0x5440, 0x9C01, 0x5CC0, 0x5D80, 0x9D41, 0x5F00, 0x9FC1, 0x9E81, 0x5E40,
    0x5A00, 0x9AC1, 0x9B81, 0x5B40, 0x9901, 0x59C0, 0x5880, 0x9841, 0x8801, 0x48C0, 0x4980, 0x8941,
    0x4B00, 0x8BC1, 0x8A81, 0x4A40, 0x4E00, 0x8EC1, 0x8F81, 0x4F40, 0x8D01, 0x4DC0, 0x4C80, 0x8C41,
    0x4400, 0x84C1, 0x8581, 0x4540, 0x8701, 0x47C0, 0x4680, 0x8641, 0x8201, 0x42C0, 0x4380, 0x8341,
    0x4100, 0x81C1, 0x8081, 0x4040};

uint16_t dc09_crc16(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++)
        crc = (uint16_t)((crc >> 8) ^ crc_table[(crc ^ b[i]) & 0xFF]);
    return crc;
}

int dc09_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int dc09_hex_decode(const char *hex, size_t n, uint8_t *out)
{
    if (n % 2 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = dc09_hex_value(hex[i]);
        int lo = dc09_hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void dc09_hex_upper(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0F];
    }
}

bool dc09_hex_ok(const char *s, size_t len, size_t min, size_t max)
{
    if (len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (dc09_hex_value(s[i]) < 0)
            return false;
    return true;
}

bool dc09_account_ok(const char *s, size_t len)
{
    return dc09_hex_ok(s, len, 3, 16);
}

void dc09_upper(const char *s, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
}

int dc09_key_parse(const char *hex, uint8_t key[32], size_t *key_len)
{
    if (!hex)
        return -1;
    size_t n = strnlen(hex, 65);
    if (n != 32 && n != 48 && n != 64)
        return -1;
    if (dc09_hex_decode(hex, n, key) < 0)
        return -1;
    *key_len = n / 2;
    return 0;
}

/* The ciphers, fetched once: OpenSSL 3 looks an implicit EVP_aes_*_cbc() up again on
 * every init, under a lock, which cost more than the decryption itself. */
static EVP_CIPHER *ciphers[3];
static pthread_once_t ciphers_once = PTHREAD_ONCE_INIT;

static void ciphers_fetch(void)
{
    ciphers[0] = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    ciphers[1] = EVP_CIPHER_fetch(NULL, "AES-192-CBC", NULL);
    ciphers[2] = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
}

static const EVP_CIPHER *aes_cipher(size_t key_len)
{
    if (key_len != 16 && key_len != 24 && key_len != 32)
        return NULL;
    if (pthread_once(&ciphers_once, ciphers_fetch) != 0)
        return NULL;
    return ciphers[(key_len - 16) / 8];
}

int dc09_aes_cbc(bool encrypt, const uint8_t *key, size_t key_len, const uint8_t *in, size_t n,
                 uint8_t *out)
{
    static const uint8_t iv[16];
    const EVP_CIPHER *cipher = aes_cipher(key_len);
    if (!cipher || n % 16 != 0 || n > INT32_MAX)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -1;
    int rc = -1, len = 0, fin = 0;
    if (EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt ? 1 : 0) != 1)
        goto done;
    if (EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
        goto done;
    if (EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
        goto done;
    if (EVP_CipherFinal_ex(ctx, out + len, &fin) != 1 || (size_t)(len + fin) != n)
        goto done;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* Writes v as exactly n decimal digits at out. */
static void put_digits(char *out, int v, size_t n)
{
    for (size_t i = n; i-- > 0; v /= 10)
        out[i] = (char)('0' + v % 10);
}

void dc09_ts_write(int64_t t, char out[DC09_TS_LEN])
{
    time_t secs = (time_t)(t >= 0 ? t / 1000 : 0);
    struct tm tm;
    memcpy(out, "_00:00:00,01-01-1970", DC09_TS_LEN);
    /* A time gmtime_r cannot break up, or past year 9999, is written as the epoch: the
     * caller's clock is broken and a well-formed answer is still owed. */
    if (!gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999)
        return;
    put_digits(out + 1, tm.tm_hour, 2);
    put_digits(out + 4, tm.tm_min, 2);
    put_digits(out + 7, tm.tm_sec, 2);
    put_digits(out + 10, tm.tm_mon + 1, 2);
    put_digits(out + 13, tm.tm_mday, 2);
    put_digits(out + 16, tm.tm_year + 1900, 4);
}

/* A message being written: appends stop at cap and set err, checked once at the end. */
struct msg {
    char *p;
    size_t len, cap;
    bool err;
};

static void put(struct msg *m, const void *s, size_t n)
{
    if (m->err || n > m->cap - m->len) {
        m->err = true;
        return;
    }
    memcpy(m->p + m->len, s, n);
    m->len += n;
}

static void puts_(struct msg *m, const char *s)
{
    put(m, s, strlen(s));
}

static void put_slice(struct msg *m, struct dc09_slice s)
{
    put(m, s.p, s.len);
}

/* Frames message text m (from the opening quote to the end of the timestamp): LF, CRC (hex
 * or two bytes), 0LLL, the text, CR. */
static int frame_wrap(const char *text, size_t n, bool binary, char *out, size_t cap,
                      size_t *out_len)
{
    size_t hdr = binary ? 7 : 9;
    if (n == 0 || n > 0x0FFF || cap < hdr + n + 1)
        return -1;
    uint16_t crc = dc09_crc16(text, n);
    uint8_t crc_bytes[2] = {(uint8_t)(crc >> 8), (uint8_t)(crc & 0xFF)};
    uint8_t len_bytes[2] = {(uint8_t)(n >> 8), (uint8_t)(n & 0xFF)};
    char lhex[4];
    out[0] = '\n';
    if (binary) {
        memcpy(out + 1, crc_bytes, 2);
    } else {
        dc09_hex_upper(crc_bytes, 2, out + 1);
    }
    dc09_hex_upper(len_bytes, 2, lhex);
    out[hdr - 4] = '0';
    memcpy(out + hdr - 3, lhex + 1, 3);
    memcpy(out + hdr, text, n);
    out[hdr + n] = '\r';
    *out_len = hdr + n + 1;
    return 0;
}

/* Padding characters: printable, none of '|', '[' and ']'. */
static void fill_pad(char *pad, size_t n, dc09_random_fn rnd)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint8_t r[16];
    if (n == 0)
        return;
    if (rnd) {
        rnd(r, n);
    } else {
        randombytes_buf(r, n);
    }
    for (size_t i = 0; i < n; i++)
        pad[i] = alphabet[r[i] % (sizeof alphabet - 1)];
}

/* Appends '[' and the upper-case hex of AES-CBC over pad '|' plain[0..n) to m. */
static int put_encrypted(struct msg *m, const char *plain, size_t n, const uint8_t *key,
                         size_t key_len, dc09_random_fn rnd)
{
    uint8_t clear[DC09_FRAME_MAX / 2];
    uint8_t sealed[DC09_FRAME_MAX / 2];
    char hex[DC09_FRAME_MAX];
    size_t pad = (16 - (n + 1) % 16) % 16;
    size_t total = pad + 1 + n;
    if (total > sizeof clear)
        return -1;
    if (!rnd && sodium_init() < 0)
        return -1;
    fill_pad((char *)clear, pad, rnd);
    clear[pad] = '|';
    memcpy(clear + pad + 1, plain, n);
    if (dc09_aes_cbc(true, key, key_len, clear, total, sealed) < 0)
        return -1;
    dc09_hex_upper(sealed, total, hex);
    put(m, "[", 1);
    put(m, hex, 2 * total);
    return 0;
}

/* Appends the echo of f's header after the token: seq, R (when f had one), L, #acct. */
static void put_echo(struct msg *m, const struct dc09_frame *f)
{
    if (f->seq_text.len == 4) {
        put_slice(m, f->seq_text);
    } else {
        puts_(m, "0000");
    }
    if (f->receiver.len > 0) {
        puts_(m, "R");
        put_slice(m, f->receiver);
    }
    puts_(m, "L");
    if (f->prefix.len > 0) {
        put_slice(m, f->prefix);
    } else {
        puts_(m, "0");
    }
    if (f->account.len > 0) {
        puts_(m, "#");
        put_slice(m, f->account);
    } else {
        puts_(m, "A0");
    }
}

int dc09_answer_ack(const struct dc09_frame *f, const uint8_t *key, size_t key_len, int64_t now,
                    dc09_random_fn rnd, char *out, size_t *out_len)
{
    char text[DC09_ANSWER_MAX];
    struct msg m = {text, 0, sizeof text, false};
    puts_(&m, key ? "\"*ACK\"" : "\"ACK\"");
    put_echo(&m, f);
    if (key) {
        char plain[2 + DC09_TS_LEN] = "]";
        dc09_ts_write(now, plain + 1);
        if (put_encrypted(&m, plain, 1 + DC09_TS_LEN, key, key_len, rnd) < 0)
            return -1;
    } else {
        puts_(&m, "[]");
    }
    if (m.err)
        return -1;
    return frame_wrap(text, m.len, f->crc_binary, out, DC09_ANSWER_MAX, out_len);
}

int dc09_answer_nak(const struct dc09_frame *f, int64_t now, char *out, size_t *out_len)
{
    char text[DC09_ANSWER_MAX];
    char ts[DC09_TS_LEN];
    struct msg m = {text, 0, sizeof text, false};
    puts_(&m, "\"NAK\"0000");
    /* The prefix is read right after the receiver: without it neither was read, and the
     * standard's placeholders stand in. */
    if (!f || f->prefix.len == 0) {
        puts_(&m, "R0L0");
    } else {
        if (f->receiver.len > 0) {
            puts_(&m, "R");
            put_slice(&m, f->receiver);
        }
        puts_(&m, "L");
        put_slice(&m, f->prefix);
    }
    puts_(&m, "A0[]");
    dc09_ts_write(now, ts);
    put(&m, ts, DC09_TS_LEN);
    if (m.err)
        return -1;
    return frame_wrap(text, m.len, f ? f->crc_binary : false, out, DC09_ANSWER_MAX, out_len);
}

int dc09_answer_duh(const struct dc09_frame *f, char *out, size_t *out_len)
{
    char text[DC09_ANSWER_MAX];
    struct msg m = {text, 0, sizeof text, false};
    puts_(&m, "\"DUH\"");
    put_echo(&m, f);
    puts_(&m, "[]");
    if (m.err)
        return -1;
    return frame_wrap(text, m.len, f->crc_binary, out, DC09_ANSWER_MAX, out_len);
}

/* Whether s (may be NULL) is min..max hex digits. */
static bool hex_field(const char *s, size_t min, size_t max)
{
    return s && dc09_hex_ok(s, strnlen(s, max + 1), min, max);
}

/* Whether s is printable ASCII, at most max characters, none of the characters in not. */
static bool text_field(const char *s, size_t max, const char * not )
{
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7E || strchr(not, s[i]))
            return false;
    }
    return true;
}

static bool build_valid(const struct dc09_build *b)
{
    if (b->token != DC09_TOKEN_SIA_DCS && b->token != DC09_TOKEN_ADM_CID &&
        b->token != DC09_TOKEN_NULL)
        return false;
    if (b->seq > 9999 || !b->account || !dc09_account_ok(b->account, strnlen(b->account, 17)))
        return false;
    if (b->receiver && !hex_field(b->receiver, 1, 6))
        return false;
    if (b->prefix && !hex_field(b->prefix, 1, 6))
        return false;
    if (b->data && !text_field(b->data, DC09_FRAME_MAX, "[]"))
        return false;
    if (b->token == DC09_TOKEN_NULL && b->data && b->data[0])
        return false;
    if (b->xdata && b->xdata[0]) {
        size_t n = strnlen(b->xdata, DC09_FRAME_MAX + 1);
        if (!text_field(b->xdata, DC09_FRAME_MAX, "") || b->xdata[0] != '[' ||
            b->xdata[n - 1] != ']')
            return false;
    }
    if (b->key && !aes_cipher(b->key_len))
        return false;
    return true;
}

/* The part of a built message after its data block's '[': "#acct|" data ']' xdata ts. */
static void put_body(struct msg *m, const struct dc09_build *b)
{
    if (b->token != DC09_TOKEN_NULL) {
        puts_(m, "#");
        puts_(m, b->account);
        puts_(m, "|");
        puts_(m, b->data ? b->data : "");
    }
    puts_(m, "]");
    if (b->xdata)
        puts_(m, b->xdata);
    if (b->timestamp || b->key) {
        char ts[DC09_TS_LEN];
        dc09_ts_write(b->now, ts);
        put(m, ts, DC09_TS_LEN);
    }
}

int dc09_build(const struct dc09_build *b, char *out, size_t n, size_t *out_len)
{
    char text[DC09_FRAME_MAX];
    char body[DC09_FRAME_MAX];
    char seq[8];
    struct msg m = {text, 0, sizeof text, false};
    struct msg mb = {body, 0, sizeof body, false};
    if (!build_valid(b))
        return -1;
    puts_(&m, b->key ? "\"*" : "\"");
    puts_(&m, dc09_token_name(b->token));
    snprintf(seq, sizeof seq, "\"%04u", b->seq);
    puts_(&m, seq);
    if (b->receiver) {
        puts_(&m, "R");
        puts_(&m, b->receiver);
    }
    puts_(&m, "L");
    puts_(&m, b->prefix ? b->prefix : "0");
    puts_(&m, "#");
    puts_(&m, b->account);
    put_body(&mb, b);
    if (mb.err)
        return -1;
    if (b->key) {
        if (put_encrypted(&m, body, mb.len, b->key, b->key_len, b->rnd) < 0)
            return -1;
    } else {
        puts_(&m, "[");
        put(&m, body, mb.len);
    }
    if (m.err)
        return -1;
    return frame_wrap(text, m.len, b->crc_binary, out, n, out_len);
}
