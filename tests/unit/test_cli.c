/* Unit tests of the pure parts of the notalone client: arguments, ids, credentials, output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/cli/args.c"
#include "../../src/cli/credentials.c"
#include "../../src/cli/output.c"

enum { T_NAME, T_ROLE, T_DISABLE, T_UNUSED, T_COUNT };
static const struct args_spec spec[T_COUNT] = {
    [T_NAME] = {"name", ARGS_VALUE},
    [T_ROLE] = {"role", ARGS_LIST},
    [T_DISABLE] = {"disable", ARGS_FLAG},
};
static const char *const pos_names[] = {"TEAM", "USER"};

/* Parses a NULL-terminated list of arguments against spec with two positionals, 1 required. */
static int parse(struct args *a, char *err, size_t errlen, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return args_parse(a, spec, T_COUNT, pos_names, 2, 1, false, argc, argv, NULL, err, errlen);
}

static void test_args_values_flags_lists(void **state)
{
    (void)state;
    char err[128] = "";
    struct args a;
    char *argv[] = {"--name", "North", "7", "--role=worker", "--disable", "--role",
                    "admin",  "asha",  NULL};
    assert_int_equal(parse(&a, err, sizeof(err), argv), 0);
    assert_false(a.help);
    assert_string_equal(a.value[T_NAME], "North");
    assert_true(a.set[T_DISABLE]);
    assert_int_equal(a.nlist[T_ROLE], 2);
    assert_string_equal(a.list[T_ROLE][0], "worker");
    assert_string_equal(a.list[T_ROLE][1], "admin");
    assert_int_equal(a.npos, 2);
    assert_string_equal(a.pos[0], "7");
    assert_string_equal(a.pos[1], "asha");
    args_fini(&a);
}

static void test_args_name_equals_empty(void **state)
{
    (void)state;
    char err[128] = "";
    struct args a;
    char *argv[] = {"--name=", "7", NULL};
    assert_int_equal(parse(&a, err, sizeof(err), argv), 0);
    assert_true(a.set[T_NAME]);
    assert_string_equal(a.value[T_NAME], "");
    args_fini(&a);
}

static void expect_error(char **argv, const char *message)
{
    char err[128] = "";
    struct args a;
    assert_int_equal(parse(&a, err, sizeof(err), argv), -NA_EINVAL);
    assert_string_equal(err, message);
    args_fini(&a);
}

static void test_args_errors(void **state)
{
    (void)state;
    char *unknown[] = {"7", "--colour", "x", NULL};
    expect_error(unknown, "unknown option '--colour'");
    char *unknown_eq[] = {"7", "--colour=red", NULL};
    expect_error(unknown_eq, "unknown option '--colour'");
    char *dash[] = {"7", "-x", NULL};
    expect_error(dash, "unknown option '-x'");
    char *no_value[] = {"7", "--name", NULL};
    expect_error(no_value, "option --name needs a value");
    char *twice[] = {"7", "--name", "a", "--name", "b", NULL};
    expect_error(twice, "option --name given more than once");
    char *flag_value[] = {"7", "--disable=yes", NULL};
    expect_error(flag_value, "option --disable takes no value");
    char *missing[] = {"--name", "a", NULL};
    expect_error(missing, "missing argument TEAM");
    char *extra[] = {"1", "2", "3", NULL};
    expect_error(extra, "unexpected argument '3'");
    /* "--" ends the options. */
    char *dashes[] = {"7", "--", "--name", NULL};
    char err[128];
    struct args a;
    assert_int_equal(parse(&a, err, sizeof(err), dashes), 0);
    assert_false(a.set[T_NAME]);
    assert_string_equal(a.pos[1], "--name");
    args_fini(&a);
}

static void test_args_help_anywhere(void **state)
{
    (void)state;
    char err[128] = "";
    struct args a;
    /* Help wins over errors: it must work on an incomplete command line. */
    char *argv[] = {"--bogus", "--help", NULL};
    assert_int_equal(parse(&a, err, sizeof(err), argv), 0);
    assert_true(a.help);
    args_fini(&a);
    char *short_help[] = {"-h", NULL};
    assert_int_equal(parse(&a, err, sizeof(err), short_help), 0);
    assert_true(a.help);
    args_fini(&a);
    /* After "--" it is an argument. */
    char *after[] = {"--", "--help", NULL};
    assert_int_equal(parse(&a, err, sizeof(err), after), 0);
    assert_false(a.help);
    assert_string_equal(a.pos[0], "--help");
    args_fini(&a);
}

static void test_args_stop_at_command(void **state)
{
    (void)state;
    static const struct args_spec global[] = {{"server", ARGS_VALUE}, {"json", ARGS_FLAG}};
    char *argv[] = {"--server", "http://x", "--json", "team", "list", "--help", NULL};
    char err[128] = "";
    struct args a;
    int consumed = -1;
    assert_int_equal(
        args_parse(&a, global, 2, NULL, 0, 0, true, 6, argv, &consumed, err, sizeof(err)), 0);
    /* The command's --help is the command's, not the global one. */
    assert_false(a.help);
    assert_int_equal(consumed, 3);
    assert_string_equal(a.value[0], "http://x");
    assert_true(a.set[1]);
    args_fini(&a);
    char *help[] = {"--help", "team", NULL};
    assert_int_equal(
        args_parse(&a, global, 2, NULL, 0, 0, true, 2, help, &consumed, err, sizeof(err)), 0);
    assert_true(a.help);
    args_fini(&a);
}

static void test_args_length_limit(void **state)
{
    (void)state;
    char *big = xmalloc(ARGS_MAX_LEN + 2);
    memset(big, 'a', ARGS_MAX_LEN);
    big[ARGS_MAX_LEN] = '\0';
    char *argv[] = {"--name", big, "7", NULL};
    char err[128] = "";
    struct args a;
    assert_int_equal(parse(&a, err, sizeof(err), argv), 0);
    args_fini(&a);
    big[ARGS_MAX_LEN] = 'a';
    big[ARGS_MAX_LEN + 1] = '\0';
    assert_int_equal(parse(&a, err, sizeof(err), argv), -NA_EINVAL);
    assert_string_equal(err, "argument 2 is longer than 4096 bytes");
    args_fini(&a);
    free(big);
}

static void test_args_is_id(void **state)
{
    (void)state;
    int64_t id = 0;
    assert_true(args_is_id("1", &id));
    assert_int_equal(id, 1);
    assert_true(args_is_id("9223372036854775807", &id));
    assert_int_equal(id, INT64_MAX);
    static const char *const names[] = {"0", "-1",  "007", "asha", "12a",
                                        "",  "1.5", " 12", "+3",   "9223372036854775808"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_false(args_is_id(names[i], &id));
}

static void test_credentials_path(void **state)
{
    (void)state;
    char p[64];
    assert_int_equal(credentials_path("/x/cfg", "/home/u", p, sizeof(p)), 0);
    assert_string_equal(p, "/x/cfg/notalone/credentials.json");
    /* A relative XDG_CONFIG_HOME is invalid and ignored, as is an empty one. */
    assert_int_equal(credentials_path("cfg", "/home/u", p, sizeof(p)), 0);
    assert_string_equal(p, "/home/u/.config/notalone/credentials.json");
    assert_int_equal(credentials_path("", "/home/u", p, sizeof(p)), 0);
    assert_string_equal(p, "/home/u/.config/notalone/credentials.json");
    assert_int_equal(credentials_path(NULL, "/home/u", p, sizeof(p)), 0);
    assert_string_equal(p, "/home/u/.config/notalone/credentials.json");
    assert_int_equal(credentials_path(NULL, NULL, p, sizeof(p)), -NA_EINVAL);
    assert_int_equal(credentials_path(NULL, "", p, sizeof(p)), -NA_EINVAL);
    assert_int_equal(
        credentials_path("/a/very/long/configuration/directory/name", NULL, p, sizeof(p)),
        -NA_ETOOBIG);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_credentials_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_cli.XXXXXX";
    char path[256];
    struct stat st;
    struct credentials in = {"http://127.0.0.1:8080", "na_s_secret", "asha"};
    struct credentials out;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(credentials_path(dir, NULL, path, sizeof(path)), 0);
    assert_int_equal(credentials_load(path, &out), -NA_ENOTFOUND);

    assert_int_equal(credentials_save(path, &in), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char sub[300];
    assert_true(snprintf(sub, sizeof(sub), "%s/notalone", dir) < (int)sizeof(sub));
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    assert_int_equal(credentials_load(path, &out), 0);
    assert_string_equal(out.server, in.server);
    assert_string_equal(out.token, in.token);
    assert_string_equal(out.username, in.username);
    credentials_fini(&out);

    /* Saving again replaces the file. */
    struct credentials other = {"http://h:1", "na_s_other", NULL};
    assert_int_equal(credentials_save(path, &other), 0);
    assert_int_equal(credentials_load(path, &out), 0);
    assert_string_equal(out.token, "na_s_other");
    assert_null(out.username);
    credentials_fini(&out);

    write_text(path, "{\"token\": 5}");
    assert_int_equal(credentials_load(path, &out), -NA_EMALFORMED);
    assert_null(out.token);
    write_text(path, "{\"token\": \"a\", \"token\": \"b\"}");
    assert_int_equal(credentials_load(path, &out), -NA_EMALFORMED);
    write_text(path, "[]");
    assert_int_equal(credentials_load(path, &out), -NA_EMALFORMED);

    assert_int_equal(credentials_remove(path), 0);
    assert_int_equal(credentials_remove(path), 0);
    assert_int_equal(credentials_load(path, &out), -NA_ENOTFOUND);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_error_line(void **state)
{
    (void)state;
    char line[256];
    struct client_error e = {.kind = CLIENT_ERR_SERVER, .status = 422};
    (void)snprintf(e.code, sizeof(e.code), "invalid_field");
    (void)snprintf(e.message, sizeof(e.message), "too long");
    (void)snprintf(e.field, sizeof(e.field), "next_of_kin.phone");
    output_error_line(&e, "http://h", line, sizeof(line));
    assert_string_equal(line, "notalone: invalid_field: too long (field: next_of_kin.phone)");

    e.field[0] = '\0';
    output_error_line(&e, "http://h", line, sizeof(line));
    assert_string_equal(line, "notalone: invalid_field: too long");

    /* What the server says cannot drive the terminal. */
    (void)snprintf(e.message, sizeof(e.message), "bad\x1b[2Jthing\n\xc2\x9bx");
    output_error_line(&e, "http://h", line, sizeof(line));
    assert_string_equal(line, "notalone: invalid_field: bad?[2Jthing???x");

    e.kind = CLIENT_ERR_TRANSPORT;
    (void)snprintf(e.message, sizeof(e.message), "Couldn't connect to server");
    output_error_line(&e, "http://127.0.0.1:1", line, sizeof(line));
    assert_string_equal(line, "notalone: cannot reach the server at http://127.0.0.1:1: Couldn't "
                              "connect to server");

    e.kind = CLIENT_ERR_REPLY;
    (void)snprintf(e.message, sizeof(e.message), "the reply is not JSON");
    output_error_line(&e, "http://h", line, sizeof(line));
    assert_string_equal(line, "notalone: invalid reply from http://h: the reply is not JSON");

    char small[12];
    assert_true(output_error_line(&e, "http://h", small, sizeof(small)) > sizeof(small));
    assert_string_equal(small, "notalone: i");
}

static void test_url_escape(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(output_url_escape("a.b_c-d~9", out, sizeof(out)), 0);
    assert_string_equal(out, "a.b_c-d~9");
    assert_int_equal(output_url_escape("a b&c=d/é", out, sizeof(out)), 0);
    assert_string_equal(out, "a%20b%26c%3Dd%2F%C3%A9");
    char tiny[4];
    assert_int_equal(output_url_escape("abcd", tiny, sizeof(tiny)), -NA_ETOOBIG);
    assert_string_equal(tiny, "");
    assert_int_equal(output_url_escape("ab ", tiny, sizeof(tiny)), -NA_ETOOBIG);
}

static void expect_text(const char *json, const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
    assert_non_null(v);
    char *t = output_json_text(v);
    assert_string_equal(t, text);
    free(t);
    json_decref(v);
}

static void test_json_text(void **state)
{
    (void)state;
    expect_text("\"Asha\"", "Asha");
    expect_text("42", "42");
    expect_text("true", "yes");
    expect_text("false", "no");
    expect_text("null", "-");
    expect_text("[\"worker\", \"admin\"]", "worker, admin");
    expect_text("[1, 2, 3]", "1, 2, 3");
    expect_text("[]", "-");
    expect_text("{\"a\": 1}", "{...}");
    expect_text("\"a\\u0007b\\u001bc\"", "a?b?c");
    char *t = output_json_text(NULL);
    assert_string_equal(t, "-");
    free(t);
}

static void test_table(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    static const char *const headers[] = {"ID", "NAME", "ROLES"};
    static const char *const row1[] = {"1", "Zoë Brown", "worker"};
    static const char *const row2[] = {"12", NULL, "admin, lsms"};
    struct table t;
    table_init(&t, 3, headers);
    table_add_row(&t, row1);
    table_add_row(&t, row2);
    table_print(&t, f);
    table_fini(&t);
    assert_int_equal(fclose(f), 0);
    /* Columns align by characters, not bytes; the last column is not padded. */
    assert_string_equal(text, "ID  NAME       ROLES\n"
                              "1   Zoë Brown  worker\n"
                              "12  -          admin, lsms\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_values_flags_lists),
        cmocka_unit_test(test_args_name_equals_empty),
        cmocka_unit_test(test_args_errors),
        cmocka_unit_test(test_args_help_anywhere),
        cmocka_unit_test(test_args_stop_at_command),
        cmocka_unit_test(test_args_length_limit),
        cmocka_unit_test(test_args_is_id),
        cmocka_unit_test(test_credentials_path),
        cmocka_unit_test(test_credentials_round_trip),
        cmocka_unit_test(test_error_line),
        cmocka_unit_test(test_url_escape),
        cmocka_unit_test(test_json_text),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
