#include "http/render.h"

#include "core/alarm.h"
#include "core/roles.h"
#include "core/visit.h"
#include "core/escalation.h"
#include "util/clock.h"

/* A string or null; jansson copies it. */
static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *id_or_null(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

static json_t *id_array(const int64_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(ids[i]));
    return a;
}

json_t *render_time(int64_t ms)
{
    char text[40];
    return json_string(time_format_iso(ms, text, sizeof text));
}

void render_set_time(json_t *o, const char *key, int64_t ms)
{
    json_object_set_new(o, key, ms ? render_time(ms) : json_null());
}

void render_set_id(json_t *o, const char *key, int64_t id)
{
    json_object_set_new(o, key, id_or_null(id));
}

void render_set_str(json_t *o, const char *key, const char *s)
{
    json_object_set_new(o, key, str_or_null(s));
}

json_t *render_org(const struct org_row *o)
{
    return json_pack("{s:I,s:s,s:b,s:o}", "id", (json_int_t)o->id, "name", o->name, "is_host",
                     o->is_host, "created_at", render_time(o->created_at));
}

json_t *render_team(const struct team_row *t)
{
    return json_pack("{s:I,s:I,s:s,s:o,s:o,s:o}", "id", (json_int_t)t->id, "organisation_id",
                     (json_int_t)t->organisation_id, "name", t->name, "line_manager_id",
                     id_or_null(t->line_manager_id), "member_ids",
                     id_array(t->member_ids, t->n_members), "created_at",
                     render_time(t->created_at));
}

json_t *render_vehicle(const struct vehicle_row *v)
{
    return json_pack("{s:I,s:s,s:o,s:o,s:o}", "id", (json_int_t)v->id, "registration",
                     v->registration, "make", str_or_null(v->make), "model", str_or_null(v->model),
                     "colour", str_or_null(v->colour));
}

static json_t *roles_array(unsigned mask)
{
    const char *names[ROLE_MAX_COUNT];
    size_t n = role_names(mask, names);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *next_of_kin(const struct next_of_kin *k)
{
    if (!k->name)
        return json_null();
    return json_pack("{s:s,s:o,s:o}", "name", k->name, "relation", str_or_null(k->relation),
                     "phone", str_or_null(k->phone));
}

json_t *render_user(const struct user_row *u, enum user_layer layer)
{
    json_t *o = json_pack(
        "{s:I,s:I,s:s,s:s,s:o,s:o,s:b,s:b,s:o,s:o}", "id", (json_int_t)u->id, "organisation_id",
        (json_int_t)u->organisation_id, "username", u->username, "display_name", u->display_name,
        "roles", roles_array(u->roles), "team_ids", id_array(u->team_ids, u->n_team_ids),
        "disabled", u->disabled, "password_change_required", u->password_change_required,
        "created_at", render_time(u->created_at), "updated_at", render_time(u->updated_at));
    json_object_set_new(o, "on_duty", json_boolean(u->off_duty_since == 0));
    if (layer >= USER_LAYER_CONTACT) {
        json_t *vehicles = json_array();
        for (size_t i = 0; i < u->n_vehicles; i++)
            json_array_append_new(vehicles, render_vehicle(&u->vehicles[i]));
        json_object_set_new(o, "email", str_or_null(u->email));
        json_object_set_new(o, "phone", str_or_null(u->phone));
        json_object_set_new(o, "vehicles", vehicles);
    }
    if (layer >= USER_LAYER_PERSONAL)
        json_object_set_new(o, "next_of_kin", next_of_kin(&u->next_of_kin));
    if (layer >= USER_LAYER_PRIVATE)
        json_object_set_new(o, "home_address", str_or_null(u->home_address));
    return o;
}

json_t *render_api_key(const struct api_key_row *k)
{
    return json_pack("{s:I,s:I,s:s,s:s,s:o,s:o}", "id", (json_int_t)k->id, "user_id",
                     (json_int_t)k->user_id, "name", k->name, "prefix", k->prefix, "created_at",
                     render_time(k->created_at), "revoked_at",
                     k->revoked_at ? render_time(k->revoked_at) : json_null());
}

json_t *render_audit(const struct audit_row *a)
{
    return json_pack("{s:I,s:o,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)a->id, "actor_user_id",
                     id_or_null(a->actor_user_id), "action", a->action, "target_type",
                     str_or_null(a->target_type), "target_id", id_or_null(a->target_id), "detail",
                     str_or_null(a->detail), "at", render_time(a->at));
}

json_t *render_page(json_t *items, const char *cursor_name, int64_t next)
{
    return json_pack("{s:o,s:o}", "items", items, cursor_name, id_or_null(next));
}

static json_t *time_or_null(int64_t ms)
{
    return ms ? render_time(ms) : json_null();
}

/* Stored JSON text (phones, transport) back into JSON; fallback when absent. */
static json_t *stored_json(const char *text, json_t *fallback)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (!j)
        return fallback;
    json_decref(fallback);
    return j;
}

static json_t *location(bool has, double lat, double lon, int64_t at)
{
    if (!has)
        return json_null();
    json_t *o = json_pack("{s:f,s:f}", "latitude", lat, "longitude", lon);
    if (at)
        json_object_set_new(o, "at", render_time(at));
    return o;
}

json_t *render_visit(const struct visit_row *v, int64_t escalation_id)
{
    const struct visit_clock *c = &v->clock;
    json_t *o = json_pack(
        "{s:I,s:I,s:s,s:s,s:I,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)v->id,
        "organisation_id", (json_int_t)v->organisation_id, "kind", v->kind, "state",
        visit_state_name(c->state), "worker_id", (json_int_t)v->worker_id, "buddy_id",
        id_or_null(v->buddy_id), "buddy_accepted", v->buddy_accepted_at != 0, "address",
        str_or_null(v->address), "people", str_or_null(v->people), "phones",
        stored_json(v->phones, json_array()), "transport", stored_json(v->transport, json_null()),
        "accompanied_by", str_or_null(v->accompanied_by), "notes", str_or_null(v->notes),
        "checkin_interval",
        c->checkin_interval ? json_integer(c->checkin_interval / 1000) : json_null());
    json_object_set_new(o, "latitude", v->has_location ? json_real(v->latitude) : json_null());
    json_object_set_new(o, "longitude", v->has_location ? json_real(v->longitude) : json_null());
    json_object_set_new(o, "expected_arrival", time_or_null(c->expected_arrival));
    json_object_set_new(o, "expected_departure", time_or_null(c->expected_departure));
    json_object_set_new(o, "started_at", time_or_null(c->started_at));
    json_object_set_new(o, "last_checkin_at", time_or_null(c->last_checkin_at));
    json_object_set_new(o, "deadline_at", time_or_null(c->deadline_at));
    json_object_set_new(o, "closed_at", time_or_null(c->closed_at));
    json_object_set_new(o, "outcome",
                        c->outcome ? json_string(visit_outcome_name(c->outcome)) : json_null());
    json_object_set_new(o, "close_note", str_or_null(v->close_note));
    json_object_set_new(
        o, "last_location",
        location(v->has_last_location, v->last_latitude, v->last_longitude, v->last_location_at));
    json_object_set_new(o, "escalation_id", id_or_null(escalation_id));
    json_object_set_new(o, "created_by", id_or_null(v->created_by));
    json_object_set_new(o, "created_at", render_time(v->created_at));
    json_object_set_new(o, "updated_at", render_time(v->updated_at));
    return o;
}

json_t *render_escalation(const struct escalation_row *e, const char *contact)
{
    const struct escalation_case *c = &e->c;
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:s,s:i,s:s,s:o,s:o,s:o}", "id", (json_int_t)e->id, "organisation_id",
        (json_int_t)e->organisation_id, "visit_id", (json_int_t)e->visit_id, "state",
        c->state == ESCALATION_OPEN ? "open" : "resolved", "level", c->level, "level_contact",
        contact, "level_due_at",
        c->state == ESCALATION_OPEN ? render_time(c->level_due_at) : json_null(), "acknowledged_by",
        id_or_null(c->acknowledged_by), "acknowledged_at", time_or_null(c->acknowledged_at));
    json_object_set_new(o, "opened_at", render_time(c->opened_at));
    json_object_set_new(o, "missed_deadline_at", time_or_null(e->missed_deadline_at));
    json_object_set_new(o, "resolved_at", time_or_null(c->resolved_at));
    json_object_set_new(
        o, "outcome",
        e->outcome ? json_string(escalation_outcome_name((enum escalation_outcome)e->outcome))
                   : json_null());
    json_object_set_new(o, "outcome_note", str_or_null(e->outcome_note));
    json_object_set_new(o, "police_reference", str_or_null(e->police_reference));
    json_object_set_new(o, "resolved_by", id_or_null(e->resolved_by));
    return o;
}

json_t *render_visit_event(const struct visit_event_row *e)
{
    return json_pack("{s:s,s:o,s:o,s:o,s:o}", "kind", e->kind, "at", render_time(e->at), "actor_id",
                     id_or_null(e->actor_id), "detail", str_or_null(e->detail), "location",
                     location(e->has_location, e->latitude, e->longitude, 0));
}

json_t *render_escalation_step(const struct escalation_step_row *s)
{
    return json_pack("{s:I,s:o,s:i,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)s->id, "at",
                     render_time(s->at), "level", s->level, "kind", s->kind, "user_id",
                     id_or_null(s->user_id), "channel_id", id_or_null(s->channel_id), "outbox_id",
                     id_or_null(s->outbox_id), "detail", str_or_null(s->detail));
}

json_t *render_outbox(const struct outbox_row *o)
{
    return json_pack("{s:I,s:i,s:o,s:o,s:s,s:s,s:s,s:i,s:o,s:o,s:o}", "id", (json_int_t)o->id,
                     "level", o->level, "user_id", id_or_null(o->user_id), "channel_id",
                     id_or_null(o->channel_id), "channel", o->channel, "event", o->event, "state",
                     o->state, "attempts", o->attempts, "last_error", str_or_null(o->last_error),
                     "created_at", render_time(o->created_at), "sent_at", time_or_null(o->sent_at));
}

json_t *render_channel(const struct channel_row *c)
{
    return json_pack("{s:I,s:o,s:s,s:s,s:o,s:b,s:o,s:o}", "id", (json_int_t)c->id, "user_id",
                     id_or_null(c->user_id), "name", c->name, "kind", c->kind, "address",
                     str_or_null(c->address), "has_secret", c->secret != NULL, "template",
                     str_or_null(c->template), "created_at", render_time(c->created_at));
}

json_t *render_alarm(const struct alarm_row *a, const char *worker_name, bool full)
{
    const struct alarm_clock *c = &a->clock;
    json_t *o =
        json_pack("{s:I,s:I,s:I,s:o,s:o,s:s,s:s,s:b,s:i,s:o,s:o}", "id", (json_int_t)a->id,
                  "organisation_id", (json_int_t)a->organisation_id, "worker_id",
                  (json_int_t)a->worker_id, "worker_name", str_or_null(worker_name), "visit_id",
                  id_or_null(a->visit_id), "kind", alarm_kind_name(c->kind), "state",
                  alarm_state_name(c->state), "duress", c->duress, "priority", c->priority,
                  "opened_at", render_time(c->opened_at), "source", str_or_null(a->source));
    if (!o)
        return NULL;
    json_object_set_new(o, "claimed_by", id_or_null(c->claimed_by));
    json_object_set_new(o, "claimed_at", time_or_null(c->claimed_at));
    json_object_set_new(o, "first_claimed_at", time_or_null(c->first_claimed_at));
    json_object_set_new(o, "cancelled_at", time_or_null(c->cancelled_at));
    json_object_set_new(o, "closed_by", id_or_null(c->closed_by));
    json_object_set_new(o, "closed_at", time_or_null(c->closed_at));
    json_object_set_new(o, "outcome",
                        c->outcome ? json_string(alarm_outcome_name(c->outcome)) : json_null());
    json_object_set_new(o, "renotify_count", json_integer(a->renotify_count));
    json_object_set_new(o, "updated_at", render_time(a->updated_at));
    if (!full)
        return o;
    json_object_set_new(o, "amber_alert_id", id_or_null(a->amber_alert_id));
    json_object_set_new(o, "alert_id", str_or_null(a->alert_id));
    json_object_set_new(o, "message", str_or_null(a->message));
    json_object_set_new(o, "found_safe", str_or_null(a->found_safe));
    json_object_set_new(o, "close_note", str_or_null(a->close_note));
    json_object_set_new(o, "police_urn", str_or_null(a->police_urn));
    json_object_set_new(o, "police_reference", str_or_null(a->police_reference));
    return o;
}

json_t *render_alarm_event(const struct alarm_event_row *e)
{
    return json_pack("{s:I,s:o,s:s,s:o,s:o,s:o}", "id", (json_int_t)e->id, "at", render_time(e->at),
                     "kind", e->kind, "actor_id", id_or_null(e->actor_id), "detail",
                     str_or_null(e->detail), "data", stored_json(e->data, json_null()));
}

json_t *render_evidence(const struct evidence_row *e, bool full)
{
    json_t *o = json_pack("{s:I,s:s,s:I,s:s,s:o}", "id", (json_int_t)e->id, "kind", e->kind, "size",
                          (json_int_t)e->size, "sha256", e->sha256, "uploaded_at",
                          render_time(e->uploaded_at));
    if (!o || !full)
        return o;
    json_object_set_new(o, "alarm_id", json_integer(e->alarm_id));
    json_object_set_new(o, "name", str_or_null(e->name));
    json_object_set_new(o, "content_type", json_string(e->content_type));
    json_object_set_new(o, "uploaded_by", id_or_null(e->uploaded_by));
    return o;
}
