#include "cli/output.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/error.h"

/* Longest text one JSON value is shown as; longer is cut. */
#define OUTPUT_MAX_TEXT (64u * 1024u)

/* Copy of s with C0, DEL and C1 control characters replaced by '?'. Caller frees. */
static char *sanitize(const char *s)
{
    size_t n = strlen(s);
    char *d = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f) {
            d[j++] = '?';
            i++;
            continue;
        }
        d[j++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    d[j] = '\0';
    return d;
}

/* Columns a UTF-8 string takes, counting one per character. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    }
    return w;
}

void table_init(struct table *t, size_t ncols, const char *const *headers)
{
    t->ncols = ncols;
    t->nrows = 0;
    t->cells = NULL;
    if (headers)
        table_add_row(t, headers);
}

void table_add_row(struct table *t, const char *const *cells)
{
    t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols, sizeof(*t->cells));
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = sanitize(cells[i] ? cells[i] : "-");
    t->nrows++;
}

void table_add_field(struct table *t, const char *label, const json_t *value)
{
    char *text = output_json_text(value);
    const char *row[2] = {label, text};
    table_add_row(t, row);
    free(text);
}

void table_print(const struct table *t, FILE *f)
{
    size_t *width = xcalloc(t->ncols ? t->ncols : 1, sizeof(*width));
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            if (c + 1 == t->ncols) {
                fprintf(f, "%s\n", cell);
                break;
            }
            fprintf(f, "%s%*s  ", cell, (int)(width[c] - text_width(cell)), "");
        }
    }
    free(width);
}

void table_fini(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = 0;
}

static void append_scalar(struct buf *b, const json_t *v)
{
    /* Past OUTPUT_MAX_TEXT the text is cut: the appends then fail and change nothing. */
    switch (json_typeof(v)) {
    case JSON_STRING:
        (void)buf_append(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        (void)buf_appendf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        (void)buf_appendf(b, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
        (void)buf_append_str(b, "yes");
        break;
    case JSON_FALSE:
        (void)buf_append_str(b, "no");
        break;
    case JSON_NULL:
        (void)buf_append_str(b, "-");
        break;
    case JSON_OBJECT:
        (void)buf_append_str(b, "{...}");
        break;
    case JSON_ARRAY:
        break;
    }
}

char *output_json_text(const json_t *v)
{
    struct buf b;
    buf_init(&b, OUTPUT_MAX_TEXT);
    if (!v) {
        (void)buf_append_str(&b, "-");
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i > 0)
                (void)buf_append_str(&b, ", ");
            append_scalar(&b, e);
        }
        if (json_array_size(v) == 0)
            (void)buf_append_str(&b, "-");
    } else {
        append_scalar(&b, v);
    }
    char *raw = buf_take(&b);
    char *text = sanitize(raw);
    free(raw);
    return text;
}

const char *output_text(const json_t *v, char *dst, size_t n)
{
    char *text = output_json_text(v);
    size_t len = strlen(text);
    if (len >= n) {
        len = n - 1;
        /* Never leave half a UTF-8 character at the end. */
        while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, text, len);
    dst[len] = '\0';
    free(text);
    return dst;
}

int output_json(FILE *f, const json_t *v)
{
    if (json_dumpf(v, f, JSON_INDENT(2)) != 0 || fputc('\n', f) == EOF)
        return -NA_EIO;
    return 0;
}

/* Replaces control characters in s, in place (C1 ones take their two bytes as "??"). */
static void sanitize_in_place(char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f) {
            s[0] = '?';
            s[1] = '?';
            s++;
        } else if (ch < 0x20 || ch == 0x7f) {
            *s = '?';
        }
    }
}

size_t output_error_line(const struct client_error *e, const char *url, char *dst, size_t n)
{
    int len;
    if (e->kind == CLIENT_ERR_TRANSPORT)
        len = snprintf(dst, n, "notalone: cannot reach the server at %s: %s", url, e->message);
    else if (e->kind == CLIENT_ERR_REPLY)
        len = snprintf(dst, n, "notalone: invalid reply from %s: %s", url, e->message);
    else if (e->field[0])
        len = snprintf(dst, n, "notalone: %s: %s (field: %s)", e->code, e->message, e->field);
    else
        len = snprintf(dst, n, "notalone: %s: %s", e->code, e->message);
    if (len < 0) {
        if (n > 0)
            dst[0] = '\0';
        return 0;
    }
    if (n > 0)
        sanitize_in_place(dst);
    return (size_t)len;
}

int output_url_escape(const char *s, char *dst, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (j + (plain ? 1 : 3) >= n)
            goto fail;
        if (plain) {
            dst[j++] = (char)ch;
        } else {
            dst[j++] = '%';
            dst[j++] = hex[ch >> 4];
            dst[j++] = hex[ch & 0xf];
        }
    }
    dst[j] = '\0';
    return 0;
fail:
    if (n > 0)
        dst[0] = '\0';
    return -NA_ETOOBIG;
}
