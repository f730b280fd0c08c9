/*
 * Tests of the core rules: roles, access, throttle, validate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/access.h"
#include "core/alarm.h"
#include "core/escalation.h"
#include "core/roles.h"
#include "core/throttle.h"
#include "core/validate.h"
#include "util/error.h"

#define T0 1795000000000LL /* a fixed "now", ms */

/* ---- roles ---- */

static void test_roles_round_trip(void **state)
{
    static const char *const names[] = {"worker",   "manager", "senior_manager", "lsms",
                                        "operator", "admin",   "police"};
    (void)state;
    for (unsigned i = 0; i < ROLE_MAX_COUNT; i++) {
        unsigned bit = 1u << i;
        assert_int_equal(role_parse(names[i]), bit);
        assert_string_equal(role_name(bit), names[i]);
        assert_int_equal(role_parse(role_name(bit)), bit);
    }
    assert_int_equal(role_parse("Admin"), 0);
    assert_int_equal(role_parse(""), 0);
    assert_int_equal(role_parse("admin "), 0);
    assert_int_equal(role_parse("superuser"), 0);
    assert_int_equal(role_parse("senior"), 0);
    assert_null(role_name(0));
    assert_null(role_name(ROLE_ADMIN | ROLE_WORKER));
    assert_null(role_name(1u << 7));
    assert_null(role_name(ROLE_ALL));
}

static void test_role_names_order(void **state)
{
    const char *names[ROLE_MAX_COUNT];
    (void)state;
    assert_int_equal(role_names(0, names), 0);
    assert_int_equal(role_names(ROLE_ADMIN | ROLE_WORKER | ROLE_LSMS, names), 3);
    assert_string_equal(names[0], "worker");
    assert_string_equal(names[1], "lsms");
    assert_string_equal(names[2], "admin");
    assert_int_equal(role_names(ROLE_ALL, names), ROLE_MAX_COUNT);
    assert_string_equal(names[0], "worker");
    assert_string_equal(names[1], "manager");
    assert_string_equal(names[2], "senior_manager");
    assert_string_equal(names[3], "lsms");
    assert_string_equal(names[4], "operator");
    assert_string_equal(names[5], "admin");
    /* Unknown bits are ignored, never written past the array. */
    assert_int_equal(role_names(0xffffffffu, names), ROLE_MAX_COUNT);
    assert_int_equal(role_names(1u << 7, names), 0);
    assert_int_equal(role_names(ROLE_POLICE, names), 1);
    assert_string_equal(names[0], "police");
}

/* ---- access ---- */

static struct principal person(int64_t id, unsigned roles, const int64_t *teams, size_t n)
{
    struct principal p = {.user_id = id,
                          .organisation_id = 1,
                          .roles = roles,
                          .managed_team_ids = teams,
                          .n_managed_team_ids = n};
    return p;
}

static void test_access_user_layer(void **state)
{
    const int64_t target_teams[] = {10, 11};
    const int64_t manages_11[] = {11};
    const int64_t manages_12[] = {12, 13};
    (void)state;
    struct principal self = person(5, ROLE_WORKER, NULL, 0);
    assert_int_equal(access_user_layer(&self, 5, target_teams, 2), USER_LAYER_PRIVATE);
    assert_int_equal(access_user_layer(&self, 6, target_teams, 2), USER_LAYER_DIRECTORY);

    struct principal admin = person(1, ROLE_ADMIN, NULL, 0);
    assert_int_equal(access_user_layer(&admin, 5, target_teams, 2), USER_LAYER_PRIVATE);

    struct principal senior = person(2, ROLE_SENIOR_MANAGER, NULL, 0);
    assert_int_equal(access_user_layer(&senior, 5, target_teams, 2), USER_LAYER_PERSONAL);

    struct principal op = person(3, ROLE_OPERATOR, NULL, 0);
    assert_int_equal(access_user_layer(&op, 5, NULL, 0), USER_LAYER_PERSONAL);

    struct principal lsms = person(4, ROLE_LSMS, NULL, 0);
    assert_int_equal(access_user_layer(&lsms, 5, target_teams, 2), USER_LAYER_CONTACT);

    struct principal worker = person(7, ROLE_WORKER, NULL, 0);
    assert_int_equal(access_user_layer(&worker, 5, target_teams, 2), USER_LAYER_DIRECTORY);

    struct principal lm = person(8, ROLE_MANAGER | ROLE_WORKER, manages_11, 1);
    assert_int_equal(access_user_layer(&lm, 5, target_teams, 2), USER_LAYER_PERSONAL);
    /* The manager role alone gives nothing outside one's own teams. */
    struct principal other_lm = person(9, ROLE_MANAGER, manages_12, 2);
    assert_int_equal(access_user_layer(&other_lm, 5, target_teams, 2), USER_LAYER_DIRECTORY);
    assert_int_equal(access_user_layer(&other_lm, 5, NULL, 0), USER_LAYER_DIRECTORY);
    /* The LSMS who also manages the target's team sees the deeper layer. */
    struct principal lsms_lm = person(4, ROLE_LSMS, manages_11, 1);
    assert_int_equal(access_user_layer(&lsms_lm, 5, target_teams, 2), USER_LAYER_PERSONAL);
    /* No roles at all: still the directory of one's organisation. */
    struct principal none = person(11, 0, NULL, 0);
    assert_int_equal(access_user_layer(&none, 5, target_teams, 2), USER_LAYER_DIRECTORY);
}

static void test_access_manage_team_and_profile(void **state)
{
    const int64_t manages[] = {11, 12};
    (void)state;
    struct principal admin = person(1, ROLE_ADMIN, NULL, 0);
    struct principal lm = person(8, ROLE_MANAGER, manages, 2);
    struct principal senior = person(2, ROLE_SENIOR_MANAGER | ROLE_OPERATOR | ROLE_LSMS, NULL, 0);
    struct principal worker = person(7, ROLE_WORKER, NULL, 0);

    assert_true(access_can_manage_team(&admin, 99));
    assert_true(access_can_manage_team(&lm, 11));
    assert_true(access_can_manage_team(&lm, 12));
    assert_false(access_can_manage_team(&lm, 13));
    assert_false(access_can_manage_team(&senior, 11));
    assert_false(access_can_manage_team(&worker, 11));

    assert_true(access_can_edit_profile(&worker, 7));
    assert_false(access_can_edit_profile(&worker, 8));
    assert_true(access_can_edit_profile(&admin, 7));
    assert_false(access_can_edit_profile(&lm, 7));
    assert_false(access_can_edit_profile(&senior, 7));

    assert_true(access_has_role(&senior, ROLE_OPERATOR));
    assert_true(access_has_role(&senior, ROLE_ADMIN | ROLE_LSMS));
    assert_false(access_has_role(&senior, ROLE_ADMIN | ROLE_WORKER));
    assert_false(access_has_role(&senior, 0));
}

static void test_access_sees_visit(void **state)
{
    const int64_t worker_teams[] = {10, 11};
    const int64_t manages_11[] = {11};
    const int64_t manages_12[] = {12};
    (void)state;
    /* A visit of worker 5 watched by buddy 6, the worker in teams 10 and 11. */
    struct principal worker = person(5, ROLE_WORKER, NULL, 0);
    struct principal buddy = person(6, ROLE_WORKER, NULL, 0);
    struct principal colleague = person(7, ROLE_WORKER, NULL, 0);
    struct principal lm = person(8, ROLE_MANAGER, manages_11, 1);
    struct principal other_lm = person(9, ROLE_MANAGER, manages_12, 1);
    struct principal lsms = person(4, ROLE_LSMS, NULL, 0);
    assert_true(access_sees_visit(&worker, 5, 6, worker_teams, 2));
    assert_true(access_sees_visit(&buddy, 5, 6, worker_teams, 2));
    assert_false(access_sees_visit(&colleague, 5, 6, worker_teams, 2));
    assert_true(access_sees_visit(&lm, 5, 6, worker_teams, 2));
    /* Without the worker's teams a line manager is not (yet) seen to see it. */
    assert_false(access_sees_visit(&lm, 5, 6, NULL, 0));
    assert_false(access_sees_visit(&other_lm, 5, 6, worker_teams, 2));
    assert_false(access_sees_visit(&lsms, 5, 6, worker_teams, 2));
    /* No buddy: nobody is the buddy (user ids are positive). */
    assert_false(access_sees_visit(&colleague, 5, 0, NULL, 0));
    const unsigned everything[] = {ROLE_ADMIN, ROLE_SENIOR_MANAGER, ROLE_OPERATOR};
    for (size_t i = 0; i < 3; i++) {
        struct principal p = person(20, everything[i], NULL, 0);
        assert_true(access_sees_visit(&p, 5, 0, NULL, 0));
    }
}

static void test_access_sees_alarm(void **state)
{
    const int64_t worker_teams[] = {10, 11};
    const int64_t manages_11[] = {11};
    (void)state;
    /* An alarm of worker 5 (an operator too) whose visit's buddy is 6. */
    struct principal worker = person(5, ROLE_WORKER | ROLE_OPERATOR, NULL, 0);
    struct principal buddy = person(6, ROLE_WORKER, NULL, 0);
    struct principal colleague = person(7, ROLE_WORKER, NULL, 0);
    struct principal lm = person(8, ROLE_MANAGER, manages_11, 1);
    struct principal police = person(9, ROLE_POLICE, NULL, 0);
    assert_false(access_sees_alarm(&worker, 5, 6, worker_teams, 2)); /* never their own */
    assert_true(access_sees_alarm(&buddy, 5, 6, worker_teams, 2));
    assert_false(access_sees_alarm(&colleague, 5, 6, worker_teams, 2));
    assert_true(access_sees_alarm(&lm, 5, 6, worker_teams, 2));
    assert_false(access_sees_alarm(&police, 5, 6, worker_teams, 2));
    const unsigned everything[] = {ROLE_ADMIN, ROLE_SENIOR_MANAGER, ROLE_OPERATOR, ROLE_LSMS};
    for (size_t i = 0; i < 4; i++) {
        struct principal p = person(20, everything[i], NULL, 0);
        assert_true(access_sees_alarm(&p, 5, 0, NULL, 0));
        assert_int_equal(access_sees_evidence(&p), everything[i] == ROLE_LSMS);
    }
    assert_true(access_sees_evidence(&police));
    assert_false(access_sees_evidence(&lm));
}

/* ---- throttle ---- */

static void test_throttle_backoff(void **state)
{
    struct login_attempts a = {0};
    int64_t wait = -1;
    int64_t now = T0;
    (void)state;
    assert_int_equal(throttle_check(&a, now, &wait), 0);
    assert_int_equal(wait, 0);
    /* The first failures cost nothing. */
    for (int i = 1; i < THROTTLE_FREE_FAILURES; i++) {
        throttle_record_failure(&a, now);
        assert_int_equal(a.failures, i);
        assert_int_equal(throttle_check(&a, now, &wait), 0);
        assert_int_equal(wait, 0);
    }
    throttle_record_failure(&a, now); /* 3rd */
    assert_int_equal(throttle_check(&a, now, &wait), -NA_ERATE);
    assert_int_equal(wait, 1000);
    assert_int_equal(throttle_check(&a, now + 400, &wait), -NA_ERATE);
    assert_int_equal(wait, 600);
    assert_int_equal(throttle_check(&a, now + 999, &wait), -NA_ERATE);
    assert_int_equal(wait, 1);
    assert_int_equal(throttle_check(&a, now + 1000, &wait), 0);
    assert_int_equal(wait, 0);

    now += 1000;
    throttle_record_failure(&a, now); /* 4th */
    assert_int_equal(throttle_check(&a, now + 1000, &wait), -NA_ERATE);
    assert_int_equal(wait, 1000);
    assert_int_equal(throttle_check(&a, now + 1999, &wait), -NA_ERATE);
    assert_int_equal(wait, 1);
    assert_int_equal(throttle_check(&a, now + 2000, &wait), 0);

    now += 2000;
    throttle_record_failure(&a, now); /* 5th: 4 s */
    assert_int_equal(throttle_check(&a, now, &wait), -NA_ERATE);
    assert_int_equal(wait, 4000);
    assert_false(throttle_is_locked(&a, now));

    /* A success clears the record: zeroed attempts allow at once. */
    struct login_attempts cleared = {0};
    assert_int_equal(throttle_check(&cleared, now, &wait), 0);
    assert_int_equal(wait, 0);
}

static void test_throttle_lock(void **state)
{
    struct login_attempts a = {0};
    int64_t wait = -1;
    int64_t now = T0;
    (void)state;
    for (int i = 1; i < THROTTLE_LOCK_FAILURES; i++) {
        throttle_record_failure(&a, now);
        assert_false(throttle_is_locked(&a, now));
        assert_int_equal(a.locked_until, 0);
        now += 10 * 60 * 1000; /* waits out each delay */
    }
    assert_int_equal(a.failures, THROTTLE_LOCK_FAILURES - 1);
    /* 9 failures: 2^6 s. */
    assert_int_equal(throttle_check(&a, a.last_failure_at, &wait), -NA_ERATE);
    assert_int_equal(wait, 64000);

    throttle_record_failure(&a, now); /* 10th: locked */
    assert_true(throttle_is_locked(&a, now));
    assert_true(a.locked_until == now + THROTTLE_LOCK_MS);
    assert_int_equal(throttle_check(&a, now, &wait), -NA_ERATE);
    assert_int_equal(wait, THROTTLE_LOCK_MS);
    assert_int_equal(throttle_check(&a, now + THROTTLE_LOCK_MS - 1, &wait), -NA_ERATE);
    assert_int_equal(wait, 1);
    assert_true(throttle_is_locked(&a, now + THROTTLE_LOCK_MS - 1));
    assert_false(throttle_is_locked(&a, now + THROTTLE_LOCK_MS));
    assert_int_equal(throttle_check(&a, now + THROTTLE_LOCK_MS, &wait), 0);
    assert_int_equal(wait, 0);

    /* After the lock, a failure starts a fresh count: no wait, no lock. */
    now += THROTTLE_LOCK_MS + 5;
    throttle_record_failure(&a, now);
    assert_int_equal(a.failures, 1);
    assert_int_equal(a.locked_until, 0);
    assert_false(throttle_is_locked(&a, now));
    assert_int_equal(throttle_check(&a, now, &wait), 0);
    throttle_record_failure(&a, now);
    throttle_record_failure(&a, now);
    assert_int_equal(throttle_check(&a, now, &wait), -NA_ERATE);
    assert_int_equal(wait, 1000);
}

/* ---- validate ---- */

/* A string of n copies of the UTF-8 sequence unit (caller frees). */
static char *repeat(const char *unit, size_t n)
{
    size_t k = strlen(unit);
    char *s = malloc(k * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * k, unit, k);
    s[k * n] = '\0';
    return s;
}

/* Checks that validate accepts exactly min..max characters of unit. */
static void check_limits(int (*validate)(const char *), const char *unit, size_t min, size_t max)
{
    char *s;
    if (min > 0) {
        s = repeat(unit, min - 1);
        if (validate(s) != -NA_EINVAL)
            fail_msg("accepted %zu x '%s' (min %zu)", min - 1, unit, min);
        free(s);
    }
    s = repeat(unit, min);
    assert_int_equal(validate(s), 0);
    free(s);
    s = repeat(unit, max);
    if (validate(s) != 0)
        fail_msg("refused %zu x '%s' (max %zu)", max, unit, max);
    free(s);
    s = repeat(unit, max + 1);
    if (validate(s) != -NA_EINVAL)
        fail_msg("accepted %zu x '%s' (max %zu)", max + 1, unit, max);
    free(s);
}

static void test_validate_text_limits(void **state)
{
    (void)state;
    const char *units[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\xa8"};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        check_limits(validate_name, units[i], 1, NAME_MAX_CHARS);
        check_limits(validate_address, units[i], 1, ADDRESS_MAX);
        check_limits(validate_relation, units[i], 0, RELATION_MAX);
        check_limits(validate_registration, units[i], 1, REGISTRATION_MAX);
        check_limits(validate_vehicle_field, units[i], 0, VEHICLE_FIELD_MAX);
        check_limits(validate_api_key_name, units[i], 1, API_KEY_NAME_MAX);
    }
    assert_int_equal(utf8_length(""), 0);
    assert_int_equal(utf8_length("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\xa8"), 4);
    assert_int_equal(validate_text("abc", 3, 3), 0);
    assert_int_equal(validate_text("abc", 4, 10), -NA_EINVAL);
    assert_int_equal(validate_text("abc", 0, 2), -NA_EINVAL);
}

static void test_validate_controls(void **state)
{
    (void)state;
    const char *with_controls[] = {"a\nb", "a\tb", "a\rb", "\x01", "a\x1f", "a\x7f", "\x1b[2J"};
    for (size_t i = 0; i < sizeof with_controls / sizeof with_controls[0]; i++) {
        const char *s = with_controls[i];
        assert_int_equal(validate_name(s), -NA_EINVAL);
        assert_int_equal(validate_relation(s), -NA_EINVAL);
        assert_int_equal(validate_registration(s), -NA_EINVAL);
        assert_int_equal(validate_vehicle_field(s), -NA_EINVAL);
        assert_int_equal(validate_api_key_name(s), -NA_EINVAL);
        assert_int_equal(validate_text(s, 0, 100), -NA_EINVAL);
        assert_int_equal(validate_email(s), -NA_EINVAL);
        assert_int_equal(validate_phone(s), -NA_EINVAL);
    }
    /* Addresses take newlines and nothing else of C0. */
    assert_int_equal(validate_address("1 High Street\nLeeds\nLS1 1AA"), 0);
    assert_int_equal(validate_address("\n"), 0);
    assert_int_equal(validate_address("1 High Street\r\nLeeds"), -NA_EINVAL);
    assert_int_equal(validate_address("1 High Street\tLeeds"), -NA_EINVAL);
    assert_int_equal(validate_address("a\x7f"), -NA_EINVAL);
    assert_int_equal(validate_address(""), -NA_EINVAL);
    /* Names of spaces only show as nothing. */
    assert_int_equal(validate_name("   "), -NA_EINVAL);
    assert_int_equal(validate_name(" a "), 0);
    assert_int_equal(validate_name("Zo\xc3\xab O'Brien-Smith"), 0);
}

/* C1 controls (U+0080-U+009F) and the line and paragraph separators (U+2028, U+2029). */
static void test_validate_unicode_controls(void **state)
{
    (void)state;
    const char *bad[] = {"a\xc2\x80"
                         "b",
                         "\xc2\x85",
                         "a\xc2\x9b[2J",
                         "a\xc2\x9f",
                         "a\xe2\x80\xa8"
                         "b",
                         "\xe2\x80\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *s = bad[i];
        assert_int_equal(validate_name(s), -NA_EINVAL);
        assert_int_equal(validate_relation(s), -NA_EINVAL);
        assert_int_equal(validate_registration(s), -NA_EINVAL);
        assert_int_equal(validate_vehicle_field(s), -NA_EINVAL);
        assert_int_equal(validate_api_key_name(s), -NA_EINVAL);
        assert_int_equal(validate_text(s, 0, 100), -NA_EINVAL);
        assert_int_equal(validate_address(s), -NA_EINVAL);
    }
    /* Their neighbours are ordinary characters. */
    const char *good[] = {"\xc2\xa0"
                          "a",
                          "\xc3\xab",
                          "\xc2\xbf?",
                          "a\xe2\x80\xa7"
                          "b",
                          "a\xe2\x80\xaa"
                          "b",
                          "\xe2\x80\x94",
                          "\xe2\x81\xa8",
                          "\xef\xbf\xbd"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(validate_name(good[i]), 0);
        assert_int_equal(validate_address(good[i]), 0);
    }
}

static void test_validate_username(void **state)
{
    (void)state;
    const char *good[] = {"a", "9", "ann.smith", "ann_smith", "ann-smith", "a.", "a..b", "0a-_."};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (validate_username(good[i]) != 0)
            fail_msg("refused \"%s\"", good[i]);
    const char *bad[] = {"",      ".ann", "_ann",  "-ann",        "Ann",  "annA", "ann smith",
                         "ann@x", "ann/", "ann\n", "j\xc3\xb6rg", "a\"b", "a\\b", "a;b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (validate_username(bad[i]) != -NA_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    char *s = repeat("a", USERNAME_MAX);
    assert_int_equal(validate_username(s), 0);
    free(s);
    s = repeat("a", USERNAME_MAX + 1);
    assert_int_equal(validate_username(s), -NA_EINVAL);
    free(s);
}

static void test_validate_email(void **state)
{
    (void)state;
    const char *good[] = {"a@b", "ann.smith@example.org", "a+tag@sub.example.co.uk",
                          "\xc3\xa9@x.fr"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (validate_email(good[i]) != 0)
            fail_msg("refused \"%s\"", good[i]);
    const char *bad[] = {"",           "a",          "ab",         "annexample.org", "@example.org",
                         "ann@",       "a@b@c",      "ann@@x.org", "ann @x.org",     "ann@x .org",
                         "ann@x.org ", "\tann@x.org"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (validate_email(bad[i]) != -NA_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    /* 254 bytes in all is the limit. */
    char *s = repeat("a", EMAIL_MAX);
    s[10] = '@';
    assert_int_equal(validate_email(s), 0);
    free(s);
    s = repeat("a", EMAIL_MAX + 1);
    s[10] = '@';
    assert_int_equal(validate_email(s), -NA_EINVAL);
    free(s);
}

static void test_validate_phone(void **state)
{
    (void)state;
    const char *good[] = {"999", "+44 113 496 0000", "(0113) 496-0000", "+1.555.0100"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (validate_phone(good[i]) != 0)
            fail_msg("refused \"%s\"", good[i]);
    const char *bad[] = {"",    "12",   "1 2",       "+-()12", "++ 12", "0113 496 000O",
                         "abc", "112x", "0113/4960", "1,2,3",  "12\n3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (validate_phone(bad[i]) != -NA_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    char *s = repeat("1", PHONE_MAX);
    assert_int_equal(validate_phone(s), 0);
    free(s);
    s = repeat("1", PHONE_MAX + 1);
    assert_int_equal(validate_phone(s), -NA_EINVAL);
    free(s);
}

static void test_validate_password(void **state)
{
    char pw[PASSWORD_MAX_BYTES + 2];
    (void)state;
    memset(pw, 'x', sizeof pw);
    assert_int_equal(validate_new_password(pw, PASSWORD_MIN_BYTES - 1), -NA_EINVAL);
    assert_int_equal(validate_new_password(pw, PASSWORD_MIN_BYTES), 0);
    assert_int_equal(validate_new_password(pw, PASSWORD_MAX_BYTES), 0);
    assert_int_equal(validate_new_password(pw, PASSWORD_MAX_BYTES + 1), -NA_EINVAL);
    assert_int_equal(validate_new_password(pw, 0), -NA_EINVAL);
    assert_int_equal(PASSWORD_MIN_BYTES, 10);
    assert_int_equal(PASSWORD_MAX_BYTES, 256);
    /* Bytes, not characters: five 2-byte characters are 10 bytes. */
    const char *accents = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    assert_int_equal(validate_new_password(accents, strlen(accents)), 0);
    assert_int_equal(validate_new_password(accents, strlen(accents) - 2), -NA_EINVAL);
}

/* ---- alarms ---- */

static void test_alarm_open_claim_close(void **state)
{
    struct alarm_clock a;
    (void)state;
    alarm_open(&a, ALARM_RED, false, 60000, T0);
    assert_int_equal(a.state, ALARM_OPEN);
    assert_int_equal(a.priority, ALARM_PRIORITY_RED);
    assert_false(a.duress);
    assert_int_equal(a.renotify_at, T0 + 60000);
    alarm_renotified(&a, 60000, T0 + 60000);
    assert_int_equal(a.renotify_at, T0 + 120000);

    assert_int_equal(alarm_claim(&a, 7, false, T0 + 5000), 0);
    assert_int_equal(a.state, ALARM_CLAIMED);
    assert_int_equal(a.renotify_at, 0);
    assert_int_equal(a.first_claimed_at, T0 + 5000);
    assert_int_equal(alarm_claim(&a, 7, false, T0 + 6000), 0); /* again: no change */
    assert_int_equal(a.claimed_at, T0 + 5000);
    assert_int_equal(alarm_claim(&a, 8, false, T0 + 7000), -NA_ECONFLICT);
    assert_int_equal(alarm_claim(&a, 8, true, T0 + 8000), 0); /* a take-over */
    assert_int_equal(a.claimed_by, 8);
    assert_int_equal(a.claimed_at, T0 + 8000);
    assert_int_equal(a.first_claimed_at, T0 + 5000); /* the answer time stays the first */
    alarm_renotified(&a, 60000, T0 + 9000);
    assert_int_equal(a.renotify_at, 0); /* claimed: nobody is told again */

    assert_int_equal(alarm_close(&a, ALARM_OUTCOME_NONE, 8, T0 + 9000), -NA_EINVAL);
    assert_int_equal(alarm_close(&a, ALARM_OUTCOME_GENUINE, 8, T0 + 9000), 0);
    assert_int_equal(a.state, ALARM_CLOSED);
    assert_int_equal(a.closed_by, 8);
    assert_int_equal(alarm_close(&a, ALARM_OUTCOME_GENUINE, 8, T0 + 9500), -NA_ECONFLICT);
    assert_int_equal(alarm_claim(&a, 9, true, T0 + 9600), -NA_ECONFLICT);
}

static void test_alarm_kinds_and_cancel(void **state)
{
    struct alarm_clock a;
    (void)state;
    alarm_open(&a, ALARM_TEST, false, 60000, T0);
    assert_int_equal(a.state, ALARM_CLOSED);
    assert_int_equal(a.outcome, ALARM_OUTCOME_TEST);
    assert_int_equal(a.renotify_at, 0);

    alarm_open(&a, ALARM_DURESS, false, 0, T0);
    assert_true(a.duress);
    assert_int_equal(a.priority, ALARM_PRIORITY_RED);
    assert_int_equal(a.renotify_at, 0); /* 0: never told again */

    alarm_open(&a, ALARM_AMBER, false, 30000, T0);
    assert_int_equal(a.priority, ALARM_PRIORITY_AMBER);

    alarm_open(&a, ALARM_RED, false, 30000, T0);
    assert_int_equal(alarm_cancel(&a, 60000, T0 + 60001), -NA_EINVAL); /* too late */
    assert_int_equal(alarm_cancel(&a, 60000, T0 + 60000), 0);
    assert_int_equal(a.priority, ALARM_PRIORITY_CANCELLED);
    assert_int_equal(a.renotify_at, 0);
    assert_int_equal(a.state, ALARM_OPEN); /* an operator still closes it */
    assert_int_equal(alarm_cancel(&a, 60000, T0 + 60000), -NA_ECONFLICT);
    alarm_renotified(&a, 30000, T0 + 60000);
    assert_int_equal(a.renotify_at, 0);

    assert_true(alarm_outcome_is_false(ALARM_OUTCOME_FALSE_ACCIDENTAL));
    assert_true(alarm_outcome_is_false(ALARM_OUTCOME_FALSE_MALICIOUS));
    assert_false(alarm_outcome_is_false(ALARM_OUTCOME_GENUINE));
    assert_false(alarm_outcome_is_false(ALARM_OUTCOME_TEST));
}

static void test_alarm_duress_cancel_and_mark(void **state)
{
    struct alarm_clock a;
    (void)state;
    /* A duress alarm cancelled: the worker's view (cancelled, once, in the window), but it
     * stays at the top and keeps being told again. */
    alarm_open(&a, ALARM_DURESS, false, 30000, T0);
    assert_int_equal(alarm_cancel(&a, 60000, T0 + 60001), -NA_EINVAL);
    assert_int_equal(a.cancelled_at, 0);
    assert_int_equal(alarm_cancel(&a, 60000, T0 + 10000), 0);
    assert_int_equal(a.cancelled_at, T0 + 10000);
    assert_int_equal(a.priority, ALARM_PRIORITY_RED);
    assert_int_equal(a.renotify_at, T0 + 30000);
    assert_int_equal(alarm_cancel(&a, 60000, T0 + 20000), -NA_ECONFLICT); /* already */
    alarm_renotified(&a, 30000, T0 + 30000);
    assert_int_equal(a.renotify_at, T0 + 60000);
    assert_int_equal(alarm_claim(&a, 7, false, T0 + 40000), 0);
    alarm_renotified(&a, 30000, T0 + 60000);
    assert_int_equal(a.renotify_at, 0); /* claimed: nobody is told again */

    /* Marked duress after a normal cancel: back at the top, told again. */
    alarm_open(&a, ALARM_RED, false, 30000, T0);
    assert_int_equal(alarm_cancel(&a, 60000, T0 + 5000), 0);
    assert_int_equal(a.renotify_at, 0);
    alarm_mark_duress(&a, 30000, T0 + 8000);
    assert_true(a.duress);
    assert_int_equal(a.priority, ALARM_PRIORITY_RED);
    assert_int_equal(a.renotify_at, T0 + 38000);
    assert_int_equal(a.cancelled_at, T0 + 5000);
    alarm_renotified(&a, 30000, T0 + 38000);
    assert_int_equal(a.renotify_at, T0 + 68000);
    alarm_mark_duress(&a, 0, T0 + 40000); /* no interval: never told again */
    assert_int_equal(a.renotify_at, 0);

    /* Marked before the cancel, in the window: cancelled in the worker's eyes only. */
    alarm_open(&a, ALARM_RED, false, 30000, T0);
    alarm_mark_duress(&a, 30000, T0 + 2000);
    assert_int_equal(alarm_cancel(&a, 60000, T0 + 2000), 0);
    assert_int_equal(a.priority, ALARM_PRIORITY_RED);
    assert_int_equal(a.renotify_at, T0 + 32000);

    /* A claimed alarm marked: top priority, no re-notification (someone holds it). */
    alarm_open(&a, ALARM_RED, false, 30000, T0);
    assert_int_equal(alarm_claim(&a, 7, false, T0 + 1000), 0);
    alarm_mark_duress(&a, 30000, T0 + 2000);
    assert_true(a.duress);
    assert_int_equal(a.renotify_at, 0);
}

static void test_alarm_worker_raised(void **state)
{
    (void)state;
    assert_true(alarm_worker_raised(ALARM_RED, "api"));
    assert_true(alarm_worker_raised(ALARM_TEST, "api"));
    assert_false(alarm_worker_raised(ALARM_DURESS, "api"));
    assert_false(alarm_worker_raised(ALARM_DURESS, "checkin"));
    assert_false(alarm_worker_raised(ALARM_AMBER, "amber"));
    assert_false(alarm_worker_raised(ALARM_RED, "cancel"));
    assert_false(alarm_worker_raised(ALARM_RED, NULL));
    assert_false(alarm_worker_raised(ALARM_OVERDUE, "escalation"));
    assert_false(alarm_worker_raised(ALARM_OVERDUE, "api"));
}

static void test_alarm_overdue(void **state)
{
    struct alarm_clock a;
    (void)state;
    /* Red before amber before an overdue worker before a cancelled press before a test. */
    assert_true(ALARM_PRIORITY_RED < ALARM_PRIORITY_AMBER);
    assert_true(ALARM_PRIORITY_AMBER < ALARM_PRIORITY_OVERDUE);
    assert_true(ALARM_PRIORITY_OVERDUE < ALARM_PRIORITY_CANCELLED);
    assert_true(ALARM_PRIORITY_CANCELLED < ALARM_PRIORITY_TEST);
    assert_int_equal(ALARM_PRIORITY_OVERDUE, 3);
    assert_int_equal(alarm_priority(ALARM_OVERDUE), ALARM_PRIORITY_OVERDUE);
    assert_int_equal(alarm_priority(ALARM_DURESS), ALARM_PRIORITY_RED);
    assert_int_equal(alarm_priority(ALARM_TEST), ALARM_PRIORITY_TEST);
    assert_string_equal(alarm_kind_name(ALARM_OVERDUE), "overdue");
    assert_int_equal(alarm_kind_parse("overdue"), ALARM_OVERDUE);

    /* Open and re-notified like any other until claimed; closed genuine by the case. */
    alarm_open(&a, ALARM_OVERDUE, false, 30000, T0);
    assert_int_equal(a.state, ALARM_OPEN);
    assert_false(a.duress);
    assert_int_equal(a.priority, ALARM_PRIORITY_OVERDUE);
    assert_int_equal(a.renotify_at, T0 + 30000);
    assert_int_equal(alarm_close(&a, ALARM_OUTCOME_GENUINE, 5, T0 + 1000), 0);
    assert_int_equal(a.outcome, ALARM_OUTCOME_GENUINE);
}

static void test_escalation_contact_operators(void **state)
{
    struct escalation_policy p;
    size_t bad = 99;
    (void)state;
    assert_int_equal(escalation_contact_parse("operators"), CONTACT_OPERATORS);
    assert_string_equal(escalation_contact_name(CONTACT_OPERATORS), "operators");
    assert_int_equal(escalation_contact_parse("operator"), 0);
    assert_int_equal(escalation_contact_parse("Operators"), 0);
    for (int c = CONTACT_BUDDY; c <= CONTACT_OPERATORS; c++)
        assert_int_equal(escalation_contact_parse(escalation_contact_name(c)), c);
    assert_string_equal(escalation_contact_name((enum escalation_contact)(CONTACT_OPERATORS + 1)),
                        "");

    /* The operators need no target, and take none. */
    memset(&p, 0, sizeof p);
    p.n_levels = 2;
    p.levels[0] = (struct escalation_level){CONTACT_BUDDY, 0, 60 * 1000};
    p.levels[1] = (struct escalation_level){CONTACT_OPERATORS, 0, 600 * 1000};
    assert_int_equal(escalation_policy_check(&p, &bad), 0);
    p.levels[1].target_id = 4;
    assert_int_equal(escalation_policy_check(&p, &bad), -NA_EINVAL);
    assert_int_equal(bad, 1);
    p.levels[1] = (struct escalation_level){CONTACT_OPERATORS + 1, 0, 600 * 1000};
    assert_int_equal(escalation_policy_check(&p, &bad), -NA_EINVAL);
}

static void test_alarm_names(void **state)
{
    (void)state;
    for (int k = ALARM_RED; k <= ALARM_OVERDUE; k++)
        assert_int_equal(alarm_kind_parse(alarm_kind_name((enum alarm_kind)k)), k);
    for (int s = ALARM_OPEN; s <= ALARM_CLOSED; s++)
        assert_int_equal(alarm_state_parse(alarm_state_name((enum alarm_state)s)), s);
    for (int o = ALARM_OUTCOME_GENUINE; o <= ALARM_OUTCOME_TEST; o++)
        assert_int_equal(alarm_outcome_parse(alarm_outcome_name((enum alarm_outcome)o)), o);
    assert_int_equal(alarm_kind_parse("Red"), 0);
    assert_int_equal(alarm_kind_parse(NULL), 0);
    assert_int_equal(alarm_outcome_parse("false"), 0);
    assert_string_equal(alarm_kind_name((enum alarm_kind)99), "");
    assert_string_equal(alarm_outcome_name(ALARM_OUTCOME_NONE), "");
}

static void test_alarm_spread(void **state)
{
    struct alarm_spread s;
    (void)state;
    alarm_spread(NULL, 0, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.p99_ms, 0);

    /* 100 answer times of 1..100 s, shuffled: nearest-rank percentiles. */
    int64_t ms[100];
    for (int i = 0; i < 100; i++)
        ms[i] = (int64_t)((i * 37) % 100 + 1) * 1000;
    alarm_spread(ms, 100, &s);
    assert_int_equal(s.n, 100);
    assert_int_equal(s.median_ms, 50000);
    assert_int_equal(s.p90_ms, 90000);
    assert_int_equal(s.p99_ms, 99000);
    assert_true(s.within_10s > 0.0999 && s.within_10s < 0.1001);
    assert_true(s.within_40s > 0.3999 && s.within_40s < 0.4001);

    int64_t one[] = {10000};
    alarm_spread(one, 1, &s);
    assert_int_equal(s.median_ms, 10000);
    assert_int_equal(s.p99_ms, 10000);
    assert_true(s.within_10s > 0.999); /* 10 s exactly is within 10 s */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_round_trip),
        cmocka_unit_test(test_role_names_order),
        cmocka_unit_test(test_access_user_layer),
        cmocka_unit_test(test_access_manage_team_and_profile),
        cmocka_unit_test(test_access_sees_visit),
        cmocka_unit_test(test_access_sees_alarm),
        cmocka_unit_test(test_alarm_open_claim_close),
        cmocka_unit_test(test_alarm_kinds_and_cancel),
        cmocka_unit_test(test_alarm_duress_cancel_and_mark),
        cmocka_unit_test(test_alarm_worker_raised),
        cmocka_unit_test(test_alarm_overdue),
        cmocka_unit_test(test_escalation_contact_operators),
        cmocka_unit_test(test_alarm_names),
        cmocka_unit_test(test_alarm_spread),
        cmocka_unit_test(test_throttle_backoff),
        cmocka_unit_test(test_throttle_lock),
        cmocka_unit_test(test_validate_text_limits),
        cmocka_unit_test(test_validate_controls),
        cmocka_unit_test(test_validate_unicode_controls),
        cmocka_unit_test(test_validate_username),
        cmocka_unit_test(test_validate_email),
        cmocka_unit_test(test_validate_phone),
        cmocka_unit_test(test_validate_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
