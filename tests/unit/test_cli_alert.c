/* Unit tests of the pure parts of the client's alert commands: alert ids, retries, yes/no. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/cli/alerts.c"

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_alert_id_is_a_uuid(void **state)
{
    (void)state;
    unsigned char rnd[16];
    char id[ALERTS_ID_TEXT];
    memset(rnd, 0xff, sizeof(rnd));
    assert_int_equal(alerts_format_id(rnd, id, sizeof(id)), 0);
    /* version 4, variant 10xx: the rest is the random bytes as given */
    assert_string_equal(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    memset(rnd, 0, sizeof(rnd));
    assert_int_equal(alerts_format_id(rnd, id, sizeof(id)), 0);
    assert_string_equal(id, "00000000-0000-4000-8000-000000000000");
    for (unsigned char i = 0; i < 16; i++)
        rnd[i] = (unsigned char)(i * 17 + 3);
    assert_int_equal(alerts_format_id(rnd, id, sizeof(id)), 0);
    assert_int_equal(strlen(id), 36);
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(id[i], '-');
        else
            assert_true(is_hex(id[i]));
    }
    assert_int_equal(strncmp(id, "03142536-4758-", 14), 0);
}

static void test_alert_id_buffer_too_small(void **state)
{
    (void)state;
    unsigned char rnd[16] = {0};
    char id[ALERTS_ID_TEXT];
    memset(id, 'x', sizeof(id));
    assert_int_equal(alerts_format_id(rnd, id, ALERTS_ID_TEXT - 1), -NA_ETOOBIG);
    assert_int_equal(id[0], 'x');
}

static void test_retryable(void **state)
{
    (void)state;
    assert_true(alerts_retryable(CLIENT_ERR_TRANSPORT, 0));
    assert_true(alerts_retryable(CLIENT_ERR_SERVER, 503));
    /* refusals and bugs are answers: sending again would get the same */
    assert_false(alerts_retryable(CLIENT_ERR_SERVER, 500));
    assert_false(alerts_retryable(CLIENT_ERR_SERVER, 422));
    assert_false(alerts_retryable(CLIENT_ERR_SERVER, 401));
    assert_false(alerts_retryable(CLIENT_ERR_SERVER, 429));
    assert_false(alerts_retryable(CLIENT_ERR_REPLY, 503));
    assert_false(alerts_retryable(CLIENT_ERR_NONE, 0));
}

static void test_retry_delays(void **state)
{
    (void)state;
    assert_int_equal(alerts_retry_delay_ms(1), 500);
    assert_int_equal(alerts_retry_delay_ms(2), 1000);
    assert_int_equal(alerts_retry_delay_ms(3), 2000);
    /* out of range is clamped, never a negative or huge wait */
    assert_int_equal(alerts_retry_delay_ms(0), 500);
    assert_int_equal(alerts_retry_delay_ms(-5), 500);
    assert_int_equal(alerts_retry_delay_ms(1000), 2000);
}

static void test_yes_no(void **state)
{
    (void)state;
    bool v = false;
    assert_int_equal(alerts_parse_yes_no("yes", &v), 0);
    assert_true(v);
    assert_int_equal(alerts_parse_yes_no("no", &v), 0);
    assert_false(v);
    v = true;
    static const char *const bad[] = {"", "y", "YES", "No", "yes ", "true", "1", "nope"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(alerts_parse_yes_no(bad[i], &v), -NA_EINVAL);
    assert_true(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_id_is_a_uuid),
        cmocka_unit_test(test_alert_id_buffer_too_small),
        cmocka_unit_test(test_retryable),
        cmocka_unit_test(test_retry_delays),
        cmocka_unit_test(test_yes_no),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
