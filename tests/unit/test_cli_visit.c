/* Unit tests of the pure parts of the client's visit commands: TIME, DURATION, LEVEL, watch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../src/cli/level.c"
#include "../../src/cli/watch.c"
#include "../../src/cli/when.c"

/* Time zones as POSIX rules, so that the tests need no time zone database. */
#define TZ_LONDON   "GMT0BST,M3.5.0/1,M10.5.0"
#define TZ_NEW_YORK "EST5EDT,M3.2.0,M11.1.0"

static void use_tz(const char *tz)
{
    assert_int_equal(setenv("TZ", tz, 1), 0);
    tzset();
}

static int64_t iso(const char *s)
{
    int64_t ms = 0;
    assert_int_equal(time_parse_iso(s, &ms), 0);
    return ms;
}

/* Parses text at now and checks the result against the UTC time expected. */
static void expect_when(const char *text, const char *now, const char *expected,
                        enum when_kind kind, bool tomorrow)
{
    struct when w;
    assert_int_equal(when_parse(text, iso(now), &w), 0);
    assert_int_equal(w.ms, iso(expected));
    assert_int_equal(w.kind, kind);
    assert_int_equal(w.tomorrow, tomorrow);
}

static void test_when_clock_today_or_tomorrow(void **state)
{
    (void)state;
    use_tz(TZ_LONDON);
    const char *now = "2026-11-23T09:00:00Z";
    expect_when("15:30", now, "2026-11-23T15:30:00Z", WHEN_CLOCK, false);
    expect_when("9:05", now, "2026-11-23T09:05:00Z", WHEN_CLOCK, false);
    expect_when("08:30", now, "2026-11-24T08:30:00Z", WHEN_CLOCK, true);
    /* Not later than now is tomorrow: a deadline must lie ahead. */
    expect_when("09:00", now, "2026-11-24T09:00:00Z", WHEN_CLOCK, true);
    expect_when("00:00", now, "2026-11-24T00:00:00Z", WHEN_CLOCK, true);
    expect_when("23:59", now, "2026-11-23T23:59:00Z", WHEN_CLOCK, false);
    /* The last day of the year rolls into the next year. */
    expect_when("07:00", "2026-12-31T22:00:00Z", "2027-01-01T07:00:00Z", WHEN_CLOCK, true);
}

static void test_when_clock_time_zones(void **state)
{
    (void)state;
    use_tz(TZ_LONDON);
    /* Summer time: 13:00 local. */
    expect_when("15:30", "2026-07-01T12:00:00Z", "2026-07-01T14:30:00Z", WHEN_CLOCK, false);
    expect_when("12:30", "2026-07-01T12:00:00Z", "2026-07-02T11:30:00Z", WHEN_CLOCK, true);
    /* Saturday evening in summer time; tomorrow morning is winter time (25 October 2026). */
    expect_when("08:00", "2026-10-24T20:00:00Z", "2026-10-25T08:00:00Z", WHEN_CLOCK, true);
    /* Just after midnight UTC is still "today" in New York. */
    use_tz(TZ_NEW_YORK);
    expect_when("15:30", "2026-11-23T09:00:00Z", "2026-11-23T20:30:00Z", WHEN_CLOCK, false);
    expect_when("22:00", "2026-11-24T01:00:00Z", "2026-11-24T03:00:00Z", WHEN_CLOCK, false);
    expect_when("19:00", "2026-11-24T01:00:00Z", "2026-11-25T00:00:00Z", WHEN_CLOCK, true);
    use_tz(TZ_LONDON);
}

static void test_when_absolute(void **state)
{
    (void)state;
    use_tz(TZ_LONDON);
    const char *now = "2026-11-23T09:00:00Z";
    expect_when("2026-11-23T15:30:00Z", now, "2026-11-23T15:30:00Z", WHEN_ABSOLUTE, false);
    expect_when("2026-11-23T15:30:00.000Z", now, "2026-11-23T15:30:00Z", WHEN_ABSOLUTE, false);
    expect_when("2026-11-23T15:30:00+01:00", now, "2026-11-23T14:30:00Z", WHEN_ABSOLUTE, false);
    expect_when("2026-11-23T15:30:00.250-05:00", now, "2026-11-23T20:30:00.250Z", WHEN_ABSOLUTE,
                false);
    expect_when("2026-11-23 15:30:00Z", now, "2026-11-23T15:30:00Z", WHEN_ABSOLUTE, false);
    /* An absolute time in the past stays where it is: the server refuses it. */
    expect_when("2026-11-22T15:30:00Z", now, "2026-11-22T15:30:00Z", WHEN_ABSOLUTE, false);
    /* Date and time without zone: local time. */
    expect_when("2026-11-24 08:15", now, "2026-11-24T08:15:00Z", WHEN_ABSOLUTE, false);
    expect_when("2026-07-01T08:15", now, "2026-07-01T07:15:00Z", WHEN_ABSOLUTE, false);
}

static void test_when_relative(void **state)
{
    (void)state;
    const char *now = "2026-11-23T09:00:00Z";
    expect_when("+45m", now, "2026-11-23T09:45:00Z", WHEN_RELATIVE, false);
    expect_when("+2h", now, "2026-11-23T11:00:00Z", WHEN_RELATIVE, false);
    expect_when("+90s", now, "2026-11-23T09:01:30Z", WHEN_RELATIVE, false);
    expect_when("+90", now, "2026-11-23T09:01:30Z", WHEN_RELATIVE, false);
    expect_when("+7d", now, "2026-11-30T09:00:00Z", WHEN_RELATIVE, false);
}

static void test_when_bad(void **state)
{
    (void)state;
    use_tz(TZ_LONDON);
    static const char *const bad[] = {
        "",
        "25:00",
        "24:00",
        "12:60",
        "1530",
        "12:3",
        "123:00",
        "-1:00",
        "12:30pm",
        "noon",
        "+",
        "+0m",
        "+-5m",
        "+8d",
        "+45x",
        "+ 45m",
        "45m",
        "2026-11-23T15:30:00",
        "2026-11-23T15:30:00+1:00",
        "2026-11-23T15:30:00+24:00",
        "2026-11-23T15:30:00+01:00x",
        "2026-11-23T15:30Z",
        "2026-02-30 10:00",
        "2026-13-01 10:00",
        "2026-11-23 25:00",
        "2026-11-23X15:30",
        "2026-03-29 01:30", /* does not exist: clocks go from 01:00 to 02:00 */
    };
    struct when w = {42, WHEN_RELATIVE, true};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (when_parse(bad[i], iso("2026-11-23T09:00:00Z"), &w) != -NA_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    }
    /* A failed parse leaves the result alone. */
    assert_int_equal(w.ms, 42);
}

static void test_duration(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t seconds;
    } good[] = {{"90s", 90}, {"20m", 1200}, {"2h", 7200},   {"90", 90},
                {"1", 1},    {"1d", 86400}, {"7d", 604800}, {"168h", 604800}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t s = -1;
        assert_int_equal(when_parse_duration(good[i].text, &s), 0);
        assert_int_equal(s, good[i].seconds);
    }
    static const char *const bad[] = {
        "0", "0m",   "8d",   "169h", "-5m", "",    "m",
        "s", "1.5h", "20 m", "20M",  "+5m", "5mm", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t s = -1;
        if (when_parse_duration(bad[i], &s) != -NA_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    }
}

static void expect_format(const char *t, const char *now, const char *text)
{
    char out[WHEN_TEXT];
    when_format(iso(t), iso(now), out, sizeof(out));
    assert_string_equal(out, text);
}

static void test_when_format(void **state)
{
    (void)state;
    use_tz(TZ_LONDON);
    expect_format("2026-11-23T15:30:00Z", "2026-11-23T09:00:00Z", "15:30");
    expect_format("2026-11-24T08:30:00Z", "2026-11-23T09:00:00Z", "2026-11-24 08:30");
    expect_format("2026-11-22T23:59:59Z", "2026-11-23T09:00:00Z", "2026-11-22 23:59");
    expect_format("2026-07-01T14:30:00Z", "2026-07-01T09:00:00Z", "15:30");
    /* 23:30 UTC on 1 July is 00:30 on 2 July in London. */
    expect_format("2026-07-01T23:30:00Z", "2026-07-01T09:00:00Z", "2026-07-02 00:30");
    use_tz(TZ_NEW_YORK);
    expect_format("2026-11-24T03:00:00Z", "2026-11-24T01:00:00Z", "22:00");
    use_tz(TZ_LONDON);
}

static void expect_span(int64_t ms, const char *text)
{
    char out[WHEN_TEXT];
    when_format_span(ms, out, sizeof(out));
    assert_string_equal(out, text);
}

static void test_when_span(void **state)
{
    (void)state;
    expect_span(0, "0s");
    expect_span(45000, "45s");
    expect_span(59999, "59s");
    expect_span(60000, "1m");
    expect_span(12 * 60000 + 59000, "12m");
    expect_span(3600000 + 5 * 60000, "1h05m");
    expect_span(23 * 3600000LL + 59 * 60000, "23h59m");
    expect_span(2 * 86400000LL + 3 * 3600000LL, "2d03h");
    expect_span(-12 * 60000, "-12m");
    expect_span(-45000, "-45s");
    expect_span(-3600000 - 60000, "-1h01m");
    /* Under a second either way is nothing, without a sign. */
    expect_span(-500, "0s");
}

static void test_when_from_json(void **state)
{
    (void)state;
    int64_t ms = 0;
    json_t *t = json_string("2026-11-23T09:00:00.000Z");
    assert_int_equal(when_from_json(t, &ms), 0);
    assert_int_equal(ms, iso("2026-11-23T09:00:00Z"));
    json_decref(t);
    assert_int_equal(when_from_json(json_null(), &ms), -NA_EINVAL);
    assert_int_equal(when_from_json(NULL, &ms), -NA_EINVAL);
    t = json_string("soon");
    assert_int_equal(when_from_json(t, &ms), -NA_EINVAL);
    json_decref(t);
}

static void expect_level(const char *text, enum level_contact contact, const char *user,
                         int64_t channel, int64_t limit)
{
    struct level l;
    char err[256] = "";
    assert_int_equal(level_parse(text, &l, err, sizeof(err)), 0);
    assert_int_equal(l.contact, contact);
    assert_string_equal(l.user, user);
    assert_int_equal(l.channel_id, channel);
    assert_int_equal(l.limit_s, limit);
}

static void test_level_parse(void **state)
{
    (void)state;
    expect_level("buddy:10m", LEVEL_BUDDY, "", 0, 600);
    expect_level("line_manager:15m", LEVEL_LINE_MANAGER, "", 0, 900);
    expect_level("senior_manager:1h", LEVEL_SENIOR_MANAGER, "", 0, 3600);
    expect_level("user:asha:30m", LEVEL_USER, "asha", 0, 1800);
    expect_level("user:12:30m", LEVEL_USER, "12", 0, 1800);
    expect_level("channel:2:30m", LEVEL_CHANNEL, "", 2, 1800);
    expect_level("buddy:60", LEVEL_BUDDY, "", 0, 60);
    expect_level("buddy:24h", LEVEL_BUDDY, "", 0, 86400);
    assert_string_equal(level_contact_name(LEVEL_SENIOR_MANAGER), "senior_manager");
}

static void expect_level_error(const char *text, const char *message)
{
    struct level l;
    char err[256] = "";
    assert_int_equal(level_parse(text, &l, err, sizeof(err)), -NA_EINVAL);
    if (message)
        assert_string_equal(err, message);
    else
        assert_true(err[0] != '\0');
}

static void test_level_errors(void **state)
{
    (void)state;
    expect_level_error("buddy", "level 'buddy': expected CONTACT:LIMIT such as buddy:10m");
    expect_level_error("manager:10m", "level 'manager:10m': unknown contact (buddy, "
                                      "line_manager, senior_manager, user:USER, channel:ID)");
    expect_level_error("buddy:30s", "level 'buddy:30s': the limit must be from 1m to 24h "
                                    "(like 15m)");
    expect_level_error("user:30m", "level 'user:30m': expected user:USER:LIMIT");
    expect_level_error("channel:x:30m", "level 'channel:x:30m': the channel must be an id");
    expect_level_error("buddy:asha:10m", "level 'buddy:asha:10m': expected buddy:LIMIT");
    static const char *const bad[] = {
        "",
        ":10m",
        "buddy:",
        "buddy:25h",
        "buddy:10x",
        "Buddy:10m",
        "user::30m",
        "channel:0:30m",
        "channel:-1:30m",
        "user:a:b:10m",
        "channel::30m",
        "line_manager:0m",
        "buddy:-10m",
        "channel:02:30m",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_level_error(bad[i], NULL);
}

static void test_watch_order(void **state)
{
    (void)state;
    const int64_t now = iso("2026-11-23T09:00:00Z");
    const int64_t m = 60000;
    struct watch_row rows[] = {
        {.visit_id = 1, .deadline_ms = now + 10 * m},
        {.visit_id = 2, .deadline_ms = now - 5 * m},
        {.visit_id = 3, .deadline_ms = now - 20 * m},
        {.visit_id = 4, .deadline_ms = now + 30 * m, .escalated = true},
        {.visit_id = 5, .deadline_ms = INT64_MAX},
        {.visit_id = 6, .deadline_ms = now},
        {.visit_id = 7, .deadline_ms = now + 10 * m},
        {.visit_id = 8, .deadline_ms = now - 5 * m},
    };
    for (size_t i = 0; i < 8; i++)
        rows[i].index = i;
    watch_sort(rows, 8, now);
    /* Overdue (longest first) and escalated, then the rest by deadline; ties by id. */
    static const int64_t order[] = {3, 2, 8, 6, 4, 1, 7, 5};
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(rows[i].visit_id, order[i]);
        assert_int_equal(rows[i].index, (size_t)(order[i] - 1));
    }
    assert_true(rows[0].overdue);
    assert_true(rows[3].overdue); /* a deadline that is now has passed */
    assert_false(rows[4].overdue);
    assert_false(rows[7].overdue);
    watch_sort(rows, 0, now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_when_clock_today_or_tomorrow),
        cmocka_unit_test(test_when_clock_time_zones),
        cmocka_unit_test(test_when_absolute),
        cmocka_unit_test(test_when_relative),
        cmocka_unit_test(test_when_bad),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_when_format),
        cmocka_unit_test(test_when_span),
        cmocka_unit_test(test_when_from_json),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_level_errors),
        cmocka_unit_test(test_watch_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
