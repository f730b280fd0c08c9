#ifndef NA_CORE_ALARM_H
#define NA_CORE_ALARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The rules of an alarm (seed 002 §9.7-9.11): the case an operator handles, opened by a
 * red alert (panic button, duress code), by an amber alert whose deadline passed, by an
 * overdue worker's escalation reaching the operators, or by a test. An operator claims it,
 * works it (calls, notes, escalation) and closes it with an outcome once the worker is
 * confirmed safe. Pure: the caller passes the time and stores the result.
 */

enum alarm_kind {
    ALARM_RED = 1,     /* the worker asked for help now */
    ALARM_DURESS = 2,  /* a duress code: silent, the worker must not be seen to be helped */
    ALARM_AMBER = 3,   /* an amber alert's deadline passed without the worker being heard */
    ALARM_TEST = 4,    /* a device test: exercises the path, closed as test at once */
    ALARM_OVERDUE = 5, /* an overdue worker's escalation reached the operators' level */
};

enum alarm_state { ALARM_OPEN = 1, ALARM_CLAIMED = 2, ALARM_CLOSED = 3 };

enum alarm_outcome {
    ALARM_OUTCOME_NONE = 0,
    ALARM_OUTCOME_GENUINE = 1,          /* the worker needed help */
    ALARM_OUTCOME_FALSE_ACCIDENTAL = 2, /* a pocket press, a fall sensor (§9.3.6) */
    ALARM_OUTCOME_FALSE_MALICIOUS = 3,  /* misuse (§9.3.7) */
    ALARM_OUTCOME_TEST = 4,             /* a device test */
};

/* Queue priorities, 1 first: red alarms, then passed amber deadlines, then overdue workers'
 * escalations, then what the worker cancelled as an accidental press (it still waits for an
 * operator to close it). */
#define ALARM_PRIORITY_RED       1
#define ALARM_PRIORITY_AMBER     2
#define ALARM_PRIORITY_OVERDUE   3
#define ALARM_PRIORITY_CANCELLED 4
#define ALARM_PRIORITY_TEST      5

/* The parts of an alarm the rules change. */
struct alarm_clock {
    enum alarm_kind kind;
    enum alarm_state state;
    bool duress;  /* opened by a duress code, or the duress code was given to cancel it */
    int priority; /* ALARM_PRIORITY_* */
    int64_t opened_at;
    int64_t renotify_at;      /* when operators are told again while unclaimed; 0: never */
    int64_t claimed_by;       /* user holding the alarm; 0: nobody */
    int64_t claimed_at;       /* when the current holder claimed it */
    int64_t first_claimed_at; /* the first claim (the BS 8484 answer time); 0: never */
    int64_t cancelled_at;     /* the worker cancelled it as an accidental press; 0: not */
    int64_t closed_by;
    int64_t closed_at;
    enum alarm_outcome outcome;
};

/* Limits of the rules. */
#define ALARM_MIN_RENOTIFY_MS (10LL * 1000)
#define ALARM_MAX_RENOTIFY_MS (3600LL * 1000)

/* The priority of a kind of alarm. */
int alarm_priority(enum alarm_kind kind);

/*
 * A new alarm of kind at now: open, or for a test closed as test at once. renotify_ms
 * (0: never) is how long an unclaimed alarm waits before operators are told again.
 */
void alarm_open(struct alarm_clock *a, enum alarm_kind kind, bool duress, int64_t renotify_ms,
                int64_t now);
/*
 * user_id claims the alarm at now. A claim held by someone else is taken over only when
 * take_over is set. Re-notification stops. -NA_ECONFLICT when closed, or held by another
 * without take_over; claiming it again oneself is a no-op (0).
 */
int alarm_claim(struct alarm_clock *a, int64_t user_id, bool take_over, int64_t now);
/*
 * The worker cancels at now (an accidental press): the alarm stays for an operator to
 * close as false, lower in the queue and no longer re-notified. A duress alarm is
 * cancelled alike in the worker's eyes (cancelled_at is set) but keeps its priority and
 * its re-notification: it is no press. -NA_ECONFLICT when closed or already cancelled,
 * -NA_EINVAL when more than cancel_window_ms have passed since it opened (an operator
 * will call instead).
 */
int alarm_cancel(struct alarm_clock *a, int64_t cancel_window_ms, int64_t now);
/*
 * The duress code was given on the alarm (not closed) at now: marked duress, back at the
 * top of the queue, and, while open and unclaimed, operators are told again renotify_ms
 * from now (0: never), even after a cancel.
 */
void alarm_mark_duress(struct alarm_clock *a, int64_t renotify_ms, int64_t now);
/* Re-notification fired at now: the next one, while still unclaimed (and not cancelled,
 * unless duress). */
void alarm_renotified(struct alarm_clock *a, int64_t renotify_ms, int64_t now);
/*
 * Whether the worker raised the alarm themselves and may see it (cancel it, upload its
 * recording): a red alert or a test sent through the API (source "api"). Alarms opened
 * by a duress code on a check-in, an end, an amber clear or a cancel, by a passed amber
 * deadline, or by an escalation, are not theirs to see: whoever holds the phone must not
 * find them.
 */
bool alarm_worker_raised(enum alarm_kind kind, const char *source);
/*
 * Closes with outcome at now by user_id. -NA_EINVAL for no outcome, -NA_ECONFLICT when
 * already closed.
 */
int alarm_close(struct alarm_clock *a, enum alarm_outcome outcome, int64_t user_id, int64_t now);

/* True for the false outcomes (counted per worker and per police URN). */
bool alarm_outcome_is_false(enum alarm_outcome o);

/* Names ("red", "claimed", "false_accidental") and back; 0 / "" when unknown. */
enum alarm_kind alarm_kind_parse(const char *s);
const char *alarm_kind_name(enum alarm_kind k);
enum alarm_state alarm_state_parse(const char *s);
const char *alarm_state_name(enum alarm_state s);
enum alarm_outcome alarm_outcome_parse(const char *s);
const char *alarm_outcome_name(enum alarm_outcome o);

/* ---- figures (BS 8484 style) ---- */

/* Distribution of n durations (ms): nearest-rank percentiles; all 0 when n is 0. */
struct alarm_spread {
    size_t n;
    int64_t median_ms, p90_ms, p99_ms;
    double within_10s, within_40s; /* shares 0..1 */
};
/* Sorts ms[0..n) in place and summarises it. */
void alarm_spread(int64_t *ms, size_t n, struct alarm_spread *out);

#endif
