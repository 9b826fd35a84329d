/* ID token verification: valid tokens of each allowed algorithm, and every way a token can be
 * wrong (issuer, audience, azp, expiry, issue time, nonce, subject, algorithm, key choice,
 * signature, size), each with its own reason code. Keys are made and tokens signed by libjose
 * as an IdP would. */
#include "oidc_test.h"

#include "base/arena.h"
#include "base/error.h"
#include "oidc/oidc.h"

#define NOW       1800000000LL
#define ISSUER    "https://idp.example.org"
#define CLIENT_ID "usher-client"
#define NONCE     "n-0S6_WzA2Mj"

static json_t *key_rs, *key_ps, *key_es, *key_rs2;

struct fixture {
    struct arena a;
    struct usher_error err;
    struct oidc_claims claims;
    json_t *jwks; /* all four keys, as oidc_jwks_parse keeps them */
};

static json_t *jwks_of(bool drop_alg, json_t *const *keys)
{
    char *text = test_jwks_text(drop_alg, keys);
    json_t *jwks = NULL;
    struct usher_error err = {0};
    assert_int_equal(oidc_jwks_parse(&jwks, text, strlen(text), 0, &err), 0);
    free(text);
    return jwks;
}

static int group_setup(void **state)
{
    (void)state;
    key_rs = test_key_new("RS256", "rs");
    key_ps = test_key_new("PS256", "ps");
    key_es = test_key_new("ES256", "es");
    key_rs2 = test_key_new("RS256", "rs2");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    json_decref(key_rs);
    json_decref(key_ps);
    json_decref(key_es);
    json_decref(key_rs2);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    arena_init(&f->a);
    json_t *all[] = {key_rs, key_ps, key_es, key_rs2, NULL};
    f->jwks = jwks_of(false, all);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    json_decref(f->jwks);
    arena_dispose(&f->a);
    free(f);
    return 0;
}

/* The claims of a valid token; tests change them before signing. */
static json_t *claims_new(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:s, s:s, s:s}", "iss", ISSUER,
                     "sub", "248289761001", "aud", CLIENT_ID, "exp", (json_int_t)(NOW + 300), "iat",
                     (json_int_t)(NOW - 10), "nonce", NONCE, "email", "ana@example.org",
                     "email_verified", 1, "name", "Ana Lima", "given_name", "Ana", "family_name",
                     "Lima");
}

/* A token signed with key under alg; kid NULL leaves it out of the header. Takes claims. */
static char *sign(const json_t *key, const char *alg, const char *kid, json_t *claims)
{
    json_t *hdr = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");
    if (kid)
        json_object_set_new(hdr, "kid", json_string(kid));
    char *h = json_dumps(hdr, JSON_COMPACT);
    char *p = json_dumps(claims, JSON_COMPACT);
    char *token = test_token_sign(h, p, key);
    free(h);
    free(p);
    json_decref(hdr);
    json_decref(claims);
    return token;
}

static int verify_with(struct fixture *f, const char *token, const json_t *jwks, unsigned algs)
{
    struct oidc_id_token_check check = {.issuer = ISSUER,
                                        .client_id = CLIENT_ID,
                                        .nonce = NONCE,
                                        .algs = algs,
                                        .now_s = NOW,
                                        .skew_s = 120};
    usher_error_clear(&f->err);
    return oidc_id_token_verify(&f->claims, &f->a, token, jwks, &check, &f->err);
}

static int verify(struct fixture *f, const char *token)
{
    return verify_with(f, token, f->jwks, 0);
}

/* Asserts that token is refused with problem, and frees it. */
static void refused(struct fixture *f, char *token, const char *problem)
{
    assert_int_equal(verify(f, token), USHER_EUNAUTH);
    assert_string_equal(f->err.problem, problem);
    assert_null(f->claims.sub);
    free(token);
}

static void accepted(struct fixture *f, char *token)
{
    int rc = verify(f, token);
    if (rc)
        fail_msg("refused: %s (%s)", f->err.problem, f->err.message);
    assert_string_equal(f->claims.sub, "248289761001");
    free(token);
}

static void test_id_token_verify__accepts_rs256_and_returns_the_claims(void **state)
{
    struct fixture *f = *state;
    char *token = sign(key_rs, "RS256", "rs", claims_new());
    assert_int_equal(verify(f, token), 0);
    assert_string_equal(f->claims.sub, "248289761001");
    assert_string_equal(f->claims.email, "ana@example.org");
    assert_true(f->claims.email_verified);
    assert_string_equal(f->claims.name, "Ana Lima");
    assert_string_equal(f->claims.given_name, "Ana");
    assert_string_equal(f->claims.family_name, "Lima");
    assert_int_equal(f->claims.exp, NOW + 300);
    assert_int_equal(f->claims.iat, NOW - 10);
    free(token);
}

static void test_id_token_verify__accepts_ps256(void **state)
{
    accepted(*state, sign(key_ps, "PS256", "ps", claims_new()));
}

static void test_id_token_verify__accepts_es256(void **state)
{
    accepted(*state, sign(key_es, "ES256", "es", claims_new()));
}

static void test_id_token_verify__takes_email_verified_only_as_json_true(void **state)
{
    struct fixture *f = *state;
    json_t *c = claims_new();
    json_object_set_new(c, "email_verified", json_string("true"));
    char *token = sign(key_rs, "RS256", "rs", c);
    assert_int_equal(verify(f, token), 0);
    assert_false(f->claims.email_verified);
    free(token);
}

static void test_id_token_verify__refuses_another_issuer(void **state)
{
    json_t *c = claims_new();
    json_object_set_new(c, "iss", json_string(ISSUER "/"));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_wrong_issuer");
    c = claims_new();
    json_object_del(c, "iss");
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_wrong_issuer");
}

static void test_id_token_verify__refuses_another_audience(void **state)
{
    json_t *c = claims_new();
    json_object_set_new(c, "aud", json_string("another-client"));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_wrong_audience");
    c = claims_new();
    json_object_set_new(c, "aud", json_pack("[s, s]", "a", "b"));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_wrong_audience");
    c = claims_new();
    json_object_del(c, "aud");
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_wrong_audience");
    c = claims_new();
    json_object_set_new(c, "aud", json_stringn(CLIENT_ID "\0x", sizeof(CLIENT_ID) + 1));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_malformed");
}

static void test_id_token_verify__wants_azp_equal_to_the_client_when_aud_has_several(void **state)
{
    json_t *c = claims_new();
    json_object_set_new(c, "aud", json_pack("[s, s]", CLIENT_ID, "other"));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_azp_missing");
    c = claims_new();
    json_object_set_new(c, "aud", json_pack("[s, s]", CLIENT_ID, "other"));
    json_object_set_new(c, "azp", json_string("other"));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_wrong_azp");
    c = claims_new();
    json_object_set_new(c, "aud", json_pack("[s, s]", CLIENT_ID, "other"));
    json_object_set_new(c, "azp", json_string(CLIENT_ID));
    accepted(*state, sign(key_rs, "RS256", "rs", c));
    /* One audience in an array needs no azp. */
    c = claims_new();
    json_object_set_new(c, "aud", json_pack("[s]", CLIENT_ID));
    accepted(*state, sign(key_rs, "RS256", "rs", c));
}

static void test_id_token_verify__refuses_a_missing_or_oversized_subject(void **state)
{
    json_t *c = claims_new();
    json_object_del(c, "sub");
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_sub_missing");
    c = claims_new();
    json_object_set_new(c, "sub", json_string(""));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_sub_missing");
    char long_sub[300];
    memset(long_sub, 'x', sizeof(long_sub) - 1);
    long_sub[sizeof(long_sub) - 1] = '\0';
    c = claims_new();
    json_object_set_new(c, "sub", json_string(long_sub));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_sub_too_long");
}

static void test_id_token_verify__refuses_a_missing_or_wrong_nonce(void **state)
{
    json_t *c = claims_new();
    json_object_del(c, "nonce");
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_nonce_missing");
    c = claims_new();
    json_object_set_new(c, "nonce", json_string(NONCE "x"));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_wrong_nonce");
    /* An embedded NUL cannot cut the comparison short: a payload with \u0000 in a string is
     * not read at all. */
    c = claims_new();
    json_object_set_new(c, "nonce", json_stringn(NONCE "\0x", sizeof(NONCE) + 1));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_malformed");
}

static void test_id_token_verify__refuses_an_expired_token_beyond_the_skew(void **state)
{
    json_t *c = claims_new();
    json_object_set_new(c, "exp", json_integer(NOW - 121));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_expired");
    c = claims_new();
    json_object_set_new(c, "exp", json_integer(NOW - 60)); /* within the skew */
    accepted(*state, sign(key_rs, "RS256", "rs", c));
    c = claims_new();
    json_object_del(c, "exp");
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_bad_claim");
}

static void test_id_token_verify__refuses_a_token_issued_in_the_future(void **state)
{
    json_t *c = claims_new();
    json_object_set_new(c, "iat", json_integer(NOW + 3600));
    refused(*state, sign(key_rs, "RS256", "rs", c), "id_token_issued_in_future");
    c = claims_new();
    json_object_set_new(c, "iat", json_integer(NOW + 100)); /* within the skew */
    accepted(*state, sign(key_rs, "RS256", "rs", c));
}

static void test_id_token_verify__refuses_alg_none(void **state)
{
    struct fixture *f = *state;
    json_t *c = claims_new();
    char *p = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    /* As "none" tokens come (empty signature) and with a signature part added. */
    refused(f, test_token_raw("{\"alg\":\"none\"}", p, ""), "id_token_malformed");
    refused(f, test_token_raw("{\"alg\":\"none\",\"kid\":\"rs\"}", p, "AAAA"),
            "id_token_alg_refused");
    refused(f, test_token_raw("{\"alg\":\"None\"}", p, "AAAA"), "id_token_alg_refused");
    free(p);
}

static void test_id_token_verify__refuses_hs256_keyed_with_the_public_key(void **state)
{
    struct fixture *f = *state;
    json_t *pub = test_key_public(key_rs, false);
    /* The attack: HMAC keyed with the bytes the RP holds as the public key (its JWK text, and
     * its modulus), hoping the verifier feeds them to HMAC. */
    char *pub_text = json_dumps(pub, JSON_COMPACT);
    const char *n = json_string_value(json_object_get(pub, "n"));
    const char *secrets[] = {pub_text, n};
    for (size_t i = 0; i < 2; i++) {
        char *k = test_b64(secrets[i], strlen(secrets[i]));
        json_t *oct = json_pack("{s:s, s:s}", "kty", "oct", "k", k);
        refused(f, sign(oct, "HS256", "rs", claims_new()), "id_token_alg_refused");
        refused(f, sign(oct, "HS256", NULL, claims_new()), "id_token_alg_refused");
        json_decref(oct);
        free(k);
    }
    /* HS* can never be put in the allow-list. */
    unsigned algs = 0;
    struct usher_error err = {0};
    assert_int_equal(oidc_algs_parse(&algs, "RS256,HS256", &err), USHER_EINVAL);
    assert_string_equal(err.problem, "oidc_alg_refused");
    usher_error_clear(&err);
    assert_int_equal(oidc_algs_parse(&algs, "none", &err), USHER_EINVAL);
    assert_int_equal(oidc_alg_from_name("HS256"), 0);
    free(pub_text);
    json_decref(pub);
}

/* Flips one character in the middle of the signature part. */
static void signature_spoil(char *token)
{
    char *sig = strrchr(token, '.') + 1;
    size_t i = strlen(sig) / 2;
    sig[i] = sig[i] == 'A' ? 'B' : 'A';
}

static void test_id_token_verify__refuses_a_bad_rs256_signature(void **state)
{
    char *token = sign(key_rs, "RS256", "rs", claims_new());
    signature_spoil(token);
    refused(*state, token, "id_token_bad_signature");
}

static void test_id_token_verify__refuses_a_bad_es256_signature(void **state)
{
    char *token = sign(key_es, "ES256", "es", claims_new());
    signature_spoil(token);
    refused(*state, token, "id_token_bad_signature");
}

static void test_id_token_verify__refuses_a_payload_changed_after_signing(void **state)
{
    struct fixture *f = *state;
    char *good = sign(key_rs, "RS256", "rs", claims_new());
    json_t *c = claims_new();
    json_object_set_new(c, "sub", json_string("admin"));
    char *other = sign(key_rs2, "RS256", "rs2", c);
    /* The payload of other with the header and signature of good. */
    char *g1 = strchr(good, '.'), *g2 = strrchr(good, '.');
    char *o1 = strchr(other, '.'), *o2 = strrchr(other, '.');
    size_t len = strlen(good) + strlen(other);
    char *mixed = malloc(len);
    snprintf(mixed, len, "%.*s%.*s%s", (int)(g1 - good), good, (int)(o2 - o1), o1, g2);
    refused(f, mixed, "id_token_bad_signature");
    free(good);
    free(other);
}

static void test_id_token_verify__refuses_an_algorithm_outside_the_allow_list(void **state)
{
    struct fixture *f = *state;
    char *token = sign(key_rs, "RS256", "rs", claims_new());
    assert_int_equal(verify_with(f, token, f->jwks, OIDC_ALG_ES256), USHER_EUNAUTH);
    assert_string_equal(f->err.problem, "id_token_alg_refused");
    free(token);
}

static void test_id_token_verify__does_not_let_the_header_steer_the_key_alg(void **state)
{
    struct fixture *f = *state;
    /* The rs key is published with alg RS256: a PS256 token naming it is refused before any
     * signature check, even though it is a valid PS256 signature by the same RSA key. */
    json_t *as_ps_key = json_deep_copy(key_rs);
    json_object_set_new(as_ps_key, "alg", json_string("PS256"));
    refused(f, sign(as_ps_key, "PS256", "rs", claims_new()), "id_token_alg_key_mismatch");
    json_decref(as_ps_key);
    /* An EC key named by an RSA token. */
    refused(f, sign(key_rs, "RS256", "es", claims_new()), "id_token_alg_key_mismatch");
    /* A key published without alg: the header's RS256 is what libjose verifies with, so an
     * RS256 signature presented as PS256 does not verify. */
    json_t *only[] = {key_rs, NULL};
    json_t *jwks = jwks_of(true, only);
    char *token = sign(key_rs, "RS256", "rs", claims_new());
    assert_int_equal(verify_with(f, token, jwks, 0), 0);
    char *as_ps = test_token_raw("{\"alg\":\"PS256\",\"kid\":\"rs\"}", "{}", "");
    /* Header of as_ps, payload and signature of token. */
    char *dot = strchr(as_ps, '.');
    size_t len = strlen(as_ps) + strlen(token) + 1;
    char *forged = malloc(len);
    snprintf(forged, len, "%.*s%s", (int)(dot - as_ps), as_ps, strchr(token, '.'));
    assert_int_equal(verify_with(f, forged, jwks, 0), USHER_EUNAUTH);
    assert_string_equal(f->err.problem, "id_token_bad_signature");
    free(forged);
    free(as_ps);
    free(token);
    json_decref(jwks);
}

static void test_id_token_verify__uses_the_only_key_when_kid_is_absent(void **state)
{
    struct fixture *f = *state;
    json_t *only[] = {key_es, NULL};
    json_t *jwks = jwks_of(false, only);
    char *token = sign(key_es, "ES256", NULL, claims_new());
    assert_int_equal(verify_with(f, token, jwks, 0), 0);
    free(token);
    json_decref(jwks);
}

static void test_id_token_verify__tries_each_suitable_key_when_kid_is_absent(void **state)
{
    struct fixture *f = *state;
    /* Two RSA keys (and others): a token by the second verifies, one by no listed key does
     * not. */
    accepted(f, sign(key_rs2, "RS256", NULL, claims_new()));
    json_t *stranger = test_key_new("RS256", "rs");
    refused(f, sign(stranger, "RS256", NULL, claims_new()), "id_token_bad_signature");
    json_decref(stranger);
    /* No key of the right type at all. */
    json_t *only[] = {key_es, NULL};
    json_t *jwks = jwks_of(false, only);
    char *token = sign(key_rs, "RS256", NULL, claims_new());
    assert_int_equal(verify_with(f, token, jwks, 0), USHER_EUNAUTH);
    assert_string_equal(f->err.problem, "id_token_no_key");
    free(token);
    json_decref(jwks);
}

static void test_id_token_verify__refuses_an_unknown_kid(void **state)
{
    refused(*state, sign(key_rs, "RS256", "rotated", claims_new()), "id_token_unknown_kid");
}

static void test_id_token_verify__refuses_an_oversized_or_malformed_token(void **state)
{
    struct fixture *f = *state;
    json_t *c = claims_new();
    char *pad = malloc(OIDC_TOKEN_MAX);
    memset(pad, 'p', OIDC_TOKEN_MAX - 1);
    pad[OIDC_TOKEN_MAX - 1] = '\0';
    json_object_set_new(c, "padding", json_string(pad));
    refused(f, sign(key_rs, "RS256", "rs", c), "id_token_too_large");
    free(pad);
    char *token = sign(key_rs, "RS256", "rs", claims_new());
    size_t len = strlen(token);
    char *four = malloc(len + 8);
    snprintf(four, len + 8, "%s.AAAA", token);
    refused(f, four, "id_token_malformed");
    *strrchr(token, '.') = '\0';
    refused(f, token, "id_token_malformed");
    refused(f, strdup("not a token"), "id_token_malformed");
    refused(f, test_token_raw("[1]", "{}", "AAAA"), "id_token_malformed");
}

static void test_id_token_kid__reads_only_the_header(void **state)
{
    struct fixture *f = *state;
    char *token = sign(key_rs, "RS256", "rs", claims_new());
    assert_string_equal(oidc_id_token_kid(&f->a, token), "rs");
    free(token);
    token = sign(key_rs, "RS256", NULL, claims_new());
    assert_null(oidc_id_token_kid(&f->a, token));
    free(token);
    assert_null(oidc_id_token_kid(&f->a, "%%%.x.y"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_id_token_verify__accepts_rs256_and_returns_the_claims),
        T(test_id_token_verify__accepts_ps256),
        T(test_id_token_verify__accepts_es256),
        T(test_id_token_verify__takes_email_verified_only_as_json_true),
        T(test_id_token_verify__refuses_another_issuer),
        T(test_id_token_verify__refuses_another_audience),
        T(test_id_token_verify__wants_azp_equal_to_the_client_when_aud_has_several),
        T(test_id_token_verify__refuses_a_missing_or_oversized_subject),
        T(test_id_token_verify__refuses_a_missing_or_wrong_nonce),
        T(test_id_token_verify__refuses_an_expired_token_beyond_the_skew),
        T(test_id_token_verify__refuses_a_token_issued_in_the_future),
        T(test_id_token_verify__refuses_alg_none),
        T(test_id_token_verify__refuses_hs256_keyed_with_the_public_key),
        T(test_id_token_verify__refuses_a_bad_rs256_signature),
        T(test_id_token_verify__refuses_a_bad_es256_signature),
        T(test_id_token_verify__refuses_a_payload_changed_after_signing),
        T(test_id_token_verify__refuses_an_algorithm_outside_the_allow_list),
        T(test_id_token_verify__does_not_let_the_header_steer_the_key_alg),
        T(test_id_token_verify__uses_the_only_key_when_kid_is_absent),
        T(test_id_token_verify__tries_each_suitable_key_when_kid_is_absent),
        T(test_id_token_verify__refuses_an_unknown_kid),
        T(test_id_token_verify__refuses_an_oversized_or_malformed_token),
        T(test_id_token_kid__reads_only_the_header),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
