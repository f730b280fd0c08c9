/*
 * Escalation cases: opening one when a deadline passes, telling each level's contacts,
 * climbing, and the outcomes. Used by the scheduler (engine.c) and by the HTTP handlers
 * (acknowledge, resolve, a worker checking in), always inside the caller's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "http/render.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "util/secret.h"
#include "watch/cases.h"
#include "watch/events.h"

static void st_ids_push(int64_t **arr, size_t *n, int64_t v)
{
    *arr = xrealloc(*arr, *n + 1, sizeof **arr);
    (*arr)[(*n)++] = v;
}

#define ACK_LINK_TTL_MS (24LL * 3600 * 1000)

void contacts_fini(struct contacts *c)
{
    free(c->users);
    memset(c, 0, sizeof *c);
}

/* Enabled users of the organisation holding role, other than the worker. */
static int users_with_role(struct store *st, const struct visit_row *v, unsigned role,
                           struct contacts *out)
{
    struct user_filter f = {.roles = role};
    struct user_row *rows = NULL;
    size_t n = 0;
    int rc = store_user_list(st, v->organisation_id, &f, 0, STORE_LIST_MAX, &rows, &n);
    for (size_t i = 0; !rc && i < n; i++)
        if (!rows[i].disabled && rows[i].id != v->worker_id)
            st_ids_push(&out->users, &out->n_users, rows[i].id);
    user_rows_free(rows, n);
    return rc;
}

/*
 * A buddy off duty is not reachable (they hand over before going off, §6.18.3); managers
 * and named users are told whatever their shift, since a missing worker outranks it.
 */
static int one_user(struct store *st, int64_t org_id, int64_t user_id, bool skip_off_duty,
                    struct contacts *out)
{
    struct user_row u = {0};
    int rc = store_user_get(st, org_id, user_id, &u);
    if (rc == -NA_ENOTFOUND)
        return 0; /* gone since the policy was written: not reachable */
    if (!rc && !u.disabled && !(u.off_duty_since && skip_off_duty))
        st_ids_push(&out->users, &out->n_users, user_id);
    user_row_fini(&u);
    return rc;
}

int level_contacts(struct store *st, const struct visit_row *v, const struct escalation_level *l,
                   struct contacts *out)
{
    memset(out, 0, sizeof *out);
    switch (l->contact) {
    case CONTACT_BUDDY:
        /* Until the buddy accepts, the line manager is the first contact (§6.18.3). */
        if (v->buddy_id && v->buddy_accepted_at)
            return one_user(st, v->organisation_id, v->buddy_id, true, out);
        return 0;
    case CONTACT_LINE_MANAGER: {
        int rc = store_line_managers_of(st, v->organisation_id, v->worker_id, &out->users,
                                        &out->n_users);
        for (size_t i = 0; !rc && i < out->n_users; i++)
            if (out->users[i] == v->worker_id)
                out->users[i] = out->users[--out->n_users];
        return rc;
    }
    case CONTACT_SENIOR_MANAGER:
        return users_with_role(st, v, ROLE_SENIOR_MANAGER, out);
    case CONTACT_USER:
        return one_user(st, v->organisation_id, l->target_id, false, out);
    case CONTACT_CHANNEL: {
        struct channel_row c = {0};
        int rc = store_channel_get(st, v->organisation_id, l->target_id, &c);
        if (!rc && c.user_id == 0)
            out->channel_id = c.id;
        channel_row_fini(&c);
        return rc == -NA_ENOTFOUND ? 0 : rc;
    }
    case CONTACT_OPERATORS: {
        /* As on the red-alert path, someone is always there: without operators, the
         * senior managers, then the administrators. */
        int rc = users_with_role(st, v, ROLE_OPERATOR, out);
        if (!rc && !out->n_users)
            rc = users_with_role(st, v, ROLE_SENIOR_MANAGER, out);
        if (!rc && !out->n_users)
            rc = users_with_role(st, v, ROLE_ADMIN, out);
        return rc;
    }
    }
    return 0;
}

int reachable_levels(struct store *st, const struct visit_row *v, const struct escalation_policy *p,
                     bool *reachable)
{
    for (size_t i = 0; i < p->n_levels; i++) {
        struct contacts c;
        int rc = level_contacts(st, v, &p->levels[i], &c);
        reachable[i] = c.n_users > 0 || c.channel_id > 0;
        contacts_fini(&c);
        if (rc)
            return rc;
    }
    return 0;
}

static const char *worker_name(json_t *pack)
{
    const char *s = json_string_value(json_object_get(json_object_get(pack, "worker"), "name"));
    return s ? s : "A worker";
}

static int add_step(struct store *st, const struct escalation_row *e, int64_t now, const char *kind,
                    int64_t user_id, int64_t channel_id, int64_t outbox_id, const char *detail)
{
    struct escalation_step s = {.escalation_id = e->id,
                                .organisation_id = e->organisation_id,
                                .at = now,
                                .level = e->c.level,
                                .kind = kind,
                                .user_id = user_id,
                                .channel_id = channel_id,
                                .outbox_id = outbox_id,
                                .detail = detail};
    return store_escalation_step_add(st, &s);
}

/* A fresh one-time acknowledgement link for user_id into link (size n). */
static int ack_link(struct watch *w, struct store *st, const struct escalation_row *e,
                    int64_t user_id, int64_t now, char *link, size_t n)
{
    char token[SECRET_TOKEN_LEN + 1], hash[SECRET_HASH_HEX + 1];
    secret_token_new("na_a_", token, sizeof token);
    secret_hash_hex(token, strlen(token), hash);
    snprintf(link, n, "%s/api/v1/ack/%s", w->public_url, token);
    return store_ack_link_create(st, hash, e->id, user_id, now + ACK_LINK_TTL_MS);
}

/* Text of an escalation notice for one level, and its JSON payload (without the link). */
static void escalation_message(const struct escalation_row *e, const struct escalation_policy *p,
                               json_t *pack, struct buf *subject, struct buf *text)
{
    char deadline[40];
    const struct escalation_level *l = &p->levels[e->c.level];
    time_format_iso(e->missed_deadline_at, deadline, sizeof deadline);
    buf_appendf(subject, "URGENT: %s has not checked in (visit %lld)", worker_name(pack),
                (long long)e->visit_id);
    buf_appendf(text,
                "%s has not checked in or come back safe by the deadline, %s, and has not been "
                "in touch since.\n\nYou are told as %s (level %d of %zu). Try to reach them now. "
                "Acknowledge to take the case; if it is not resolved within %lld minutes the "
                "next contact is told.\n\n",
                worker_name(pack), deadline, escalation_contact_name(l->contact), e->c.level + 1,
                p->n_levels, (long long)(l->limit_ms / 60000));
    pack_text(pack, text);
}

static json_t *escalation_json(const struct escalation_row *e, const struct escalation_policy *p)
{
    return json_pack("{s:I,s:i,s:s,s:o,s:o,s:o}", "id", (json_int_t)e->id, "level", e->c.level,
                     "contact", escalation_contact_name(p->levels[e->c.level].contact),
                     "level_due_at", render_time(e->c.level_due_at), "opened_at",
                     render_time(e->c.opened_at), "missed_deadline_at",
                     render_time(e->missed_deadline_at));
}

/* Tells one user of the level, with their own acknowledgement link. */
static int tell_user(struct watch *w, struct store *st, const struct escalation_row *e,
                     struct notice *n, json_t *payload, int64_t user_id, int64_t now,
                     struct id_list *outbox)
{
    char link[512];
    int rc = ack_link(w, st, e, user_id, now, link, sizeof link);
    if (rc)
        return rc;
    json_object_set_new(payload, "acknowledge_url", json_string(link));
    n->link = link;
    size_t before = outbox->n;
    rc = notice_user(w, st, e->organisation_id, user_id, n, now, outbox);
    for (size_t i = before; !rc && i < outbox->n; i++)
        rc = add_step(st, e, now, "notified", user_id, 0, outbox->ids[i], NULL);
    n->link = NULL;
    return rc;
}

static int tell_channel(struct watch *w, struct store *st, const struct escalation_row *e,
                        struct notice *n, int64_t channel_id, int64_t now, struct id_list *outbox)
{
    struct channel_row c = {0};
    int rc = store_channel_get(st, e->organisation_id, channel_id, &c);
    size_t before = outbox->n;
    if (!rc)
        rc = notice_channel(w, st, &c, n, now, outbox);
    for (size_t i = before; !rc && i < outbox->n; i++)
        rc = add_step(st, e, now, "notified", 0, channel_id, outbox->ids[i], NULL);
    channel_row_fini(&c);
    return rc;
}

/* The live event of a level told: who was told (user ids, an organisation channel). */
static int level_event(struct store *st, const struct escalation_row *e, int64_t worker_id,
                       const struct contacts *who, int64_t now)
{
    json_t *users = json_array();
    for (size_t i = 0; i < who->n_users; i++)
        json_array_append_new(users, json_integer(who->users[i]));
    json_t *extra = json_pack("{s:o,s:o}", "told_user_ids", users, "told_channel_id",
                              who->channel_id ? json_integer(who->channel_id) : json_null());
    int rc = events_add_case(st, EVENT_CASE_LEVEL, e, worker_id, 0, now, extra);
    json_decref(extra);
    return rc;
}

/* The alert id of the overdue alarm a case opens: no client's alert id has a '/'. */
static void case_alert_id(const struct escalation_row *e, char *out, size_t n)
{
    snprintf(out, n, "escalation/%lld", (long long)e->id);
}

/*
 * The operators' level: the case becomes an overdue alarm in their queue, once per case
 * (the alarm tells the red-alert path and is re-notified while unclaimed, so reaching the
 * level again tells nobody twice). The level's step names the alarm.
 */
static int tell_operators(struct watch *w, struct store *st, const struct escalation_row *e,
                          const struct visit_row *v, int64_t now, struct id_list *outbox)
{
    char alert_id[48], detail[64];
    struct alarm_row a = {0};
    bool opened = false;
    case_alert_id(e, alert_id, sizeof alert_id);
    /* Looked up first: a failed insert would spoil a PostgreSQL transaction. */
    int rc = store_alarm_by_alert_id(st, e->organisation_id, v->worker_id, alert_id, &a);
    if (rc == -NA_ENOTFOUND) {
        struct alarm_request q = {.organisation_id = e->organisation_id,
                                  .worker_id = v->worker_id,
                                  .kind = ALARM_OVERDUE,
                                  .source = "escalation",
                                  .alert_id = alert_id,
                                  .visit_id = v->id};
        alarm_row_fini(&a);
        rc = watch_alarm_open(w, st, &q, now, &a, outbox);
        opened = rc == 0;
    }
    const char *kind = opened ? "alarm_opened" : "alarm_already_opened";
    snprintf(detail, sizeof detail, "alarm %lld", (long long)a.id);
    if (!rc)
        rc = add_step(st, e, now, kind, 0, 0, 0, detail);
    /* Scheduled now, as a device test's date is: a job for a rolled-back alarm finds none. */
    if (!rc && opened)
        watch_alarm_changed(w, &a);
    alarm_row_fini(&a);
    return rc;
}

/* Tells every contact of the case's current level, with the information pack. */
static int tell_level(struct watch *w, struct store *st, const struct escalation_row *e,
                      const struct visit_row *v, const struct escalation_policy *p, int64_t now,
                      struct id_list *outbox)
{
    struct contacts who;
    struct buf subject, text;
    char key[128];
    int rc = level_contacts(st, v, &p->levels[e->c.level], &who);
    if (!rc && who.n_users && p->levels[e->c.level].contact == CONTACT_OPERATORS) {
        rc = tell_operators(w, st, e, v, now, outbox);
        if (!rc)
            rc = level_event(st, e, v->worker_id, &who, now);
        contacts_fini(&who);
        return rc;
    }
    if (rc) {
        contacts_fini(&who);
        return rc;
    }
    json_t *pack = pack_visit(st, v);
    buf_init(&subject, 1024);
    buf_init(&text, 64 * 1024);
    escalation_message(e, p, pack, &subject, &text);
    json_t *payload = json_pack("{s:s,s:o,s:O}", "event", "escalation.notify", "escalation",
                                escalation_json(e, p), "pack", pack);
    /* The level and the moment it was entered make the key: a retried batch re-queues the
     * same notice, a later round at the top level a new one. */
    snprintf(key, sizeof key, "esc%lld:L%d:%lld", (long long)e->id, e->c.level,
             (long long)e->c.level_due_at);
    struct notice n = {
        .event = "escalation.notify",
        .subject = subject.data,
        .text = text.data,
        .payload = payload,
        .phone = json_string_value(json_object_get(json_object_get(pack, "worker"), "phone")),
        .escalation_id = e->id,
        .level = e->c.level,
        .key = key};
    for (size_t i = 0; !rc && i < who.n_users; i++)
        rc = tell_user(w, st, e, &n, payload, who.users[i], now, outbox);
    json_object_del(payload, "acknowledge_url");
    if (!rc && who.channel_id)
        rc = tell_channel(w, st, e, &n, who.channel_id, now, outbox);
    if (!rc && !who.n_users && !who.channel_id)
        rc = add_step(st, e, now, "unreachable", 0, 0, 0, "no contact at this level");
    if (!rc)
        rc = level_event(st, e, v->worker_id, &who, now);
    json_decref(payload);
    json_decref(pack);
    buf_fini(&subject);
    buf_fini(&text);
    contacts_fini(&who);
    return rc;
}

/* Records the levels from..to-1 that were passed over for want of a contact. */
static int passed_over(struct store *st, const struct escalation_row *e, const bool *reachable,
                       int from, int to, int64_t now)
{
    struct escalation_step s = {.escalation_id = e->id,
                                .organisation_id = e->organisation_id,
                                .at = now,
                                .kind = "passed_over",
                                .detail = "no contact at this level"};
    int rc = 0;
    for (int i = from; !rc && i < to; i++) {
        if (reachable[i])
            continue;
        s.level = i;
        rc = store_escalation_step_add(st, &s);
    }
    return rc;
}

void case_policy(const struct escalation_row *e, struct escalation_policy *p)
{
    policy_from_text(e->policy, p);
}

int case_open(struct watch *w, struct store *st, const struct visit_row *v, int64_t now,
              struct escalation_row *out, struct id_list *outbox)
{
    struct escalation_policy p;
    bool reachable[ESCALATION_MAX_LEVELS];
    memset(out, 0, sizeof *out);
    int rc = policy_effective(st, v->organisation_id, v->worker_id, &p, &out->policy);
    if (!rc)
        rc = reachable_levels(st, v, &p, reachable);
    if (rc)
        return rc;
    out->organisation_id = v->organisation_id;
    out->visit_id = v->id;
    out->missed_deadline_at = v->clock.deadline_at;
    escalation_open(&out->c, &p, reachable, now);
    rc = store_escalation_create(st, out, &out->id);
    if (!rc)
        rc = add_step(st, out, now, "opened", 0, 0, 0, NULL);
    if (!rc)
        rc = events_add_case(st, EVENT_CASE_OPENED, out, v->worker_id, 0, now, NULL);
    if (!rc)
        rc = passed_over(st, out, reachable, 0, out->c.level, now);
    if (!rc)
        rc = tell_level(w, st, out, v, &p, now, outbox);
    if (!rc)
        log_warn("escalation_opened", "escalation_id=%lld visit_id=%lld level=%d",
                 (long long)out->id, (long long)v->id, out->c.level);
    return rc;
}

int case_climb(struct watch *w, struct store *st, struct escalation_row *e, const char *reason,
               int64_t now, struct id_list *outbox)
{
    struct escalation_policy p;
    struct visit_row v = {0};
    bool reachable[ESCALATION_MAX_LEVELS];
    case_policy(e, &p);
    int rc = store_visit_get(st, e->organisation_id, e->visit_id, &v);
    if (!rc)
        rc = reachable_levels(st, &v, &p, reachable);
    if (!rc)
        rc = add_step(st, e, now, reason, e->c.acknowledged_by, 0, 0, NULL);
    int from = e->c.level + 1;
    if (!rc && escalation_climb(&e->c, &p, reachable, now) < 0)
        rc = -NA_ECONFLICT;
    if (!rc)
        rc = passed_over(st, e, reachable, from, e->c.level, now);
    if (!rc)
        rc = store_escalation_update(st, e);
    if (!rc)
        rc = tell_level(w, st, e, &v, &p, now, outbox);
    if (!rc)
        log_warn("escalation_climbed", "escalation_id=%lld level=%d reason=%s", (long long)e->id,
                 e->c.level, reason);
    visit_row_fini(&v);
    return rc;
}

int case_level_entered_at(struct store *st, const struct escalation_row *e, int64_t *out)
{
    struct escalation_step_row *steps = NULL;
    size_t n = 0;
    int rc = store_escalation_steps(st, e->organisation_id, e->id, &steps, &n);
    *out = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (steps[i].level == e->c.level && strcmp(steps[i].kind, "notified") == 0 &&
            steps[i].at > *out)
            *out = steps[i].at;
    escalation_step_rows_free(steps, n);
    return rc;
}

/* Tells everyone told of the case so far (users and channels) that it is over. */
static int tell_outcome(struct watch *w, struct store *st, const struct escalation_row *e,
                        const char *event, const char *subject, const char *text, int64_t now,
                        struct id_list *outbox)
{
    struct escalation_step_row *steps = NULL;
    size_t n_steps = 0;
    int64_t *users = NULL;
    size_t n_users = 0;
    char key[96];
    snprintf(key, sizeof key, "esc%lld:%s", (long long)e->id, event);
    json_t *payload =
        json_pack("{s:s,s:I,s:I,s:s,s:s}", "event", event, "escalation_id", (json_int_t)e->id,
                  "visit_id", (json_int_t)e->visit_id, "subject", subject, "text", text);
    struct notice n = {.event = event,
                       .subject = subject,
                       .text = text,
                       .payload = payload,
                       .escalation_id = e->id,
                       .level = e->c.level,
                       .key = key};
    int rc = store_escalation_notified_users(st, e->id, &users, &n_users);
    for (size_t i = 0; !rc && i < n_users; i++)
        rc = notice_user(w, st, e->organisation_id, users[i], &n, now, outbox);
    if (!rc)
        rc = store_escalation_steps(st, e->organisation_id, e->id, &steps, &n_steps);
    for (size_t i = 0; !rc && i < n_steps; i++) {
        bool first = true; /* each channel once */
        for (size_t j = 0; j < i; j++)
            if (steps[j].channel_id == steps[i].channel_id &&
                strcmp(steps[j].kind, "notified") == 0)
                first = false;
        if (steps[i].channel_id && first && strcmp(steps[i].kind, "notified") == 0) {
            struct channel_row c = {0};
            rc = store_channel_get(st, e->organisation_id, steps[i].channel_id, &c);
            if (!rc)
                rc = notice_channel(w, st, &c, &n, now, outbox);
            if (rc == -NA_ENOTFOUND)
                rc = 0; /* the channel was removed since */
            channel_row_fini(&c);
        }
    }
    escalation_step_rows_free(steps, n_steps);
    free(users);
    json_decref(payload);
    return rc;
}

/*
 * A case closed with the worker safe closes the overdue alarm it opened, if still open,
 * as genuine, found safe as the case says. An alarm an operator closed leaves the case.
 */
static int close_alarm(struct watch *w, struct store *st, const struct escalation_row *e,
                       int64_t worker_id, int64_t now, struct id_list *outbox)
{
    char alert_id[48];
    struct alarm_row a = {0};
    case_alert_id(e, alert_id, sizeof alert_id);
    int rc = store_alarm_by_alert_id(st, e->organisation_id, worker_id, alert_id, &a);
    if (!rc && a.clock.state != ALARM_CLOSED)
        rc = watch_alarm_close(w, st, &a, ALARM_OUTCOME_GENUINE, e->outcome_note, NULL,
                               e->resolved_by, now, outbox);
    alarm_row_fini(&a); /* its re-notification job, if any, finds it closed */
    return rc == -NA_ENOTFOUND ? 0 : rc;
}

static int close_case(struct watch *w, struct store *st, struct escalation_row *e,
                      int64_t worker_id, const char *step_kind, const char *event,
                      const char *subject, const char *text, int64_t now, struct id_list *outbox)
{
    struct visit_event ev = {.visit_id = e->visit_id,
                             .organisation_id = e->organisation_id,
                             .kind = "escalation_resolved",
                             .actor_id = e->resolved_by,
                             .at = now,
                             .detail = e->outcome_note};
    int rc = store_escalation_update(st, e);
    if (!rc)
        rc = store_visit_event_add(st, &ev);
    if (!rc)
        rc = events_add_case(st, EVENT_CASE_RESOLVED, e, worker_id, e->resolved_by, now, NULL);
    if (!rc)
        rc = add_step(st, e, now, step_kind, e->resolved_by, 0, 0, e->outcome_note);
    if (!rc)
        rc = tell_outcome(w, st, e, event, subject, text, now, outbox);
    if (!rc && e->outcome == ESCALATION_OUTCOME_SAFE)
        rc = close_alarm(w, st, e, worker_id, now, outbox);
    if (!rc)
        log_info("escalation_resolved", "escalation_id=%lld outcome=%s", (long long)e->id,
                 escalation_outcome_name((enum escalation_outcome)e->outcome));
    return rc;
}

int watch_worker_safe(struct watch *w, struct store *st, const struct visit_row *v, const char *how,
                      int64_t now, bool *had_case, struct escalation_row *out,
                      struct id_list *outbox)
{
    char subject[256], text[1024], at[40];
    memset(out, 0, sizeof *out);
    *had_case = false;
    int rc = store_escalation_open_for_visit(st, v->organisation_id, v->id, out);
    if (rc == -NA_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    *had_case = true;
    escalation_resolve(&out->c, now);
    out->outcome = ESCALATION_OUTCOME_SAFE;
    out->resolved_by = v->worker_id;
    free(out->outcome_note);
    out->outcome_note = xstrdup(how);
    json_t *pack = pack_visit(st, v);
    snprintf(subject, sizeof subject, "%s is safe (visit %lld)", worker_name(pack),
             (long long)v->id);
    snprintf(text, sizeof text, "%s is safe: %s at %s. Nothing more needs doing.",
             worker_name(pack), how, time_format_iso(now, at, sizeof at));
    json_decref(pack);
    return close_case(w, st, out, v->worker_id, "worker_safe", "escalation.safe", subject, text,
                      now, outbox);
}

int watch_acknowledge(struct watch *w, struct store *st, struct escalation_row *e, int64_t user_id,
                      int64_t now)
{
    struct escalation_policy p;
    struct visit_row v = {0};
    (void)w;
    case_policy(e, &p);
    int rc = escalation_acknowledge(&e->c, &p, user_id, now);
    if (!rc)
        rc = store_escalation_update(st, e);
    if (!rc)
        rc = add_step(st, e, now, "acknowledged", user_id, 0, 0, NULL);
    /* The event names the worker, whom the case does not. */
    if (!rc)
        rc = store_visit_get(st, e->organisation_id, e->visit_id, &v);
    if (!rc)
        rc = events_add_case(st, EVENT_CASE_ACKNOWLEDGED, e, v.worker_id, user_id, now, NULL);
    visit_row_fini(&v);
    return rc;
}

/*
 * A contact who confirmed the worker safe has been in touch with them: that counts as a
 * check-in on the worker's behalf, so the visit (if still active) gets a fresh deadline
 * and stays watched instead of sitting past its deadline with nobody told again.
 */
static int rearm_visit(struct watch *w, struct store *st, struct visit_row *v, int64_t user_id,
                       const char *how, int64_t now)
{
    if (v->clock.state != VISIT_ACTIVE)
        return 0;
    int rc = visit_checkin(&v->clock, now);
    v->reminder_at = watch_reminder_at(w, v, now);
    v->updated_at = now;
    struct visit_event ev = {.visit_id = v->id,
                             .organisation_id = v->organisation_id,
                             .kind = "checkin",
                             .actor_id = user_id,
                             .at = now,
                             .detail = how};
    if (!rc)
        rc = store_visit_update(st, v);
    if (!rc)
        rc = store_visit_event_add(st, &ev);
    if (!rc)
        rc = events_add_visit(st, EVENT_VISIT_CHECKIN, v, user_id, now);
    return rc;
}

int watch_resolve(struct watch *w, struct store *st, struct escalation_row *e, int64_t user_id,
                  enum escalation_outcome outcome, const char *how, const char *police_reference,
                  int64_t now, struct visit_row *v_out, struct id_list *outbox)
{
    char subject[256], text[1536];
    struct visit_row v = {0};
    int rc = escalation_resolve(&e->c, now);
    if (rc)
        return rc;
    e->outcome = outcome;
    e->resolved_by = user_id;
    free(e->outcome_note);
    e->outcome_note = xstrdup(how);
    free(e->police_reference);
    e->police_reference = xstrdup(police_reference);
    rc = store_visit_get(st, e->organisation_id, e->visit_id, &v);
    if (rc)
        return rc;
    json_t *pack = pack_visit(st, &v);
    if (outcome == ESCALATION_OUTCOME_POLICE)
        snprintf(text, sizeof text,
                 "The escalation for %s was handed to the police, reference %s: %s",
                 worker_name(pack), police_reference, how);
    else
        snprintf(text, sizeof text, "%s was confirmed safe: %s", worker_name(pack), how);
    snprintf(subject, sizeof subject, "Escalation for %s closed: %s", worker_name(pack),
             outcome == ESCALATION_OUTCOME_POLICE ? "with the police" : "safe");
    json_decref(pack);
    rc = close_case(w, st, e, v.worker_id, "resolved", "escalation.resolved", subject, text, now,
                    outbox);
    if (!rc && outcome == ESCALATION_OUTCOME_SAFE)
        rc = rearm_visit(w, st, &v, user_id, how, now);
    if (!rc && v_out)
        *v_out = v;
    else
        visit_row_fini(&v);
    return rc;
}

int watch_buddy_nominated(struct watch *w, struct store *st, const struct visit_row *v, int64_t now,
                          struct id_list *outbox)
{
    char subject[256], text[1024], key[96], until[40];
    json_t *pack = pack_visit(st, v);
    snprintf(subject, sizeof subject, "You are %s's buddy (visit %lld)", worker_name(pack),
             (long long)v->id);
    snprintf(text, sizeof text,
             "%s has nominated you as their buddy for a visit until %s (§6.18). Accept with "
             "'notalone visit accept %lld' or in the console; until you do, their line "
             "manager is their first contact.",
             worker_name(pack), time_format_iso(v->clock.expected_departure, until, sizeof until),
             (long long)v->id);
    /* The nomination time makes the key: nominated again later is told again. */
    snprintf(key, sizeof key, "visit%lld:buddy%lld:%lld", (long long)v->id, (long long)v->buddy_id,
             (long long)v->updated_at);
    /* Not the pack: next of kin and the rest go to a buddy who accepted (need to know). */
    json_t *visit = json_object_get(pack, "visit");
    json_t *payload = json_pack(
        "{s:s,s:{s:I,s:O,s:O,s:O},s:s}", "event", "visit.buddy_nominated", "visit", "id",
        (json_int_t)v->id, "address", json_object_get(visit, "address"), "expected_arrival",
        json_object_get(visit, "expected_arrival"), "expected_departure",
        json_object_get(visit, "expected_departure"), "worker", worker_name(pack));
    struct notice n = {.event = "visit.buddy_nominated",
                       .subject = subject,
                       .text = text,
                       .payload = payload,
                       .key = key};
    int rc = notice_user(w, st, v->organisation_id, v->buddy_id, &n, now, outbox);
    json_decref(payload);
    json_decref(pack);
    return rc;
}

int64_t watch_reminder_at(const struct watch *w, const struct visit_row *v, int64_t now)
{
    if (v->clock.state != VISIT_ACTIVE || !w->cfg.reminder_before_ms)
        return 0;
    int64_t at = v->clock.deadline_at - w->cfg.reminder_before_ms;
    /* A deadline closer than the lead time gets no reminder: there is nothing to win. */
    return at > now ? at : 0;
}
