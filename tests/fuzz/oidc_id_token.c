/* Fuzzes ID token verification. Input: header JSON NUL payload JSON NUL raw token. The header
 * and payload are signed with this process's ES256 or RS256 key when the header asks for one
 * of those (so the claim checks behind the signature are reached), else joined with a junk
 * signature. Properties: an accepted token had an allowed alg, the expected issuer, audience
 * and nonce, a subject of 1..255 bytes, an exp after now - skew and an iat before now + skew,
 * and email_verified is true only for JSON true; a raw token (signed by no key of this
 * process) is never accepted; every refusal is USHER_EUNAUTH with an id_token_* problem. */
#include <jose/jose.h>
#include <string.h>

#include "base/arena.h"
#include "base/error.h"
#include "fuzz.h"
#include "oidc/oidc.h"

#define ISSUER    "https://idp.example.org"
#define CLIENT_ID "usher-client"
#define NONCE     "n-0S6_WzA2Mj"
#define NOW       1800000000LL
#define SKEW      120

static json_t *key_es, *key_rs, *jwks;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    key_es = json_pack("{s:s, s:s}", "alg", "ES256", "kid", "es");
    key_rs = json_pack("{s:s, s:s}", "alg", "RS256", "kid", "rs");
    FUZZ_CHECK(jose_jwk_gen(NULL, key_es) && jose_jwk_gen(NULL, key_rs));
    json_t *pub_es = json_deep_copy(key_es), *pub_rs = json_deep_copy(key_rs);
    FUZZ_CHECK(jose_jwk_pub(NULL, pub_es) && jose_jwk_pub(NULL, pub_rs));
    json_t *doc = json_pack("{s:[o, o]}", "keys", pub_es, pub_rs);
    char *text = json_dumps(doc, JSON_COMPACT);
    struct usher_error err = {0};
    FUZZ_CHECK(oidc_jwks_parse(&jwks, text, strlen(text), 0, &err) == 0);
    free(text);
    json_decref(doc);
    return 0;
}

static char *b64(const char *s)
{
    json_t *enc = jose_b64_enc(s, strlen(s));
    char *out = strdup(json_string_value(enc));
    json_decref(enc);
    return out;
}

/* header.payload signed by our key for the header's alg, or with a junk signature. */
static char *token_make(const char *header, const char *payload)
{
    json_t *hdr = json_loads(header, JSON_REJECT_DUPLICATES, NULL);
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    const json_t *key = NULL;
    if (alg && strcmp(alg, "ES256") == 0)
        key = key_es;
    else if (alg && strcmp(alg, "RS256") == 0)
        key = key_rs;
    char *p64 = b64(payload);
    char *out = NULL;
    if (key && json_is_object(hdr)) {
        json_t *jws = json_pack("{s:s}", "payload", p64);
        json_t *sig = json_pack("{s:O}", "protected", hdr);
        if (jose_jws_sig(NULL, jws, sig, key)) {
            const char *ph = json_string_value(json_object_get(jws, "protected"));
            const char *s = json_string_value(json_object_get(jws, "signature"));
            size_t len = strlen(ph) + strlen(p64) + strlen(s) + 3;
            out = malloc(len);
            snprintf(out, len, "%s.%s.%s", ph, p64, s);
        }
        json_decref(sig);
        json_decref(jws);
    }
    if (!out) {
        char *h64 = b64(header);
        size_t len = strlen(h64) + strlen(p64) + 8;
        out = malloc(len);
        snprintf(out, len, "%s.%s.AAAA", h64, p64);
        free(h64);
    }
    free(p64);
    json_decref(hdr);
    return out;
}

static int verify(struct arena *a, struct oidc_claims *c, const char *token)
{
    struct oidc_id_token_check check = {
        .issuer = ISSUER, .client_id = CLIENT_ID, .nonce = NONCE, .now_s = NOW, .skew_s = SKEW};
    struct usher_error err = {0};
    int rc = oidc_id_token_verify(c, a, token, jwks, &check, &err);
    if (rc) {
        FUZZ_CHECK(rc == USHER_EUNAUTH && strncmp(err.problem, "id_token_", 9) == 0);
        FUZZ_CHECK(c->sub == NULL);
    }
    return rc;
}

static void accepted_check(const struct oidc_claims *c, const char *payload)
{
    json_t *p = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(p);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(p, "iss")), ISSUER) == 0);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(p, "nonce")), NONCE) == 0);
    size_t sub_len = strlen(c->sub);
    FUZZ_CHECK(sub_len >= 1 && sub_len <= OIDC_SUB_MAX);
    FUZZ_CHECK(strcmp(c->sub, json_string_value(json_object_get(p, "sub"))) == 0);
    FUZZ_CHECK(c->exp > NOW - SKEW && c->iat <= NOW + SKEW);
    FUZZ_CHECK(c->email_verified == json_is_true(json_object_get(p, "email_verified")));
    json_t *aud = json_object_get(p, "aud");
    if (json_is_string(aud))
        FUZZ_CHECK(strcmp(json_string_value(aud), CLIENT_ID) == 0);
    else
        FUZZ_CHECK(json_is_array(aud));
    json_decref(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[3];
    fuzz_fields_split(f, 3, data, size);
    struct arena a;
    arena_init(&a);
    struct oidc_claims c;
    char *token = token_make(f[0], f[1]);
    if (verify(&a, &c, token) == 0)
        accepted_check(&c, f[1]);
    FUZZ_CHECK(verify(&a, &c, f[2]) != 0);
    (void)oidc_id_token_kid(&a, f[2]);
    free(token);
    arena_dispose(&a);
    fuzz_fields_free(f, 3);
    return 0;
}
