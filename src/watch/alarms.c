/* Placeholder: being written. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "watch/watch.h"
#include "util/error.h"
#include <stddef.h>

enum alarm_path_contact alarm_path_contact_parse(const char *s)
{
    return 0;
}

const char *alarm_path_contact_name(enum alarm_path_contact c)
{
    return "";
}

void alarm_settings_default(struct alarm_settings *s)
{
}

int alarm_settings_from_json(json_t *root, struct alarm_settings *s, char *field, size_t n)
{
    return -NA_ESTORE;
}

json_t *alarm_settings_to_json(const struct alarm_settings *s)
{
    return NULL;
}

int alarm_settings_load(struct store *st, int64_t org_id, struct alarm_settings *out)
{
    return -NA_ESTORE;
}

int watch_alarm_open(struct watch *w, struct store *st, const struct alarm_request *q, int64_t now, struct alarm_row *out, struct id_list *outbox)
{
    return -NA_ESTORE;
}

void watch_alarm_changed(struct watch *w, const struct alarm_row *a)
{
}

void watch_amber_changed(struct watch *w, const struct amber_row *a)
{
}

void watch_device_changed(struct watch *w, const struct alert_profile *p)
{
}

int watch_amber_clear(struct watch *w, struct store *st, int64_t org_id, int64_t worker_id, int64_t now, size_t *n_cleared)
{
    return -NA_ESTORE;
}

int watch_alarm_escalate(struct watch *w, struct store *st, struct alarm_row *a, const struct alarm_path_step *to, const char *note, int64_t by, int64_t now, struct id_list *outbox)
{
    return -NA_ESTORE;
}

int watch_alarm_close(struct watch *w, struct store *st, struct alarm_row *a, enum alarm_outcome outcome, const char *found_safe, const char *note, int64_t by, int64_t now, struct id_list *outbox)
{
    return -NA_ESTORE;
}

int watch_device_report(struct watch *w, struct store *st, struct alert_profile *p, int battery_pct, int64_t now, struct id_list *outbox)
{
    return -NA_ESTORE;
}

json_t *watch_alarm_pack(struct store *st, const struct alarm_row *a, int64_t now)
{
    return NULL;
}
