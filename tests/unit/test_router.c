/*
 * Tests of route matching (http/router.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/router.h"

/* Asserts that capture i of p is name = value. */
static void check_param(const struct route_params *p, size_t i, const char *name, const char *value)
{
    assert_true(i < p->n);
    assert_int_equal(p->name_lens[i], strlen(name));
    assert_memory_equal(p->names[i], name, strlen(name));
    assert_int_equal(p->value_lens[i], strlen(value));
    assert_memory_equal(p->values[i], value, strlen(value));
}

static void test_literal(void **state)
{
    struct route_params p;
    (void)state;
    assert_true(router_match("/", "/", NULL));
    assert_true(router_match("/v1/session", "/v1/session", &p));
    assert_int_equal(p.n, 0);
    assert_true(router_match("/v1/users", "/v1/users", NULL));
    assert_false(router_match("/v1/users", "/v1/user", NULL));
    assert_false(router_match("/v1/users", "/v1/usersx", NULL));
    assert_false(router_match("/v1/users", "/V1/users", NULL));
    assert_false(router_match("/v1/users", "/v2/users", NULL));
    assert_false(router_match("/v1/users", "/", NULL));
    assert_false(router_match("/", "/v1", NULL));
    assert_false(router_match("/v1/users", "", NULL));
}

static void test_param_capture(void **state)
{
    struct route_params p;
    (void)state;
    assert_true(router_match("/v1/users/{id}", "/v1/users/42", &p));
    assert_int_equal(p.n, 1);
    check_param(&p, 0, "id", "42");

    assert_true(
        router_match("/v1/teams/{team_id}/members/{user_id}", "/v1/teams/7/members/1234567", &p));
    assert_int_equal(p.n, 2);
    check_param(&p, 0, "team_id", "7");
    check_param(&p, 1, "user_id", "1234567");

    /* The router takes any non-empty segment; the handler validates it. */
    assert_true(router_match("/v1/users/{id}", "/v1/users/abc%20d", &p));
    check_param(&p, 0, "id", "abc%20d");
    assert_true(router_match("/{a}/{b}/{c}", "/x/y/z", &p));
    assert_int_equal(p.n, 3);
    check_param(&p, 2, "c", "z");
}

static void test_param_not_written_on_mismatch(void **state)
{
    struct route_params p;
    (void)state;
    memset(&p, 0xab, sizeof p);
    assert_false(router_match("/v1/users/{id}/keys", "/v1/users/42/other", &p));
    /* out is left as it was. */
    assert_int_equal(p.n, (size_t)0xababababababababULL);
}

static void test_trailing_and_extra(void **state)
{
    (void)state;
    assert_false(router_match("/v1/users", "/v1/users/", NULL));
    assert_false(router_match("/v1/users/", "/v1/users", NULL));
    assert_false(router_match("/v1/users/{id}", "/v1/users/42/", NULL));
    assert_false(router_match("/v1/users/{id}", "/v1/users/42/keys", NULL));
    assert_false(router_match("/v1/users/{id}/keys", "/v1/users/42", NULL));
    assert_false(router_match("/v1/users/{id}", "/v1/users", NULL));
}

static void test_empty_segment(void **state)
{
    (void)state;
    assert_false(router_match("/v1/users/{id}", "/v1/users/", NULL));
    assert_false(router_match("/v1/users/{id}/keys", "/v1/users//keys", NULL));
    assert_false(router_match("/v1/users", "/v1//users", NULL));
    assert_false(router_match("/v1/users", "//v1/users", NULL));
    assert_false(router_match("/{id}", "//", NULL));
    assert_false(router_match("/{id}", "/", NULL));
}

static void test_not_a_param(void **state)
{
    struct route_params p;
    (void)state;
    /* "{}" and unbalanced braces are literals. */
    assert_true(router_match("/a/{}", "/a/{}", &p));
    assert_int_equal(p.n, 0);
    assert_false(router_match("/a/{}", "/a/x", NULL));
    assert_false(router_match("/a/{id", "/a/x", NULL));
    assert_true(router_match("/a/{id", "/a/{id", NULL));
}

static void test_too_many(void **state)
{
    (void)state;
    /* 12 segments match; 13 do not, even when equal. */
    const char *twelve = "/a/b/c/d/e/f/g/h/i/j/k/l";
    const char *thirteen = "/a/b/c/d/e/f/g/h/i/j/k/l/m";
    assert_true(router_match(twelve, twelve, NULL));
    assert_false(router_match(thirteen, thirteen, NULL));

    /* A hostile path of many slashes. */
    char path[4096];
    for (size_t i = 0; i + 1 < sizeof path; i += 2) {
        path[i] = '/';
        path[i + 1] = 'a';
    }
    path[sizeof path - 1] = '\0';
    assert_false(router_match("/a/a", path, NULL));
    assert_false(router_match(path, path, NULL));

    /* More params than ROUTER_MAX_PARAMS is refused, not overflowed. */
    struct route_params p;
    assert_false(router_match("/{a}/{b}/{c}/{d}", "/1/2/3/4", &p));
}

static void test_path_without_slash(void **state)
{
    (void)state;
    assert_false(router_match("/v1/users", "v1/users", NULL));
    assert_false(router_match("v1/users", "v1/users", NULL));
    assert_false(router_match("/{id}", "42", NULL));
    assert_false(router_match("/v1/users", "*", NULL));
    assert_false(router_match("/v1/users", "http://x/v1/users", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal),
        cmocka_unit_test(test_param_capture),
        cmocka_unit_test(test_param_not_written_on_mismatch),
        cmocka_unit_test(test_trailing_and_extra),
        cmocka_unit_test(test_empty_segment),
        cmocka_unit_test(test_not_a_param),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_path_without_slash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
