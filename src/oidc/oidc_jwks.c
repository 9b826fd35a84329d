/* Reads an IdP's JWKS and keeps only the public signing keys usher can use: RSA (2048 bits or
 * more) and EC P-256, each reduced to its public parameters so no private or unexpected member
 * ever reaches libjose. */
#include <string.h>

#include "base/error.h"
#include "oidc/oidc.h"
#include "oidc/oidc_int.h"

#define JWKS_ENTRIES_MAX 256 /* entries looked at in one "keys" array */
#define KID_MAX          256

static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

/* Whether member key of jwk is base64url of min..max bytes. */
static bool b64_member_ok(struct arena *a, const json_t *jwk, const char *key, size_t min,
                          size_t max)
{
    const char *s = NULL;
    if (oidc_json_string(&s, jwk, key, max / 3 * 4 + 8) != 1)
        return false;
    size_t n = 0;
    return oidc_b64url_decode(a, s, strlen(s), &n) != NULL && n >= min && n <= max;
}

static bool key_ops_allow_verify(const json_t *jwk)
{
    json_t *ops = json_object_get(jwk, "key_ops");
    if (!ops)
        return true;
    if (!json_is_array(ops))
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(ops, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), "verify") == 0)
            return true;
    }
    return false;
}

/* The public copy of jwk when usher can verify with it under algs, else NULL. */
static json_t *key_usable(struct arena *a, const json_t *jwk, unsigned algs)
{
    if (!json_is_object(jwk))
        return NULL;
    const char *kty = NULL, *use = NULL, *alg = NULL, *kid = NULL, *crv = NULL;
    if (oidc_json_string(&kty, jwk, "kty", 8) != 1 || oidc_json_string(&use, jwk, "use", 16) < 0 ||
        oidc_json_string(&alg, jwk, "alg", 16) < 0 ||
        oidc_json_string(&kid, jwk, "kid", KID_MAX) < 0)
        return NULL;
    if (use && strcmp(use, "sig") != 0)
        return NULL;
    if (!key_ops_allow_verify(jwk))
        return NULL;
    for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
        if (json_object_get(jwk, private_members[i]))
            return NULL;
    }
    unsigned alg_bit = 0;
    if (alg) {
        alg_bit = oidc_alg_from_name(alg);
        if (!(alg_bit & algs))
            return NULL;
    }
    json_t *out = NULL;
    if (strcmp(kty, "RSA") == 0) {
        if (alg_bit & ~(unsigned)(OIDC_ALG_RS256 | OIDC_ALG_PS256))
            return NULL;
        if (!(algs & (OIDC_ALG_RS256 | OIDC_ALG_PS256)))
            return NULL;
        /* 2048 to 8192 bits; an exponent of at most 8 bytes. */
        if (!b64_member_ok(a, jwk, "n", 256, 1024) || !b64_member_ok(a, jwk, "e", 1, 8))
            return NULL;
        out = json_pack("{s:s, s:O, s:O}", "kty", "RSA", "n", json_object_get(jwk, "n"), "e",
                        json_object_get(jwk, "e"));
    } else if (strcmp(kty, "EC") == 0) {
        if (alg_bit & ~(unsigned)OIDC_ALG_ES256)
            return NULL;
        if (!(algs & OIDC_ALG_ES256))
            return NULL;
        if (oidc_json_string(&crv, jwk, "crv", 8) != 1 || strcmp(crv, "P-256") != 0)
            return NULL;
        if (!b64_member_ok(a, jwk, "x", 32, 32) || !b64_member_ok(a, jwk, "y", 32, 32))
            return NULL;
        out = json_pack("{s:s, s:s, s:O, s:O}", "kty", "EC", "crv", "P-256", "x",
                        json_object_get(jwk, "x"), "y", json_object_get(jwk, "y"));
    } else {
        return NULL;
    }
    if (out && kid)
        json_object_set_new(out, "kid", json_string(kid));
    if (out && alg)
        json_object_set_new(out, "alg", json_string(alg));
    return out;
}

int oidc_jwks_parse(json_t **out, const char *body, size_t len, unsigned algs,
                    struct usher_error *err)
{
    int rc = 0;
    struct arena a;
    arena_init(&a);
    json_t *doc = NULL, *keys = json_array();
    *out = NULL;
    if (algs == 0)
        algs = OIDC_ALGS_DEFAULT;
    doc = len <= OIDC_DOC_MAX ? oidc_json_object(body, len) : NULL;
    json_t *arr = doc ? json_object_get(doc, "keys") : NULL;
    if (!json_is_array(arr)) {
        rc = usher_error_set(err, USHER_EINVAL, "oidc_jwks_invalid", NULL,
                             "JWKS is not a JSON object with a keys array");
        goto done;
    }
    size_t i;
    json_t *jwk;
    json_array_foreach(arr, i, jwk)
    {
        if (i >= JWKS_ENTRIES_MAX) {
            rc = usher_error_set(err, USHER_EINVAL, "oidc_jwks_too_many", NULL,
                                 "JWKS has more than %d entries", JWKS_ENTRIES_MAX);
            goto done;
        }
        json_t *k = key_usable(&a, jwk, algs);
        if (!k)
            continue;
        if (json_array_size(keys) >= OIDC_JWKS_KEYS_MAX) {
            json_decref(k);
            rc = usher_error_set(err, USHER_EINVAL, "oidc_jwks_too_many", NULL,
                                 "JWKS has more than %d usable keys", OIDC_JWKS_KEYS_MAX);
            goto done;
        }
        json_array_append_new(keys, k);
    }
    if (json_array_size(keys) == 0) {
        rc = usher_error_set(err, USHER_EINVAL, "oidc_jwks_empty", NULL,
                             "JWKS holds no RSA or EC P-256 signing key usher may use");
        goto done;
    }
    *out = json_pack("{s:O}", "keys", keys);
done:
    json_decref(keys);
    json_decref(doc);
    arena_dispose(&a);
    return rc;
}

bool oidc_jwks_has_kid(const json_t *jwks, const char *kid)
{
    json_t *keys = json_object_get(jwks, "keys");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *have = NULL;
        if (kid && oidc_json_string(&have, k, "kid", KID_MAX) == 1 && strcmp(have, kid) == 0)
            return true;
    }
    return false;
}
