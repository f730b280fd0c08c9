/*
 * Tests of the DC-09 event table (src/dc09/codes.c): the defaults, changes from JSON,
 * refused JSON, and the meaning of a message with several codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dc09/codes.h"

static struct dc09_codes *table(const char *json)
{
    struct dc09_codes *c = NULL;
    char err[256] = "";
    if (dc09_codes_new(json, &c, err, sizeof err) != 0)
        fail_msg("codes refused: %s", err);
    assert_non_null(c);
    return c;
}

static enum dc09_action action_of(const struct dc09_codes *c, enum dc09_token t, const char *code)
{
    struct dc09_meaning m = {.action = DC09_ACTION_LAST, .label = NULL};
    dc09_codes_lookup(c, t, code, &m);
    assert_non_null(m.label);
    assert_true(m.label[0] != '\0');
    return m.action;
}

static void test_contact_id_defaults(void **state)
{
    (void)state;
    struct dc09_codes *c = table(NULL);
    const enum dc09_token t = DC09_TOKEN_ADM_CID;
    assert_int_equal(action_of(c, t, "1100"), DC09_ACTION_RED); /* medical is red */
    assert_int_equal(action_of(c, t, "1101"), DC09_ACTION_RED);
    assert_int_equal(action_of(c, t, "1120"), DC09_ACTION_RED);
    assert_int_equal(action_of(c, t, "1121"), DC09_ACTION_DURESS);
    assert_int_equal(action_of(c, t, "1122"), DC09_ACTION_DURESS); /* silent panic */
    assert_int_equal(action_of(c, t, "1302"), DC09_ACTION_BATTERY_LOW);
    assert_int_equal(action_of(c, t, "3302"), DC09_ACTION_BATTERY_OK);
    assert_int_equal(action_of(c, t, "1602"), DC09_ACTION_LINK);
    assert_int_equal(action_of(c, t, "1601"), DC09_ACTION_TEST);
    /* Any other restore is a restore; anything else unknown is recorded. */
    assert_int_equal(action_of(c, t, "3120"), DC09_ACTION_RESTORE);
    assert_int_equal(action_of(c, t, "3100"), DC09_ACTION_RESTORE);
    assert_int_equal(action_of(c, t, "3999"), DC09_ACTION_RESTORE);
    assert_int_equal(action_of(c, t, "1999"), DC09_ACTION_RECORD);
    assert_int_equal(action_of(c, t, "6120"), DC09_ACTION_RECORD);
    struct dc09_meaning m;
    dc09_codes_lookup(c, t, "1999", &m);
    assert_string_equal(m.label, "Unknown code");
    dc09_codes_lookup(c, t, "1120", &m);
    assert_string_equal(m.label, "Panic alarm");
    /* A SIA code is not looked up among Contact ID ones. */
    assert_int_equal(action_of(c, t, "PA"), DC09_ACTION_RECORD);
    dc09_codes_free(c);
}

static void test_sia_defaults(void **state)
{
    (void)state;
    struct dc09_codes *c = table(NULL);
    const enum dc09_token t = DC09_TOKEN_SIA_DCS;
    assert_int_equal(action_of(c, t, "PA"), DC09_ACTION_RED);
    assert_int_equal(action_of(c, t, "HA"), DC09_ACTION_DURESS);
    assert_int_equal(action_of(c, t, "MA"), DC09_ACTION_RED);
    assert_int_equal(action_of(c, t, "QA"), DC09_ACTION_RED);
    assert_int_equal(action_of(c, t, "YT"), DC09_ACTION_BATTERY_LOW);
    assert_int_equal(action_of(c, t, "YR"), DC09_ACTION_BATTERY_OK);
    assert_int_equal(action_of(c, t, "RP"), DC09_ACTION_LINK);
    assert_int_equal(action_of(c, t, "RX"), DC09_ACTION_TEST);
    assert_int_equal(action_of(c, t, "PR"), DC09_ACTION_RESTORE);
    assert_int_equal(action_of(c, t, "HR"), DC09_ACTION_RESTORE);
    assert_int_equal(action_of(c, t, "MR"), DC09_ACTION_RESTORE);
    assert_int_equal(action_of(c, t, "QR"), DC09_ACTION_RESTORE);
    assert_int_equal(action_of(c, t, "ZZ"), DC09_ACTION_RECORD);
    assert_int_equal(action_of(c, t, "1120"), DC09_ACTION_RECORD);
    assert_int_equal(action_of(c, t, ""), DC09_ACTION_RECORD);
    dc09_codes_free(c);
}

static void test_json_changes_and_adds(void **state)
{
    (void)state;
    struct dc09_codes *c =
        table("{\"contact_id\": {\"1120\": \"amber\", \"1999\": {\"action\": \"amber\", \"label\": "
              "\"Amber button\"}, \"3120\": \"record\", \"1101\": {\"action\": \"duress\"}},"
              " \"sia\": {\"PA\": \"duress\", \"ZZ\": \"position\"}}");
    struct dc09_meaning m;
    dc09_codes_lookup(c, DC09_TOKEN_ADM_CID, "1120", &m);
    assert_int_equal(m.action, DC09_ACTION_AMBER);
    assert_string_equal(m.label, "Panic alarm"); /* a default's label stays */
    dc09_codes_lookup(c, DC09_TOKEN_ADM_CID, "1999", &m);
    assert_int_equal(m.action, DC09_ACTION_AMBER);
    assert_string_equal(m.label, "Amber button");
    dc09_codes_lookup(c, DC09_TOKEN_ADM_CID, "1101", &m);
    assert_int_equal(m.action, DC09_ACTION_DURESS);
    assert_string_equal(m.label, "Personal emergency");
    /* A restore listed explicitly takes its entry over the fallback. */
    assert_int_equal(action_of(c, DC09_TOKEN_ADM_CID, "3120"), DC09_ACTION_RECORD);
    assert_int_equal(action_of(c, DC09_TOKEN_ADM_CID, "3121"), DC09_ACTION_RESTORE);
    assert_int_equal(action_of(c, DC09_TOKEN_SIA_DCS, "PA"), DC09_ACTION_DURESS);
    assert_int_equal(action_of(c, DC09_TOKEN_SIA_DCS, "ZZ"), DC09_ACTION_POSITION);
    /* The rest keeps its defaults. */
    assert_int_equal(action_of(c, DC09_TOKEN_ADM_CID, "1302"), DC09_ACTION_BATTERY_LOW);
    assert_int_equal(action_of(c, DC09_TOKEN_SIA_DCS, "YT"), DC09_ACTION_BATTERY_LOW);
    dc09_codes_free(c);
    /* An empty object changes nothing. */
    c = table("{}");
    assert_int_equal(action_of(c, DC09_TOKEN_ADM_CID, "1120"), DC09_ACTION_RED);
    dc09_codes_free(c);
}

static void test_json_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "{",
        "[]",
        "{\"contact_id\": []}",
        "{\"cid\": {}}",
        "{\"contact_id\": {\"1120\": \"scarlet\"}}",
        "{\"contact_id\": {\"1120\": 8}}",
        "{\"contact_id\": {\"112\": \"red\"}}",
        "{\"contact_id\": {\"2120\": \"red\"}}",
        "{\"contact_id\": {\"11a0\": \"red\"}}",
        "{\"contact_id\": {\"PA\": \"red\"}}",
        "{\"sia\": {\"pa\": \"red\"}}",
        "{\"sia\": {\"P1\": \"red\"}}",
        "{\"sia\": {\"PAX\": \"red\"}}",
        "{\"sia\": {\"PA\": \"red\", \"PA\": \"amber\"}}",
        "{\"sia\": {\"PA\": {\"label\": \"No action\"}}}",
        "{\"sia\": {\"PA\": {\"action\": \"red\", \"label\": 5}}}",
        "{\"sia\": {\"PA\": {\"action\": \"red\", \"label\": \"\"}}}",
        "{\"sia\": {\"PA\": {\"action\": \"red\", \"colour\": \"red\"}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dc09_codes *c = NULL;
        char err[256] = "";
        if (dc09_codes_new(bad[i], &c, err, sizeof err) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_null(c);
        assert_true(err[0] != '\0');
    }
}

static void add_code(struct dc09_payload *p, const char *code)
{
    struct dc09_code *c = &p->codes[p->n_codes++];
    memset(c, 0, sizeof *c);
    memcpy(c->code, code, strlen(code) + 1);
}

static void test_message_most_important(void **state)
{
    (void)state;
    struct dc09_codes *c = table(NULL);
    static struct dc09_payload p;
    struct dc09_meaning m;
    size_t index = 99;
    add_code(&p, "RP");
    add_code(&p, "YT");
    add_code(&p, "PA");
    add_code(&p, "HR");
    dc09_codes_message(c, DC09_TOKEN_SIA_DCS, &p, &m, &index);
    assert_int_equal(m.action, DC09_ACTION_RED);
    assert_string_equal(m.label, "Panic alarm");
    assert_int_equal(index, 2);
    add_code(&p, "HA");
    dc09_codes_message(c, DC09_TOKEN_SIA_DCS, &p, &m, &index);
    assert_int_equal(m.action, DC09_ACTION_DURESS);
    assert_int_equal(index, 4);
    /* Of two equally important codes, the first. */
    p.n_codes = 0;
    add_code(&p, "MA");
    add_code(&p, "PA");
    dc09_codes_message(c, DC09_TOKEN_SIA_DCS, &p, &m, &index);
    assert_int_equal(index, 0);
    assert_string_equal(m.label, "Medical alarm");
    /* Unknown codes alone are recorded. */
    p.n_codes = 0;
    add_code(&p, "1999");
    dc09_codes_message(c, DC09_TOKEN_ADM_CID, &p, &m, NULL);
    assert_int_equal(m.action, DC09_ACTION_RECORD);
    /* No codes, or a NULL message: a link test. */
    p.n_codes = 0;
    dc09_codes_message(c, DC09_TOKEN_SIA_DCS, &p, &m, &index);
    assert_int_equal(m.action, DC09_ACTION_LINK);
    assert_int_equal(index, 0);
    add_code(&p, "1120");
    dc09_codes_message(c, DC09_TOKEN_NULL, &p, &m, &index);
    assert_int_equal(m.action, DC09_ACTION_LINK);
    assert_string_equal(m.label, "Link test");
    dc09_codes_free(c);
    dc09_codes_free(NULL);
}

static void test_action_names(void **state)
{
    (void)state;
    for (int a = 0; a <= DC09_ACTION_LAST; a++) {
        enum dc09_action back = DC09_ACTION_RECORD;
        assert_int_equal(dc09_action_parse(dc09_action_name((enum dc09_action)a), &back), 0);
        assert_int_equal(back, a);
    }
    enum dc09_action x;
    assert_string_equal(dc09_action_name(DC09_ACTION_BATTERY_LOW), "battery_low");
    assert_int_equal(dc09_action_parse("Red", &x), -1);
    assert_int_equal(dc09_action_parse("", &x), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contact_id_defaults),    cmocka_unit_test(test_sia_defaults),
        cmocka_unit_test(test_json_changes_and_adds),  cmocka_unit_test(test_json_refused),
        cmocka_unit_test(test_message_most_important), cmocka_unit_test(test_action_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
