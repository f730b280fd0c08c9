#ifndef NA_CORE_VISIT_H
#define NA_CORE_VISIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The rules of a visit's clock (seed 002 §6.17): while a visit is active it has a
 * deadline, the next check-in or the expected departure, whichever is sooner. Check-ins
 * move it; extending moves the departure; ending closes the visit. Pure: the caller
 * passes the time and stores the result.
 */

enum visit_state { VISIT_PLANNED = 1, VISIT_ACTIVE = 2, VISIT_CLOSED = 3 };

enum visit_outcome {
    VISIT_OUTCOME_NONE = 0,
    VISIT_OUTCOME_SAFE = 1,      /* the worker is done and safe */
    VISIT_OUTCOME_WITHDRAWN = 2, /* left because they felt unsafe (§6.2.1): never penalised */
    VISIT_OUTCOME_CANCELLED = 3, /* did not take place */
};

/* Limits of the rules. */
#define VISIT_MAX_LENGTH_MS     (7LL * 24 * 3600 * 1000) /* a visit or shift up to a week */
#define VISIT_MIN_INTERVAL_MS   (60LL * 1000)            /* check-ins at most every minute */
#define VISIT_MAX_INTERVAL_MS   (24LL * 3600 * 1000)     /* and at least daily */
#define VISIT_PAST_TOLERANCE_MS (5LL * 60 * 1000)        /* an arrival a little in the past */
#define VISIT_LATE_GRACE_MS     (15LL * 60 * 1000)       /* after a check-in past the departure */

struct visit_clock {
    enum visit_state state;
    int64_t expected_arrival;   /* ms */
    int64_t expected_departure; /* ms */
    int64_t checkin_interval;   /* ms; 0: only the departure */
    int64_t started_at;         /* 0 until started */
    int64_t last_checkin_at;    /* 0 until the first check-in */
    int64_t deadline_at;        /* 0 unless active */
    int64_t closed_at;
    enum visit_outcome outcome;
};

/* Checks a new plan at now: departure after arrival and in the future, sane interval. */
int visit_plan_check(const struct visit_clock *v, int64_t now, const char **field);
/* Planned -> active at now; sets the deadline. -NA_ECONFLICT unless planned. */
int visit_start(struct visit_clock *v, int64_t now);
/*
 * A check-in at now: sets the next deadline. A check-in after the expected departure moves
 * the departure to now + VISIT_LATE_GRACE_MS, so the worker who is fine but late has time
 * to extend or end the visit before anyone is told again. -NA_ECONFLICT unless active.
 */
int visit_checkin(struct visit_clock *v, int64_t now);
/*
 * Moves the expected departure to until (after now and the current departure, within
 * the maximum length). -NA_EINVAL for a bad time, -NA_ECONFLICT unless planned or active.
 */
int visit_extend(struct visit_clock *v, int64_t until, int64_t now);
/*
 * Closes the visit with outcome at now. Cancelling is for planned visits; safe and
 * withdrawn for active ones. -NA_ECONFLICT otherwise.
 */
int visit_close(struct visit_clock *v, enum visit_outcome outcome, int64_t now);
/* The deadline of an active visit by its fields (0 when not active). */
int64_t visit_deadline(const struct visit_clock *v);

/* Outcome of its name ("safe"); VISIT_OUTCOME_NONE when unknown. And back. */
enum visit_outcome visit_outcome_parse(const char *s);
const char *visit_outcome_name(enum visit_outcome o);
const char *visit_state_name(enum visit_state s);

#endif
