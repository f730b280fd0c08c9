/* The web console's files in memory, and the console's settings route. */
#include "http/console.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/validate.h"
#include "http/api.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "util/secret.h"

struct console {
    struct console_file *files; /* sorted by path */
    size_t n, cap;
    size_t bytes; /* read in all, gzip forms included */
    size_t reads; /* files read, gzip forms included */
    const struct console_file *index;
    char *csp;
};

/* Text types are answered with "; charset=utf-8": the build writes UTF-8 only. */
static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"webmanifest", "application/manifest+json; charset=utf-8"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"gif", "image/gif"},
    {"wav", "audio/wav"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"gz", "application/gzip"},
};

static const char *type_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* ---- loading ---- */

struct loader {
    struct console *c;
    char *err;
    size_t n;
};

static int refuse(struct loader *l, const char *rel, const char *why)
{
    snprintf(l->err, l->n, "console_dir: %s%s%s", rel ? rel : "", rel ? ": " : "", why);
    return -NA_EINVAL;
}

/* Reads the size bytes of an open regular file into a new buffer (caller frees). */
static int read_all(int fd, size_t size, char **out)
{
    char *data = xmalloc(size ? size : 1);
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(data);
            return -NA_EIO;
        }
        got += (size_t)r;
    }
    *out = data;
    return 0;
}

/* Reads regular file name of dirfd (rel: its path in the console) into the list. */
static int load_file(struct loader *l, int dirfd, const char *name, char *rel)
{
    struct console *c = l->c;
    /* O_NOFOLLOW and the fstat below: what was checked is what is read, even if the
     * entry is swapped meanwhile; O_NONBLOCK: a FIFO put there cannot hang the start. */
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return refuse(l, rel, "cannot be read as a regular file");
    }
    int rc = 0;
    char *data = NULL;
    if (++c->reads > CONSOLE_MAX_FILES)
        rc = refuse(l, NULL, "more than 500 files");
    else if ((uint64_t)st.st_size > CONSOLE_MAX_FILE_BYTES)
        rc = refuse(l, rel, "larger than 8 MiB");
    else if (c->bytes + (size_t)st.st_size > CONSOLE_MAX_BYTES)
        rc = refuse(l, NULL, "more than 64 MiB of files");
    else if (read_all(fd, (size_t)st.st_size, &data))
        rc = refuse(l, rel, "read failed");
    close(fd);
    if (rc)
        return rc;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->files = xrealloc(c->files, c->cap, sizeof *c->files);
    }
    struct console_file *f = memset(&c->files[c->n++], 0, sizeof *c->files);
    f->path = rel;
    f->data = data;
    f->len = (size_t)st.st_size;
    c->bytes += f->len;
    return 0;
}

static int load_dir(struct loader *l, int dirfd, const char *prefix, int depth);

/* One entry of a folder: a file, a folder to go into, or something skipped. */
static int load_entry(struct loader *l, int dirfd, const char *name, const char *prefix, int depth)
{
    struct stat st;
    size_t len = strlen(prefix) + strlen(name) + 2;
    if (len > CONSOLE_MAX_PATH)
        return refuse(l, name, "path too long");
    char *rel = xmalloc(len);
    snprintf(rel, len, "%s%s%s", prefix, prefix[0] ? "/" : "", name);
    int rc = 0;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
        rc = refuse(l, rel, "cannot be read");
    } else if (S_ISDIR(st.st_mode)) {
        int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        rc = sub < 0 ? refuse(l, rel, "folder cannot be opened") : load_dir(l, sub, rel, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
        rc = load_file(l, dirfd, name, rel);
        if (!rc)
            return 0; /* rel is now the file's */
    } else {
        char quoted[CONSOLE_MAX_PATH + 8];
        log_warn("console_file_skipped", "file=%s reason=not_a_regular_file",
                 log_quote(quoted, sizeof quoted, rel));
    }
    free(rel);
    return rc;
}

/* Loads the folder dirfd (which it closes), prefix its path in the console. */
static int load_dir(struct loader *l, int dirfd, const char *prefix, int depth)
{
    if (depth > CONSOLE_MAX_DEPTH) {
        close(dirfd);
        return refuse(l, prefix, "folders nested too deep");
    }
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return refuse(l, prefix[0] ? prefix : NULL, "folder cannot be read");
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL) {
        /* ".", "..", and dotfiles (.git, .DS_Store): never part of a build. */
        if (e->d_name[0] == '.')
            continue;
        rc = load_entry(l, dirfd, e->d_name, prefix, depth);
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct console_file *)a)->path, ((const struct console_file *)b)->path);
}

static struct console_file *lookup(const struct console *c, const char *path)
{
    struct console_file key = {.path = path};
    return bsearch(&key, c->files, c->n, sizeof *c->files, by_path);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* Gives each file the NAME.gz found beside it, which is then no file of its own. A .gz of
 * a .gz stays a file: pairing it too would hand one buffer to two files. */
static void pair_gzip_forms(struct console *c)
{
    bool *paired = xcalloc(c->n ? c->n : 1, sizeof *paired);
    for (size_t i = 0; i < c->n; i++) {
        struct console_file *gz = &c->files[i];
        if (!ends_with(gz->path, ".gz"))
            continue;
        char *base = xstrndup(gz->path, strlen(gz->path) - 3);
        struct console_file *f = ends_with(base, ".gz") ? NULL : lookup(c, base);
        free(base);
        if (!f)
            continue;
        f->gz = gz->data;
        f->gz_len = gz->len;
        paired[i] = true;
    }
    size_t kept = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (paired[i])
            free((char *)c->files[i].path); /* its data is now its base file's */
        else
            c->files[kept++] = c->files[i];
    }
    c->n = kept;
    free(paired);
}

static void describe_files(struct console *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct console_file *f = &c->files[i];
        char hex[SECRET_HASH_HEX + 1];
        secret_hash_hex(f->data, f->len, hex);
        snprintf(f->etag, sizeof f->etag, "\"%s\"", hex);
        snprintf(f->etag_gz, sizeof f->etag_gz, "\"%s-gz\"", hex);
        f->type = type_of(f->path);
        f->immutable = strncmp(f->path, "assets/", 7) == 0;
    }
}

/* The scheme and host of a tiles URL template, with "{s}." as the wildcard "*.". */
static void tiles_origin(const char *tiles, char *out, size_t n)
{
    const char *host = strstr(tiles, "://") + 3;
    size_t scheme = (size_t)(host - tiles), len = strcspn(host, "/?#");
    bool sub = strncmp(host, "{s}.", 4) == 0;
    if (sub) {
        host += 3;
        len -= 3;
    }
    snprintf(out, n, "%.*s%s%.*s", (int)scheme, tiles, sub ? "*" : "", (int)len, host);
}

static char *build_csp(const char *map_tiles)
{
    char origin[MAP_TILES_MAX + 2] = "";
    if (map_tiles) {
        origin[0] = ' ';
        tiles_origin(map_tiles, origin + 1, sizeof origin - 1);
    }
    char csp[512 + MAP_TILES_MAX];
    snprintf(csp, sizeof csp,
             "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:%s; "
             "connect-src 'self'; media-src 'self'; font-src 'self'; manifest-src 'self'; "
             "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
             origin);
    return xstrdup(csp);
}

int console_load(const char *dir, const char *map_tiles, struct console **out, char *err, size_t n)
{
    struct console *c = xcalloc(1, sizeof *c);
    struct loader l = {.c = c, .err = err, .n = n};
    int rc, fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, n, "console_dir: %s is not a folder that can be read", dir);
        rc = -NA_EINVAL;
        goto fail;
    }
    rc = load_dir(&l, fd, "", 0);
    if (rc)
        goto fail;
    qsort(c->files, c->n, sizeof *c->files, by_path);
    pair_gzip_forms(c);
    c->index = lookup(c, "index.html");
    if (!c->index) {
        snprintf(err, n, "console_dir: no index.html in %s (build the console first)", dir);
        rc = -NA_EINVAL;
        goto fail;
    }
    describe_files(c);
    c->csp = build_csp(map_tiles);
    *out = c;
    return 0;
fail:
    console_free(c);
    return rc;
}

void console_free(struct console *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free((char *)c->files[i].path);
        free((char *)c->files[i].data);
        free((char *)c->files[i].gz);
    }
    free(c->files);
    free(c->csp);
    free(c);
}

size_t console_file_count(const struct console *c)
{
    return c->n;
}

size_t console_bytes(const struct console *c)
{
    return c->bytes;
}

const char *console_csp(const struct console *c)
{
    return c->csp;
}

/* ---- looking up ---- */

bool console_owns_path(const char *path)
{
    static const char *const api_roots[] = {"/api", "/healthz", "/readyz", "/metrics"};
    for (size_t i = 0; i < sizeof api_roots / sizeof api_roots[0]; i++) {
        size_t len = strlen(api_roots[i]);
        if (strncmp(path, api_roots[i], len) == 0 && (path[len] == '\0' || path[len] == '/'))
            return false;
    }
    return true;
}

bool console_is_page(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && !strchr(slash, '.');
}

/* A path that may name a file: see console_find. */
static bool path_ok(const char *path)
{
    size_t len = strnlen(path, CONSOLE_MAX_PATH + 1);
    if (path[0] != '/' || len > CONSOLE_MAX_PATH)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)path[i];
        if (ch < 0x20 || ch == 0x7f || ch == '\\')
            return false;
        if (ch != '/')
            continue;
        /* What follows a '/': an empty segment only at the very end, never a dot first. */
        char next = path[i + 1];
        if (next == '.' || next == '/')
            return false;
    }
    return true;
}

const struct console_file *console_find(const struct console *c, const char *path)
{
    if (!path_ok(path))
        return NULL;
    const struct console_file *f = path[1] ? lookup(c, path + 1) : NULL;
    if (f)
        return f;
    return console_is_page(path) ? c->index : NULL;
}

static bool blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* True when the parameters of one Accept-Encoding item (after its ';') say q=0. */
static bool q_zero(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (blank(*p) || *p == ';'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            if (p == end || *p != '0')
                return false;
            for (p++; p < end && !blank(*p) && *p != ';'; p++)
                if (*p != '.' && *p != '0')
                    return false;
            return true;
        }
        while (p < end && *p != ';')
            p++;
    }
    return false;
}

bool console_accepts_gzip(const char *accept_encoding)
{
    int gzip = -1, star = -1; /* -1: not named; 0: refused (q=0); 1: taken */
    const char *p = accept_encoding;
    while (p && *p) {
        const char *end = p + strcspn(p, ",");
        while (p < end && blank(*p))
            p++;
        size_t name = strcspn(p, ";, \t");
        const char *params = p + name;
        if (name == 4 && strncasecmp(p, "gzip", 4) == 0)
            gzip = !q_zero(params, end);
        else if (name == 1 && *p == '*')
            star = !q_zero(params, end);
        p = *end ? end + 1 : end;
    }
    return gzip >= 0 ? gzip == 1 : star == 1;
}

bool console_etag_matches(const char *if_none_match, const char *etag)
{
    size_t want = strlen(etag);
    const char *p = if_none_match;
    while (p && *p) {
        const char *end = p + strcspn(p, ",");
        while (p < end && blank(*p))
            p++;
        const char *last = end;
        while (last > p && blank(last[-1]))
            last--;
        /* If-None-Match compares weakly (RFC 9110, 13.1.2): W/ is ignored. */
        if (last - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        size_t len = (size_t)(last - p);
        if ((len == 1 && *p == '*') || (len == want && memcmp(p, etag, want) == 0))
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

/* ---- GET /api/v1/console/settings ---- */

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

int api_console_settings(struct request *r)
{
    const struct api *a = r->api;
    return request_answer(r, 200,
                          json_pack("{s:o,s:o,s:n,s:s}", "map_tiles", string_or_null(a->map_tiles),
                                    "map_attribution", string_or_null(a->map_attribution),
                                    "organisation", "version", a->version ? a->version : ""));
}
