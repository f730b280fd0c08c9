/*
 * Tests of the web console's files in memory (http/console.h), the Cookie header reader
 * (util/cookie.h) and the map settings' rules (core/validate.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/validate.h"
#include "http/console.h"
#include "util/cookie.h"
#include "util/error.h"
#include "util/secret.h"

struct fixture {
    char dir[64];
    char err[512];
};

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void make_dir(const char *dir, const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    assert_int_equal(mkdir(path, 0700), 0);
}

/* A small build: index.html, hashed assets (one with a gzip form), a favicon. */
static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_http_console.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    write_file(fx->dir, "index.html", "<!doctype html><title>notalone</title>");
    make_dir(fx->dir, "assets");
    write_file(fx->dir, "assets/app-abc123.js", "console.log('app');");
    write_file(fx->dir, "assets/app-abc123.js.gz", "GZIP-BYTES");
    write_file(fx->dir, "assets/app-abc123.css", "body{color:red}");
    write_file(fx->dir, "favicon.svg", "<svg/>");
    write_file(fx->dir, ".secret", "dotfile");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static struct console *load(struct fixture *fx, const char *tiles)
{
    struct console *c = NULL;
    int rc = console_load(fx->dir, tiles, &c, fx->err, sizeof fx->err);
    if (rc)
        fail_msg("console_load: %s", fx->err);
    return c;
}

static void test_files_and_types(void **state)
{
    struct fixture *fx = *state;
    struct console *c = load(fx, NULL);
    assert_int_equal(console_file_count(c), 4); /* the .gz is a form, the dotfile is skipped */
    const struct console_file *f = console_find(c, "/assets/app-abc123.js");
    assert_non_null(f);
    assert_string_equal(f->type, "text/javascript; charset=utf-8");
    assert_true(f->immutable);
    assert_int_equal(f->len, strlen("console.log('app');"));
    assert_memory_equal(f->data, "console.log('app');", f->len);
    assert_non_null(f->gz);
    assert_memory_equal(f->gz, "GZIP-BYTES", f->gz_len);
    assert_int_equal(f->etag[0], '"');
    assert_int_equal(strlen(f->etag), SECRET_HASH_HEX + 2);
    assert_int_not_equal(strcmp(f->etag, f->etag_gz), 0);

    f = console_find(c, "/assets/app-abc123.css");
    assert_non_null(f);
    assert_string_equal(f->type, "text/css; charset=utf-8");
    assert_null(f->gz);
    f = console_find(c, "/favicon.svg");
    assert_non_null(f);
    assert_string_equal(f->type, "image/svg+xml; charset=utf-8");
    assert_false(f->immutable);
    f = console_find(c, "/index.html");
    assert_non_null(f);
    assert_string_equal(f->type, "text/html; charset=utf-8");
    assert_string_equal(f->path, "index.html");
    console_free(c);
}

static void test_pages_fall_back_to_index(void **state)
{
    struct fixture *fx = *state;
    struct console *c = load(fx, NULL);
    const struct console_file *index = console_find(c, "/index.html");
    static const char *const pages[] = {"/",       "/board",   "/alarms/12", "/workers/3/day",
                                        "/board/", "/assets/", "/v1.2/out"};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        assert_ptr_equal(console_find(c, pages[i]), index);
    static const char *const missing[] = {"/missing.js", "/assets/app-abc123.js.gz",
                                          "/assets/other.css", "/index.htm"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        assert_null(console_find(c, missing[i]));
    console_free(c);
}

static void test_hostile_paths(void **state)
{
    struct fixture *fx = *state;
    struct console *c = load(fx, NULL);
    static const char *const bad[] = {
        "/../etc/passwd",
        "/assets/../index.html",
        "/./index.html",
        "//index.html",
        "/assets//app-abc123.js",
        "/.secret",
        "/assets/.hidden",
        "index.html",
        "",
        "/a\\b",
        "/board\x01",
        "/..",
        "/.",
        "/assets/app-abc123.js/..",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (console_find(c, bad[i]))
            fail_msg("found a file for %s", bad[i]);
    }
    char long_path[CONSOLE_MAX_PATH + 2];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    assert_null(console_find(c, long_path));
    console_free(c);
}

static void test_owns_path(void **state)
{
    (void)state;
    assert_true(console_owns_path("/"));
    assert_true(console_owns_path("/board"));
    assert_true(console_owns_path("/apiary"));
    assert_true(console_owns_path("/metricsx"));
    assert_false(console_owns_path("/api"));
    assert_false(console_owns_path("/api/"));
    assert_false(console_owns_path("/api/v1/nope"));
    assert_false(console_owns_path("/healthz"));
    assert_false(console_owns_path("/healthz/x"));
    assert_false(console_owns_path("/readyz"));
    assert_false(console_owns_path("/metrics"));
}

static void test_csp(void **state)
{
    struct fixture *fx = *state;
    struct console *c = load(fx, NULL);
    assert_string_equal(console_csp(c),
                        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                        "data:; connect-src 'self'; media-src 'self'; font-src 'self'; "
                        "manifest-src 'self'; base-uri 'none'; form-action 'self'; "
                        "frame-ancestors 'none'");
    console_free(c);
    c = load(fx, "https://{s}.tile.example.org:8443/{z}/{x}/{y}.png?key=abc");
    assert_non_null(
        strstr(console_csp(c), "img-src 'self' data: https://*.tile.example.org:8443; "));
    console_free(c);
    c = load(fx, "http://tiles.example.org/{z}/{x}/{y}.png");
    assert_non_null(strstr(console_csp(c), "img-src 'self' data: http://tiles.example.org; "));
    console_free(c);
}

static void test_load_refusals(void **state)
{
    struct fixture *fx = *state;
    struct console *c = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/nowhere", fx->dir);
    assert_int_equal(console_load(path, NULL, &c, fx->err, sizeof fx->err), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "console_dir"));
    assert_null(c);
    /* A folder without index.html: a build that was not made. */
    snprintf(path, sizeof path, "%s/assets", fx->dir);
    assert_int_equal(console_load(path, NULL, &c, fx->err, sizeof fx->err), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "index.html"));
    /* A file over 8 MiB (sparse: nothing is written). */
    snprintf(path, sizeof path, "%s/assets/huge.bin", fx->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)CONSOLE_MAX_FILE_BYTES + 1), 0);
    close(fd);
    assert_int_equal(console_load(fx->dir, NULL, &c, fx->err, sizeof fx->err), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "8 MiB"));
    assert_int_equal(unlink(path), 0);
    /* More than 500 files. */
    make_dir(fx->dir, "many");
    for (int i = 0; i < CONSOLE_MAX_FILES; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "many/f%d.txt", i);
        write_file(fx->dir, rel, "x");
    }
    assert_int_equal(console_load(fx->dir, NULL, &c, fx->err, sizeof fx->err), -NA_EINVAL);
    assert_non_null(strstr(fx->err, "500 files"));
}

static void test_symlinks_skipped(void **state)
{
    struct fixture *fx = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/passwd.txt", fx->dir);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    snprintf(path, sizeof path, "%s/etc", fx->dir);
    assert_int_equal(symlink("/etc", path), 0);
    struct console *c = load(fx, NULL);
    assert_int_equal(console_file_count(c), 4);
    assert_null(console_find(c, "/passwd.txt"));
    assert_null(console_find(c, "/etc/hostname.txt"));
    console_free(c);
}

static void test_accepts_gzip(void **state)
{
    (void)state;
    assert_true(console_accepts_gzip("gzip"));
    assert_true(console_accepts_gzip("gzip, deflate, br"));
    assert_true(console_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(console_accepts_gzip("*"));
    assert_true(console_accepts_gzip("deflate, gzip ; q=0.001"));
    assert_false(console_accepts_gzip(NULL));
    assert_false(console_accepts_gzip(""));
    assert_false(console_accepts_gzip("identity"));
    assert_false(console_accepts_gzip("br, deflate"));
    assert_false(console_accepts_gzip("gzip;q=0"));
    assert_false(console_accepts_gzip("gzip;q=0.000, *"));
    assert_false(console_accepts_gzip("*;q=0"));
    assert_false(console_accepts_gzip("xgzip, gzipx"));
}

static void test_etag_matches(void **state)
{
    (void)state;
    const char *etag = "\"abc\"";
    assert_true(console_etag_matches("\"abc\"", etag));
    assert_true(console_etag_matches("\"x\", \"abc\"", etag));
    assert_true(console_etag_matches("W/\"abc\"", etag));
    assert_true(console_etag_matches(" * ", etag));
    assert_false(console_etag_matches(NULL, etag));
    assert_false(console_etag_matches("", etag));
    assert_false(console_etag_matches("abc", etag));
    assert_false(console_etag_matches("\"abc-gz\"", etag));
    assert_false(console_etag_matches("\"ab\"", etag));
    assert_false(console_etag_matches(",,,", etag));
}

static void expect_cookie(const char *header, const char *value)
{
    struct slice v;
    assert_int_equal(cookie_find(header, "notalone_session", &v), 0);
    assert_int_equal(v.len, strlen(value));
    assert_memory_equal(v.ptr, value, v.len);
}

static void test_cookie_find(void **state)
{
    (void)state;
    struct slice v;
    expect_cookie("notalone_session=na_s_1", "na_s_1");
    expect_cookie("a=b; notalone_session=na_s_1; c=d", "na_s_1");
    expect_cookie("a=\"quoted, other\";notalone_session=tok ;;; ", "tok");
    expect_cookie("x_notalone_session=1; notalone_session=2", "2");
    assert_int_equal(cookie_find(NULL, "notalone_session", &v), -NA_ENOTFOUND);
    assert_int_equal(cookie_find("", "notalone_session", &v), -NA_ENOTFOUND);
    assert_int_equal(cookie_find(";;;;", "notalone_session", &v), -NA_ENOTFOUND);
    assert_int_equal(cookie_find("notalone_sessionx=1", "notalone_session", &v), -NA_ENOTFOUND);
    assert_int_equal(cookie_find("notalone_session", "notalone_session", &v), -NA_ENOTFOUND);
    static const char *const malformed[] = {
        "notalone_session=a; notalone_session=a",
        "notalone_session=",
        "notalone_session=\"na_s_1\"",
        "notalone_session=a b",
        "notalone_session=a,b",
        "notalone_session=a\\b",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(cookie_find(malformed[i], "notalone_session", &v), -NA_EMALFORMED);
    char *huge = malloc(COOKIE_HEADER_MAX + 64);
    assert_non_null(huge);
    memset(huge, 'a', COOKIE_HEADER_MAX + 63);
    memcpy(huge, "notalone_session=x; z=", 22);
    huge[COOKIE_HEADER_MAX + 63] = '\0';
    assert_int_equal(cookie_find(huge, "notalone_session", &v), -NA_EMALFORMED);
    free(huge);
}

static void test_map_settings(void **state)
{
    (void)state;
    assert_int_equal(validate_map_tiles("https://tile.openstreetmap.org/{z}/{x}/{y}.png"), 0);
    assert_int_equal(validate_map_tiles("http://{s}.tiles.example:8080/{z}/{x}/{y}"), 0);
    assert_int_equal(validate_map_tiles("https://t.example/x?z={z}&x={x}&y={y}&key=k"), 0);
    static const char *const bad[] = {
        "ftp://tile.example/{z}/{x}/{y}.png",
        "https://tile.example/{z}/{x}.png",
        "tile.example/{z}/{x}/{y}.png",
        "https:///{z}/{x}/{y}",
        "https://tile.example/{z}/{x}/{y}.png; script-src *",
        "https://tile.example/{z}/{x}/{y}.png 'unsafe-inline'",
        "https://tile.example/{z}/{x}/{y}.png,x",
        "https://user@tile.example/{z}/{x}/{y}",
        "https://tiles-{s}.example/{z}/{x}/{y}",
        "https://tile.example/{z}/{x}/{y}\r\nX: y",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (validate_map_tiles(bad[i]) == 0)
            fail_msg("accepted %s", bad[i]);
    assert_int_equal(validate_map_attribution("© OpenStreetMap contributors"), 0);
    assert_int_equal(validate_map_attribution(""), -NA_EINVAL);
    assert_int_equal(validate_map_attribution("a\nb"), -NA_EINVAL);
    char text[MAP_ATTRIBUTION_MAX + 2];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    assert_int_equal(validate_map_attribution(text), -NA_EINVAL);
    text[MAP_ATTRIBUTION_MAX] = '\0';
    assert_int_equal(validate_map_attribution(text), 0);
}

int main(void)
{
    if (secret_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_files_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_fall_back_to_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_paths, setup, teardown),
        cmocka_unit_test(test_owns_path),
        cmocka_unit_test_setup_teardown(test_csp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_skipped, setup, teardown),
        cmocka_unit_test(test_accepts_gzip),
        cmocka_unit_test(test_etag_matches),
        cmocka_unit_test(test_cookie_find),
        cmocka_unit_test(test_map_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
