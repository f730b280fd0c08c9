/* Placeholder: being written. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "store/store_alarms.h"
#include "util/error.h"
#include <stddef.h>

void alarm_row_fini(struct alarm_row *r)
{
}

void alarm_rows_free(struct alarm_row *rows, size_t n)
{
}

int store_alarm_create(struct store *st, const struct alarm_row *r, int64_t *out_id)
{
    return -NA_ESTORE;
}

int store_alarm_get(struct store *st, int64_t org_id, int64_t id, struct alarm_row *out)
{
    return -NA_ESTORE;
}

int store_alarm_get_any(struct store *st, int64_t id, struct alarm_row *out)
{
    return -NA_ESTORE;
}

int store_alarm_by_alert_id(struct store *st, int64_t org_id, int64_t worker_id, const char *alert_id, struct alarm_row *out)
{
    return -NA_ESTORE;
}

int store_alarm_update(struct store *st, const struct alarm_row *r)
{
    return -NA_ESTORE;
}

int store_alarm_queue(struct store *st, int64_t org_id, int limit, struct alarm_row **out_rows, size_t *out_n)
{
    return -NA_ESTORE;
}

int store_alarm_list(struct store *st, int64_t org_id, const struct alarm_filter *f, int64_t before_id, int limit, struct alarm_row **out_rows, size_t *out_n)
{
    return -NA_ESTORE;
}

int store_alarm_count_false(struct store *st, int64_t org_id, int64_t worker_id, int64_t since, int64_t *out_n)
{
    return -NA_ESTORE;
}

int store_alarm_count_false_urn(struct store *st, int64_t org_id, const char *urn, int64_t since, int64_t *out_n)
{
    return -NA_ESTORE;
}

int store_alarm_times(struct store *st, int64_t org_id, int64_t from, int64_t to, struct alarm_times **out_rows, size_t *out_n)
{
    return -NA_ESTORE;
}

int store_alarm_event_add(struct store *st, const struct alarm_event *e)
{
    return -NA_ESTORE;
}

void alarm_event_rows_free(struct alarm_event_row *rows, size_t n)
{
}

int store_alarm_events(struct store *st, int64_t org_id, int64_t alarm_id, struct alarm_event_row **out_rows, size_t *out_n)
{
    return -NA_ESTORE;
}

void amber_row_fini(struct amber_row *r)
{
}

void amber_rows_free(struct amber_row *rows, size_t n)
{
}

int store_amber_create(struct store *st, const struct amber_row *r, int64_t *out_id)
{
    return -NA_ESTORE;
}

int store_amber_get(struct store *st, int64_t org_id, int64_t id, struct amber_row *out)
{
    return -NA_ESTORE;
}

int store_amber_get_any(struct store *st, int64_t id, struct amber_row *out)
{
    return -NA_ESTORE;
}

int store_amber_by_alert_id(struct store *st, int64_t org_id, int64_t worker_id, const char *alert_id, struct amber_row *out)
{
    return -NA_ESTORE;
}

int store_amber_update(struct store *st, const struct amber_row *r)
{
    return -NA_ESTORE;
}

int store_amber_list(struct store *st, int64_t org_id, int64_t worker_id, int64_t before_id, int limit, struct amber_row **out_rows, size_t *out_n)
{
    return -NA_ESTORE;
}

int store_amber_watching(struct store *st, int64_t org_id, int64_t worker_id, int64_t **out_ids, size_t *out_n)
{
    return -NA_ESTORE;
}

int store_position_add(struct store *st, const struct position_new *p)
{
    return -NA_ESTORE;
}

void position_rows_free(struct position_row *rows, size_t n)
{
}

int store_position_trail(struct store *st, int64_t org_id, int64_t worker_id, int64_t since, int limit, struct position_row **out_rows, size_t *out_n)
{
    return -NA_ESTORE;
}

void alert_profile_fini(struct alert_profile *p)
{
}

int store_alert_profile_get(struct store *st, int64_t org_id, int64_t user_id, struct alert_profile *out)
{
    return -NA_ESTORE;
}

int store_alert_profile_get_any(struct store *st, int64_t user_id, struct alert_profile *out)
{
    return -NA_ESTORE;
}

int store_alert_profile_put(struct store *st, const struct alert_profile *p)
{
    return -NA_ESTORE;
}

void evidence_row_fini(struct evidence_row *r)
{
}

void evidence_rows_free(struct evidence_row *rows, size_t n)
{
}

int store_evidence_add(struct store *st, const struct evidence_row *r, const void *data, int64_t *out_id)
{
    return -NA_ESTORE;
}

int store_evidence_list(struct store *st, int64_t org_id, int64_t alarm_id, struct evidence_row **out_rows, size_t *out_n)
{
    return -NA_ESTORE;
}

int store_evidence_get(struct store *st, int64_t org_id, int64_t id, struct evidence_row *out, void **out_data)
{
    return -NA_ESTORE;
}

int store_alarm_settings_get(struct store *st, int64_t org_id, char **out_json)
{
    return -NA_ESTORE;
}

int store_alarm_settings_put(struct store *st, int64_t org_id, const char *json, int64_t now)
{
    return -NA_ESTORE;
}

void urn_rows_free(struct urn_row *rows, size_t n)
{
}

int store_urn_create(struct store *st, const struct urn_row *r, int64_t *out_id)
{
    return -NA_ESTORE;
}

int store_urn_list(struct store *st, int64_t org_id, struct urn_row **out_rows, size_t *out_n)
{
    return -NA_ESTORE;
}

int store_urn_delete(struct store *st, int64_t org_id, int64_t id)
{
    return -NA_ESTORE;
}

void urn_row_fini(struct urn_row *r)
{
}

int store_urn_for_worker(struct store *st, int64_t org_id, int64_t worker_id, struct urn_row *out)
{
    return -NA_ESTORE;
}
