#include "util/cookie.h"

#include <stdbool.h>
#include <string.h>

#include "util/error.h"

/* cookie-octet of RFC 6265: visible ASCII but '"', ',', ';' and '\'. */
static bool cookie_octet(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Checks a value of the wanted cookie: non-empty, unquoted cookie-octets only. */
static int check_value(struct slice v)
{
    if (v.len == 0)
        return -NA_EMALFORMED;
    for (size_t i = 0; i < v.len; i++)
        if (!cookie_octet((unsigned char)v.ptr[i]))
            return -NA_EMALFORMED;
    return 0;
}

int cookie_find(const char *header, const char *name, struct slice *out)
{
    if (!header)
        return -NA_ENOTFOUND;
    size_t total = strnlen(header, COOKIE_HEADER_MAX + 1);
    if (total > COOKIE_HEADER_MAX)
        return -NA_EMALFORMED;
    size_t name_len = strlen(name);
    bool found = false;
    const char *p = header, *end = header + total;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;
        while (p < stop && blank(*p))
            p++;
        const char *last = stop;
        while (last > p && blank(last[-1]))
            last--;
        /* Only the pair named name is read; any other (even without '=') is skipped. */
        if ((size_t)(last - p) > name_len && memcmp(p, name, name_len) == 0 && p[name_len] == '=') {
            if (found)
                return -NA_EMALFORMED;
            found = true;
            out->ptr = p + name_len + 1;
            out->len = (size_t)(last - out->ptr);
            if (check_value(*out))
                return -NA_EMALFORMED;
        }
        p = semi ? semi + 1 : end;
    }
    return found ? 0 : -NA_ENOTFOUND;
}
