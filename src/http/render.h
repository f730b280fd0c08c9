#ifndef NA_HTTP_RENDER_H
#define NA_HTTP_RENDER_H

#include <jansson.h>
#include <stdint.h>

#include "core/access.h"
#include "store/store.h"
#include "store/store_alarms.h"
#include "store/store_watch.h"

/*
 * JSON forms of stored rows, as docs/api.md shows them. Each returns a new reference the
 * caller owns. Times become RFC 3339 strings, absent values null.
 */
json_t *render_time(int64_t ms);
/* Sets o[key] to the time ms, the id or the string s (copied), or null when 0 or NULL. */
void render_set_time(json_t *o, const char *key, int64_t ms);
void render_set_id(json_t *o, const char *key, int64_t id);
void render_set_str(json_t *o, const char *key, const char *s);
json_t *render_org(const struct org_row *o);
json_t *render_team(const struct team_row *t);
json_t *render_vehicle(const struct vehicle_row *v);
/* Only the fields of the layers up to layer. */
json_t *render_user(const struct user_row *u, enum user_layer layer);
json_t *render_api_key(const struct api_key_row *k);
json_t *render_audit(const struct audit_row *a);
/* A visit; escalation_id is its open case (0: none). */
json_t *render_visit(const struct visit_row *v, int64_t escalation_id);
/* A case; contact is the name of its current level's contact ("" when unknown). */
json_t *render_escalation(const struct escalation_row *e, const char *contact);
json_t *render_visit_event(const struct visit_event_row *e);
json_t *render_escalation_step(const struct escalation_step_row *s);
/* A notification of a case, without its address or contents. */
json_t *render_outbox(const struct outbox_row *o);
/* A channel, without its secret. */
json_t *render_channel(const struct channel_row *c);
/*
 * An alarm, never with coordinates (they are in its pack, with consent). worker_name (may
 * be NULL) is the worker's display name. A list item (full false) also leaves out what the
 * worker said, how they were found safe and the police's references.
 */
json_t *render_alarm(const struct alarm_row *a, const char *worker_name, bool full);
/* A line of an alarm's timeline, its data parsed back into JSON. */
json_t *render_alarm_event(const struct alarm_event_row *e);
/* Evidence without its content; full false: only the integrity proof (id, kind, size,
 * sha256, uploaded_at). */
json_t *render_evidence(const struct evidence_row *e, bool full);
/* {"items": items, "<cursor_name>": next or null}; takes ownership of items. */
json_t *render_page(json_t *items, const char *cursor_name, int64_t next);

#endif
