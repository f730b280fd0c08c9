#include "core/throttle.h"

#include "util/error.h"

int throttle_check(const struct login_attempts *a, int64_t now, int64_t *retry_after_ms)
{
    if (a->locked_until > now) {
        *retry_after_ms = a->locked_until - now;
        return -NA_ERATE;
    }
    if (a->failures >= THROTTLE_FREE_FAILURES && a->failures < THROTTLE_LOCK_FAILURES) {
        int doublings = a->failures - THROTTLE_FREE_FAILURES;
        int64_t wait = (int64_t)1000 << doublings;
        if (now < a->last_failure_at + wait) {
            *retry_after_ms = a->last_failure_at + wait - now;
            return -NA_ERATE;
        }
    }
    *retry_after_ms = 0;
    return 0;
}

void throttle_record_failure(struct login_attempts *a, int64_t now)
{
    /* A lock that has run out starts a fresh count: the lock was the penalty. */
    if (a->locked_until && a->locked_until <= now) {
        a->failures = 0;
        a->locked_until = 0;
    }
    a->failures++;
    a->last_failure_at = now;
    if (a->failures >= THROTTLE_LOCK_FAILURES)
        a->locked_until = now + THROTTLE_LOCK_MS;
}

int throttle_is_locked(const struct login_attempts *a, int64_t now)
{
    return a->locked_until > now;
}
