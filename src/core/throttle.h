#ifndef NA_CORE_THROTTLE_H
#define NA_CORE_THROTTLE_H

#include <stdint.h>

#include "store/store.h"

/*
 * Login throttling per username: after THROTTLE_FREE_FAILURES failures in a row each
 * further attempt must wait twice as long as the last (1 s, 2 s, 4 s ...); after
 * THROTTLE_LOCK_FAILURES the username is locked for THROTTLE_LOCK_MS. Pure: the caller
 * loads and stores the counts and passes the time.
 */
#define THROTTLE_FREE_FAILURES 3
#define THROTTLE_LOCK_FAILURES 10
#define THROTTLE_LOCK_MS       (15 * 60 * 1000)

/* 0 when an attempt may be made at now; else -NA_ERATE and the wait in *retry_after_ms. */
int throttle_check(const struct login_attempts *a, int64_t now, int64_t *retry_after_ms);
/* Counts a failed attempt at now; locks when the failures reach the limit. */
void throttle_record_failure(struct login_attempts *a, int64_t now);
/* True when the last recorded failure has just locked the username. */
int throttle_is_locked(const struct login_attempts *a, int64_t now);

#endif
