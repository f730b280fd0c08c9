/* Evidence attached to an alarm (§9.12-9.13): recordings and files with their SHA-256, for
 * the LSMS and the police alone, every access in the audit log. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/validate.h"
#include "http/api.h"
#include "http/render.h"
#include "store/store_alarms.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/events.h"
#include "watch/watch.h"

/* Longest Content-Type kept with a file. */
#define EVIDENCE_TYPE_MAX 100

/* Media types taken, besides audio of any kind. */
static const char *const evidence_types[] = {
    "image/jpeg", "image/png", "application/pdf", "text/plain", "application/octet-stream", NULL};

/*
 * The media type of the Content-Type header, lowercased and without parameters, into dst;
 * *audio says whether it is a recording. -NA_EMEDIATYPE when it is not one we keep.
 */
static int evidence_type(const char *ct, char *dst, size_t n, bool *audio)
{
    size_t len = 0;
    if (!ct)
        return -NA_EMEDIATYPE;
    while (ct[len] && ct[len] != ';' && ct[len] != ' ' && len + 1 < n) {
        if ((unsigned char)ct[len] < 0x21 || (unsigned char)ct[len] > 0x7e)
            return -NA_EMEDIATYPE;
        dst[len] = (char)tolower((unsigned char)ct[len]);
        len++;
    }
    dst[len] = '\0';
    if (ct[len] && ct[len] != ';' && ct[len] != ' ')
        return -NA_EMEDIATYPE; /* too long */
    *audio = strncmp(dst, "audio/", 6) == 0 && dst[6] != '\0' && !strchr(dst + 6, '/');
    if (*audio)
        return 0;
    for (size_t i = 0; evidence_types[i]; i++)
        if (strcmp(dst, evidence_types[i]) == 0)
            return 0;
    return -NA_EMEDIATYPE;
}

/* A file name as given: 1-200 characters, no control characters, no path. */
static int check_file_name(const char *s)
{
    if (validate_text(s, 1, 200) || strchr(s, '/') || strchr(s, '\\'))
        return -NA_EINVAL;
    return 0;
}

/* Records the upload on the alarm's timeline and stream and in the audit log. */
static int record_upload(struct request *r, struct alarm_row *a, const struct evidence_row *e)
{
    json_t *data = json_pack("{s:I,s:s,s:I,s:s}", "evidence_id", (json_int_t)e->id, "kind", e->kind,
                             "size", (json_int_t)e->size, "sha256", e->sha256);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    struct alarm_event line = {.alarm_id = a->id,
                               .organisation_id = a->organisation_id,
                               .at = r->now,
                               .kind = "evidence",
                               .actor_id = r->who.user_id,
                               .detail = e->sha256,
                               .data = text};
    json_t *extra = json_pack("{s:s}", "change", "evidence");
    a->updated_at = r->now;
    int rc = text && extra ? store_alarm_update(r->st, a) : -NA_ESTORE;
    if (!rc)
        rc = store_alarm_event_add(r->st, &line);
    if (!rc)
        rc = events_add_alarm(r->st, EVENT_ALARM_UPDATED, a, r->who.user_id, r->now, extra);
    if (!rc)
        rc = api_audit(r, "evidence.upload", "evidence", e->id, e->sha256);
    json_decref(extra);
    json_decref(data);
    free(text);
    return rc;
}

int api_evidence_upload(struct request *r)
{
    struct alarm_row a = {0};
    char type[EVIDENCE_TYPE_MAX + 1];
    char sha[SECRET_HASH_HEX + 1];
    bool audio = false;
    const char *name = request_query(r, "name");
    int rc = evidence_type(r->raw_type, type, sizeof type, &audio);
    if (!rc && name && check_file_name(name))
        rc = request_fail(r, -NA_EMALFORMED, "name",
                          "1-200 characters, no path separators or control characters");
    if (!rc && (r->raw_len == 0 || r->raw_len > STORE_EVIDENCE_MAX))
        rc = request_fail(r, -NA_EINVAL, "body", "1 byte to 8 MiB of content");
    if (rc)
        return rc;
    secret_hash_hex(r->raw_body, r->raw_len, sha);
    struct evidence_row e = {.kind = audio ? "audio" : "file",
                             .name = (char *)name,
                             .content_type = type,
                             .size = (int64_t)r->raw_len,
                             .sha256 = sha,
                             .uploaded_by = r->who.user_id,
                             .uploaded_at = r->now};
    /* The worker's own device uploads the recording of their alarm. */
    rc = store_begin(r->st);
    if (!rc)
        rc = api_alarm_load(r, true, &a);
    if (!rc) {
        e.organisation_id = a.organisation_id;
        e.alarm_id = a.id;
        rc = store_evidence_add(r->st, &e, r->raw_body, &e.id);
    }
    if (!rc)
        rc = record_upload(r, &a, &e);
    if (!rc)
        rc = store_commit(r->st);
    if (!rc) {
        log_info("evidence_added", "alarm_id=%lld evidence_id=%lld size=%lld", (long long)a.id,
                 (long long)e.id, (long long)e.size);
        watch_alarm_changed(r->api->watch, &a);
        request_answer(r, 201, render_evidence(&e, true));
    }
    alarm_row_fini(&a);
    return rc;
}

/* The audit event of an evidence read, in a transaction of its own. */
static int audit_access(struct request *r, const char *action, const char *target_type,
                        int64_t target_id)
{
    int rc = store_begin(r->st);
    if (!rc)
        rc = api_audit(r, action, target_type, target_id, NULL);
    if (!rc)
        rc = store_commit(r->st);
    return rc;
}

int api_evidence_list(struct request *r)
{
    struct alarm_row a = {0};
    struct evidence_row *rows = NULL;
    size_t n = 0;
    int64_t id;
    /* Refused before anything is looked up: the answer says nothing of what exists. */
    if (!access_sees_evidence(&r->who))
        return -NA_EFORBIDDEN;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_alarm_get(r->st, r->who.organisation_id, id, &a);
    if (!rc)
        rc = store_evidence_list(r->st, a.organisation_id, a.id, &rows, &n);
    if (!rc)
        rc = audit_access(r, "evidence.list", "alarm", a.id);
    if (!rc) {
        json_t *items = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(items, render_evidence(&rows[i], true));
        request_answer(r, 200, json_pack("{s:o}", "items", items));
    }
    evidence_rows_free(rows, n);
    alarm_row_fini(&a);
    return rc;
}

int api_evidence_download(struct request *r)
{
    struct evidence_row e = {0};
    void *data = NULL;
    int64_t id;
    if (!access_sees_evidence(&r->who))
        return -NA_EFORBIDDEN;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_evidence_get(r->st, r->who.organisation_id, id, &e, &data);
    if (!rc)
        rc = audit_access(r, "evidence.download", "evidence", e.id);
    if (!rc && e.size > 0)
        rc = buf_append(&r->text, data, (size_t)e.size);
    if (!rc) {
        snprintf(r->content_type_buf, sizeof r->content_type_buf, "%s", e.content_type);
        snprintf(r->header_name, sizeof r->header_name, "X-Content-SHA256");
        snprintf(r->header_value, sizeof r->header_value, "%s", e.sha256);
        r->content_type = r->content_type_buf;
        r->status = 200;
    }
    free(data);
    evidence_row_fini(&e);
    return rc;
}
