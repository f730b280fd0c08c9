#include "http/api.h"

/* Every route; docs/api.md documents each (a black-box test compares the two). */
const struct route api_routes[] = {
    {"GET", "/healthz", api_healthz, ROUTE_PUBLIC},
    {"GET", "/readyz", api_readyz, ROUTE_PUBLIC},
    {"GET", "/metrics", api_metrics, ROUTE_PUBLIC},
    {"POST", "/api/v1/login", api_login, ROUTE_PUBLIC | ROUTE_BODY},
    {"POST", "/api/v1/logout", api_logout, ROUTE_PWCHANGE_OK},
    {"GET", "/api/v1/me", api_me, ROUTE_PWCHANGE_OK},
    {"POST", "/api/v1/me/password", api_me_password, ROUTE_PWCHANGE_OK | ROUTE_BODY},
    {"GET", "/api/v1/organisations", api_org_list, 0},
    {"POST", "/api/v1/organisations", api_org_create, ROUTE_BODY},
    {"GET", "/api/v1/organisations/{id}", api_org_get, 0},
    {"PATCH", "/api/v1/organisations/{id}", api_org_update, ROUTE_BODY},
    {"GET", "/api/v1/teams", api_team_list, 0},
    {"POST", "/api/v1/teams", api_team_create, ROUTE_BODY},
    {"GET", "/api/v1/teams/{id}", api_team_get, 0},
    {"PATCH", "/api/v1/teams/{id}", api_team_update, ROUTE_BODY},
    {"DELETE", "/api/v1/teams/{id}", api_team_delete, 0},
    {"PUT", "/api/v1/teams/{id}/members/{user_id}", api_team_member_put, 0},
    {"DELETE", "/api/v1/teams/{id}/members/{user_id}", api_team_member_delete, 0},
    {"GET", "/api/v1/users", api_user_list, 0},
    {"POST", "/api/v1/users", api_user_create, ROUTE_BODY},
    {"GET", "/api/v1/users/{id}", api_user_get, 0},
    {"PATCH", "/api/v1/users/{id}", api_user_update, ROUTE_BODY},
    {"POST", "/api/v1/users/{id}/password-reset", api_user_password_reset, 0},
    {"GET", "/api/v1/users/{id}/vehicles", api_vehicle_list, 0},
    {"POST", "/api/v1/users/{id}/vehicles", api_vehicle_add, ROUTE_BODY},
    {"DELETE", "/api/v1/users/{id}/vehicles/{vehicle_id}", api_vehicle_delete, 0},
    {"GET", "/api/v1/api-keys", api_key_list, 0},
    {"POST", "/api/v1/api-keys", api_key_create, ROUTE_BODY},
    {"DELETE", "/api/v1/api-keys/{id}", api_key_delete, 0},
    {"GET", "/api/v1/audit-events", api_audit_list, 0},
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];
