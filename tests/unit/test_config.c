/*
 * Tests of notaloned's settings (daemon/config.h): defaults, flags, environment, file,
 * precedence and bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "daemon/config.h"
#include "util/error.h"

struct fixture {
    char dir[64];
    char path[128];
    struct config cfg;
    char err[256];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_config.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/notalone.json", fx->dir);
    config_init(&fx->cfg);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    config_fini(&fx->cfg);
    unlink(fx->path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void write_file(struct fixture *fx, const char *text)
{
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Loads with a NULL-terminated argv (argv[0] added) and envp. */
static int load(struct fixture *fx, const char **args, const char **env)
{
    char *argv[16] = {"notaloned"};
    int argc = 1;
    static char *no_env[] = {NULL};
    for (; args && args[argc - 1]; argc++) {
        assert_true(argc < 15);
        argv[argc] = (char *)args[argc - 1];
    }
    fx->err[0] = '\0';
    return config_load(&fx->cfg, argc, argv, env ? (char **)env : no_env, fx->err, sizeof fx->err);
}

static void test_defaults(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(load(fx, NULL, NULL), 0);
    assert_string_equal(fx->cfg.listen, "127.0.0.1:8080");
    assert_string_equal(fx->cfg.data_dir, "data");
    assert_int_equal(fx->cfg.log_level, LOG_INFO);
    assert_int_equal(fx->cfg.http_threads, 4);
    assert_int_equal(fx->cfg.max_body_bytes, 65536);
    assert_int_equal(fx->cfg.session_ttl_s, 12 * 3600);
    assert_int_equal(fx->cfg.max_connections, 1024);
    assert_int_equal(fx->cfg.request_timeout_s, 30);
    assert_string_equal(fx->cfg.organisation_name, "notalone");
    assert_string_equal(fx->cfg.admin_username, "admin");
    assert_null(fx->cfg.config_file);
    assert_false(fx->cfg.help);
    assert_false(fx->cfg.version);
    assert_false(fx->cfg.print_routes);
}

static void test_flags(void **state)
{
    struct fixture *fx = *state;
    const char *args[] = {
        "--data-dir",        "/srv/a",         "--http-threads=8", "--session-ttl", "20m",
        "--log-level=debug", "--print-routes", "--listen",         "[::1]:9000",    NULL};
    assert_int_equal(load(fx, args, NULL), 0);
    assert_string_equal(fx->cfg.data_dir, "/srv/a");
    assert_int_equal(fx->cfg.http_threads, 8);
    assert_int_equal(fx->cfg.session_ttl_s, 1200);
    assert_int_equal(fx->cfg.log_level, LOG_DEBUG);
    assert_true(fx->cfg.print_routes);
    assert_string_equal(fx->cfg.listen, "[::1]:9000");

    const char *eq[] = {"--data-dir=/srv/b", "--help", NULL};
    assert_int_equal(load(fx, eq, NULL), 0);
    assert_string_equal(fx->cfg.data_dir, "/srv/b");
    assert_true(fx->cfg.help);
    /* The value after '=' may itself hold '='. */
    const char *eq2[] = {"--organisation-name=a=b", NULL};
    assert_int_equal(load(fx, eq2, NULL), 0);
    assert_string_equal(fx->cfg.organisation_name, "a=b");
}

static void test_env(void **state)
{
    struct fixture *fx = *state;
    const char *env[] = {"PATH=/usr/bin",
                         "NOTALONE_DATA_DIR=/var/lib/notalone",
                         "NOTALONE_HTTP_THREADS=16",
                         "NOTALONE_SERVER=http://elsewhere:1",
                         "NOTALONE_TOKEN=na_s_secret",
                         "NOTALONE_HELP=1",
                         "NOTALONE_NOEQUALS",
                         "NOTALONE_",
                         "DATA_DIR=/wrong",
                         NULL};
    assert_int_equal(load(fx, NULL, env), 0);
    assert_string_equal(fx->cfg.data_dir, "/var/lib/notalone");
    assert_int_equal(fx->cfg.http_threads, 16);
    /* Flags are not set from the environment. */
    assert_false(fx->cfg.help);
    assert_string_equal(fx->cfg.listen, "127.0.0.1:8080");

    const char *bad[] = {"NOTALONE_HTTP_THREADS=many", NULL};
    assert_int_equal(load(fx, NULL, bad), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "http_threads"));
}

static void test_file(void **state)
{
    struct fixture *fx = *state;
    write_file(fx, "{\"data_dir\": \"/srv/file\", \"listen\": \"0.0.0.0:8443\", "
                   "\"session_ttl\": \"2h\", \"http_threads\": 8, \"log_level\": \"warn\"}");
    const char *args[] = {"--config", fx->path, NULL};
    assert_int_equal(load(fx, args, NULL), 0);
    assert_string_equal(fx->cfg.config_file, fx->path);
    assert_string_equal(fx->cfg.data_dir, "/srv/file");
    assert_string_equal(fx->cfg.listen, "0.0.0.0:8443");
    assert_int_equal(fx->cfg.session_ttl_s, 7200);
    assert_int_equal(fx->cfg.http_threads, 8);
    assert_int_equal(fx->cfg.log_level, LOG_WARN);
    /* Settings absent from the file keep their defaults. */
    assert_int_equal(fx->cfg.max_connections, 1024);
}

static void test_file_from_env(void **state)
{
    struct fixture *fx = *state;
    char var[160];
    write_file(fx, "{\"admin_username\": \"root\"}");
    snprintf(var, sizeof var, "NOTALONE_CONFIG=%s", fx->path);
    const char *env[] = {var, NULL};
    assert_int_equal(load(fx, NULL, env), 0);
    assert_string_equal(fx->cfg.admin_username, "root");
}

static void test_precedence(void **state)
{
    struct fixture *fx = *state;
    write_file(fx, "{\"data_dir\": \"file\", \"http_threads\": 2, \"admin_username\": \"f\", "
                   "\"max_connections\": 50}");
    const char *env[] = {"NOTALONE_DATA_DIR=env", "NOTALONE_HTTP_THREADS=3", NULL};
    const char *args[] = {"--data-dir", "flag", "--config", fx->path, NULL};
    assert_int_equal(load(fx, args, env), 0);
    assert_string_equal(fx->cfg.data_dir, "flag");    /* flag over env over file */
    assert_int_equal(fx->cfg.http_threads, 3);        /* env over file */
    assert_string_equal(fx->cfg.admin_username, "f"); /* file over default */
    assert_int_equal(fx->cfg.max_connections, 50);
    assert_int_equal(fx->cfg.request_timeout_s, 30); /* default */
}

static void test_bad_flags(void **state)
{
    struct fixture *fx = *state;
    const char *unknown[] = {"--data-dri", "x", NULL};
    assert_int_equal(load(fx, unknown, NULL), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "data-dri"));
    const char *underscore[] = {"--data_dir=x", NULL};
    assert_int_equal(load(fx, underscore, NULL), -NA_EINVAL);
    assert_true(strlen(fx->err) > 0);
    const char *bare[] = {"serve", NULL};
    assert_int_equal(load(fx, bare, NULL), -NA_EINVAL);
    assert_true(strlen(fx->err) > 0);
    const char *dashes[] = {"--", NULL};
    assert_int_equal(load(fx, dashes, NULL), -NA_EINVAL);
    const char *missing[] = {"--data-dir", NULL};
    assert_int_equal(load(fx, missing, NULL), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "data-dir"));
    const char *empty[] = {"--data-dir=", NULL};
    assert_int_equal(load(fx, empty, NULL), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "data_dir"));

    const char *bad_values[][3] = {
        {"--http-threads", "0", "http_threads"},        {"--http-threads", "257", "http_threads"},
        {"--http-threads", "4x", "http_threads"},       {"--session-ttl", "abc", "session_ttl"},
        {"--session-ttl", "59", "session_ttl"},         {"--session-ttl", "91d", "session_ttl"},
        {"--log-level", "verbose", "log_level"},        {"--help=yes", NULL, "help"},
        {"--max-body-bytes", "1023", "max_body_bytes"},
    };
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        const char *args[] = {bad_values[i][0], bad_values[i][1], NULL};
        if (load(fx, args, NULL) != -NA_EINVAL)
            fail_msg("accepted %s %s", bad_values[i][0], bad_values[i][1]);
        if (!strstr(fx->err, bad_values[i][2]))
            fail_msg("message \"%s\" does not name %s", fx->err, bad_values[i][2]);
    }
    /* A long unknown flag is cut in the message, which stays terminated. */
    char longflag[600];
    memset(longflag, 'x', sizeof longflag);
    memcpy(longflag, "--", 2);
    longflag[sizeof longflag - 1] = '\0';
    const char *lf[] = {longflag, NULL};
    assert_int_equal(load(fx, lf, NULL), -NA_EINVAL);
    assert_true(strlen(fx->err) < sizeof fx->err);
}

static void test_bad_listen(void **state)
{
    struct fixture *fx = *state;
    const char *args[] = {"--listen", "nohost", NULL};
    assert_int_equal(load(fx, args, NULL), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "listen"));
    const char *env[] = {"NOTALONE_LISTEN=host:99999", NULL};
    assert_int_equal(load(fx, NULL, env), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "listen"));
}

static void test_bad_file(void **state)
{
    struct fixture *fx = *state;
    const char *args[] = {"--config", fx->path, NULL};
    static const char *const files[][2] = {
        {"{\"data_dir\": \"x\", \"colour\": \"red\"}", "colour"},
        {"{\"http_threads\": 0}", "http_threads"},
        {"{\"session_ttl\": \"abc\"}", "session_ttl"},
        {"{\"listen\": \"nohost\"}", "listen"},
        {"{\"http_threads\": 8.5}", "http_threads"},
        {"{\"data_dir\": null}", "data_dir"},
        {"{\"data_dir\": [\"a\"]}", "data_dir"},
        {"{\"help\": true}", "help"},
        {"{\"config\": \"/etc/other.json\"}", "config"},
        {"{\"data_dir\": \"a\", \"data_dir\": \"b\"}", ""},
        {"[1, 2]", "not an object"},
        {"{\"data_dir\": ", ""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        write_file(fx, files[i][0]);
        if (load(fx, args, NULL) != -NA_EINVAL)
            fail_msg("accepted file %s", files[i][0]);
        assert_true(strlen(fx->err) > 0);
        if (!strstr(fx->err, files[i][1]))
            fail_msg("message \"%s\" does not name %s", fx->err, files[i][1]);
    }
    unlink(fx->path);
    assert_int_equal(load(fx, args, NULL), -NA_EINVAL);
    assert_non_null(strstr(fx->err, fx->path));
}

static void test_split_listen(void **state)
{
    char host[64];
    int port = -1;
    (void)state;
    assert_int_equal(config_split_listen("127.0.0.1:8080", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(config_split_listen("[::1]:9000", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9000);
    assert_int_equal(config_split_listen("localhost:65535", host, sizeof host, &port), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 65535);

    port = -1;
    const char *bad[] = {":80",      "host:",   "host:70000", "host:65536", "host:-1",
                         "host:+80", "host:8o", "nohost",     "",           "[]:80",
                         "[::1:80",  "::1:80x", "[::1]80",    "host: 80",   ":"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_split_listen(bad[i], host, sizeof host, &port) != -NA_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(port, -1);
    }
    /* The host must fit the caller's buffer. */
    assert_int_equal(config_split_listen("abcdefgh:1", host, 8, &port), -NA_EINVAL);
    assert_int_equal(config_split_listen("abcdefg:1", host, 8, &port), 0);
    assert_string_equal(host, "abcdefg");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_from_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_listen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_listen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
