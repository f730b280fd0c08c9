/* Escalation cases: watching them, taking them, closing them (§6.19, §9.9). */
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "core/validate.h"
#include "http/api.h"
#include "http/json_in.h"
#include "http/render.h"
#include "util/error.h"
#include "util/log.h"
#include "watch/watch.h"

#define RESPONDER_ROLES (ROLE_ADMIN | ROLE_SENIOR_MANAGER | ROLE_OPERATOR | ROLE_MANAGER)

/* The caller sees the case's visit (the same rule as for the visit itself). */
static int sees_visit(struct request *r, int64_t visit_id, bool *out)
{
    struct visit_row v = {0};
    int rc = store_visit_get(r->st, r->who.organisation_id, visit_id, &v);
    if (!rc)
        rc = api_visit_visible(r, &v, out);
    visit_row_fini(&v);
    return rc;
}

static int load_case(struct request *r, struct escalation_row *e)
{
    int64_t id;
    bool visible = false;
    int rc = request_param_id(r, 0, &id);
    if (!rc)
        rc = store_escalation_get(r->st, r->who.organisation_id, id, e);
    if (!rc)
        rc = sees_visit(r, e->visit_id, &visible);
    return !rc && !visible ? -NA_ENOTFOUND : rc;
}

static json_t *render_case(const struct escalation_row *e)
{
    struct escalation_policy p;
    policy_from_text(e->policy, &p);
    const char *contact = e->c.level >= 0 && (size_t)e->c.level < p.n_levels
                              ? escalation_contact_name(p.levels[e->c.level].contact)
                              : "";
    return render_escalation(e, contact);
}

int api_escalation_list(struct request *r)
{
    struct escalation_filter f = {0};
    struct escalation_row *rows = NULL;
    size_t n = 0;
    int limit;
    int64_t after;
    const char *state = request_query(r, "state");
    if (state && strcmp(state, "open") && strcmp(state, "resolved"))
        return request_fail(r, -NA_EMALFORMED, "state", "open or resolved");
    f.state = !state ? 0 : strcmp(state, "open") == 0 ? ESCALATION_OPEN : ESCALATION_RESOLVED;
    int rc = request_query_id(r, "visit_id", &f.visit_id);
    if (!rc)
        rc = request_page(r, "after", &limit, &after);
    if (!rc)
        rc = store_escalation_list(r->st, r->who.organisation_id, &f, after, limit + 1, &rows, &n);
    if (rc)
        return rc;
    json_t *items = json_array();
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; !rc && i < shown; i++) {
        bool visible = false;
        rc = sees_visit(r, rows[i].visit_id, &visible);
        if (!rc && visible)
            json_array_append_new(items, render_case(&rows[i]));
    }
    int64_t next = n > (size_t)limit ? rows[shown - 1].id : 0;
    escalation_rows_free(rows, n);
    if (rc) {
        json_decref(items);
        return rc;
    }
    return request_answer(r, 200, render_page(items, "next_after", next));
}

static json_t *steps_json(struct escalation_step_row *steps, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, render_escalation_step(&steps[i]));
    return a;
}

int api_escalation_get(struct request *r)
{
    struct escalation_row e = {0};
    struct escalation_step_row *steps = NULL;
    struct outbox_row *sent = NULL;
    size_t n_steps = 0, n_sent = 0;
    int rc = load_case(r, &e);
    if (!rc)
        rc = store_escalation_steps(r->st, e.organisation_id, e.id, &steps, &n_steps);
    if (!rc)
        rc = store_outbox_for_escalation(r->st, e.id, &sent, &n_sent);
    if (!rc) {
        json_t *o = render_case(&e), *notes = json_array();
        for (size_t i = 0; i < n_sent; i++)
            json_array_append_new(notes, render_outbox(&sent[i]));
        json_object_set_new(o, "steps", steps_json(steps, n_steps));
        json_object_set_new(o, "notifications", notes);
        request_answer(r, 200, o);
    }
    escalation_step_rows_free(steps, n_steps);
    outbox_rows_free(sent, n_sent);
    escalation_row_fini(&e);
    return rc;
}

/* Anyone told of the case, or a responder who sees it, may take it. */
static int may_respond(struct request *r, const struct escalation_row *e, bool *out)
{
    int64_t *told = NULL;
    size_t n = 0;
    *out = access_has_role(&r->who, RESPONDER_ROLES) || e->c.acknowledged_by == r->who.user_id;
    if (*out)
        return 0;
    int rc = store_escalation_notified_users(r->st, e->id, &told, &n);
    for (size_t i = 0; !rc && i < n; i++)
        *out = *out || told[i] == r->who.user_id;
    free(told);
    return rc;
}

int api_escalation_acknowledge(struct request *r)
{
    struct escalation_row e = {0};
    bool allowed = false;
    /* Read inside the transaction: a concurrent change must not be written over. */
    int rc = store_begin(r->st);
    if (!rc)
        rc = load_case(r, &e);
    if (!rc)
        rc = may_respond(r, &e, &allowed);
    if (!rc && !allowed)
        rc = -NA_EFORBIDDEN;
    if (!rc) {
        rc = watch_acknowledge(r->api->watch, r->st, &e, r->who.user_id, r->now);
        if (rc == -NA_ECONFLICT)
            request_fail(r, rc, NULL, "the case is already held or resolved");
    }
    if (!rc)
        rc = store_commit(r->st);
    if (!rc) {
        log_info("escalation_acknowledged", "escalation_id=%lld user_id=%lld", (long long)e.id,
                 (long long)r->who.user_id);
        watch_escalation_changed(r->api->watch, &e);
        request_answer(r, 200, render_case(&e));
    }
    escalation_row_fini(&e);
    return rc;
}

static int check_how(const char *s)
{
    return validate_text(s, 1, 500);
}

static int check_reference(const char *s)
{
    return validate_text(s, 1, 100);
}

static int read_outcome(struct request *r, enum escalation_outcome *outcome, const char **how,
                        const char **reference)
{
    static const char *const fields[] = {"outcome", "how", "police_reference", NULL};
    const char *name;
    bool present;
    int rc = jin_only(r, r->body, NULL, fields);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "outcome", JIN_REQUIRED, NULL, NULL, &name, &present);
    if (!rc && !(*outcome = escalation_outcome_parse(name)))
        rc = request_fail(r, -NA_EINVAL, "outcome", "safe or police");
    if (!rc)
        rc = jin_str(r, r->body, NULL, "how", JIN_REQUIRED, check_how, "1-500 characters", how,
                     &present);
    if (!rc)
        rc = jin_str(r, r->body, NULL, "police_reference",
                     *outcome == ESCALATION_OUTCOME_POLICE ? JIN_REQUIRED : JIN_NULLABLE,
                     check_reference, "1-100 characters", reference, &present);
    return rc;
}

int api_escalation_resolve(struct request *r)
{
    struct escalation_row e = {0};
    struct visit_row v = {0};
    struct id_list outbox = {0};
    enum escalation_outcome outcome = ESCALATION_OUTCOME_NONE;
    const char *how = NULL, *reference = NULL;
    bool allowed = false;
    /* Read inside the transaction: a concurrent change must not be written over. */
    int rc = store_begin(r->st);
    if (!rc)
        rc = load_case(r, &e);
    if (!rc)
        rc = may_respond(r, &e, &allowed);
    if (!rc && !allowed)
        rc = -NA_EFORBIDDEN;
    if (!rc)
        rc = read_outcome(r, &outcome, &how, &reference);
    if (!rc) {
        rc = watch_resolve(r->api->watch, r->st, &e, r->who.user_id, outcome, how, reference,
                           r->now, &v, &outbox);
        if (rc == -NA_ECONFLICT)
            request_fail(r, rc, NULL, "the case is already resolved");
    }
    if (!rc)
        rc = store_commit(r->st);
    if (!rc) {
        watch_escalation_changed(r->api->watch, &e);
        watch_visit_changed(r->api->watch, &v);
        watch_deliver(r->api->watch, outbox.ids, outbox.n);
        request_answer(r, 200, render_case(&e));
    }
    visit_row_fini(&v);
    id_list_fini(&outbox);
    escalation_row_fini(&e);
    return rc;
}

int api_ack_link(struct request *r)
{
    char hash[SECRET_HASH_HEX + 1];
    struct escalation_row e = {0};
    int64_t case_id, user_id;
    const char *token = r->params.values[0];
    size_t len = r->params.value_lens[0];
    if (len != SECRET_TOKEN_LEN)
        return -NA_ENOTFOUND;
    secret_hash_hex(token, len, hash);
    int rc = store_begin(r->st);
    if (!rc)
        rc = store_ack_link_use(r->st, hash, r->now, &case_id, &user_id);
    if (!rc)
        rc = store_escalation_get_any(r->st, case_id, &e);
    if (!rc) {
        rc = watch_acknowledge(r->api->watch, r->st, &e, user_id, r->now);
        if (rc == -NA_ECONFLICT)
            request_fail(r, rc, NULL, "the case is already held or resolved");
    }
    if (!rc)
        rc = store_commit(r->st);
    if (!rc) {
        log_info("escalation_acknowledged", "escalation_id=%lld user_id=%lld via=link",
                 (long long)e.id, (long long)user_id);
        watch_escalation_changed(r->api->watch, &e);
        request_answer(
            r, 200, json_pack("{s:I,s:b}", "escalation_id", (json_int_t)e.id, "acknowledged", 1));
    }
    escalation_row_fini(&e);
    return rc;
}
