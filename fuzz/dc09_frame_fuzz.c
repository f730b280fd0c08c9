/*
 * libFuzzer target for the DC-09 frame parser: the input is a received byte stream. Every
 * frame dc09_frame_next finds in it is parsed, its payload read (or decrypted with a fixed
 * key, the one the seed corpus's encrypted frames use), its codes looked up, and answered;
 * the input is also parsed whole as one frame. Random bytes rarely keep a CRC right, so
 * the input is also framed with a right CRC and length (reaching the message's fields),
 * and encrypted as the clear text of an encrypted message (reaching what a key opens). Besides the
 * sanitizers' findings, it stops on a broken promise: a span past the input, an answer that does
 * not read back as one.
 *
 *   scripts/fuzz-dc09 <build-dir> [seconds]
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dc09/codes.h"
#include "dc09/frame.h"
#include "dc09/frame_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 000102...0F: tests/fixtures/dc09/make_fixtures.py's KEY128. */
static const uint8_t key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static void zero_rnd(void *buf, size_t n)
{
    memset(buf, 0, n);
}

/* An answer must be a frame this parser reads as the answer it is. */
static void check_answer(const char *a, size_t n, enum dc09_token want)
{
    struct dc09_frame f;
    if (n > DC09_ANSWER_MAX || dc09_frame_parse((const uint8_t *)a, n, &f) != DC09_OK ||
        f.token != want)
        abort();
}

static void answer(const struct dc09_frame *f, int rc)
{
    char a[DC09_ANSWER_MAX];
    size_t n = 0;
    if (dc09_answer_nak(rc == DC09_OK || rc == DC09_ETOKEN ? f : NULL, 1767225600000, a, &n) != 0)
        abort();
    check_answer(a, n, DC09_TOKEN_NAK);
    if (rc != DC09_OK && rc != DC09_ETOKEN)
        return;
    if (dc09_answer_duh(f, a, &n) != 0)
        abort();
    check_answer(a, n, DC09_TOKEN_DUH);
    if (rc == DC09_OK) {
        if (dc09_answer_ack(f, f->encrypted ? key : NULL, sizeof key, 1767225600000, zero_rnd, a,
                            &n) != 0)
            abort();
        check_answer(a, n, DC09_TOKEN_ACK);
    }
}

static void one_frame(const uint8_t *p, size_t n, const struct dc09_codes *codes)
{
    static struct dc09_payload pl;
    struct dc09_frame f;
    int rc = dc09_frame_parse(p, n, &f);
    answer(&f, rc);
    if (rc != DC09_OK)
        return;
    if (f.encrypted)
        rc = dc09_payload_decrypt(&f, key, sizeof key, &pl);
    else
        rc = dc09_payload_parse(&f, &pl);
    if (rc != DC09_OK)
        return;
    if (pl.n_codes > DC09_CODES_MAX || pl.x.n_fields > 16 || pl.text_len > sizeof pl.text)
        abort();
    struct dc09_meaning m;
    dc09_codes_message(codes, f.token, &pl, &m, NULL);
    if ((unsigned)m.action > DC09_ACTION_LAST || !m.label)
        abort();
}

/* The input as the message of a frame, with a right CRC and length: hex, or binary when
 * the input's length is odd (an arbitrary, cheap choice that covers both). */
static void framed(const uint8_t *data, size_t size, const struct dc09_codes *codes)
{
    static uint8_t f[DC09_FRAME_MAX];
    size_t n = size < 0x0FFF ? size : 0x0FFF;
    bool binary = n % 2 == 1;
    size_t hdr = binary ? 7 : 9;
    uint16_t crc = dc09_crc16(data, n);
    uint8_t crc_bytes[2] = {(uint8_t)(crc >> 8), (uint8_t)crc};
    uint8_t len_bytes[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    char lhex[4];
    f[0] = '\n';
    if (binary)
        memcpy(f + 1, crc_bytes, 2);
    else
        dc09_hex_upper(crc_bytes, 2, (char *)f + 1);
    dc09_hex_upper(len_bytes, 2, lhex);
    f[hdr - 4] = '0';
    memcpy(f + hdr - 3, lhex + 1, 3);
    memcpy(f + hdr, data, n);
    f[hdr + n] = '\r';
    one_frame(f, hdr + n + 1, codes);
}

/* The input (zero-padded to whole blocks) as the clear text of an encrypted message. */
static void encrypted(const uint8_t *data, size_t size, const struct dc09_codes *codes)
{
    static const char head[] = "\"*ADM-CID\"0001L0#1234[";
    static uint8_t clear[1024], sealed[1024];
    static char msg[sizeof head + 2 * sizeof sealed];
    size_t n = size < sizeof clear ? size : sizeof clear;
    size_t padded = (n + 15) / 16 * 16;
    if (padded == 0)
        return;
    memset(clear, 0, padded);
    memcpy(clear, data, n);
    if (dc09_aes_cbc(true, key, sizeof key, clear, padded, sealed) != 0)
        abort();
    memcpy(msg, head, sizeof head - 1);
    dc09_hex_upper(sealed, padded, msg + sizeof head - 1);
    framed((const uint8_t *)msg, sizeof head - 1 + 2 * padded, codes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dc09_codes *codes;
    if (!codes) {
        char err[128];
        if (dc09_codes_new(NULL, &codes, err, sizeof err) != 0)
            abort();
    }
    size_t off = 0;
    while (off < size) {
        struct dc09_span sp;
        dc09_frame_next(data + off, size - off, DC09_FRAME_MAX, &sp);
        if (sp.skip > size - off || sp.len > size - off - sp.skip)
            abort();
        if (sp.len == 0)
            break; /* the rest is skipped or incomplete */
        if (sp.len > DC09_FRAME_MAX || data[off + sp.skip] != '\n' ||
            data[off + sp.skip + sp.len - 1] != '\r')
            abort();
        one_frame(data + off + sp.skip, sp.len, codes);
        off += sp.skip + sp.len;
    }
    one_frame(data, size, codes);
    framed(data, size, codes);
    encrypted(data, size, codes);
    return 0;
}
