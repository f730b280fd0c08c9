#ifndef NA_CORE_ROLES_H
#define NA_CORE_ROLES_H

#include <stdbool.h>
#include <stddef.h>

/* Roles a user may hold (any combination). Stored as a bit mask. */
enum role {
    ROLE_WORKER = 1u << 0,
    ROLE_MANAGER = 1u << 1,
    ROLE_SENIOR_MANAGER = 1u << 2,
    ROLE_LSMS = 1u << 3,
    ROLE_OPERATOR = 1u << 4,
    ROLE_ADMIN = 1u << 5,
    ROLE_POLICE = 1u << 6, /* a police officer given access to evidence (§9.13.1) */
};

#define ROLE_ALL       0x7fu
#define ROLE_MAX_COUNT 7

/* Role of a name ("senior_manager"); 0 when unknown. */
unsigned role_parse(const char *name);
/* Name of a single role bit; NULL when not exactly one known bit. Static storage. */
const char *role_name(unsigned role);
/* Names of the bits of mask, in the order above, into names (size ROLE_MAX_COUNT). */
size_t role_names(unsigned mask, const char *names[ROLE_MAX_COUNT]);

#endif
