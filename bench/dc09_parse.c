/*
 * What reading a DC-09 frame costs without I/O: over a buffer of 100 frames, find each
 * (dc09_frame_next), check it (dc09_frame_parse), read its payload (dc09_payload_parse, or
 * dc09_payload_decrypt) and write its ACK (dc09_answer_ack), many times over, plain and
 * AES-128 encrypted in one run. Prints one key=value figure per line.
 *
 *   na_dc09_parse [rounds]     (default 20000 rounds of 100 frames)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dc09/frame.h"
#include "util/alloc.h"

#define FRAMES 100
#define NOW    INT64_C(1795435200000) /* 2026-11-23T12:00:00Z */

static const uint8_t key[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};

/* Fixed padding: the same work as random padding, without the system's generator. */
static void pad_fixed(void *buf, size_t n)
{
    memset(buf, 'A', n);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* FRAMES copies of a SIA-DCS panic with receiver, position and timestamp; *n_out bytes. */
static uint8_t *make_stream(bool encrypted, size_t *n_out, size_t *frame_len)
{
    struct dc09_build b = {.token = DC09_TOKEN_SIA_DCS,
                           .seq = 12,
                           .receiver = "1",
                           .prefix = "232",
                           .account = "78919",
                           .data = "Nri1/PA501",
                           .xdata = "[XE012.3456][YN55.1234]",
                           .timestamp = true,
                           .now = NOW,
                           .key = encrypted ? key : NULL,
                           .key_len = sizeof key,
                           .rnd = pad_fixed};
    char one[DC09_FRAME_MAX];
    size_t len;
    if (dc09_build(&b, one, sizeof one, &len) != 0) {
        fprintf(stderr, "na_dc09_parse: cannot build the frame\n");
        exit(1);
    }
    uint8_t *stream = xmalloc(len * FRAMES);
    for (size_t i = 0; i < FRAMES; i++)
        memcpy(stream + i * len, one, len);
    *n_out = len * FRAMES;
    *frame_len = len;
    return stream;
}

/* Reads and answers every frame of stream; the number read. */
static size_t read_all(const uint8_t *stream, size_t n, struct dc09_payload *pl)
{
    size_t at = 0, read = 0;
    while (at < n) {
        struct dc09_span sp;
        struct dc09_frame f;
        char answer[DC09_ANSWER_MAX];
        size_t answer_len;
        dc09_frame_next(stream + at, n - at, DC09_FRAME_MAX, &sp);
        if (sp.len == 0)
            break;
        at += sp.skip;
        if (dc09_frame_parse(stream + at, sp.len, &f) == DC09_OK &&
            (f.encrypted ? dc09_payload_decrypt(&f, key, sizeof key, pl)
                         : dc09_payload_parse(&f, pl)) == DC09_OK &&
            dc09_answer_ack(&f, f.encrypted ? key : NULL, sizeof key, NOW, pad_fixed, answer,
                            &answer_len) == DC09_OK)
            read++;
        at += sp.len;
    }
    return read;
}

static void run(const char *name, bool encrypted, long rounds, struct dc09_payload *pl)
{
    size_t n, frame_len, read = 0;
    uint8_t *stream = make_stream(encrypted, &n, &frame_len);
    int64_t t0 = mono_ns();
    for (long r = 0; r < rounds; r++)
        read += read_all(stream, n, pl);
    int64_t ns = mono_ns() - t0;
    free(stream);
    if (read != (size_t)rounds * FRAMES) {
        fprintf(stderr, "na_dc09_parse: %s: %zu of %ld frames read\n", name, read, rounds * FRAMES);
        exit(1);
    }
    printf("%s_frame_bytes=%zu\n%s_ns_per_frame=%.0f\n%s_frames_per_s=%.0f\n", name, frame_len,
           name, (double)ns / (double)read, name, (double)read * 1e9 / (double)ns);
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    if (rounds <= 0) {
        fprintf(stderr, "usage: na_dc09_parse [rounds]\n");
        return 2;
    }
    struct dc09_payload *pl = xmalloc(sizeof *pl);
    run("plain", false, rounds, pl);
    run("aes128", true, rounds, pl);
    free(pl);
    return 0;
}
