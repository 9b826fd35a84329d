/* The values that tie a sign-in to one browser: state, nonce and PKCE verifier (32 random
 * bytes each), the S256 challenge, and the strict reading of the IdP's redirect back. */
#include <sodium.h>
#include <string.h>

#include "base/error.h"
#include "oidc/oidc.h"

void oidc_random_new(char out[OIDC_RANDOM_CHARS + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, OIDC_RANDOM_CHARS + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

void oidc_pkce_challenge(char out[OIDC_RANDOM_CHARS + 1], const char *verifier)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)verifier, strlen(verifier));
    sodium_bin2base64(out, OIDC_RANDOM_CHARS + 1, digest, sizeof(digest),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent- and '+'-decodes s[0..len) into a; NULL on a bad escape or a control character. */
static char *query_decode(struct arena *a, const char *s, size_t len)
{
    char *out = arena_alloc(a, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (len - i < 3)
                return NULL;
            int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
            if (h < 0 || l < 0)
                return NULL;
            c = (unsigned char)(h * 16 + l);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return NULL;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return out;
}

int oidc_callback_parse(struct oidc_callback *out, struct arena *a, const char *query,
                        struct usher_error *err)
{
    static const char *const names[] = {"code", "state", "error", "error_description"};
    const char **slots[] = {&out->code, &out->state, &out->error, &out->error_description};
    memset(out, 0, sizeof(*out));
    const char *q = query ? query : "";
    if (strnlen(q, OIDC_QUERY_MAX + 1) > OIDC_QUERY_MAX)
        return usher_error_set(err, USHER_EINVAL, "oidc_callback_too_large", NULL,
                               "callback query is longer than %d bytes", OIDC_QUERY_MAX);
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t name_len = eq ? (size_t)(eq - q) : len;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strlen(names[i]) != name_len || memcmp(names[i], q, name_len) != 0)
                continue;
            if (*slots[i]) {
                memset(out, 0, sizeof(*out));
                return usher_error_set(err, USHER_EINVAL, "oidc_callback_duplicate", names[i],
                                       "callback query has %s twice", names[i]);
            }
            const char *v = eq ? eq + 1 : q + len;
            char *value = query_decode(a, v, (size_t)(q + len - v));
            if (!value) {
                memset(out, 0, sizeof(*out));
                return usher_error_set(err, USHER_EINVAL, "oidc_callback_invalid", names[i],
                                       "callback query has a bad %s", names[i]);
            }
            *slots[i] = value;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    if ((!out->code || !*out->code) && (!out->error || !*out->error)) {
        memset(out, 0, sizeof(*out));
        return usher_error_set(err, USHER_EINVAL, "oidc_callback_invalid", "code",
                               "callback query has neither code nor error");
    }
    return 0;
}
