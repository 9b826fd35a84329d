/* The flat-object reader: a hand-written scanner over the accepted subset of JSON. */
#include "base/json_flat.h"

#include <stdint.h>
#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t json_flat_space(const char *text, size_t len, size_t pos)
{
    while (pos < len && is_space(text[pos]))
        pos++;
    return pos;
}

bool json_flat_char(char c, const char *text, size_t len, size_t *pos)
{
    size_t p = json_flat_space(text, len, *pos);
    if (p >= len || text[p] != c)
        return false;
    *pos = p + 1;
    return true;
}

/* Printable ASCII (0x20 to 0x7E) but the quote and the backslash, as a bitmap of the first 128
 * byte values. */
static const uint64_t plain_bytes[2] = {0xFFFFFFFB00000000ULL, 0x7FFFFFFFEFFFFFFFULL};

static bool is_plain(unsigned char c)
{
    return c < 128 && ((plain_bytes[c >> 6] >> (c & 63)) & 1);
}

/* A string of printable ASCII without backslash; *pos is on the opening quote. */
static bool plain_string(const char **out, size_t *out_len, const char *text, size_t len,
                         size_t *pos)
{
    size_t p = *pos;
    if (p >= len || text[p] != '"')
        return false;
    size_t start = ++p;
    while (p < len && is_plain((unsigned char)text[p]))
        p++;
    if (p >= len || text[p] != '"')
        return false;
    *out = text + start;
    *out_len = p - start;
    *pos = p + 1;
    return true;
}

bool json_flat_key(const char *key, const char *text, size_t len, size_t *pos)
{
    size_t p = json_flat_space(text, len, *pos);
    const char *k;
    size_t k_len;
    if (!plain_string(&k, &k_len, text, len, &p) || k_len != strlen(key) ||
        memcmp(k, key, k_len) != 0)
        return false;
    if (!json_flat_char(':', text, len, &p))
        return false;
    *pos = p;
    return true;
}

bool json_flat_object(struct json_flat_member *out, size_t max, size_t *count, const char *text,
                      size_t len, size_t *pos)
{
    size_t p = *pos;
    size_t n = 0;
    *count = 0;
    if (!json_flat_char('{', text, len, &p))
        return false;
    if (json_flat_char('}', text, len, &p)) {
        *pos = p;
        return true;
    }
    for (;;) {
        if (n == max)
            return false;
        struct json_flat_member *m = &out[n];
        p = json_flat_space(text, len, p);
        if (!plain_string(&m->key, &m->key_len, text, len, &p) ||
            !json_flat_char(':', text, len, &p))
            return false;
        p = json_flat_space(text, len, p);
        if (!plain_string(&m->value, &m->value_len, text, len, &p))
            return false;
        n++;
        if (json_flat_char('}', text, len, &p))
            break;
        if (!json_flat_char(',', text, len, &p))
            return false;
    }
    *count = n;
    *pos = p;
    return true;
}
