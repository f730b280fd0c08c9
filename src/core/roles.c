#include "core/roles.h"

#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} roles[ROLE_MAX_COUNT] = {
    {ROLE_WORKER, "worker"}, {ROLE_MANAGER, "manager"},   {ROLE_SENIOR_MANAGER, "senior_manager"},
    {ROLE_LSMS, "lsms"},     {ROLE_OPERATOR, "operator"}, {ROLE_ADMIN, "admin"},
    {ROLE_POLICE, "police"},
};

unsigned role_parse(const char *name)
{
    for (size_t i = 0; i < ROLE_MAX_COUNT; i++)
        if (strcmp(roles[i].name, name) == 0)
            return roles[i].bit;
    return 0;
}

const char *role_name(unsigned role)
{
    for (size_t i = 0; i < ROLE_MAX_COUNT; i++)
        if (roles[i].bit == role)
            return roles[i].name;
    return NULL;
}

size_t role_names(unsigned mask, const char *names[ROLE_MAX_COUNT])
{
    size_t n = 0;
    for (size_t i = 0; i < ROLE_MAX_COUNT; i++)
        if (mask & roles[i].bit)
            names[n++] = roles[i].name;
    return n;
}
