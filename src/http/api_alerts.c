/* Placeholder: being written. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "http/api.h"
#include "watch/watch.h"
#include "util/error.h"
#include <stddef.h>

int api_alert_red(struct request *r)
{
    return -NA_ESTORE;
}

int api_alert_test(struct request *r)
{
    return -NA_ESTORE;
}

int api_amber_list(struct request *r)
{
    return -NA_ESTORE;
}

int api_amber_create(struct request *r)
{
    return -NA_ESTORE;
}

int api_amber_clear(struct request *r)
{
    return -NA_ESTORE;
}

int api_position_add(struct request *r)
{
    return -NA_ESTORE;
}

int api_alert_profile_get(struct request *r)
{
    return -NA_ESTORE;
}

int api_alert_profile_put(struct request *r)
{
    return -NA_ESTORE;
}

int api_device_report(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_cancel(struct request *r)
{
    return -NA_ESTORE;
}

int api_alert_code_check(struct request *r, const char *code, bool *duress)
{
    return -NA_ESTORE;
}

int api_duress_alarm(struct request *r, const char *source, struct alarm_row *out, struct id_list *outbox)
{
    return -NA_ESTORE;
}
