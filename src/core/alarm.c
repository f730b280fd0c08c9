#include "core/alarm.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

int alarm_priority(enum alarm_kind kind)
{
    switch (kind) {
    case ALARM_RED:
    case ALARM_DURESS:
        return ALARM_PRIORITY_RED;
    case ALARM_AMBER:
        return ALARM_PRIORITY_AMBER;
    case ALARM_OVERDUE:
        return ALARM_PRIORITY_OVERDUE;
    case ALARM_TEST:
        return ALARM_PRIORITY_TEST;
    }
    return ALARM_PRIORITY_TEST;
}

void alarm_open(struct alarm_clock *a, enum alarm_kind kind, bool duress, int64_t renotify_ms,
                int64_t now)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->duress = duress || kind == ALARM_DURESS;
    a->priority = alarm_priority(kind);
    a->opened_at = now;
    if (kind == ALARM_TEST) {
        a->state = ALARM_CLOSED;
        a->closed_at = now;
        a->outcome = ALARM_OUTCOME_TEST;
        return;
    }
    a->state = ALARM_OPEN;
    a->renotify_at = renotify_ms > 0 ? now + renotify_ms : 0;
}

int alarm_claim(struct alarm_clock *a, int64_t user_id, bool take_over, int64_t now)
{
    if (a->state == ALARM_CLOSED)
        return -NA_ECONFLICT;
    if (a->state == ALARM_CLAIMED && a->claimed_by == user_id)
        return 0;
    if (a->state == ALARM_CLAIMED && !take_over)
        return -NA_ECONFLICT;
    a->state = ALARM_CLAIMED;
    a->claimed_by = user_id;
    a->claimed_at = now;
    if (!a->first_claimed_at)
        a->first_claimed_at = now;
    a->renotify_at = 0;
    return 0;
}

int alarm_cancel(struct alarm_clock *a, int64_t cancel_window_ms, int64_t now)
{
    if (a->state == ALARM_CLOSED || a->cancelled_at)
        return -NA_ECONFLICT;
    if (now - a->opened_at > cancel_window_ms)
        return -NA_EINVAL;
    a->cancelled_at = now;
    if (a->duress)
        return 0;
    a->priority = ALARM_PRIORITY_CANCELLED;
    a->renotify_at = 0;
    return 0;
}

void alarm_mark_duress(struct alarm_clock *a, int64_t renotify_ms, int64_t now)
{
    a->duress = true;
    a->priority = ALARM_PRIORITY_RED;
    if (a->state == ALARM_OPEN)
        a->renotify_at = renotify_ms > 0 ? now + renotify_ms : 0;
}

void alarm_renotified(struct alarm_clock *a, int64_t renotify_ms, int64_t now)
{
    bool waiting = a->state == ALARM_OPEN && (!a->cancelled_at || a->duress) && renotify_ms > 0;
    a->renotify_at = waiting ? now + renotify_ms : 0;
}

bool alarm_worker_raised(enum alarm_kind kind, const char *source)
{
    return (kind == ALARM_RED || kind == ALARM_TEST) && source && strcmp(source, "api") == 0;
}

int alarm_close(struct alarm_clock *a, enum alarm_outcome outcome, int64_t user_id, int64_t now)
{
    if (outcome < ALARM_OUTCOME_GENUINE || outcome > ALARM_OUTCOME_TEST)
        return -NA_EINVAL;
    if (a->state == ALARM_CLOSED)
        return -NA_ECONFLICT;
    a->state = ALARM_CLOSED;
    a->outcome = outcome;
    a->closed_by = user_id;
    a->closed_at = now;
    a->renotify_at = 0;
    return 0;
}

bool alarm_outcome_is_false(enum alarm_outcome o)
{
    return o == ALARM_OUTCOME_FALSE_ACCIDENTAL || o == ALARM_OUTCOME_FALSE_MALICIOUS;
}

static const char *const kind_names[] = {"", "red", "duress", "amber", "test", "overdue"};
static const char *const state_names[] = {"", "open", "claimed", "closed"};
static const char *const outcome_names[] = {"", "genuine", "false_accidental", "false_malicious",
                                            "test"};

/* Index of s in names[1..n), or 0. */
static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 1; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return 0;
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

enum alarm_kind alarm_kind_parse(const char *s)
{
    return (enum alarm_kind)name_index(kind_names, COUNT(kind_names), s);
}

const char *alarm_kind_name(enum alarm_kind k)
{
    return (int)k > 0 && (int)k < COUNT(kind_names) ? kind_names[k] : "";
}

enum alarm_state alarm_state_parse(const char *s)
{
    return (enum alarm_state)name_index(state_names, COUNT(state_names), s);
}

const char *alarm_state_name(enum alarm_state s)
{
    return (int)s > 0 && (int)s < COUNT(state_names) ? state_names[s] : "";
}

enum alarm_outcome alarm_outcome_parse(const char *s)
{
    return (enum alarm_outcome)name_index(outcome_names, COUNT(outcome_names), s);
}

const char *alarm_outcome_name(enum alarm_outcome o)
{
    return (int)o > 0 && (int)o < COUNT(outcome_names) ? outcome_names[o] : "";
}

static int compare_ms(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least pct percent of the values at or below. */
static int64_t rank(const int64_t *sorted, size_t n, int pct)
{
    size_t k = (n * (size_t)pct + 99) / 100;
    return sorted[k ? k - 1 : 0];
}

void alarm_spread(int64_t *ms, size_t n, struct alarm_spread *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (!n)
        return;
    qsort(ms, n, sizeof *ms, compare_ms);
    out->median_ms = rank(ms, n, 50);
    out->p90_ms = rank(ms, n, 90);
    out->p99_ms = rank(ms, n, 99);
    size_t in10 = 0, in40 = 0;
    for (size_t i = 0; i < n; i++) {
        in10 += ms[i] <= 10000;
        in40 += ms[i] <= 40000;
    }
    out->within_10s = (double)in10 / (double)n;
    out->within_40s = (double)in40 / (double)n;
}
