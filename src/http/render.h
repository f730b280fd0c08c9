#ifndef NA_HTTP_RENDER_H
#define NA_HTTP_RENDER_H

#include <jansson.h>
#include <stdint.h>

#include "core/access.h"
#include "store/store.h"

/*
 * JSON forms of stored rows, as docs/api.md shows them. Each returns a new reference the
 * caller owns. Times become RFC 3339 strings, absent values null.
 */
json_t *render_time(int64_t ms);
json_t *render_org(const struct org_row *o);
json_t *render_team(const struct team_row *t);
json_t *render_vehicle(const struct vehicle_row *v);
/* Only the fields of the layers up to layer. */
json_t *render_user(const struct user_row *u, enum user_layer layer);
json_t *render_api_key(const struct api_key_row *k);
json_t *render_audit(const struct audit_row *a);
/* {"items": items, "<cursor_name>": next or null}; takes ownership of items. */
json_t *render_page(json_t *items, const char *cursor_name, int64_t next);

#endif
