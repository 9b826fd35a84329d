/* The parsers and builders of the oidc module that need no network: the URL rule, discovery,
 * JWKS, the callback query, PKCE/state/nonce, the token request and response, and the sealing
 * of client secrets. */
#include "oidc_test.h"

#include <sodium.h>

#include "base/arena.h"
#include "base/error.h"
#include "oidc/oidc.h"

#define ISSUER "https://idp.example.org"

struct fixture {
    struct arena a;
    struct usher_error err;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    arena_init(&f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    arena_dispose(&f->a);
    free(f);
    return 0;
}

static void test_url_allowed__wants_https_and_loopback_http_only_when_allowed(void **state)
{
    (void)state;
    assert_true(oidc_url_allowed("https://idp.example.org", false));
    assert_true(oidc_url_allowed("https://idp.example.org:8443/realms/a?x=1", false));
    assert_true(oidc_url_allowed("https://10.1.2.3/", false));
    assert_false(oidc_url_allowed("http://idp.example.org", false));
    assert_false(oidc_url_allowed("http://idp.example.org", true));
    assert_false(oidc_url_allowed("http://127.0.0.1:8080/", false));
    assert_true(oidc_url_allowed("http://127.0.0.1:8080/", true));
    assert_true(oidc_url_allowed("http://127.9.8.7/x", true));
    assert_true(oidc_url_allowed("http://localhost:9000", true));
    assert_true(oidc_url_allowed("http://[::1]:9000/", true));
    assert_false(oidc_url_allowed("http://localhost.evil.example/", true));
    assert_false(oidc_url_allowed("http://127.0.0.1.evil.example/", true));
    assert_false(oidc_url_allowed("http://10.0.0.1/", true));
    assert_false(oidc_url_allowed("http://128.0.0.1/", true));
    assert_false(oidc_url_allowed("https://user:pw@idp.example.org/", false));
    assert_false(oidc_url_allowed("https://idp.example.org@evil.example/", false));
    assert_false(oidc_url_allowed("http://evil@127.0.0.1/", true));
    assert_false(oidc_url_allowed("https://idp.example.org/#frag", false));
    assert_false(oidc_url_allowed("https://idp.example.org/a b", false));
    assert_false(oidc_url_allowed("https:///path", false));
    assert_false(oidc_url_allowed("https://idp.example.org:0/", false));
    assert_false(oidc_url_allowed("https://idp.example.org:99999/", false));
    assert_false(oidc_url_allowed("ftp://idp.example.org/", false));
    assert_true(oidc_url_allowed("https://[2001:db8::1]:8443/", false));
    assert_false(oidc_url_allowed("https://[]/", false));
    assert_false(oidc_url_allowed("https://idp[1]/", false));
    assert_false(oidc_url_allowed("https://[::g]/", false));
    assert_false(oidc_url_allowed("https://idp_example.org/", false));
    assert_false(oidc_url_allowed("javascript:alert(1)", true));
    assert_false(oidc_url_allowed("", true));
    assert_false(oidc_url_allowed(NULL, true));
}

static const char discovery_ok[] =
    "{\"issuer\":\"" ISSUER "\","
    "\"authorization_endpoint\":\"" ISSUER "/authorize\","
    "\"token_endpoint\":\"" ISSUER "/token\","
    "\"jwks_uri\":\"" ISSUER "/jwks\","
    "\"end_session_endpoint\":\"" ISSUER "/logout\","
    "\"token_endpoint_auth_methods_supported\":[\"private_key_jwt\",\"client_secret_post\"],"
    "\"id_token_signing_alg_values_supported\":[\"HS256\",\"ES256\",\"none\"],"
    "\"response_types_supported\":[\"code\"]}";

static void test_discovery_parse__reads_endpoints_methods_and_algorithms(void **state)
{
    struct fixture *f = *state;
    struct oidc_discovery d;
    assert_int_equal(
        oidc_discovery_parse(&d, &f->a, discovery_ok, strlen(discovery_ok), ISSUER, false, &f->err),
        0);
    assert_string_equal(d.issuer, ISSUER);
    assert_string_equal(d.authorization_endpoint, ISSUER "/authorize");
    assert_string_equal(d.token_endpoint, ISSUER "/token");
    assert_string_equal(d.jwks_uri, ISSUER "/jwks");
    assert_string_equal(d.end_session_endpoint, ISSUER "/logout");
    assert_int_equal(d.auth_methods, OIDC_AUTH_POST);
    /* HS256 and none are not even representable. */
    assert_int_equal(d.algs, OIDC_ALG_ES256);
}

static int parse_text(struct fixture *f, const char *text, const char *issuer, bool loopback)
{
    struct oidc_discovery d;
    usher_error_clear(&f->err);
    return oidc_discovery_parse(&d, &f->a, text, strlen(text), issuer, loopback, &f->err);
}

static void test_discovery_parse__defaults_to_client_secret_basic(void **state)
{
    struct fixture *f = *state;
    const char *text = "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                       "/a\",\"token_endpoint\":\"" ISSUER "/t\",\"jwks_uri\":\"" ISSUER
                       "/k\",\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
    struct oidc_discovery d;
    assert_int_equal(oidc_discovery_parse(&d, &f->a, text, strlen(text), ISSUER, false, &f->err),
                     0);
    assert_int_equal(d.auth_methods, OIDC_AUTH_BASIC);
    assert_null(d.end_session_endpoint);
    assert_int_equal(d.algs, OIDC_ALG_RS256);
}

static void test_discovery_parse__refuses_another_issuer_byte_for_byte(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(parse_text(f, discovery_ok, ISSUER "/", false), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_issuer_mismatch");
    assert_int_equal(parse_text(f, discovery_ok, "https://IDP.example.org", false), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_issuer_mismatch");
    assert_int_equal(parse_text(f, discovery_ok, "https://evil.example", false), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_issuer_mismatch");
}

static void test_discovery_parse__refuses_http_endpoints_unless_loopback_is_allowed(void **state)
{
    struct fixture *f = *state;
    const char *remote =
        "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
        "/a\",\"token_endpoint\":\"http://idp.example.org/t\",\"jwks_uri\":\"" ISSUER
        "/k\",\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
    assert_int_equal(parse_text(f, remote, ISSUER, true), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_url_refused");
    assert_string_equal(f->err.field, "token_endpoint");
    const char *local = "{\"issuer\":\"http://127.0.0.1:9\",\"authorization_endpoint\":"
                        "\"http://127.0.0.1:9/a\",\"token_endpoint\":\"http://127.0.0.1:9/t\","
                        "\"jwks_uri\":\"http://127.0.0.1:9/k\","
                        "\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
    assert_int_equal(parse_text(f, local, "http://127.0.0.1:9", false), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_url_refused");
    assert_int_equal(parse_text(f, local, "http://127.0.0.1:9", true), 0);
}

static void test_discovery_parse__refuses_missing_members_and_bad_documents(void **state)
{
    struct fixture *f = *state;
    const char *no_jwks = "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                          "/a\",\"token_endpoint\":\"" ISSUER
                          "/t\",\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
    assert_int_equal(parse_text(f, no_jwks, ISSUER, false), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_discovery_invalid");
    assert_string_equal(f->err.field, "jwks_uri");
    const char *hs_only = "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                          "/a\",\"token_endpoint\":\"" ISSUER "/t\",\"jwks_uri\":\"" ISSUER
                          "/k\",\"id_token_signing_alg_values_supported\":[\"HS256\"]}";
    assert_int_equal(parse_text(f, hs_only, ISSUER, false), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_alg_unsupported");
    const char *jwt_auth = "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                           "/a\",\"token_endpoint\":\"" ISSUER "/t\",\"jwks_uri\":\"" ISSUER
                           "/k\",\"token_endpoint_auth_methods_supported\":[\"private_key_jwt\"],"
                           "\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
    assert_int_equal(parse_text(f, jwt_auth, ISSUER, false), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_auth_unsupported");
    assert_int_equal(parse_text(f, "[]", ISSUER, false), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_discovery_invalid");
    assert_int_equal(parse_text(f, "{\"issuer\":1}", ISSUER, false), USHER_EINVAL);
    assert_int_equal(parse_text(f, "{\"issuer\":\"a\",\"issuer\":\"b\"}", ISSUER, false),
                     USHER_EINVAL);
    /* Oversized: refused before parsing. */
    struct oidc_discovery d;
    usher_error_clear(&f->err);
    assert_int_equal(
        oidc_discovery_parse(&d, &f->a, discovery_ok, OIDC_DOC_MAX + 1, ISSUER, false, &f->err),
        USHER_EINVAL);
}

static void test_jwks_parse__keeps_only_usable_public_signing_keys(void **state)
{
    (void)state;
    json_t *rs = test_key_new("RS256", "rs");
    json_t *es = test_key_new("ES256", "es");
    json_t *pub_rs = test_key_public(rs, false);
    json_t *pub_es = test_key_public(es, true);
    json_t *enc = json_deep_copy(pub_rs);
    json_object_set_new(enc, "use", json_string("enc"));
    json_object_set_new(enc, "kid", json_string("enc"));
    json_t *hs = json_pack("{s:s, s:s, s:s}", "kty", "oct", "k", "c2VjcmV0", "kid", "oct");
    json_t *priv = json_deep_copy(rs); /* a private key published by mistake */
    json_object_set_new(priv, "kid", json_string("priv"));
    json_t *ps_alg = json_deep_copy(pub_rs);
    json_object_set_new(ps_alg, "alg", json_string("RS512"));
    json_object_set_new(ps_alg, "kid", json_string("rs512"));
    json_t *p384 = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-384", "x", "AAAA",
                             "y", "AAAA", "kid", "p384");
    json_t *doc = json_pack("{s:[O, O, O, O, O, O, O, i]}", "keys", pub_rs, pub_es, enc, hs, priv,
                            ps_alg, p384, 7);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_t *jwks = NULL;
    struct usher_error err = {0};
    assert_int_equal(oidc_jwks_parse(&jwks, text, strlen(text), 0, &err), 0);
    json_t *keys = json_object_get(jwks, "keys");
    assert_int_equal(json_array_size(keys), 2);
    assert_true(oidc_jwks_has_kid(jwks, "rs"));
    assert_true(oidc_jwks_has_kid(jwks, "es"));
    assert_false(oidc_jwks_has_kid(jwks, "enc"));
    assert_false(oidc_jwks_has_kid(jwks, "priv"));
    assert_false(oidc_jwks_has_kid(jwks, "oct"));
    assert_null(json_object_get(json_array_get(keys, 0), "d"));
    assert_null(json_object_get(json_array_get(keys, 0), "use"));
    json_decref(jwks);

    /* With ES256 only allowed, the RSA key goes too. */
    assert_int_equal(oidc_jwks_parse(&jwks, text, strlen(text), OIDC_ALG_ES256, &err), 0);
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 1);
    assert_true(oidc_jwks_has_kid(jwks, "es"));
    json_decref(jwks);
    free(text);

    const char *empty = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}";
    assert_int_equal(oidc_jwks_parse(&jwks, empty, strlen(empty), 0, &err), USHER_EINVAL);
    assert_string_equal(err.problem, "oidc_jwks_empty");
    assert_null(jwks);
    usher_error_clear(&err);
    assert_int_equal(oidc_jwks_parse(&jwks, "{\"keys\":{}}", 11, 0, &err), USHER_EINVAL);
    assert_string_equal(err.problem, "oidc_jwks_invalid");

    /* More usable keys than the cap. */
    json_t *many = json_array();
    for (int i = 0; i < OIDC_JWKS_KEYS_MAX + 1; i++)
        json_array_append(many, pub_es);
    json_t *many_doc = json_pack("{s:o}", "keys", many);
    text = json_dumps(many_doc, JSON_COMPACT);
    usher_error_clear(&err);
    assert_int_equal(oidc_jwks_parse(&jwks, text, strlen(text), 0, &err), USHER_EINVAL);
    assert_string_equal(err.problem, "oidc_jwks_too_many");
    free(text);
    json_decref(many_doc);
    json_decref(doc);
    json_decref(p384);
    json_decref(ps_alg);
    json_decref(priv);
    json_decref(hs);
    json_decref(enc);
    json_decref(pub_es);
    json_decref(pub_rs);
    json_decref(es);
    json_decref(rs);
}

static void test_callback_parse__reads_code_state_and_errors(void **state)
{
    struct fixture *f = *state;
    struct oidc_callback cb;
    assert_int_equal(oidc_callback_parse(
                         &cb, &f->a, "code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj&x=1", &f->err),
                     0);
    assert_string_equal(cb.code, "SplxlOBeZQQYbYS6WxSbIA");
    assert_string_equal(cb.state, "af0ifjsldkj");
    assert_null(cb.error);
    assert_int_equal(oidc_callback_parse(&cb, &f->a,
                                         "error=access_denied&error_description=User+said%20no"
                                         "&state=s1",
                                         &f->err),
                     0);
    assert_null(cb.code);
    assert_string_equal(cb.error, "access_denied");
    assert_string_equal(cb.error_description, "User said no");
}

static int callback_refused(struct fixture *f, const char *query)
{
    struct oidc_callback cb;
    usher_error_clear(&f->err);
    int rc = oidc_callback_parse(&cb, &f->a, query, &f->err);
    if (rc)
        assert_null(cb.code);
    return rc;
}

static void test_callback_parse__refuses_duplicates_bad_escapes_and_size(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(callback_refused(f, "code=a&state=b&code=c"), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_callback_duplicate");
    assert_string_equal(f->err.field, "code");
    assert_int_equal(callback_refused(f, "code=a&state=b&state=b"), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_callback_duplicate");
    assert_int_equal(callback_refused(f, "code=a%2&state=b"), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_callback_invalid");
    assert_int_equal(callback_refused(f, "code=a%00b&state=b"), USHER_EINVAL);
    assert_int_equal(callback_refused(f, "code=a%0Ab&state=b"), USHER_EINVAL);
    assert_int_equal(callback_refused(f, "code=&state=b"), USHER_EINVAL);
    assert_int_equal(callback_refused(f, "state=b"), USHER_EINVAL);
    assert_int_equal(callback_refused(f, ""), USHER_EINVAL);
    char *big = malloc(OIDC_QUERY_MAX + 16);
    memcpy(big, "code=", 5);
    memset(big + 5, 'a', OIDC_QUERY_MAX);
    big[OIDC_QUERY_MAX + 5] = '\0';
    assert_int_equal(callback_refused(f, big), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_callback_too_large");
    free(big);
}

static void test_pkce__uses_32_random_bytes_and_the_s256_challenge(void **state)
{
    (void)state;
    char a[OIDC_RANDOM_CHARS + 1], b[OIDC_RANDOM_CHARS + 1], c[OIDC_RANDOM_CHARS + 1];
    oidc_random_new(a);
    oidc_random_new(b);
    assert_int_equal(strlen(a), 43);
    assert_string_not_equal(a, b);
    for (size_t i = 0; i < 43; i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
    /* RFC 7636 appendix B. */
    oidc_pkce_challenge(c, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void test_token_form__encodes_basic_credentials_per_rfc6749(void **state)
{
    struct fixture *f = *state;
    struct oidc_token_request req = {.code = "c/d+e",
                                     .redirect_uri = "https://usher.example/cb?a=1",
                                     .code_verifier = "ver",
                                     .client_id = "id:1",
                                     .client_secret = "s e%cret",
                                     .auth_methods = OIDC_AUTH_BASIC | OIDC_AUTH_POST};
    struct oidc_token_form form;
    assert_int_equal(oidc_token_form_build(&form, &f->a, &req, &f->err), 0);
    assert_string_equal(form.body, "grant_type=authorization_code&code=c%2Fd%2Be"
                                   "&redirect_uri=https%3A%2F%2Fusher.example%2Fcb%3Fa%3D1"
                                   "&code_verifier=ver");
    /* base64("id%3A1:s+e%25cret") */
    assert_string_equal(form.authorization, "Basic aWQlM0ExOnMrZSUyNWNyZXQ=");
    req.auth_methods = OIDC_AUTH_POST;
    assert_int_equal(oidc_token_form_build(&form, &f->a, &req, &f->err), 0);
    assert_null(form.authorization);
    assert_non_null(strstr(form.body, "&client_id=id%3A1&client_secret=s+e%25cret"));
    req.auth_methods = 0;
    assert_int_equal(oidc_token_form_build(&form, &f->a, &req, &f->err), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_auth_unsupported");
}

static void test_token_response__reads_tokens_and_error_bodies(void **state)
{
    struct fixture *f = *state;
    struct oidc_tokens t;
    const char *ok = "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"id_token\":\"a.b.c\"}";
    assert_int_equal(oidc_token_response_parse(&t, &f->a, 200, ok, strlen(ok), &f->err), 0);
    assert_string_equal(t.id_token, "a.b.c");
    assert_string_equal(t.access_token, "at");
    assert_string_equal(t.token_type, "Bearer");
    const char *bad = "{\"error\":\"invalid_grant\",\"error_description\":\"code used\"}";
    assert_int_equal(oidc_token_response_parse(&t, &f->a, 400, bad, strlen(bad), &f->err),
                     USHER_EUNAUTH);
    assert_string_equal(f->err.problem, "oidc_token_error");
    assert_non_null(strstr(f->err.message, "invalid_grant"));
    usher_error_clear(&f->err);
    const char *none = "{\"access_token\":\"at\"}";
    assert_int_equal(oidc_token_response_parse(&t, &f->a, 200, none, strlen(none), &f->err),
                     USHER_EUNAUTH);
    assert_string_equal(f->err.problem, "oidc_token_no_id_token");
    usher_error_clear(&f->err);
    /* An ID token past the limit is named as such, not as a missing one. */
    size_t big_len = OIDC_TOKEN_MAX + 64;
    char *big = arena_alloc(&f->a, big_len + 32);
    memcpy(big, "{\"id_token\":\"", 13);
    memset(big + 13, 'a', OIDC_TOKEN_MAX + 1);
    memcpy(big + 13 + OIDC_TOKEN_MAX + 1, "\"}", 3);
    assert_int_equal(oidc_token_response_parse(&t, &f->a, 200, big, strlen(big), &f->err),
                     USHER_EUNAUTH);
    assert_string_equal(f->err.problem, "id_token_too_large");
    usher_error_clear(&f->err);
    memcpy(big + 13 + OIDC_TOKEN_MAX, "\"}", 3);
    assert_int_equal(oidc_token_response_parse(&t, &f->a, 200, big, strlen(big), &f->err), 0);
    assert_int_equal(strlen(t.id_token), OIDC_TOKEN_MAX);
    assert_int_equal(oidc_token_response_parse(&t, &f->a, 502, "<html>", 6, &f->err),
                     USHER_EUNAVAIL);
    assert_string_equal(f->err.problem, "oidc_token_response_invalid");
}

static void test_secret_seal__round_trips_and_refuses_tampering(void **state)
{
    struct fixture *f = *state;
    unsigned char server_secret[32], other_secret[32];
    randombytes_buf(server_secret, sizeof(server_secret));
    randombytes_buf(other_secret, sizeof(other_secret));
    unsigned char key[OIDC_SECRET_KEY_BYTES], other[OIDC_SECRET_KEY_BYTES];
    oidc_secret_key_derive(key, server_secret, sizeof(server_secret));
    oidc_secret_key_derive(other, other_secret, sizeof(other_secret));
    /* A key of its own: not the server secret itself. */
    assert_true(memcmp(key, server_secret, sizeof(key)) != 0);

    char *sealed = NULL, *opened = NULL;
    assert_int_equal(oidc_secret_seal(&sealed, &f->a, key, "oidc_A", "s3cr3t-value", &f->err), 0);
    assert_null(strstr(sealed, "s3cr3t"));
    assert_int_equal(strncmp(sealed, "v1.", 3), 0);
    assert_int_equal(oidc_secret_open(&opened, &f->a, key, "oidc_A", sealed, &f->err), 0);
    assert_string_equal(opened, "s3cr3t-value");
    /* Sealing twice gives different text (fresh nonce). */
    char *again = NULL;
    assert_int_equal(oidc_secret_seal(&again, &f->a, key, "oidc_A", "s3cr3t-value", &f->err), 0);
    assert_string_not_equal(again, sealed);

    /* Another connection, another key, a changed byte, a cut: none opens. */
    assert_int_equal(oidc_secret_open(&opened, &f->a, key, "oidc_B", sealed, &f->err),
                     USHER_EINTERNAL);
    assert_string_equal(f->err.problem, "oidc_secret_corrupt");
    assert_null(opened);
    assert_int_equal(oidc_secret_open(&opened, &f->a, other, "oidc_A", sealed, &f->err),
                     USHER_EINTERNAL);
    char *tampered = arena_strdup(&f->a, sealed);
    size_t mid = strlen(tampered) / 2;
    tampered[mid] = tampered[mid] == 'A' ? 'B' : 'A';
    assert_int_equal(oidc_secret_open(&opened, &f->a, key, "oidc_A", tampered, &f->err),
                     USHER_EINTERNAL);
    char *cut = arena_strndup(&f->a, sealed, strlen(sealed) - 4);
    assert_int_equal(oidc_secret_open(&opened, &f->a, key, "oidc_A", cut, &f->err),
                     USHER_EINTERNAL);
    assert_int_equal(oidc_secret_open(&opened, &f->a, key, "oidc_A", "v1.", &f->err),
                     USHER_EINTERNAL);
    assert_int_equal(oidc_secret_open(&opened, &f->a, key, "oidc_A", sealed + 3, &f->err),
                     USHER_EINTERNAL);
    usher_error_clear(&f->err);
    assert_int_equal(oidc_secret_seal(&sealed, &f->a, key, "oidc_A", "", &f->err), USHER_EINVAL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_url_allowed__wants_https_and_loopback_http_only_when_allowed),
        T(test_discovery_parse__reads_endpoints_methods_and_algorithms),
        T(test_discovery_parse__defaults_to_client_secret_basic),
        T(test_discovery_parse__refuses_another_issuer_byte_for_byte),
        T(test_discovery_parse__refuses_http_endpoints_unless_loopback_is_allowed),
        T(test_discovery_parse__refuses_missing_members_and_bad_documents),
        T(test_jwks_parse__keeps_only_usable_public_signing_keys),
        T(test_callback_parse__reads_code_state_and_errors),
        T(test_callback_parse__refuses_duplicates_bad_escapes_and_size),
        T(test_pkce__uses_32_random_bytes_and_the_s256_challenge),
        T(test_token_form__encodes_basic_credentials_per_rfc6749),
        T(test_token_response__reads_tokens_and_error_bodies),
        T(test_secret_seal__round_trips_and_refuses_tampering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
