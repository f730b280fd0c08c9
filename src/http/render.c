#include "http/render.h"

#include "core/roles.h"
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
