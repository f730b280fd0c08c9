/*
 * Tests of the visit clock and the escalation ladder (src/core/visit.c, escalation.c):
 * pure rules driven with explicit times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/escalation.h"
#include "core/visit.h"
#include "util/error.h"

#define T0  1795000000000LL
#define MIN (60LL * 1000)

static struct visit_clock planned(int64_t arrival, int64_t departure, int64_t interval)
{
    struct visit_clock v = {.state = VISIT_PLANNED,
                            .expected_arrival = arrival,
                            .expected_departure = departure,
                            .checkin_interval = interval};
    return v;
}

static void test_plan_check(void **state)
{
    const char *field;
    (void)state;
    struct visit_clock v = planned(T0, T0 + 30 * MIN, 0);
    assert_int_equal(visit_plan_check(&v, T0, &field), 0);
    v = planned(T0, T0, 0); /* departure not after arrival */
    assert_int_equal(visit_plan_check(&v, T0, &field), -NA_EINVAL);
    assert_string_equal(field, "expected_departure");
    v = planned(T0 - 60 * MIN, T0 - MIN, 0); /* already over */
    assert_int_equal(visit_plan_check(&v, T0, &field), -NA_EINVAL);
    v = planned(T0 - 10 * MIN, T0 + MIN, 0); /* arrival too far in the past */
    assert_int_equal(visit_plan_check(&v, T0, &field), -NA_EINVAL);
    assert_string_equal(field, "expected_arrival");
    v = planned(T0 - 4 * MIN, T0 + MIN, 0); /* a little in the past is fine */
    assert_int_equal(visit_plan_check(&v, T0, &field), 0);
    v = planned(T0, T0 + VISIT_MAX_LENGTH_MS + 1, 0);
    assert_int_equal(visit_plan_check(&v, T0, &field), -NA_EINVAL);
    v = planned(T0, T0 + 30 * MIN, 30 * 1000); /* interval under a minute */
    assert_int_equal(visit_plan_check(&v, T0, &field), -NA_EINVAL);
    assert_string_equal(field, "checkin_interval");
}

static void test_deadline_is_the_sooner(void **state)
{
    (void)state;
    struct visit_clock v = planned(T0, T0 + 60 * MIN, 20 * MIN);
    assert_int_equal(visit_start(&v, T0), 0);
    assert_int_equal(v.deadline_at, T0 + 20 * MIN); /* check-in before departure */
    assert_int_equal(visit_checkin(&v, T0 + 15 * MIN), 0);
    assert_int_equal(v.deadline_at, T0 + 35 * MIN);
    assert_int_equal(visit_checkin(&v, T0 + 50 * MIN), 0);
    assert_int_equal(v.deadline_at, T0 + 60 * MIN); /* departure is sooner now */
    struct visit_clock plain = planned(T0, T0 + 60 * MIN, 0);
    assert_int_equal(visit_start(&plain, T0 + MIN), 0);
    assert_int_equal(plain.deadline_at, T0 + 60 * MIN);
    /* A late check-in buys a grace period instead of leaving the deadline in the past. */
    assert_int_equal(visit_checkin(&plain, T0 + 70 * MIN), 0);
    assert_int_equal(plain.expected_departure, T0 + 70 * MIN + VISIT_LATE_GRACE_MS);
    assert_int_equal(plain.deadline_at, T0 + 70 * MIN + VISIT_LATE_GRACE_MS);
}

static void test_states(void **state)
{
    (void)state;
    struct visit_clock v = planned(T0, T0 + 60 * MIN, 0);
    assert_int_equal(visit_checkin(&v, T0), -NA_ECONFLICT); /* not started */
    assert_int_equal(visit_close(&v, VISIT_OUTCOME_SAFE, T0), -NA_ECONFLICT);
    assert_int_equal(visit_start(&v, T0), 0);
    assert_int_equal(visit_start(&v, T0), -NA_ECONFLICT);
    assert_int_equal(visit_close(&v, VISIT_OUTCOME_CANCELLED, T0), -NA_ECONFLICT);
    assert_int_equal(visit_close(&v, VISIT_OUTCOME_WITHDRAWN, T0 + MIN), 0);
    assert_int_equal(v.state, VISIT_CLOSED);
    assert_int_equal(v.deadline_at, 0);
    assert_int_equal(visit_checkin(&v, T0 + 2 * MIN), -NA_ECONFLICT);
    struct visit_clock late = planned(T0, T0 + MIN, 0);
    assert_int_equal(visit_start(&late, T0 + 2 * MIN), -NA_EINVAL); /* plan already over */
    struct visit_clock c = planned(T0, T0 + MIN, 0);
    assert_int_equal(visit_close(&c, VISIT_OUTCOME_CANCELLED, T0), 0);
}

static void test_extend(void **state)
{
    (void)state;
    struct visit_clock v = planned(T0, T0 + 30 * MIN, 0);
    assert_int_equal(visit_start(&v, T0), 0);
    assert_int_equal(visit_extend(&v, T0 + 20 * MIN, T0 + 5 * MIN), -NA_EINVAL); /* earlier */
    assert_int_equal(visit_extend(&v, T0 + 45 * MIN, T0 + 5 * MIN), 0);
    assert_int_equal(v.deadline_at, T0 + 45 * MIN);
    assert_int_equal(v.last_checkin_at, T0 + 5 * MIN); /* news from the worker */
    assert_int_equal(visit_extend(&v, T0 + VISIT_MAX_LENGTH_MS + MIN, T0 + 6 * MIN), -NA_EINVAL);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(visit_outcome_parse("withdrawn"), VISIT_OUTCOME_WITHDRAWN);
    assert_int_equal(visit_outcome_parse("Safe"), VISIT_OUTCOME_NONE);
    assert_string_equal(visit_state_name(VISIT_ACTIVE), "active");
    assert_int_equal(escalation_contact_parse("line_manager"), CONTACT_LINE_MANAGER);
    assert_int_equal(escalation_contact_parse("police"), 0);
    assert_int_equal(escalation_outcome_parse("police"), ESCALATION_OUTCOME_POLICE);
}

static void test_policy_check(void **state)
{
    struct escalation_policy p;
    size_t bad;
    (void)state;
    escalation_policy_default(&p);
    assert_int_equal(escalation_policy_check(&p, &bad), 0);
    p.levels[1].limit_ms = 59 * 1000;
    assert_int_equal(escalation_policy_check(&p, &bad), -NA_EINVAL);
    assert_int_equal(bad, 1);
    escalation_policy_default(&p);
    p.levels[2] = (struct escalation_level){CONTACT_CHANNEL, 0, 10 * MIN}; /* no channel id */
    assert_int_equal(escalation_policy_check(&p, &bad), -NA_EINVAL);
    assert_int_equal(bad, 2);
    p.n_levels = 0;
    assert_int_equal(escalation_policy_check(&p, &bad), -NA_EINVAL);
}

static void test_climb(void **state)
{
    struct escalation_policy p;
    struct escalation_case c;
    (void)state;
    escalation_policy_default(&p); /* buddy 10, line manager 15, senior manager 15 */
    bool all[3] = {true, true, true}, no_buddy[3] = {false, true, true};
    assert_int_equal(escalation_open(&c, &p, all, T0), 0);
    assert_int_equal(c.level_due_at, T0 + 10 * MIN);
    assert_int_equal(escalation_climb(&c, &p, all, T0 + 10 * MIN), 1);
    assert_int_equal(c.level_due_at, T0 + 25 * MIN);
    assert_int_equal(escalation_climb(&c, &p, all, T0 + 25 * MIN), 2);
    /* At the top the climb does not stop: the same level again with a fresh limit. */
    assert_int_equal(escalation_climb(&c, &p, all, T0 + 40 * MIN), 2);
    assert_int_equal(c.level_due_at, T0 + 55 * MIN);
    /* A buddy who has not accepted is passed over. */
    assert_int_equal(escalation_open(&c, &p, no_buddy, T0), 1);
    bool none[3] = {false, false, false};
    assert_int_equal(escalation_open(&c, &p, none, T0), 2); /* someone must be told */
}

static void test_acknowledge_and_resolve(void **state)
{
    struct escalation_policy p;
    struct escalation_case c;
    bool all[3] = {true, true, true};
    (void)state;
    escalation_policy_default(&p);
    escalation_open(&c, &p, all, T0);
    assert_int_equal(escalation_acknowledge(&c, &p, 7, T0 + 5 * MIN), 0);
    assert_int_equal(c.level_due_at, T0 + 15 * MIN); /* holds it for a full limit */
    assert_int_equal(escalation_acknowledge(&c, &p, 7, T0 + 6 * MIN), -NA_ECONFLICT);
    assert_int_equal(escalation_acknowledge(&c, &p, 8, T0 + 6 * MIN), -NA_ECONFLICT);
    /* Not resolved within the limit: the climb goes on and the hold is dropped. */
    assert_int_equal(escalation_climb(&c, &p, all, T0 + 15 * MIN), 1);
    assert_int_equal(c.acknowledged_by, 0);
    assert_int_equal(escalation_resolve(&c, T0 + 16 * MIN), 0);
    assert_int_equal(c.state, ESCALATION_RESOLVED);
    assert_int_equal(escalation_resolve(&c, T0 + 17 * MIN), -NA_ECONFLICT);
    assert_int_equal(escalation_climb(&c, &p, all, T0 + 30 * MIN), -NA_ECONFLICT);
    assert_int_equal(escalation_acknowledge(&c, &p, 9, T0 + 30 * MIN), -NA_ECONFLICT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_check), cmocka_unit_test(test_deadline_is_the_sooner),
        cmocka_unit_test(test_states),     cmocka_unit_test(test_extend),
        cmocka_unit_test(test_names),      cmocka_unit_test(test_policy_check),
        cmocka_unit_test(test_climb),      cmocka_unit_test(test_acknowledge_and_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
