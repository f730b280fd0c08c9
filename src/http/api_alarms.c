/* Placeholder: being written. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "http/api.h"
#include "util/error.h"
#include <stddef.h>

int api_alarm_list(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_get(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_claim(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_call(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_note(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_escalate(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_close(struct request *r)
{
    return -NA_ESTORE;
}

int api_evidence_list(struct request *r)
{
    return -NA_ESTORE;
}

int api_evidence_upload(struct request *r)
{
    return -NA_ESTORE;
}

int api_evidence_download(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_figures(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_settings_get(struct request *r)
{
    return -NA_ESTORE;
}

int api_alarm_settings_put(struct request *r)
{
    return -NA_ESTORE;
}

int api_urn_list(struct request *r)
{
    return -NA_ESTORE;
}

int api_urn_create(struct request *r)
{
    return -NA_ESTORE;
}

int api_urn_delete(struct request *r)
{
    return -NA_ESTORE;
}
