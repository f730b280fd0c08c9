#include "dc09/frame.h"

#include <stddef.h>
#include <string.h>

#include "dc09/frame_int.h"

/*
 * The reading side of DC-09: finding frames in a stream, checking headers, reading data
 * blocks, extended data and timestamps. Nothing here allocates: a frame is read in place
 * and a payload into the caller's struct, so the receiver's cost per frame is a few scans.
 */

const char *dc09_error_name(int err)
{
    switch (err) {
    case DC09_OK:
        return "ok";
    case DC09_ECRC:
        return "crc";
    case DC09_ELENGTH:
        return "length";
    case DC09_EFORMAT:
        return "format";
    case DC09_ETOKEN:
        return "token";
    case DC09_EDECRYPT:
        return "decrypt";
    case DC09_ETIMESTAMP:
        return "timestamp";
    case DC09_ELIMIT:
        return "limit";
    default:
        return "unknown";
    }
}

static const char *const token_names[] = {"", "SIA-DCS", "ADM-CID", "NULL", "ACK", "NAK", "DUH"};

const char *dc09_token_name(enum dc09_token t)
{
    if ((unsigned)t >= sizeof token_names / sizeof token_names[0])
        return "";
    return token_names[t];
}

static bool is_hex(uint8_t c)
{
    return dc09_hex_value((char)c) >= 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_print(uint8_t c)
{
    return c >= 0x20 && c <= 0x7E;
}

/* Whether p[0..n) could begin a frame whose CRC is hex (quote at 9) or binary (quote at 7):
 * 1 when it does, 0 when the bytes so far agree but are too few, -1 when it cannot. */
static int match_header(const uint8_t *p, size_t n, bool binary)
{
    size_t quote = binary ? 7 : 9;
    size_t lim = n < quote + 1 ? n : quote + 1;
    for (size_t i = 1; i < lim; i++) {
        bool ok;
        if (i == quote)
            ok = p[i] == '"';
        else if (i == quote - 4)
            ok = p[i] == '0';
        else if (i > quote - 4)
            ok = is_hex(p[i]);
        else
            ok = binary || is_hex(p[i]); /* a binary CRC's bytes may be anything */
        if (!ok)
            return -1;
    }
    return n > quote ? 1 : 0;
}

/* The header's length (9 for a hex CRC, 7 for a binary one), 0 when too few bytes tell,
 * -1 when p[0..n) (starting at an LF) cannot begin a frame. A quote at 7 rules out a hex
 * CRC (whose length field has a hex digit there), so the two never both match. */
static int header_form(const uint8_t *p, size_t n)
{
    int bin = match_header(p, n, true);
    int hex = match_header(p, n, false);
    if (bin == 1)
        return 7;
    if (hex == 1)
        return 9;
    return bin == 0 || hex == 0 ? 0 : -1;
}

/* The length field of a frame whose header is hdr bytes. */
static size_t header_length(const uint8_t *p, int hdr)
{
    const uint8_t *l = p + hdr - 3;
    return (size_t)(dc09_hex_value((char)l[0]) << 8 | dc09_hex_value((char)l[1]) << 4 |
                    dc09_hex_value((char)l[2]));
}

/* The frame at q[0..m) (q[0] is an LF): 1 with out->len set, 0 when more bytes are needed,
 * -1 when this LF starts no frame. */
static int frame_at(const uint8_t *q, size_t m, size_t max, struct dc09_span *out)
{
    int hdr = header_form(q, m);
    if (hdr <= 0)
        return hdr;
    size_t len = header_length(q, hdr);
    size_t total = (size_t)hdr + len + 1;
    if (total > max)
        return -1;
    if (m >= total && q[total - 1] == '\r') {
        out->len = total;
        return 1;
    }
    /* No CR may stand in the message itself (printable or hex only), so a CR after the
     * header ends a frame whose length is wrong: it is answered rather than waited on. */
    size_t lim = m < max ? m : max;
    const uint8_t *cr = memchr(q + hdr, '\r', lim - (size_t)hdr);
    if (cr) {
        out->len = (size_t)(cr - q) + 1;
        out->bad_length = true;
        return 1;
    }
    return m >= max ? -1 : 0;
}

void dc09_frame_next(const uint8_t *p, size_t n, size_t max_frame, struct dc09_span *out)
{
    size_t i = 0;
    if (max_frame > DC09_FRAME_MAX)
        max_frame = DC09_FRAME_MAX;
    out->len = 0;
    out->bad_length = false;
    while (i < n) {
        const uint8_t *lf = memchr(p + i, '\n', n - i);
        if (!lf)
            break;
        size_t s = (size_t)(lf - p);
        if (frame_at(lf, n - s, max_frame, out) >= 0) {
            out->skip = s;
            return;
        }
        i = s + 1;
    }
    out->skip = n;
}

/* Reads a run of min..max hex digits at s[*i..n) into *out; the run ends at the first
 * other character. */
static bool read_hex(const char *s, size_t n, size_t *i, size_t min, size_t max,
                     struct dc09_slice *out)
{
    size_t k = *i;
    while (k < n && k - *i <= max && is_hex((uint8_t)s[k]))
        k++;
    size_t len = k - *i;
    if (len < min || len > max)
        return false;
    out->p = s + *i;
    out->len = len;
    *i = k;
    return true;
}

static enum dc09_token token_lookup(struct dc09_slice t, bool encrypted)
{
    for (size_t k = 1; k < sizeof token_names / sizeof token_names[0]; k++) {
        size_t n = strlen(token_names[k]);
        if (t.len == n && memcmp(t.p, token_names[k], n) == 0) {
            /* Only messages and their ACK are ever encrypted. */
            if (encrypted && (k == DC09_TOKEN_NAK || k == DC09_TOKEN_DUH))
                return DC09_TOKEN_UNKNOWN;
            return (enum dc09_token)k;
        }
    }
    return DC09_TOKEN_UNKNOWN;
}

static bool is_answer(enum dc09_token t)
{
    return t == DC09_TOKEN_ACK || t == DC09_TOKEN_NAK || t == DC09_TOKEN_DUH;
}

/* The id token between quotes at s[*i..n) (at the opening quote). */
static int read_token(const char *s, size_t n, size_t *i, struct dc09_frame *out)
{
    size_t k = *i + 1;
    if (k < n && s[k] == '*') {
        out->encrypted = true;
        k++;
    }
    size_t t0 = k;
    while (k < n && s[k] != '"' && k - t0 <= 16)
        k++;
    if (k >= n || s[k] != '"' || k == t0)
        return DC09_EFORMAT;
    out->token_text.p = s + t0;
    out->token_text.len = k - t0;
    out->token = token_lookup(out->token_text, out->encrypted);
    *i = k + 1;
    return DC09_OK;
}

/* The account "#acct", or an answer's "A0" (none), after the prefix. A NAK's "L0A0" reads
 * as one hex run: its "A0" is split off the prefix here. */
static int read_account(const char *s, size_t n, size_t *i, struct dc09_frame *out)
{
    if (*i < n && s[*i] == '#') {
        (*i)++;
        if (!read_hex(s, n, i, 3, 16, &out->account))
            return DC09_EFORMAT;
        dc09_upper(out->account.p, out->account.len, out->account_norm);
        out->account_norm[out->account.len] = '\0';
        return DC09_OK;
    }
    struct dc09_slice *pf = &out->prefix;
    if (is_answer(out->token) && pf->len >= 3 && memcmp(pf->p + pf->len - 2, "A0", 2) == 0) {
        pf->len -= 2;
        return DC09_OK;
    }
    return DC09_EFORMAT;
}

/* seq, [Rrcvr], Lpref, #acct at s[*i..n). */
static int read_fields(const char *s, size_t n, size_t *i, struct dc09_frame *out)
{
    size_t k = *i;
    if (n - k < 4)
        return DC09_EFORMAT;
    unsigned seq = 0;
    for (size_t d = 0; d < 4; d++) {
        if (!is_digit(s[k + d]))
            return DC09_EFORMAT;
        seq = seq * 10 + (unsigned)(s[k + d] - '0');
    }
    out->seq = seq;
    out->seq_text.p = s + k;
    out->seq_text.len = 4;
    k += 4;
    if (k < n && s[k] == 'R') {
        k++;
        if (!read_hex(s, n, &k, 1, 6, &out->receiver))
            return DC09_EFORMAT;
    }
    if (k >= n || s[k] != 'L')
        return DC09_EFORMAT;
    k++;
    /* An answer's prefix may run into its "A0" (read_account splits it off). */
    if (!read_hex(s, n, &k, 1, is_answer(out->token) ? 8 : 6, &out->prefix))
        return DC09_EFORMAT;
    *i = k;
    int rc = read_account(s, n, i, out);
    return rc == DC09_OK && out->prefix.len > 6 ? DC09_EFORMAT : rc;
}

/* A plain body at s[i..n): data blocks, then an optional timestamp. */
static int read_plain_body(const char *s, size_t n, size_t i, struct dc09_frame *out)
{
    size_t b0 = i;
    while (i < n && s[i] == '[') {
        const char *close = memchr(s + i + 1, ']', n - i - 1);
        if (!close || memchr(s + i + 1, '[', (size_t)(close - s) - i - 1))
            return DC09_EFORMAT;
        i = (size_t)(close - s) + 1;
    }
    out->body.p = s + b0;
    out->body.len = i - b0;
    if (i == n)
        return DC09_OK;
    if (s[i] != '_' || n - i != DC09_TS_LEN)
        return DC09_EFORMAT;
    if (dc09_ts_parse(s + i + 1, DC09_TS_LEN - 1, &out->timestamp_ms) < 0)
        return DC09_EFORMAT;
    out->has_timestamp = true;
    return DC09_OK;
}

/* The message s[0..n), from the opening quote to the end of the timestamp. */
static int read_message(const char *s, size_t n, struct dc09_frame *out)
{
    for (size_t k = 0; k < n; k++) {
        if (!is_print((uint8_t)s[k]))
            return DC09_EFORMAT;
    }
    size_t i = 0;
    int rc = read_token(s, n, &i, out);
    if (rc == DC09_OK)
        rc = read_fields(s, n, &i, out);
    if (rc != DC09_OK)
        return rc;
    if (i >= n || s[i] != '[')
        return DC09_EFORMAT;
    if (out->token == DC09_TOKEN_UNKNOWN)
        return DC09_ETOKEN;
    if (out->encrypted) {
        out->body.p = s + i + 1;
        out->body.len = n - i - 1;
        return DC09_OK;
    }
    return read_plain_body(s, n, i, out);
}

int dc09_frame_parse(const uint8_t *p, size_t len, struct dc09_frame *out)
{
    memset(out, 0, sizeof *out);
    if (len < 9 || p[0] != '\n' || p[len - 1] != '\r')
        return DC09_EFORMAT;
    int hdr = header_form(p, len);
    if (hdr <= 0)
        return DC09_EFORMAT;
    out->crc_binary = hdr == 7;
    size_t mlen = len - 1 - (size_t)hdr;
    if (header_length(p, hdr) != mlen)
        return DC09_ELENGTH;
    uint16_t got;
    if (out->crc_binary) {
        got = (uint16_t)(p[1] << 8 | p[2]);
    } else {
        got = (uint16_t)(dc09_hex_value((char)p[1]) << 12 | dc09_hex_value((char)p[2]) << 8 |
                         dc09_hex_value((char)p[3]) << 4 | dc09_hex_value((char)p[4]));
    }
    if (dc09_crc16(p + hdr, mlen) != got)
        return DC09_ECRC;
    return read_message((const char *)p + hdr, mlen, out);
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* The number of the digits s[0..n); -1 when one is not a digit. */
static int digits_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t k = 0; k < n; k++) {
        if (!is_digit(s[k]))
            return -1;
        v = v * 10 + (s[k] - '0');
    }
    return v;
}

int dc09_ts_parse(const char *s, size_t n, int64_t *out)
{
    /* "HH:MM:SS,MM-DD-YYYY" */
    if (n != DC09_TS_LEN - 1 || s[2] != ':' || s[5] != ':' || s[8] != ',' || s[11] != '-' ||
        s[14] != '-')
        return -1;
    int hh = digits_value(s, 2), mi = digits_value(s + 3, 2), ss = digits_value(s + 6, 2);
    int mo = digits_value(s + 9, 2), dd = digits_value(s + 12, 2);
    int yy = digits_value(s + 15, 4);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59)
        return -1;
    if (yy < 1970 || mo < 1 || mo > 12 || dd < 1 ||
        (unsigned)dd > days_in_month((unsigned)yy, (unsigned)mo))
        return -1;
    int64_t days = days_from_civil(yy, (unsigned)mo, (unsigned)dd);
    *out = ((days * 24 + hh) * 60 + mi) * 60000 + (int64_t)ss * 1000;
    return 0;
}

bool dc09_timestamp_ok(int64_t t, int64_t now, int64_t past_ms, int64_t future_ms)
{
    return t >= now - past_ms && t <= now + future_ms;
}

/* The payload's fields after its text: cleared without touching the 4 KiB of text. */
static void payload_reset(struct dc09_payload *p)
{
    size_t off = offsetof(struct dc09_payload, text_len);
    memset((char *)p + off, 0, sizeof *p - off);
}

/* Contact ID: "QEEE GG ZZZ". */
static int read_cid(struct dc09_slice d, struct dc09_payload *out)
{
    const char *s = d.p;
    if (d.len != 11 || s[4] != ' ' || s[7] != ' ')
        return DC09_EFORMAT;
    if ((s[0] != '1' && s[0] != '3' && s[0] != '6') || digits_value(s + 1, 3) < 0 ||
        digits_value(s + 5, 2) < 0 || digits_value(s + 8, 3) < 0)
        return DC09_EFORMAT;
    struct dc09_code *c = &out->codes[0];
    memcpy(c->code, s, 4);
    c->code[4] = '\0';
    memcpy(c->group, s + 5, 2);
    c->group[2] = '\0';
    memcpy(c->zone, s + 8, 3);
    c->zone[3] = '\0';
    out->n_codes = 1;
    return DC09_OK;
}

/* A SIA modifier at s[*k..n) ("ri1", "id12", "ti12:30", "pi3"; others with digits). */
static int read_modifier(const char *s, size_t n, size_t *k, char group[4])
{
    if (*k + 1 >= n || !is_lower(s[*k + 1]))
        return DC09_EFORMAT;
    char a = s[*k], b = s[*k + 1];
    bool ti = a == 't' && b == 'i';
    size_t v0 = *k + 2, v = v0;
    while (v < n && (is_digit(s[v]) || (ti && s[v] == ':')))
        v++;
    size_t vn = v - v0;
    *k = v;
    if (ti) {
        if ((vn != 5 && vn != 8) || s[v0 + 2] != ':' || digits_value(s + v0, 2) > 23 ||
            digits_value(s + v0, 2) < 0 || digits_value(s + v0 + 3, 2) < 0 ||
            digits_value(s + v0 + 3, 2) > 59)
            return DC09_EFORMAT;
        if (vn == 8 && (s[v0 + 5] != ':' || digits_value(s + v0 + 6, 2) < 0 ||
                        digits_value(s + v0 + 6, 2) > 59))
            return DC09_EFORMAT;
        return DC09_OK;
    }
    if (a == 'r' && b == 'i') {
        if (vn < 1 || vn > 3)
            return DC09_EFORMAT;
        memcpy(group, s + v0, vn);
        group[vn] = '\0';
        return DC09_OK;
    }
    if ((a == 'i' && b == 'd') || (a == 'p' && b == 'i'))
        return vn >= 1 ? DC09_OK : DC09_EFORMAT;
    return DC09_OK;
}

/* A SIA event at s[*k..n): two capitals, an optional number, an optional "^text^". */
static int read_event(const char *s, size_t n, size_t *k, const char *group,
                      struct dc09_payload *out, size_t *seen)
{
    if (*k + 1 >= n || !is_upper(s[*k + 1]))
        return DC09_EFORMAT;
    size_t c0 = *k, z0 = *k + 2, z = z0;
    while (z < n && is_digit(s[z]))
        z++;
    if (z - z0 > 7)
        return DC09_EFORMAT;
    if (z < n && s[z] == '^') {
        const char *end = memchr(s + z + 1, '^', n - z - 1);
        if (!end)
            return DC09_EFORMAT;
        *k = (size_t)(end - s) + 1;
    } else {
        *k = z;
    }
    if (out->n_codes < DC09_CODES_MAX) {
        struct dc09_code *c = &out->codes[out->n_codes++];
        memcpy(c->code, s + c0, 2);
        c->code[2] = '\0';
        memcpy(c->zone, s + z0, z - z0);
        c->zone[z - z0] = '\0';
        memcpy(c->group, group, strlen(group) + 1);
    }
    (*seen)++;
    return DC09_OK;
}

/* SIA DC-03/DC-04 data: an optional 'N' (new) or 'O' (old) event block mark, then
 * modifiers and events, '/' between them or not ("Nri1CL0^VX FRONTE ^"), and "|A" text. */
static int read_sia(struct dc09_slice d, struct dc09_payload *out)
{
    const char *s = d.p;
    size_t n = d.len, k = 0, seen = 0;
    char group[4] = "";
    if (n >= 2 && (s[0] == 'N' || s[0] == 'O') &&
        (is_lower(s[1]) || (n >= 3 && is_upper(s[1]) && is_upper(s[2]))))
        k = 1;
    while (k < n) {
        int rc = DC09_OK;
        if (s[k] == '/') {
            k++;
        } else if (s[k] == '|' && k + 1 < n && s[k + 1] == 'A') {
            /* An ASCII text block runs to the next block or the end. */
            const char *bar = memchr(s + k + 1, '|', n - k - 1);
            k = bar ? (size_t)(bar - s) : n;
        } else if (is_lower(s[k])) {
            rc = read_modifier(s, n, &k, group);
        } else if (is_upper(s[k])) {
            rc = read_event(s, n, &k, group, out, &seen);
        } else {
            rc = DC09_EFORMAT;
        }
        if (rc != DC09_OK)
            return rc;
    }
    return seen > 0 ? DC09_OK : DC09_EFORMAT;
}

/* A decimal number of degrees at s[0..n) with an optional hemisphere letter (pos or neg)
 * or sign: "E012.3456", "-1.5". */
static int read_degrees(const char *s, size_t n, char pos, char neg, double lim, double *out)
{
    size_t k = 0;
    bool minus = false;
    if (k < n && (s[k] == pos || s[k] == neg || s[k] == '+' || s[k] == '-')) {
        minus = s[k] == neg || s[k] == '-';
        k++;
    }
    size_t i0 = k;
    double v = 0, scale = 1;
    while (k < n && is_digit(s[k]) && k - i0 < 3)
        v = v * 10 + (s[k++] - '0');
    if (k == i0)
        return -1;
    if (k < n && s[k] == '.') {
        size_t f0 = ++k;
        while (k < n && is_digit(s[k]) && k - f0 < 10) {
            scale /= 10;
            v += (s[k++] - '0') * scale;
        }
        if (k == f0)
            return -1;
    }
    if (k != n || v > lim)
        return -1;
    *out = minus ? -v : v;
    return 0;
}

/* One extended data block's content v[0..n) ("XE012.3456", "H12:00:00,01-31-2026"). */
static int read_xdata(const char *v, size_t n, struct dc09_xdata *x, unsigned *xy)
{
    if (n == 0 || !is_upper(v[0]) || x->n_fields == sizeof x->fields / sizeof x->fields[0])
        return DC09_EFORMAT;
    x->fields[x->n_fields].p = v;
    x->fields[x->n_fields++].len = n;
    struct dc09_slice val = {v + 1, n - 1};
    switch (v[0]) {
    case 'X':
        *xy |= 1;
        return read_degrees(val.p, val.len, 'E', 'W', 180, &x->longitude) < 0 ? DC09_EFORMAT
                                                                              : DC09_OK;
    case 'Y':
        *xy |= 2;
        return read_degrees(val.p, val.len, 'N', 'S', 90, &x->latitude) < 0 ? DC09_EFORMAT
                                                                            : DC09_OK;
    case 'H':
        x->has_event_time = true;
        return dc09_ts_parse(val.p, val.len, &x->event_time_ms) < 0 ? DC09_EFORMAT : DC09_OK;
    case 'V':
        x->verification = val;
        return DC09_OK;
    case 'I':
        x->site = val;
        return DC09_OK;
    case 'P':
        x->program = val;
        return DC09_OK;
    case 'M':
        x->mac = val;
        return DC09_OK;
    default:
        return DC09_OK;
    }
}

/* The data inside its brackets: an optional "#acct|" or "|", then the token's format. */
static int read_data(enum dc09_token t, struct dc09_slice d, struct dc09_payload *out)
{
    const char *bar = d.len > 0 ? memchr(d.p, '|', d.len) : NULL;
    if (d.len > 0 && d.p[0] == '#') {
        size_t k = 1;
        if (!bar || !read_hex(d.p, (size_t)(bar - d.p), &k, 3, 16, &out->data_account) ||
            d.p + k != bar)
            return DC09_EFORMAT;
    }
    if (d.len > 0 && (d.p[0] == '#' || d.p[0] == '|')) {
        d.len -= (size_t)(bar - d.p) + 1;
        d.p = bar + 1;
    }
    out->data = d;
    switch (t) {
    case DC09_TOKEN_ADM_CID:
        return read_cid(d, out);
    case DC09_TOKEN_SIA_DCS:
        return read_sia(d, out);
    case DC09_TOKEN_UNKNOWN:
        return DC09_EFORMAT;
    default:
        return d.len == 0 ? DC09_OK : DC09_EFORMAT;
    }
}

/* The text from just after the data block's '[' (at i) to n: data ']', extended data
 * blocks, and (encrypted messages only) the timestamp. */
static int read_body(enum dc09_token t, struct dc09_payload *out, size_t i, bool timestamp)
{
    const char *s = out->text;
    size_t n = out->text_len;
    const char *close = memchr(s + i, ']', n - i);
    if (!close || memchr(s + i, '[', (size_t)(close - s) - i))
        return DC09_EFORMAT;
    struct dc09_slice d = {s + i, (size_t)(close - s) - i};
    int rc = read_data(t, d, out);
    if (rc != DC09_OK)
        return rc;
    unsigned xy = 0;
    i = (size_t)(close - s) + 1;
    while (i < n && s[i] == '[') {
        close = memchr(s + i + 1, ']', n - i - 1);
        if (!close || memchr(s + i + 1, '[', (size_t)(close - s) - i - 1))
            return DC09_EFORMAT;
        rc = read_xdata(s + i + 1, (size_t)(close - s) - i - 1, &out->x, &xy);
        if (rc != DC09_OK)
            return rc;
        i = (size_t)(close - s) + 1;
    }
    out->x.has_position = xy == 3;
    if (i == n)
        return DC09_OK;
    if (!timestamp || s[i] != '_' || n - i != DC09_TS_LEN ||
        dc09_ts_parse(s + i + 1, DC09_TS_LEN - 1, &out->timestamp_ms) < 0)
        return DC09_EFORMAT;
    out->has_timestamp = true;
    return DC09_OK;
}

int dc09_payload_parse(const struct dc09_frame *f, struct dc09_payload *out)
{
    payload_reset(out);
    if (f->encrypted || f->body.len < 2 || f->body.len > sizeof out->text || f->body.p[0] != '[')
        return DC09_EFORMAT;
    memcpy(out->text, f->body.p, f->body.len);
    out->text_len = f->body.len;
    out->has_timestamp = f->has_timestamp;
    out->timestamp_ms = f->timestamp_ms;
    return read_body(f->token, out, 1, false);
}

int dc09_payload_decrypt(const struct dc09_frame *f, const uint8_t *key, size_t key_len,
                         struct dc09_payload *out)
{
    uint8_t sealed[DC09_FRAME_MAX / 2];
    payload_reset(out);
    if (!f->encrypted)
        return DC09_EFORMAT;
    size_t hn = f->body.len, n = hn / 2;
    if (!key || hn == 0 || hn % 32 != 0 || n > sizeof sealed)
        return DC09_EDECRYPT;
    if (dc09_hex_decode(f->body.p, hn, sealed) < 0 ||
        dc09_aes_cbc(false, key, key_len, sealed, n, (uint8_t *)out->text) < 0)
        return DC09_EDECRYPT;
    for (size_t k = 0; k < n; k++) {
        if (!is_print((uint8_t)out->text[k]))
            return DC09_EDECRYPT;
    }
    /* The pad: 0 to 15 characters, none of '|', '[' and ']', then '|'. */
    size_t bar = 0;
    while (bar < n && bar < 16 && out->text[bar] != '|' && out->text[bar] != '[' &&
           out->text[bar] != ']')
        bar++;
    if (bar == n || bar == 16 || out->text[bar] != '|')
        return DC09_EDECRYPT;
    out->text_len = n;
    int rc = read_body(f->token, out, bar + 1, true);
    if (rc != DC09_OK)
        return rc;
    return out->has_timestamp ? DC09_OK : DC09_ETIMESTAMP;
}
