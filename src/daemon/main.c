/* notaloned: the notalone server. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/bootstrap.h"
#include "daemon/config.h"
#include "dc09/receiver.h"
#include "http/api.h"
#include "http/console.h"
#include "http/metrics.h"
#include "http/server.h"
#include "http/stream.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "util/secret.h"
#include "watch/watch.h"

#define NOTALONE_VERSION "0.1.0"

extern char **environ;

static void print_routes(void)
{
    for (size_t i = 0; i < api_routes_count; i++)
        printf("%s %s\n", api_routes[i].method, api_routes[i].pattern);
}

/* Opens the database, brings its schema up to date and runs the first-start set-up. */
static void prepare_storage(const struct config *cfg, const struct store_config *sc,
                            const struct clock *clk)
{
    struct store *st;
    int version, rc = store_open(sc, &st);
    if (rc)
        fatal("store_open_failed", "backend=%s code=%s", sc->url ? "postgresql" : "sqlite",
              na_error_code(rc));
    rc = store_migrate(st, &version);
    if (rc == -NA_EVERSION)
        fatal("schema_too_new",
              "schema_version=%d known_version=%d "
              "message=\"the database was written by a newer notaloned; run that version\"",
              version, store_schema_version_latest());
    if (rc)
        fatal("migration_failed", "code=%s", na_error_code(rc));
    log_info("schema", "version=%d", version);
    bool created;
    char otp[SECRET_OTP_LEN + 1];
    rc = bootstrap_first_start(st, cfg->data_dir, cfg->organisation_name, cfg->admin_username,
                               clock_now_ms(clk), &created, otp);
    if (rc)
        fatal("first_start_failed", "code=%s", na_error_code(rc));
    if (created && bootstrap_announce(cfg->data_dir, cfg->listen, cfg->admin_username, otp))
        fatal("first_start_announce_failed", "code=%s", na_error_code(-NA_EIO));
    store_close(st);
}

/* The watch's settings from the configuration (strings borrowed from cfg). */
static struct watch_config watch_settings(const struct config *cfg, const struct clock *clk,
                                          const struct store_config *sc, char *url, size_t n)
{
    if (cfg->public_url)
        snprintf(url, n, "%s", cfg->public_url);
    else
        snprintf(url, n, "http://%s", cfg->listen);
    struct watch_config wc = {.clock = clk,
                              .store = sc,
                              .reminder_before_ms = cfg->reminder_before_s * 1000,
                              .public_url = url,
                              .notify = {.smtp_url = cfg->smtp_url,
                                         .smtp_from = cfg->smtp_from,
                                         .smtp_starttls = cfg->smtp_starttls,
                                         .smtp_user = cfg->smtp_user,
                                         .smtp_password = cfg->smtp_password,
                                         .timeout_ms = 10000}};
    return wc;
}

/* The DC-09 code table: the defaults, changed by the --dc09-codes file when given. */
static struct dc09_codes *load_dc09_codes(const struct config *cfg)
{
    char *text = NULL, err[256];
    if (cfg->dc09_codes) {
        json_error_t jerr;
        json_t *root = json_load_file(cfg->dc09_codes, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
            fatal("bad_setting", "setting=dc09_codes line=%d message=\"not a readable JSON file\"",
                  jerr.line);
        text = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        if (!text)
            fatal("bad_setting", "setting=dc09_codes message=\"not a JSON object\"");
    }
    struct dc09_codes *codes;
    int rc = dc09_codes_new(text, &codes, err, sizeof err);
    free(text);
    if (rc) {
        char quoted[300];
        fatal("bad_setting", "setting=dc09_codes message=%s",
              log_quote(quoted, sizeof quoted, err));
    }
    return codes;
}

/* Starts the watch (url, of size n, holds its public URL and must outlive it). */
static void start_watch(const struct config *cfg, struct api *api, const struct store_config *sc,
                        char *url, size_t n)
{
    struct watch_config wc = watch_settings(cfg, api->clock, sc, url, n);
    int rc = watch_new(&wc, &api->watch);
    if (!rc)
        rc = watch_start(api->watch);
    if (rc)
        fatal("watch_failed", "code=%s", na_error_code(rc));
}

/* Starts the DC-09 receiver when --dc09-listen is set, with its code table in *codes
 * (caller frees both after the receiver); NULL when it is not set. Refuses to run (exits)
 * when it cannot bind. */
static struct dc09_receiver *start_dc09(const struct config *cfg, const struct api *api,
                                        const struct store_config *sc, struct dc09_codes **codes)
{
    if (!cfg->dc09_listen)
        return NULL;
    *codes = load_dc09_codes(cfg);
    struct dc09_receiver_config rc_cfg;
    dc09_receiver_config_init(&rc_cfg);
    rc_cfg.listen = cfg->dc09_listen;
    rc_cfg.store = sc;
    rc_cfg.watch = api->watch;
    rc_cfg.clock = api->clock;
    rc_cfg.ingest.codes = *codes;
    rc_cfg.ingest.repeat_window_ms = cfg->dc09_repeat_window_s * 1000;
    rc_cfg.max_connections = (size_t)cfg->dc09_max_connections;
    rc_cfg.max_per_source = (size_t)cfg->dc09_max_per_source;
    rc_cfg.idle_timeout_ms = cfg->dc09_idle_timeout_s * 1000;
    struct dc09_receiver *rx;
    int rc = dc09_receiver_start(&rc_cfg, &rx);
    if (rc)
        fatal("dc09_listen_failed", "listen=%s code=%s", cfg->dc09_listen, na_error_code(rc));
    log_info("dc09_listening", "listen=%s port=%d protocols=tcp,udp", cfg->dc09_listen,
             dc09_receiver_port(rx));
    return rx;
}

/* Unsent bytes of one event stream: a replay of 1000 events fits. */
#define STREAM_BUFFER_BYTES (512u << 10)
#define STREAM_KEEPALIVE_MS 15000

/* The web console's files when --console-dir is set (NULL when not); refuses to run
 * (exits) when they cannot all be read. Caller frees with console_free. */
static struct console *load_console(const struct config *cfg)
{
    if (!cfg->console_dir)
        return NULL;
    char err[512], quoted[600];
    struct console *con;
    if (console_load(cfg->console_dir, cfg->map_tiles, &con, err, sizeof err))
        fatal("bad_setting", "setting=console_dir message=%s",
              log_quote(quoted, sizeof quoted, err));
    log_info("console", "files=%zu bytes=%zu map=%s", console_file_count(con), console_bytes(con),
             cfg->map_tiles ? "true" : "false");
    return con;
}

/* Serves until SIGTERM or SIGINT. sc gains the hook that wakes the event stream. */
static int serve(const struct config *cfg, struct store_config *sc, struct api *api,
                 const struct console *console)
{
    char host[256], url[4200];
    int port;
    config_split_listen(cfg->listen, host, sizeof host, &port);
    struct server_config scfg = {
        .host = host,
        .port = port,
        .threads = (int)cfg->http_threads,
        .max_body_bytes = (size_t)cfg->max_body_bytes,
        .max_connections = (unsigned)cfg->max_connections,
        .request_timeout_s = (unsigned)cfg->request_timeout_s,
        .pool_size = (int)(cfg->database_pool ? cfg->database_pool : cfg->http_threads),
        .store = sc,
        .console = console};
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    /* Blocked before any thread starts, so only sigwait below receives them. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct stream_hub_config hc = {.store = sc,
                                   .clock = api->clock,
                                   .max_streams = (size_t)cfg->max_streams,
                                   .max_buffer_bytes = STREAM_BUFFER_BYTES,
                                   .keepalive_ms = STREAM_KEEPALIVE_MS};
    int rc = stream_hub_new(&hc, &api->events);
    if (rc)
        fatal("events_failed", "code=%s", na_error_code(rc));
    /* Every connection opened from here on tells the hub of its commits of events. */
    sc->on_events = stream_hub_wake;
    sc->on_events_arg = api->events;
    start_watch(cfg, api, sc, url, sizeof url);
    struct dc09_codes *codes = NULL;
    struct dc09_receiver *rx = start_dc09(cfg, api, sc, &codes);
    metrics_set_dc09(api->metrics, rx);
    struct server *srv;
    rc = server_start(&scfg, api, &srv);
    if (rc)
        fatal("listen_failed", "listen=%s code=%s", cfg->listen, na_error_code(rc));
    log_info("listening", "addr=%s port=%d threads=%lld", host, server_port(srv),
             (long long)cfg->http_threads);
    int sig = 0;
    sigwait(&stop, &sig);
    log_info("stopping", "signal=%d", sig);
    server_stop(srv);
    /* Before the watch, which its last commits still hand due work to. */
    dc09_receiver_free(rx);
    dc09_codes_free(codes);
    watch_free(api->watch);
    /* After the watch, whose last commits still wake it. */
    stream_hub_free(api->events);
    log_info("stopped", "%s", "");
    return 0;
}

/* The configured node name, or HOSTNAME:PORT: stable across restarts, so that a node
 * restarted at once takes back its own work without waiting for its lease to run out. */
static void node_name(const struct config *cfg, char *out, size_t n)
{
    char host[256] = "localhost";
    char addr[256];
    int port = 0;
    if (cfg->node_name) {
        snprintf(out, n, "%s", cfg->node_name);
        return;
    }
    if (gethostname(host, sizeof host - 1))
        snprintf(host, sizeof host, "localhost");
    config_split_listen(cfg->listen, addr, sizeof addr, &port);
    snprintf(out, n, "%s:%d", host, port);
}

/* The system clock, or the simulated one tests ask for. */
static struct clock make_clock(const struct config *cfg)
{
    int64_t start;
    if (!cfg->simulated_clock)
        return clock_system();
    if (time_parse_iso(cfg->simulated_clock, &start))
        fatal("bad_setting", "setting=simulated_clock message=\"an RFC 3339 time in UTC\"");
    log_warn("simulated_clock", "start=%lld message=\"for tests only\"", (long long)start);
    return clock_simulated(start);
}

int main(int argc, char **argv)
{
    struct config cfg;
    char err[512];
    config_init(&cfg);
    if (config_load(&cfg, argc, argv, environ, err, sizeof err)) {
        fprintf(stderr, "notaloned: %s\n", err);
        config_fini(&cfg);
        return 2;
    }
    if (cfg.help || cfg.version || cfg.print_routes) {
        if (cfg.help)
            config_print_help(stdout);
        else if (cfg.version)
            printf("notaloned %s\n", NOTALONE_VERSION);
        else
            print_routes();
        config_fini(&cfg);
        return 0;
    }
    log_set_level(cfg.log_level);
    if (secret_init())
        fatal("crypto_init_failed", "%s", "");
    if (mkdir(cfg.data_dir, 0700) && errno != EEXIST)
        fatal("data_dir_failed", "errno=%d", errno);
    char path[4200], node[320];
    snprintf(path, sizeof path, "%s/notalone.db", cfg.data_dir);
    node_name(&cfg, node, sizeof node);
    struct store_config sc = {.path = path,
                              .url = cfg.database,
                              .busy_timeout_ms = 5000,
                              .node = node,
                              .lease_ms = cfg.lease_s * 1000};
    log_info("storage", "backend=%s node=%s", cfg.database ? "postgresql" : "sqlite", node);
    /* Before the database: a console that cannot be served refuses the start at once. */
    struct console *console = load_console(&cfg);
    struct clock clk = make_clock(&cfg);
    prepare_storage(&cfg, &sc, &clk);

    struct api api = {.clock = &clk,
                      .simulated_clock = clock_is_simulated(&clk) ? &clk : NULL,
                      .session_ttl_ms = cfg.session_ttl_s * 1000,
                      .map_tiles = cfg.map_tiles,
                      .map_attribution = cfg.map_attribution,
                      .version = NOTALONE_VERSION,
                      .cookie_secure = cfg.cookie_secure};
    const char **methods = xcalloc(SERVER_METRIC_ROUTES, sizeof *methods);
    const char **patterns = xcalloc(SERVER_METRIC_ROUTES, sizeof *patterns);
    server_metric_routes(methods, patterns);
    api.metrics = metrics_new(SERVER_METRIC_ROUTES, methods, patterns, clock_now_ms(&clk));
    /* Any hash of a random secret does: it only has to cost what a real check costs. */
    char dummy[SECRET_OTP_LEN + 1];
    secret_one_time_password(dummy);
    if (secret_password_hash(dummy, strlen(dummy), api.dummy_password_hash))
        fatal("crypto_init_failed", "%s", "");
    int rc = serve(&cfg, &sc, &api, console);
    console_free(console);
    metrics_free(api.metrics);
    free(methods);
    free(patterns);
    config_fini(&cfg);
    return rc;
}
