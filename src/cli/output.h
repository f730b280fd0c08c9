#ifndef NA_CLI_OUTPUT_H
#define NA_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli/client.h"

/*
 * What the notalone client prints: aligned plain columns for people, pretty JSON for
 * machines, and the one-line error messages. Text from the server is printed with control
 * characters replaced, so a hostile name cannot drive the terminal.
 */

/* A table of text cells; the first row is the header when there is one. */
struct table {
    size_t ncols;
    size_t nrows;
    char **cells; /* nrows * ncols, owned */
};

/* Empty table of ncols columns; headers (ncols strings, copied) or NULL for none. */
void table_init(struct table *t, size_t ncols, const char *const *headers);
/* Appends a row of ncols strings (copied; NULL prints as "-"). */
void table_add_row(struct table *t, const char *const *cells);
/* Appends a row of two cells, a label and a JSON value shown as by output_json_text. */
void table_add_field(struct table *t, const char *label, const json_t *value);
/* Prints the rows aligned in columns two spaces apart, the last column unpadded. */
void table_print(const struct table *t, FILE *f);
/* Releases the cells; the table is empty and must be initialised again before use. */
void table_fini(struct table *t);

/*
 * A JSON value as text for people: strings as they are, integers in decimal, true/false as
 * yes/no, null or missing as "-", arrays as their elements joined with ", ", objects as
 * "{...}"; control characters replaced. Caller frees.
 */
char *output_json_text(const json_t *v);

/*
 * output_json_text of v into dst (size n > 0), cut at a character boundary when longer.
 * Returns dst.
 */
const char *output_text(const json_t *v, char *dst, size_t n);

/* Prints v as indented JSON and a newline to f. -NA_EIO when writing fails. */
int output_json(FILE *f, const json_t *v);

/*
 * Formats the line that reports a failed request into dst (size n, always terminated):
 * "notalone: CODE: MESSAGE (field: FIELD)" for an answer from the server,
 * "notalone: cannot reach the server at URL: DETAIL" when it could not be reached,
 * "notalone: invalid reply from URL: DETAIL" for garbage. Returns the length it needed.
 */
size_t output_error_line(const struct client_error *e, const char *url, char *dst, size_t n);

/*
 * Percent-encodes s for a URL query value into dst (size n). -NA_ETOOBIG when it does not
 * fit (dst then holds an empty string).
 */
int output_url_escape(const char *s, char *dst, size_t n);

#endif
