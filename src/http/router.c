#include "http/router.h"

#include <string.h>

/* Length of the segment starting at s (up to '/' or end). */
static size_t segment_len(const char *s)
{
    const char *slash = strchr(s, '/');
    return slash ? (size_t)(slash - s) : strlen(s);
}

int router_match(const char *pattern, const char *path, struct route_params *out)
{
    struct route_params p = {0};
    const char *a = pattern, *b = path;
    int segments = 0;
    if (*a != '/' || *b != '/')
        return 0;
    while (*a == '/' && *b == '/') {
        a++;
        b++;
        if (++segments > ROUTER_MAX_SEGMENTS)
            return 0;
        size_t la = segment_len(a), lb = segment_len(b);
        if (la > 2 && a[0] == '{' && a[la - 1] == '}') {
            if (lb == 0 || p.n == ROUTER_MAX_PARAMS)
                return 0;
            p.names[p.n] = a + 1;
            p.name_lens[p.n] = la - 2;
            p.values[p.n] = b;
            p.value_lens[p.n] = lb;
            p.n++;
        } else if (la != lb || memcmp(a, b, la) != 0) {
            return 0;
        }
        a += la;
        b += lb;
    }
    if (*a != '\0' || *b != '\0')
        return 0;
    if (out)
        *out = p;
    return 1;
}
