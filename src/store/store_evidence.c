/*
 * Evidence of alarms (store_alarms.h): audio and files kept with an alarm, their content
 * stored as base64 text. Every query is scoped by organisation id.
 */
#include "store/store_alarms.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/error.h"

void evidence_row_fini(struct evidence_row *r)
{
    if (!r)
        return;
    free(r->kind);
    free(r->name);
    free(r->content_type);
    free(r->sha256);
    memset(r, 0, sizeof *r);
}

void evidence_rows_free(struct evidence_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        evidence_row_fini(&rows[i]);
    free(rows);
}

static void evidence_rows_free_any(void *rows, size_t n)
{
    evidence_rows_free(rows, n);
}

#define EVIDENCE_COLS                                                                              \
    "id, organisation_id, alarm_id, kind, name, content_type, size, sha256, uploaded_by, "         \
    "uploaded_at"

static void evidence_read(struct store *st, struct db_stmt *s, void *row)
{
    struct evidence_row *r = row;
    r->id = st_col_i64(st, s, 0);
    r->organisation_id = st_col_i64(st, s, 1);
    r->alarm_id = st_col_i64(st, s, 2);
    r->kind = st_col_str(st, s, 3);
    r->name = st_col_str(st, s, 4);
    r->content_type = st_col_str(st, s, 5);
    r->size = st_col_i64(st, s, 6);
    r->sha256 = st_col_str(st, s, 7);
    r->uploaded_by = st_col_i64(st, s, 8);
    r->uploaded_at = st_col_i64(st, s, 9);
}
int store_evidence_add(struct store *st, const struct evidence_row *r, const void *data,
                       int64_t *out_id)
{
    char *b64;
    size_t b64_len;
    int rc;

    if (!r->kind || !r->content_type || !r->sha256 || r->uploaded_by < 0)
        return -NA_EINVAL;
    if (r->size < 0 || (r->size > 0 && !data))
        return -NA_EINVAL;
    if ((uint64_t)r->size > STORE_EVIDENCE_MAX)
        return -NA_ETOOBIG;
    /* Base64 text is stored the same on both backends and never meets an encoding. */
    b64_len = sodium_base64_ENCODED_LEN((size_t)r->size, sodium_base64_VARIANT_ORIGINAL);
    b64 = xmalloc(b64_len);
    sodium_bin2base64(b64, b64_len, data ? data : (const void *)"", (size_t)r->size,
                      sodium_base64_VARIANT_ORIGINAL);
    rc = st_exec_id(st,
                    "INSERT INTO evidence (organisation_id, alarm_id, kind, name, content_type, "
                    "size, sha256, content, uploaded_by, uploaded_at) "
                    "SELECT organisation_id, id, ?, ?, ?, ?, ?, ?, ?, ? FROM alarms "
                    "WHERE id = ? AND organisation_id = ? RETURNING id",
                    PARAMS(P_TEXT(r->kind), P_TEXT(r->name), P_TEXT(r->content_type),
                           P_I64(r->size), P_TEXT(r->sha256), P_TEXT(b64), P_ID(r->uploaded_by),
                           P_I64(r->uploaded_at), P_I64(r->alarm_id), P_I64(r->organisation_id)),
                    out_id);
    free(b64);
    return rc;
}

int store_evidence_list(struct store *st, int64_t org_id, int64_t alarm_id,
                        struct evidence_row **out_rows, size_t *out_n)
{
    static const struct st_list_kind kind = {sizeof(struct evidence_row), evidence_read,
                                             evidence_rows_free_any};
    int rc;

    *out_rows = NULL;
    *out_n = 0;
    rc = st_alarm_in_org(st, org_id, alarm_id);
    if (rc < 0)
        return rc;
    return st_list(st, &kind, STORE_LIST_MAX, false,
                   "SELECT " EVIDENCE_COLS " FROM evidence WHERE alarm_id = ? "
                   "AND organisation_id = ? ORDER BY id LIMIT ?",
                   PARAMS(P_I64(alarm_id), P_I64(org_id), P_I64(STORE_LIST_MAX)), (void **)out_rows,
                   out_n);
}

/* Decodes the base64 content of the row standing in s (column 10) into *out_data. */
static int evidence_content(struct store *st, struct db_stmt *s, const struct evidence_row *r,
                            void **out_data)
{
    char *b64 = st_col_str(st, s, 10);
    unsigned char *data;
    size_t len = 0;

    if (!b64 || r->size < 0 || (uint64_t)r->size > STORE_EVIDENCE_MAX) {
        free(b64);
        return -NA_ESTORE;
    }
    data = xmalloc(r->size > 0 ? (size_t)r->size : 1);
    if (sodium_base642bin(data, (size_t)r->size, b64, strlen(b64), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != (size_t)r->size) {
        free(b64);
        free(data);
        return -NA_ESTORE;
    }
    free(b64);
    *out_data = data;
    return 0;
}

int store_evidence_get(struct store *st, int64_t org_id, int64_t id, struct evidence_row *out,
                       void **out_data)
{
    struct db_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (out_data)
        *out_data = NULL;
    /* The content is read only when asked for: it may be megabytes. */
    if (out_data)
        rc = st_stmt(st,
                     "SELECT " EVIDENCE_COLS ", content FROM evidence "
                     "WHERE id = ? AND organisation_id = ?",
                     PARAMS(P_I64(id), P_I64(org_id)), &s);
    else
        rc = st_stmt(st,
                     "SELECT " EVIDENCE_COLS " FROM evidence WHERE id = ? AND organisation_id = ?",
                     PARAMS(P_I64(id), P_I64(org_id)), &s);
    if (rc < 0)
        return rc;
    rc = st_step(st, s);
    if (rc == DB_ROW) {
        evidence_read(st, s, out);
        rc = out_data ? evidence_content(st, s, out, out_data) : 0;
    } else if (rc == DB_DONE) {
        rc = -NA_ENOTFOUND;
    }
    st_done(st, s);
    if (rc < 0)
        evidence_row_fini(out);
    return rc;
}
