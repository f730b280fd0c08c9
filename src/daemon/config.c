#include "daemon/config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/validate.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/str.h"

/* SET_FLAG: an action of the command line only (--help); SET_BOOL: a setting like any other. */
enum setting_type { SET_STRING, SET_INT, SET_DURATION, SET_LOG_LEVEL, SET_FLAG, SET_BOOL };

struct setting {
    const char *name; /* file key; the flag and variable are derived from it */
    enum setting_type type;
    size_t offset;
    int64_t min, max; /* for SET_INT and SET_DURATION (seconds) */
    const char *help;
};

#define OFF(field) offsetof(struct config, field)

static const struct setting settings[] = {
    {"config", SET_STRING, OFF(config_file), 0, 0, "JSON file of settings (keys as below)"},
    {"listen", SET_STRING, OFF(listen), 0, 0, "HOST:PORT to serve HTTP on [127.0.0.1:8080]"},
    {"data_dir", SET_STRING, OFF(data_dir), 0, 0,
     "folder of the SQLite database and of the first start's admin password [data]"},
    {"database", SET_STRING, OFF(database), 0, 0,
     "PostgreSQL connection string or postgresql:// URI (never logged); unset: SQLite in "
     "data_dir"},
    {"database_pool", SET_INT, OFF(database_pool), 1, 1024,
     "database connections the HTTP workers share [http_threads]"},
    {"node_name", SET_STRING, OFF(node_name), 0, 0,
     "this node's name, distinct for every node on one database [HOSTNAME:PORT]"},
    {"lease", SET_DURATION, OFF(lease_s), 2, 3600,
     "a node silent this long is taken for dead and its work taken over [10s]"},
    {"log_level", SET_LOG_LEVEL, OFF(log_level), 0, 0, "debug, info, warn or error [info]"},
    {"http_threads", SET_INT, OFF(http_threads), 1, 256, "HTTP worker threads [4]"},
    {"max_body_bytes", SET_INT, OFF(max_body_bytes), 1024, 16 << 20,
     "largest request body accepted [65536]"},
    {"session_ttl", SET_DURATION, OFF(session_ttl_s), 60, 90 * 86400,
     "lifetime of a login session, e.g. 12h [12h]"},
    {"max_connections", SET_INT, OFF(max_connections), 4, 100000,
     "concurrent HTTP connections [1024]"},
    {"request_timeout", SET_DURATION, OFF(request_timeout_s), 1, 3600,
     "idle connection timeout [30s]"},
    {"max_streams", SET_INT, OFF(max_streams), 0, 100000,
     "live event streams (GET /api/v1/events) open at once on this node; more get 503 [256]"},
    {"organisation_name", SET_STRING, OFF(organisation_name), 0, 0,
     "name of the host organisation created at first start [notalone]"},
    {"admin_username", SET_STRING, OFF(admin_username), 0, 0,
     "username of the first administrator [admin]"},
    {"simulated_clock", SET_STRING, OFF(simulated_clock), 0, 0,
     "run on a simulated clock starting at this RFC 3339 time (tests only)"},
    {"reminder_before", SET_DURATION, OFF(reminder_before_s), 0, 86400,
     "remind the worker this long before a deadline; 0: never [5m]"},
    {"public_url", SET_STRING, OFF(public_url), 0, 0,
     "base URL of links in notifications [http://LISTEN]"},
    {"smtp_url", SET_STRING, OFF(smtp_url), 0, 0, "SMTP server for email, smtp://host:port"},
    {"smtp_from", SET_STRING, OFF(smtp_from), 0, 0, "sender address of email [notalone@localhost]"},
    {"smtp_starttls", SET_BOOL, OFF(smtp_starttls), 0, 0, "require STARTTLS with the SMTP server"},
    {"smtp_user", SET_STRING, OFF(smtp_user), 0, 0, "SMTP user name"},
    {"smtp_password", SET_STRING, OFF(smtp_password), 0, 0, "SMTP password (never logged)"},
    {"dc09_listen", SET_STRING, OFF(dc09_listen), 0, 0,
     "HOST:PORT of the SIA DC-09 alarm receiver, TCP and UDP; unset: off"},
    {"dc09_codes", SET_STRING, OFF(dc09_codes), 0, 0,
     "JSON file changing DC-09 event codes' actions [built-in table]"},
    {"dc09_max_connections", SET_INT, OFF(dc09_max_connections), 1, 100000,
     "DC-09 TCP connections at once; more are closed at once [4096]"},
    {"dc09_max_per_source", SET_INT, OFF(dc09_max_per_source), 1, 100000,
     "DC-09 TCP connections from one address [64]"},
    {"dc09_idle_timeout", SET_DURATION, OFF(dc09_idle_timeout_s), 1, 86400,
     "a DC-09 connection silent this long is closed [5m]"},
    {"dc09_repeat_window", SET_DURATION, OFF(dc09_repeat_window_s), 1, 86400,
     "a DC-09 message repeated within this is acknowledged, not stored again [10m]"},
    {"console_dir", SET_STRING, OFF(console_dir), 0, 0,
     "folder of the built web console (web/build.mjs), served at /; unset: no console"},
    {"cookie_secure", SET_BOOL, OFF(cookie_secure), 0, 0,
     "mark the console's session cookie Secure; turn on when served over HTTPS [false]"},
    {"map_tiles", SET_STRING, OFF(map_tiles), 0, 0,
     "map tiles URL template for the console, https://HOST/{z}/{x}/{y}.png; unset: no map"},
    {"map_attribution", SET_STRING, OFF(map_attribution), 0, 0,
     "attribution shown with the console's map (at most 300 characters)"},
    {"print_routes", SET_FLAG, OFF(print_routes), 0, 0, "print the HTTP routes and exit"},
    {"help", SET_FLAG, OFF(help), 0, 0, "print this help and exit"},
    {"version", SET_FLAG, OFF(version), 0, 0, "print the version and exit"},
};

#define N_SETTINGS (sizeof settings / sizeof settings[0])

void config_init(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = xstrdup("127.0.0.1:8080");
    cfg->data_dir = xstrdup("data");
    cfg->log_level = LOG_INFO;
    cfg->http_threads = 4;
    cfg->lease_s = 10;
    cfg->max_body_bytes = 65536;
    cfg->session_ttl_s = 12 * 3600;
    cfg->max_connections = 1024;
    cfg->request_timeout_s = 30;
    cfg->max_streams = 256;
    cfg->organisation_name = xstrdup("notalone");
    cfg->admin_username = xstrdup("admin");
    cfg->reminder_before_s = 300;
    cfg->smtp_from = xstrdup("notalone@localhost");
    cfg->dc09_max_connections = 4096;
    cfg->dc09_max_per_source = 64;
    cfg->dc09_idle_timeout_s = 300;
    cfg->dc09_repeat_window_s = 600;
}

void config_fini(struct config *cfg)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (settings[i].type == SET_STRING) {
            char **p = (char **)((char *)cfg + settings[i].offset);
            free(*p);
            *p = NULL;
        }
    }
}

/* Stores the text value v into setting s of cfg. */
static int apply(struct config *cfg, const struct setting *s, const char *v, const char *from,
                 char *err, size_t n)
{
    char *field = (char *)cfg + s->offset;
    int64_t num;
    switch (s->type) {
    case SET_STRING:
        if (v[0] == '\0' || strlen(v) > 4096)
            goto bad;
        free(*(char **)field);
        *(char **)field = xstrdup(v);
        return 0;
    case SET_INT:
        if (parse_int64(slice_of(v), s->min, s->max, &num))
            goto bad;
        *(int64_t *)field = num;
        return 0;
    case SET_DURATION:
        if (parse_duration_s(v, s->max, &num) || num < s->min)
            goto bad;
        *(int64_t *)field = num;
        return 0;
    case SET_LOG_LEVEL:
        if (log_parse_level(v, (enum log_level *)field))
            goto bad;
        return 0;
    case SET_FLAG:
    case SET_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
            *(bool *)field = true;
        else if (s->type == SET_BOOL && (strcmp(v, "false") == 0 || strcmp(v, "0") == 0))
            *(bool *)field = false;
        else
            goto bad;
        return 0;
    }
bad:
    snprintf(err, n, "%s: bad value for %s", from, s->name);
    return -NA_EINVAL;
}

/* The setting whose name, in the form of a flag ("data-dir") or key ("data_dir"), is name. */
static const struct setting *find(const char *name, size_t len, bool dashes)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *k = settings[i].name;
        if (strlen(k) != len)
            continue;
        size_t j = 0;
        for (; j < len; j++) {
            char want = (dashes && k[j] == '_') ? '-' : k[j];
            if (name[j] != want)
                break;
        }
        if (j == len)
            return &settings[i];
    }
    return NULL;
}

static int load_env(struct config *cfg, char **envp, char *err, size_t n)
{
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, "NOTALONE_", 9))
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char key[64];
        size_t len = (size_t)(eq - *e) - 9;
        if (len >= sizeof key)
            continue;
        for (size_t i = 0; i < len; i++) {
            char c = (*e)[9 + i];
            key[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        const struct setting *s = find(key, len, false);
        /* Variables for other programs (NOTALONE_SERVER of the CLI) are not ours. */
        if (!s || s->type == SET_FLAG)
            continue;
        int rc = apply(cfg, s, eq + 1, "environment", err, n);
        if (rc)
            return rc;
    }
    return 0;
}

/* Text form of a JSON value for apply(): strings as they are, integers in decimal. */
static int json_setting_text(json_t *v, char *buf, size_t n)
{
    if (json_is_string(v))
        return snprintf(buf, n, "%s", json_string_value(v)) < (int)n ? 0 : -NA_EINVAL;
    if (json_is_integer(v))
        return snprintf(buf, n, "%lld", (long long)json_integer_value(v)) < (int)n ? 0 : -NA_EINVAL;
    if (json_is_boolean(v))
        return snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false") < (int)n ? 0 : -NA_EINVAL;
    return -NA_EINVAL;
}

static int load_file(struct config *cfg, const char *path, char *err, size_t n)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        snprintf(err, n, "config %s: %s (line %d)", path, root ? "not an object" : jerr.text,
                 jerr.line);
        json_decref(root);
        return -NA_EINVAL;
    }
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(root, key, v)
    {
        const struct setting *s = find(key, strlen(key), false);
        char text[4097];
        if (!s || s->type == SET_FLAG || strcmp(key, "config") == 0) {
            snprintf(err, n, "config %s: unknown key %s", path, key);
            rc = -NA_EINVAL;
            break;
        }
        if (json_setting_text(v, text, sizeof text)) {
            snprintf(err, n, "config %s: bad value for %s", path, key);
            rc = -NA_EINVAL;
            break;
        }
        rc = apply(cfg, s, text, "config file", err, n);
        if (rc)
            break;
    }
    json_decref(root);
    return rc;
}

/* Applies "--name value", "--name=value" and bare "--flag" arguments. */
static int load_flags(struct config *cfg, int argc, char **argv, bool only_config, char *err,
                      size_t n)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || a[2] == '\0') {
            snprintf(err, n, "unexpected argument (see --help)");
            return -NA_EINVAL;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct setting *s = find(name, len, true);
        if (!s) {
            snprintf(err, n, "unknown option --%.*s (see --help)", (int)(len > 64 ? 64 : len),
                     name);
            return -NA_EINVAL;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v && (s->type == SET_FLAG || s->type == SET_BOOL))
            v = "true";
        if (!v && ++i < argc)
            v = argv[i];
        if (!v) {
            snprintf(err, n, "--%s needs a value", name);
            return -NA_EINVAL;
        }
        bool is_config = s->offset == OFF(config_file);
        if (is_config != only_config)
            continue;
        int rc = apply(cfg, s, v, "command line", err, n);
        if (rc)
            return rc;
    }
    return 0;
}

/* True when s is UTF-8 (jansson checks it): the value goes into JSON answers. */
static bool utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

/* Checks the console's settings: a bad map setting refuses the start, not the map. */
static int check_console(const struct config *cfg, char *err, size_t n)
{
    if (cfg->map_tiles && validate_map_tiles(cfg->map_tiles)) {
        snprintf(err, n,
                 "map_tiles: expected an http:// or https:// URL template containing {z}, {x} "
                 "and {y}, of at most %d bytes, without spaces, quotes, ';' or ','",
                 MAP_TILES_MAX);
        return -NA_EINVAL;
    }
    if (cfg->map_attribution &&
        (!utf8_ok(cfg->map_attribution) || validate_map_attribution(cfg->map_attribution))) {
        snprintf(err, n,
                 "map_attribution: expected 1 to %d characters of UTF-8 text without "
                 "control characters",
                 MAP_ATTRIBUTION_MAX);
        return -NA_EINVAL;
    }
    return 0;
}

int config_load(struct config *cfg, int argc, char **argv, char **envp, char *err, size_t n)
{
    /* The file is named by a flag or the environment but sits below both. */
    int rc = load_env(cfg, envp, err, n);
    if (!rc)
        rc = load_flags(cfg, argc, argv, true, err, n);
    if (!rc && cfg->config_file)
        rc = load_file(cfg, cfg->config_file, err, n);
    if (!rc)
        rc = load_env(cfg, envp, err, n);
    if (!rc)
        rc = load_flags(cfg, argc, argv, false, err, n);
    if (!rc) {
        char host[256];
        int port;
        if (config_split_listen(cfg->listen, host, sizeof host, &port)) {
            snprintf(err, n, "listen: expected HOST:PORT");
            rc = -NA_EINVAL;
        } else if (cfg->dc09_listen &&
                   config_split_listen(cfg->dc09_listen, host, sizeof host, &port)) {
            snprintf(err, n, "dc09_listen: expected HOST:PORT");
            rc = -NA_EINVAL;
        }
    }
    if (!rc)
        rc = check_console(cfg, err, n);
    return rc;
}

void config_print_help(void *f)
{
    FILE *out = f;
    fprintf(out, "usage: notaloned [OPTIONS]\n\n"
                 "notalone's server: HTTP API, storage and the SIA DC-09 alarm receiver.\n"
                 "Every option is also an environment variable (--data-dir = "
                 "NOTALONE_DATA_DIR)\nand a key of the --config file (data_dir).\n\n");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        char flag[64];
        size_t k = 0;
        for (const char *p = settings[i].name; *p && k < sizeof flag - 1; p++)
            flag[k++] = *p == '_' ? '-' : *p;
        flag[k] = '\0';
        fprintf(out, "  --%-20s %s\n", flag, settings[i].help);
    }
}

int config_split_listen(const char *listen, char *host, size_t host_n, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return -NA_EINVAL;
    const char *h = listen;
    size_t hlen = (size_t)(colon - listen);
    if (h[0] == '[') {
        if (hlen < 3 || h[hlen - 1] != ']')
            return -NA_EINVAL;
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= host_n)
        return -NA_EINVAL;
    int64_t p;
    if (parse_int64(slice_of(colon + 1), 0, 65535, &p))
        return -NA_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}
