#ifndef NA_HTTP_CONSOLE_H
#define NA_HTTP_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The web console's files (the output of web/build.mjs), read into memory once at start
 * and served from there: the disk is never touched again, so a console folder changed or
 * removed under a running server changes nothing until it restarts.
 *
 * Paths: an exact file answers as itself; "/" and any path whose last segment has no dot
 * ("/board", "/alarms/12") answer with index.html, since the console routes in the browser.
 */
struct console;

/* Limits of what console_load reads. */
#define CONSOLE_MAX_FILES      500
#define CONSOLE_MAX_FILE_BYTES (8u << 20)
#define CONSOLE_MAX_BYTES      (64u << 20)
#define CONSOLE_MAX_DEPTH      16
#define CONSOLE_MAX_PATH       1024 /* bytes of a request path looked up */

/* One file as it is answered. Borrowed from the console, valid until console_free. */
struct console_file {
    const char *path; /* relative, without a leading '/': "assets/app-3F2A.js" */
    const char *type; /* Content-Type, with "; charset=utf-8" for text */
    const char *data;
    size_t len;
    const char *gz; /* the NAME.gz found beside it; NULL when there was none */
    size_t gz_len;
    char etag[72];    /* strong ETag of data: "\"<hex of its SHA-256>\"" */
    char etag_gz[72]; /* of the gzip form: the same with "-gz" */
    bool immutable;   /* under assets/: names carry a content hash, kept a year */
};

/*
 * Reads every regular file under dir (not following symlinks, skipping names that start
 * with '.') with their gzip forms, and builds the Content-Security-Policy with the origin
 * of map_tiles (NULL: none; already checked by validate_map_tiles). -NA_EINVAL with a
 * message in err (size n) when dir cannot be read, has no index.html, or passes
 * CONSOLE_MAX_FILES, CONSOLE_MAX_FILE_BYTES or CONSOLE_MAX_BYTES. Caller frees *out with
 * console_free.
 */
int console_load(const char *dir, const char *map_tiles, struct console **out, char *err, size_t n);
/* NULL is a no-op. */
void console_free(struct console *c);

/* Files held (gzip forms not counted) and their bytes (gzip forms counted). */
size_t console_file_count(const struct console *c);
size_t console_bytes(const struct console *c);

/* The Content-Security-Policy of every console answer; borrowed from c. */
const char *console_csp(const struct console *c);

/*
 * True when path is the console's rather than the API's: anything but /api, /api/...,
 * /healthz, /readyz, /metrics and what lies under them.
 */
bool console_owns_path(const char *path);
/* True when path names a page of the console ("/", or a last segment without a dot). */
bool console_is_page(const char *path);
/*
 * The file that answers path (NUL-terminated, as decoded by the HTTP server), or NULL:
 * 404. Paths that are too long or hold control bytes, a backslash, an empty segment
 * ("//") or a segment starting with '.' ("..", dotfiles) find nothing.
 */
const struct console_file *console_find(const struct console *c, const char *path);

/* True when an Accept-Encoding header (NULL: none) takes gzip (q > 0). */
bool console_accepts_gzip(const char *accept_encoding);
/* True when an If-None-Match header (NULL: none) names etag, or is "*". */
bool console_etag_matches(const char *if_none_match, const char *etag);

#endif
