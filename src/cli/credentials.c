#include "cli/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "util/alloc.h"
#include "util/error.h"

int credentials_path(const char *xdg_config_home, const char *home, char *dst, size_t n)
{
    int len;
    if (xdg_config_home && xdg_config_home[0] == '/')
        len = snprintf(dst, n, "%s/notalone/credentials.json", xdg_config_home);
    else if (home && home[0] != '\0')
        len = snprintf(dst, n, "%s/.config/notalone/credentials.json", home);
    else
        return -NA_EINVAL;
    if (len < 0 || (size_t)len >= n)
        return -NA_ETOOBIG;
    return 0;
}

static void wipe_free(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

void credentials_fini(struct credentials *c)
{
    wipe_free(c->server);
    wipe_free(c->token);
    wipe_free(c->username);
    c->server = c->token = c->username = NULL;
}

/* Copy of the string member key of o, NULL when absent; -NA_EMALFORMED when not a string. */
static int take_string(const json_t *o, const char *key, char **out)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -NA_EMALFORMED;
    *out = xstrdup(json_string_value(v));
    return 0;
}

static int read_file(const char *path, char **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -NA_ENOTFOUND : -NA_EIO;
    char *data = xmalloc(CREDENTIALS_MAX_FILE + 1);
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, data + len, CREDENTIALS_MAX_FILE + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > CREDENTIALS_MAX_FILE)
            goto fail;
    }
    close(fd);
    *out = data;
    *out_len = len;
    return 0;
fail:
    sodium_memzero(data, CREDENTIALS_MAX_FILE + 1);
    free(data);
    close(fd);
    return -NA_EIO;
}

int credentials_load(const char *path, struct credentials *out)
{
    char *data = NULL;
    size_t len = 0;
    json_t *root = NULL;
    json_error_t jerr;

    memset(out, 0, sizeof(*out));
    int rc = read_file(path, &data, &len);
    if (rc)
        return rc;
    rc = -NA_EMALFORMED;
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root))
        goto fail;
    if (take_string(root, "server", &out->server) || take_string(root, "token", &out->token) ||
        take_string(root, "username", &out->username))
        goto fail;
    rc = 0;
fail:
    if (rc)
        credentials_fini(out);
    json_decref(root);
    sodium_memzero(data, len);
    free(data);
    return rc;
}

/* Creates every missing directory above the file at path with mode 0700. */
static int make_parents(const char *path)
{
    char *dir = xstrdup(path);
    int rc = 0;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        goto done;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            rc = -NA_EIO;
            goto done;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
done:
    free(dir);
    return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -NA_EIO;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Opens a new temporary file beside path, named into tmp (size n). */
static int open_temp(const char *path, char *tmp, size_t n)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int len = snprintf(tmp, n, "%s.%ld.tmp", path, (long)getpid());
        if (len < 0 || (size_t)len >= n)
            return -NA_ETOOBIG;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        /* A leftover of a crashed run with the same pid: nobody else writes this name. */
        if (errno != EEXIST || unlink(tmp) != 0)
            break;
    }
    return -NA_EIO;
}

static json_t *credentials_json(const struct credentials *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (json_object_set_new(o, "server", c->server ? json_string(c->server) : json_null()) ||
        json_object_set_new(o, "token", c->token ? json_string(c->token) : json_null()) ||
        json_object_set_new(o, "username", c->username ? json_string(c->username) : json_null())) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Writes text to fd, syncs and closes it (always). */
static int write_temp(int fd, const char *text)
{
    int rc = 0;
    if (write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1) || fsync(fd) != 0)
        rc = -NA_EIO;
    if (close(fd) != 0)
        rc = -NA_EIO;
    return rc;
}

int credentials_save(const char *path, const struct credentials *c)
{
    char tmp[4200];
    char *text = NULL;
    json_t *o = NULL;
    int rc = make_parents(path);
    if (rc)
        return rc;
    rc = -NA_EIO;
    o = credentials_json(c);
    text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    if (!text)
        goto fail;
    int fd = open_temp(path, tmp, sizeof(tmp));
    if (fd < 0)
        goto fail;
    rc = write_temp(fd, text);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -NA_EIO;
    if (rc)
        (void)unlink(tmp);
fail:
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    json_decref(o);
    return rc;
}

int credentials_remove(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return -NA_EIO;
    return 0;
}
