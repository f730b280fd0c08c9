/*
 * The information pack (§6.17.6-6.17.7): everything a contact needs to find the worker,
 * in every notification of a case. It is personal data: it goes only to the contacts of
 * the case, never to the log.
 */
#include <stdio.h>
#include <string.h>

#include "http/render.h"
#include "watch/watch_internal.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t ms)
{
    return ms ? render_time(ms) : json_null();
}

/* The vehicle the visit's transport names, from the worker's vehicles. */
static json_t *vehicle_of(const struct user_row *u, json_t *transport)
{
    json_t *id = json_object_get(transport, "vehicle_id");
    for (size_t i = 0; json_is_integer(id) && i < u->n_vehicles; i++)
        if (u->vehicles[i].id == json_integer_value(id))
            return render_vehicle(&u->vehicles[i]);
    return json_null();
}

static json_t *worker_part(const struct user_row *u, json_t *transport)
{
    json_t *nok = u->next_of_kin.name ? json_pack("{s:s,s:o,s:o}", "name", u->next_of_kin.name,
                                                  "relation", str_or_null(u->next_of_kin.relation),
                                                  "phone", str_or_null(u->next_of_kin.phone))
                                      : json_null();
    return json_pack("{s:I,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)u->id, "name",
                     u->display_name ? u->display_name : u->username, "phone",
                     str_or_null(u->phone), "email", str_or_null(u->email), "next_of_kin", nok,
                     "vehicle", vehicle_of(u, transport));
}

static json_t *visit_part(const struct visit_row *v, json_t *transport)
{
    json_t *o = json_pack(
        "{s:I,s:s,s:o,s:o,s:O,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)v->id, "kind",
        v->kind, "address", str_or_null(v->address), "people", str_or_null(v->people), "transport",
        transport, "accompanied_by", str_or_null(v->accompanied_by), "notes", str_or_null(v->notes),
        "expected_arrival", time_or_null(v->clock.expected_arrival), "expected_departure",
        time_or_null(v->clock.expected_departure), "started_at", time_or_null(v->clock.started_at),
        "last_checkin_at", time_or_null(v->clock.last_checkin_at), "deadline_at",
        time_or_null(v->clock.deadline_at));
    json_t *phones = v->phones ? json_loads(v->phones, 0, NULL) : NULL;
    json_object_set_new(o, "phones", phones ? phones : json_array());
    if (v->has_location)
        json_object_set_new(
            o, "location",
            json_pack("{s:f,s:f}", "latitude", v->latitude, "longitude", v->longitude));
    if (v->has_last_location)
        json_object_set_new(o, "last_location",
                            json_pack("{s:f,s:f,s:o}", "latitude", v->last_latitude, "longitude",
                                      v->last_longitude, "at", render_time(v->last_location_at)));
    return o;
}

json_t *pack_visit(struct store *st, const struct visit_row *v)
{
    struct user_row worker = {0}, buddy = {0};
    json_t *transport = v->transport ? json_loads(v->transport, 0, NULL) : NULL;
    if (!transport)
        transport = json_object();
    json_t *pack = json_object();
    if (store_user_get(st, v->organisation_id, v->worker_id, &worker) == 0)
        json_object_set_new(pack, "worker", worker_part(&worker, transport));
    json_object_set_new(pack, "visit", visit_part(v, transport));
    if (v->buddy_id && store_user_get(st, v->organisation_id, v->buddy_id, &buddy) == 0)
        json_object_set_new(pack, "buddy",
                            json_pack("{s:I,s:s,s:o}", "id", (json_int_t)buddy.id, "name",
                                      buddy.display_name ? buddy.display_name : buddy.username,
                                      "phone", str_or_null(buddy.phone)));
    user_row_fini(&worker);
    user_row_fini(&buddy);
    json_decref(transport);
    return pack;
}

static void line(struct buf *out, const char *label, json_t *v)
{
    if (json_is_string(v))
        buf_appendf(out, "%-18s %s\n", label, json_string_value(v));
}

static void transport_text(struct buf *out, json_t *t, json_t *vehicle)
{
    const char *mode = json_string_value(json_object_get(t, "mode"));
    if (!mode)
        return;
    buf_appendf(out, "%-18s %s", "Travelling by", mode);
    if (json_is_object(vehicle))
        buf_appendf(out, ": %s %s %s, registration %s",
                    json_is_string(json_object_get(vehicle, "colour"))
                        ? json_string_value(json_object_get(vehicle, "colour"))
                        : "",
                    json_is_string(json_object_get(vehicle, "make"))
                        ? json_string_value(json_object_get(vehicle, "make"))
                        : "",
                    json_is_string(json_object_get(vehicle, "model"))
                        ? json_string_value(json_object_get(vehicle, "model"))
                        : "",
                    json_string_value(json_object_get(vehicle, "registration")));
    const char *keys[] = {"route", "company", "call_sign", "detail"};
    for (size_t i = 0; i < 4; i++)
        if (json_is_string(json_object_get(t, keys[i])))
            buf_appendf(out, ", %s %s", keys[i], json_string_value(json_object_get(t, keys[i])));
    buf_append_str(out, "\n");
}

void pack_text(json_t *pack, struct buf *out)
{
    json_t *w = json_object_get(pack, "worker"), *v = json_object_get(pack, "visit");
    json_t *nok = json_object_get(w, "next_of_kin"), *loc = json_object_get(v, "last_location");
    line(out, "Worker", json_object_get(w, "name"));
    line(out, "Worker's phone", json_object_get(w, "phone"));
    line(out, "Address", json_object_get(v, "address"));
    line(out, "Visiting", json_object_get(v, "people"));
    size_t i;
    json_t *phone;
    json_array_foreach(json_object_get(v, "phones"), i, phone)
    {
        line(out, i == 0 ? "Phone there" : "", phone);
    }
    line(out, "Expected arrival", json_object_get(v, "expected_arrival"));
    line(out, "Expected departure", json_object_get(v, "expected_departure"));
    line(out, "Started", json_object_get(v, "started_at"));
    line(out, "Last check-in", json_object_get(v, "last_checkin_at"));
    if (json_is_object(loc))
        buf_appendf(out, "%-18s %.6f, %.6f at %s\n", "Last location",
                    json_real_value(json_object_get(loc, "latitude")),
                    json_real_value(json_object_get(loc, "longitude")),
                    json_string_value(json_object_get(loc, "at")));
    transport_text(out, json_object_get(v, "transport"), json_object_get(w, "vehicle"));
    line(out, "Accompanied by", json_object_get(v, "accompanied_by"));
    line(out, "Notes", json_object_get(v, "notes"));
    if (json_is_object(nok)) {
        line(out, "Next of kin", json_object_get(nok, "name"));
        line(out, "  relation", json_object_get(nok, "relation"));
        line(out, "  phone", json_object_get(nok, "phone"));
    }
    line(out, "Buddy", json_object_get(json_object_get(pack, "buddy"), "name"));
}
