/* Fuzzes the JWKS parser. Input: the document. Properties: an accepted set holds 1 to
 * OIDC_JWKS_KEYS_MAX keys, each RSA or EC P-256 with only public members and an alg, when
 * present, that usher allows and that fits the key type; parsing the kept set again keeps it
 * unchanged; every kept kid is found by oidc_jwks_has_kid; restricting the algorithms never
 * keeps more keys. */
#include <string.h>

#include "base/error.h"
#include "fuzz.h"
#include "oidc/oidc.h"

static const char *const allowed_members[] = {"kty", "kid", "alg", "n", "e", "crv", "x", "y"};

static void key_check(json_t *k)
{
    const char *key;
    json_t *v;
    json_object_foreach(k, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(allowed_members) / sizeof(allowed_members[0]); i++)
            known = known || strcmp(key, allowed_members[i]) == 0;
        FUZZ_CHECK(known && json_is_string(v));
    }
    const char *kty = json_string_value(json_object_get(k, "kty"));
    const char *alg = json_string_value(json_object_get(k, "alg"));
    FUZZ_CHECK(kty);
    if (strcmp(kty, "RSA") == 0) {
        FUZZ_CHECK(json_object_get(k, "n") && json_object_get(k, "e"));
        FUZZ_CHECK(!alg || strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0);
    } else {
        FUZZ_CHECK(strcmp(kty, "EC") == 0);
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(k, "crv")), "P-256") == 0);
        FUZZ_CHECK(!alg || strcmp(alg, "ES256") == 0);
    }
}

static size_t parse(json_t **out, const char *text, size_t len, unsigned algs)
{
    struct usher_error err = {0};
    int rc = oidc_jwks_parse(out, text, len, algs, &err);
    if (rc) {
        FUZZ_CHECK(rc == USHER_EINVAL && *out == NULL && err.problem[0]);
        return 0;
    }
    return json_array_size(json_object_get(*out, "keys"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    json_t *jwks = NULL, *again = NULL, *es_only = NULL;
    size_t count = parse(&jwks, text, size, 0);
    if (jwks) {
        FUZZ_CHECK(count >= 1 && count <= OIDC_JWKS_KEYS_MAX);
        size_t i;
        json_t *k;
        json_array_foreach(json_object_get(jwks, "keys"), i, k)
        {
            key_check(k);
            const char *kid = json_string_value(json_object_get(k, "kid"));
            if (kid)
                FUZZ_CHECK(oidc_jwks_has_kid(jwks, kid));
        }
        char *dumped = json_dumps(jwks, JSON_COMPACT);
        FUZZ_CHECK(dumped);
        FUZZ_CHECK(parse(&again, dumped, strlen(dumped), 0) == count);
        FUZZ_CHECK(json_equal(again, jwks));
        free(dumped);
    }
    size_t es_count = parse(&es_only, text, size, OIDC_ALG_ES256);
    FUZZ_CHECK(es_count <= count || count == 0);
    json_decref(es_only);
    json_decref(again);
    json_decref(jwks);
    free(text);
    return 0;
}
