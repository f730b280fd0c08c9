#ifndef NA_CORE_VALIDATE_H
#define NA_CORE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Field rules of docs/api.md ("Field limits"). Each takes a NUL-terminated UTF-8 string
 * (the JSON parser has already refused bad UTF-8 and NUL) and returns 0 or -NA_EINVAL.
 * Lengths are in characters (code points) unless said otherwise. "Control characters" are
 * C0, DEL, C1 (U+0080-U+009F) and the separators U+2028 and U+2029.
 */

#define USERNAME_MAX             64
#define NAME_MAX_CHARS           200
#define EMAIL_MAX                254
#define PHONE_MAX                32
#define ADDRESS_MAX              500
#define RELATION_MAX             100
#define PASSWORD_MIN_BYTES       10
#define PASSWORD_MAX_BYTES       256
#define LOGIN_PASSWORD_MAX_BYTES 1024
#define REGISTRATION_MAX         16
#define VEHICLE_FIELD_MAX        64
#define API_KEY_NAME_MAX         100
#define MAP_TILES_MAX            2048
#define MAP_ATTRIBUTION_MAX      300

/* Number of UTF-8 code points in s. */
size_t utf8_length(const char *s);

/* Lowercase letters, digits, . _ - ; starts with a letter or digit. Input already lowercase. */
int validate_username(const char *s);
/* Display, organisation and team names: 1-200 characters, no control characters. */
int validate_name(const char *s);
int validate_email(const char *s);
int validate_phone(const char *s);
/* 1-500 characters; newlines allowed, other control characters not. */
int validate_address(const char *s);
/* A free-text field of min..max characters with no control characters. */
int validate_text(const char *s, size_t min, size_t max);
/* Next of kin's relation: 0-100 characters. */
int validate_relation(const char *s);
/* Vehicle registration: 1-16 characters. */
int validate_registration(const char *s);
/* Vehicle make, model, colour: 0-64 characters. */
int validate_vehicle_field(const char *s);
/* API key name: 1-100 characters. */
int validate_api_key_name(const char *s);
/* New password: 10-256 bytes. */
int validate_new_password(const char *s, size_t len);
/*
 * Map tiles URL template (console's map_tiles setting): http:// or https://, at most
 * MAP_TILES_MAX bytes, containing {z}, {x} and {y}; a host of letters, digits, '.', '-',
 * ':' and '[' ']' (IPv6), optionally led by "{s}." (subdomains); and nothing that could
 * break out of the Content-Security-Policy it goes into: no space, control, quote, ';',
 * ',', '\', '<', '>' or '`'.
 */
int validate_map_tiles(const char *s);
/* Map attribution shown under the map: 1-300 characters, no control characters. */
int validate_map_attribution(const char *s);

#endif
