/* Bounded JSON and base64url helpers shared by the discovery, JWKS, token and ID token
 * parsers: everything an IdP sends is read through these. */
#include <sodium.h>
#include <string.h>

#include "oidc/oidc.h"
#include "oidc/oidc_int.h"

json_t *oidc_json_object(const char *text, size_t len)
{
    if (!text || len == 0 || len > OIDC_DOC_MAX)
        return NULL;
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

unsigned char *oidc_b64url_decode(struct arena *a, const char *text, size_t len, size_t *out_len)
{
    size_t cap = len / 4 * 3 + 3;
    unsigned char *buf = arena_alloc(a, cap + 1);
    size_t n = 0;
    const char *end = NULL;
    if (sodium_base642bin(buf, cap, text, len, NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text + len)
        return NULL;
    buf[n] = '\0';
    *out_len = n;
    return buf;
}

int oidc_json_string(const char **out, const json_t *obj, const char *key, size_t max)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0 || len > max || memchr(s, '\0', len))
        return -1;
    *out = s;
    return 1;
}
