#include "core/validate.h"

#include <string.h>

#include "util/error.h"

size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

/*
 * No C0 controls, DEL, C1 controls (U+0080-U+009F: C2 80-C2 9F) or the line and paragraph
 * separators (U+2028, U+2029: E2 80 A8, E2 80 A9), which break lines where a newline is
 * not allowed; newline allowed when allow_newline. s is valid UTF-8, so a lead byte is
 * followed by its continuation bytes.
 */
static bool no_controls(const char *s, bool allow_newline)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' && allow_newline)
            continue;
        if (*p < 0x20 || *p == 0x7f)
            return false;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            return false;
        if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
            return false;
    }
    return true;
}

int validate_text(const char *s, size_t min, size_t max)
{
    size_t n = utf8_length(s);
    if (n < min || n > max || !no_controls(s, false))
        return -NA_EINVAL;
    return 0;
}

int validate_username(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > USERNAME_MAX)
        return -NA_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return -NA_EINVAL;
    }
    return 0;
}

int validate_name(const char *s)
{
    if (validate_text(s, 1, NAME_MAX_CHARS))
        return -NA_EINVAL;
    /* A name of spaces only would show as nothing in every list. */
    for (const char *p = s; *p; p++)
        if (*p != ' ')
            return 0;
    return -NA_EINVAL;
}

int validate_email(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > EMAIL_MAX || !at || at == s || at[1] == '\0' || strchr(at + 1, '@'))
        return -NA_EINVAL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return -NA_EINVAL;
    return 0;
}

int validate_phone(const char *s)
{
    size_t n = strlen(s), digits = 0;
    if (n < 3 || n > PHONE_MAX)
        return -NA_EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (!strchr("+-(). ", *p))
            return -NA_EINVAL;
    }
    return digits >= 3 ? 0 : -NA_EINVAL;
}

int validate_address(const char *s)
{
    size_t n = utf8_length(s);
    if (n < 1 || n > ADDRESS_MAX || !no_controls(s, true))
        return -NA_EINVAL;
    return 0;
}

int validate_new_password(const char *s, size_t len)
{
    (void)s;
    if (len < PASSWORD_MIN_BYTES || len > PASSWORD_MAX_BYTES)
        return -NA_EINVAL;
    return 0;
}

int validate_relation(const char *s)
{
    return validate_text(s, 0, RELATION_MAX);
}

int validate_registration(const char *s)
{
    return validate_text(s, 1, REGISTRATION_MAX);
}

int validate_vehicle_field(const char *s)
{
    return validate_text(s, 0, VEHICLE_FIELD_MAX);
}

int validate_api_key_name(const char *s)
{
    return validate_text(s, 1, API_KEY_NAME_MAX);
}

/* The host of a tiles URL (from after "://" up to '/', '?' or the end). */
static int map_tiles_host(const char *host, size_t len)
{
    if (len >= 4 && memcmp(host, "{s}.", 4) == 0) {
        host += 4;
        len -= 4;
    }
    if (len == 0)
        return -NA_EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !strchr(".-:[]", c))
            return -NA_EINVAL;
    }
    return 0;
}

int validate_map_tiles(const char *s)
{
    size_t n = strlen(s), skip;
    if (n > MAP_TILES_MAX)
        return -NA_EINVAL;
    if (strncmp(s, "https://", 8) == 0)
        skip = 8;
    else if (strncmp(s, "http://", 7) == 0)
        skip = 7;
    else
        return -NA_EINVAL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("\"';,\\<>`", *p))
            return -NA_EINVAL;
    if (!strstr(s, "{z}") || !strstr(s, "{x}") || !strstr(s, "{y}"))
        return -NA_EINVAL;
    return map_tiles_host(s + skip, strcspn(s + skip, "/?#"));
}

int validate_map_attribution(const char *s)
{
    return validate_text(s, 1, MAP_ATTRIBUTION_MAX);
}
