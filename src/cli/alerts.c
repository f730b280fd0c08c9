#include "cli/alerts.h"

#include <string.h>

#include "util/error.h"

int alerts_format_id(const unsigned char rnd[16], char *dst, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t j = 0;
    if (n < ALERTS_ID_TEXT)
        return -NA_ETOOBIG;
    memcpy(b, rnd, sizeof(b));
    /* RFC 9562: version 4 (random), variant 10. */
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            dst[j++] = '-';
        dst[j++] = hex[b[i] >> 4];
        dst[j++] = hex[b[i] & 0x0f];
    }
    dst[j] = '\0';
    return 0;
}

bool alerts_retryable(enum client_error_kind kind, long status)
{
    return kind == CLIENT_ERR_TRANSPORT || (kind == CLIENT_ERR_SERVER && status == 503);
}

long alerts_retry_delay_ms(int attempt)
{
    /* 0.5 s, 1 s, 2 s: a dead spot often clears within seconds; a person is waiting. */
    if (attempt < 1)
        attempt = 1;
    if (attempt > ALERTS_RETRIES)
        attempt = ALERTS_RETRIES;
    return 500L << (attempt - 1);
}

int alerts_parse_yes_no(const char *s, bool *out)
{
    if (strcmp(s, "yes") == 0)
        *out = true;
    else if (strcmp(s, "no") == 0)
        *out = false;
    else
        return -NA_EINVAL;
    return 0;
}
