#include "cli/names.h"

#include <stdio.h>
#include <string.h>

#include "cli/output.h"

void names_init(struct names *n)
{
    n->users = json_object();
}

void names_fini(struct names *n)
{
    json_decref(n->users);
    n->users = NULL;
}

static void names_put(struct names *n, const json_t *user)
{
    char key[24];
    const json_t *id = json_object_get(user, "id");
    if (!n->users || !json_is_integer(id))
        return;
    (void)snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(id));
    /* Out of memory only costs a lookup later. */
    (void)json_object_set(n->users, key, (json_t *)user);
}

int names_load_all(struct cli *cli, struct names *n)
{
    json_t *all = NULL;
    int rc = cli_list(cli, "/api/v1/users", &all);
    if (rc)
        return rc;
    size_t i;
    const json_t *u;
    json_array_foreach(all, i, u)
    {
        names_put(n, u);
    }
    json_decref(all);
    return 0;
}

/* The user with id, from the cache or the server; NULL when it cannot be had. Borrowed. */
static const json_t *names_find(struct cli *cli, struct names *n, long long id)
{
    char key[24];
    char path[64];
    json_t *user = NULL;
    (void)snprintf(key, sizeof(key), "%lld", id);
    const json_t *cached = json_object_get(n->users, key);
    if (cached)
        return cached;
    (void)snprintf(path, sizeof(path), "/api/v1/users/%lld", id);
    if (cli_request_quiet(cli, "GET", path, NULL, &user) != 0)
        return NULL;
    names_put(n, user);
    json_decref(user);
    return json_object_get(n->users, key);
}

const char *names_get(struct cli *cli, struct names *n, const json_t *id, bool with_username,
                      char *dst, size_t len)
{
    char name[NAMES_TEXT];
    char username[NAMES_TEXT];
    if (!json_is_integer(id)) {
        (void)snprintf(dst, len, "-");
        return dst;
    }
    long long v = (long long)json_integer_value(id);
    const json_t *user = names_find(cli, n, v);
    if (!user) {
        (void)snprintf(dst, len, "user %lld", v);
        return dst;
    }
    output_text(json_object_get(user, "display_name"), name, sizeof(name));
    output_text(json_object_get(user, "username"), username, sizeof(username));
    /* Truncation only shortens what people read. */
    if (with_username)
        (void)snprintf(dst, len, "%s (%s)", name, username);
    else
        (void)snprintf(dst, len, "%s", name);
    return dst;
}
