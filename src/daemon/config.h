#ifndef NA_DAEMON_CONFIG_H
#define NA_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

/*
 * notaloned's settings. Each has one name used three ways: the flag --data-dir, the
 * environment variable NOTALONE_DATA_DIR and the key data_dir in the JSON config file.
 * Precedence: defaults < file < environment < flags.
 */
struct config {
    char *config_file;
    char *listen; /* HOST:PORT */
    char *data_dir;
    char *database;        /* PostgreSQL connection string; NULL: SQLite in data_dir */
    int64_t database_pool; /* 0: as many as http_threads */
    char *node_name;       /* NULL: HOSTNAME:PORT */
    int64_t lease_s;       /* a node silent this long is taken for dead */
    enum log_level log_level;
    int64_t http_threads;
    int64_t max_body_bytes;
    int64_t session_ttl_s;
    int64_t max_connections;
    int64_t request_timeout_s;
    int64_t max_streams;     /* live event streams (GET /api/v1/events) open at once */
    char *organisation_name; /* the host organisation created at first start */
    char *admin_username;    /* its first administrator */
    char *simulated_clock;   /* RFC 3339 start of a simulated clock (tests); NULL: real */
    int64_t reminder_before_s;
    char *public_url; /* base of links in notifications; NULL: http://<listen> */
    char *smtp_url;   /* NULL: no email */
    char *smtp_from;
    bool smtp_starttls;
    char *smtp_user;
    char *smtp_password;
    char *dc09_listen;            /* HOST:PORT of the DC-09 receiver (TCP and UDP); NULL: off */
    char *dc09_codes;             /* JSON file changing the event code table; NULL: defaults */
    int64_t dc09_max_connections; /* DC-09 TCP connections at once */
    int64_t dc09_max_per_source;  /* DC-09 TCP connections from one address */
    int64_t dc09_idle_timeout_s;  /* a silent DC-09 connection is closed after this */
    int64_t dc09_repeat_window_s; /* a message repeated within this is not stored again */
    char *console_dir;            /* the built web console (web/build.mjs); NULL: no console */
    bool cookie_secure;           /* session cookies carry Secure (behind HTTPS) */
    char *map_tiles;              /* the console's map tiles URL template; NULL: no map */
    char *map_attribution;        /* text shown with the map */
    bool print_routes;            /* print the route table and exit */
    bool help;
    bool version;
};

/* Fills cfg with defaults. Release with config_fini. */
void config_init(struct config *cfg);
void config_fini(struct config *cfg);

/*
 * Loads settings from argv (argv[0] skipped), the environment (envp, NULL-terminated
 * "NAME=value" strings) and the config file named by --config / NOTALONE_CONFIG.
 * -NA_EINVAL with a message in err (size n) for an unknown flag or key, a bad value or
 * an unreadable file.
 */
int config_load(struct config *cfg, int argc, char **argv, char **envp, char *err, size_t n);

/* Writes the --help text to f. */
void config_print_help(void *f);

/* Splits "HOST:PORT" ("[::1]:8080" for IPv6). -NA_EINVAL when malformed. */
int config_split_listen(const char *listen, char *host, size_t host_n, int *port);

#endif
