/* The oidc module against a real HTTP server on 127.0.0.1 (a thread of this test): the fetcher's
 * rules (no redirects, size cap, timeout, http only to loopback when allowed, max-age), the
 * per-connection cache with its once-a-minute JWKS refetch for unknown kids (the clock moved
 * with clock_set_offset_ms), and the token exchange as the IdP sees it. */
#include "oidc_test.h"

#include "base/arena.h"
#include "base/clock.h"
#include "base/error.h"
#include "oidc/oidc.h"

#define JSON_HEADERS "Content-Type: application/json\r\nCache-Control: public, max-age=3600\r\n"
#define CLIENT_ID    "usher-client"
#define NONCE        "nonce-123"

struct fixture {
    struct arena a;
    struct usher_error err;
    struct test_server *srv;
    char issuer[64];
    struct oidc_http_options http;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    arena_init(&f->a);
    f->srv = test_server_start();
    test_server_url(f->issuer, sizeof(f->issuer), f->srv, "");
    f->http = (struct oidc_http_options){
        .allow_insecure_loopback = true, .connect_timeout_ms = 1000, .timeout_ms = 2000};
    clock_set_offset_ms(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    clock_set_offset_ms(0);
    test_server_stop(f->srv);
    arena_dispose(&f->a);
    free(f);
    return 0;
}

static void route_text(struct fixture *f, const char *path, int status, const char *headers,
                       const char *body)
{
    test_server_route(f->srv, path, status, headers, body, strlen(body), 0);
}

static char *url(struct fixture *f, const char *path)
{
    char buf[256];
    test_server_url(buf, sizeof(buf), f->srv, path);
    return arena_strdup(&f->a, buf);
}

static void test_http_get__reads_json_and_its_max_age(void **state)
{
    struct fixture *f = *state;
    route_text(f, "/doc", 200, JSON_HEADERS, "{\"a\":1}");
    route_text(f, "/short", 200,
               "Content-Type: application/jwk-set+json\r\nCache-Control: max-age=5\r\n", "{}");
    route_text(f, "/long", 200, "Content-Type: text/plain\r\nCache-Control: max-age=9999999\r\n",
               "x");
    struct oidc_http_response res;
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/doc"), &f->http, &f->err), 0);
    assert_int_equal(res.status, 200);
    assert_true(res.is_json);
    assert_string_equal(res.body, "{\"a\":1}");
    assert_int_equal(res.max_age_s, 3600);
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/short"), &f->http, &f->err), 0);
    assert_true(res.is_json);
    assert_int_equal(res.max_age_s, OIDC_MAX_AGE_MIN_S);
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/long"), &f->http, &f->err), 0);
    assert_false(res.is_json);
    assert_int_equal(res.max_age_s, OIDC_MAX_AGE_MAX_S);
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/missing"), &f->http, &f->err), 0);
    assert_int_equal(res.status, 404);
}

static void test_http_get__refuses_http_unless_loopback_is_allowed(void **state)
{
    struct fixture *f = *state;
    route_text(f, "/doc", 200, JSON_HEADERS, "{}");
    struct oidc_http_options strict = f->http;
    strict.allow_insecure_loopback = false;
    struct oidc_http_response res;
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/doc"), &strict, &f->err), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_url_refused");
    assert_int_equal(test_server_hits(f->srv, "/doc"), 0);
}

/* The address a name resolves to decides, not the URL: loopback only under the development
 * setting, private and link-local never, whatever the scheme. */
static void test_http_get__never_reaches_an_internal_address(void **state)
{
    struct fixture *f = *state;
    route_text(f, "/doc", 200, JSON_HEADERS, "{}");
    struct oidc_http_options strict = f->http;
    strict.allow_insecure_loopback = false;
    char target[128];
    static const char *const loopbacks[] = {"127.0.0.1", "localhost", "127.1.2.3"};
    for (size_t i = 0; i < sizeof(loopbacks) / sizeof(loopbacks[0]); i++) {
        snprintf(target, sizeof(target), "https://%s:%d/doc", loopbacks[i], f->srv->port);
        struct oidc_http_response res;
        assert_int_equal(oidc_http_get(&res, &f->a, target, &strict, &f->err), USHER_EINVAL);
        assert_string_equal(f->err.problem, "oidc_address_refused");
        usher_error_clear(&f->err);
    }
    /* Private and link-local addresses stay out of reach even under the loopback setting. */
    static const char *const inside[] = {"https://10.0.0.1/doc", "https://192.168.1.1/doc",
                                         "https://169.254.169.254/latest/meta-data",
                                         "http://172.16.0.1/doc", "https://[fd00::1]/doc"};
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
        struct oidc_http_response res;
        int rc = oidc_http_get(&res, &f->a, inside[i], &f->http, &f->err);
        assert_int_equal(rc, USHER_EINVAL);
        /* http to a private address fails the URL rule before any lookup; https the address. */
        assert_true(strcmp(f->err.problem, "oidc_address_refused") == 0 ||
                    (strncmp(inside[i], "http:", 5) == 0 &&
                     strcmp(f->err.problem, "oidc_url_refused") == 0));
        usher_error_clear(&f->err);
    }
    assert_int_equal(test_server_hits(f->srv, "/doc"), 0);
}

static void test_http_get__does_not_follow_redirects(void **state)
{
    struct fixture *f = *state;
    char headers[256];
    snprintf(headers, sizeof(headers), "Location: %s\r\n", url(f, "/target"));
    route_text(f, "/moved", 302, headers, "");
    route_text(f, "/target", 200, JSON_HEADERS, "{}");
    struct oidc_http_response res;
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/moved"), &f->http, &f->err),
                     USHER_EUNAVAIL);
    assert_string_equal(f->err.problem, "oidc_http_redirect");
    assert_int_equal(test_server_hits(f->srv, "/moved"), 1);
    assert_int_equal(test_server_hits(f->srv, "/target"), 0);
}

static void test_http_get__refuses_a_body_over_the_cap(void **state)
{
    struct fixture *f = *state;
    size_t len = OIDC_DOC_MAX + 1;
    char *big = malloc(len);
    memset(big, ' ', len);
    test_server_route(f->srv, "/big", 200, JSON_HEADERS, big, len, 0);
    test_server_route(f->srv, "/fits", 200, JSON_HEADERS, big, OIDC_DOC_MAX, 0);
    free(big);
    struct oidc_http_response res;
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/big"), &f->http, &f->err), USHER_EUNAVAIL);
    assert_string_equal(f->err.problem, "oidc_http_too_large");
    assert_null(res.body);
    usher_error_clear(&f->err);
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/fits"), &f->http, &f->err), 0);
    assert_int_equal(res.len, OIDC_DOC_MAX);
    /* A smaller cap of the caller's. */
    struct oidc_http_options small = f->http;
    small.max_bytes = 1000;
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/fits"), &small, &f->err), USHER_EUNAVAIL);
    assert_string_equal(f->err.problem, "oidc_http_too_large");
}

static void test_http_get__gives_up_after_the_timeout(void **state)
{
    struct fixture *f = *state;
    test_server_route(f->srv, "/slow", 200, JSON_HEADERS, "{}", 2, 1500);
    struct oidc_http_options quick = f->http;
    quick.timeout_ms = 300;
    struct oidc_http_response res;
    int64_t start = clock_mono_ns();
    assert_int_equal(oidc_http_get(&res, &f->a, url(f, "/slow"), &quick, &f->err), USHER_EUNAVAIL);
    int64_t took_ms = (clock_mono_ns() - start) / 1000000;
    assert_string_equal(f->err.problem, "oidc_http_failed");
    assert_true(took_ms < 1400);
}

static void discovery_route(struct fixture *f, const char *issuer)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\","
             "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\","
             "\"id_token_signing_alg_values_supported\":[\"RS256\",\"ES256\"]}",
             issuer, f->issuer, f->issuer, f->issuer);
    route_text(f, "/.well-known/openid-configuration", 200, JSON_HEADERS, body);
}

static void jwks_route(struct fixture *f, json_t *const *keys)
{
    char *text = test_jwks_text(false, keys);
    route_text(f, "/jwks", 200, JSON_HEADERS, text);
    free(text);
}

static struct oidc_provider *provider_new(struct fixture *f)
{
    struct oidc_provider *p = NULL;
    struct oidc_provider_options opt = {.issuer = f->issuer, .http = f->http};
    assert_int_equal(oidc_provider_new(&p, &opt, &f->err), 0);
    return p;
}

static void test_provider__caches_discovery_and_refuses_another_issuer(void **state)
{
    struct fixture *f = *state;
    discovery_route(f, f->issuer);
    struct oidc_provider *p = provider_new(f);
    struct oidc_discovery d;
    assert_int_equal(oidc_provider_discovery(&d, &f->a, p, &f->err), 0);
    assert_string_equal(d.issuer, f->issuer);
    assert_string_equal(d.token_endpoint, url(f, "/token"));
    assert_int_equal(oidc_provider_discovery(&d, &f->a, p, &f->err), 0);
    assert_int_equal(test_server_hits(f->srv, "/.well-known/openid-configuration"), 1);
    /* Past its max-age it is fetched again, and an issuer mismatch now is refused. */
    discovery_route(f, "http://127.0.0.1:1");
    clock_set_offset_ms(3601 * 1000LL);
    assert_int_equal(oidc_provider_discovery(&d, &f->a, p, &f->err), USHER_EINVAL);
    assert_string_equal(f->err.problem, "oidc_issuer_mismatch");
    assert_int_equal(test_server_hits(f->srv, "/.well-known/openid-configuration"), 2);
    oidc_provider_free(p);

    /* An http issuer without the loopback setting is refused at once. */
    struct oidc_provider_options strict = {.issuer = f->issuer};
    usher_error_clear(&f->err);
    assert_int_equal(oidc_provider_new(&p, &strict, &f->err), USHER_EINVAL);
    assert_null(p);
    assert_string_equal(f->err.problem, "oidc_url_refused");
}

static void test_provider__wants_a_200_json_answer(void **state)
{
    struct fixture *f = *state;
    struct oidc_provider *p = provider_new(f);
    struct oidc_discovery d;
    char body[1024];
    snprintf(body, sizeof(body), "{\"issuer\":\"%s\"}", f->issuer);
    route_text(f, "/.well-known/openid-configuration", 200, "Content-Type: text/html\r\n", body);
    assert_int_equal(oidc_provider_discovery(&d, &f->a, p, &f->err), USHER_EUNAVAIL);
    assert_string_equal(f->err.problem, "oidc_http_not_json");
    usher_error_clear(&f->err);
    route_text(f, "/.well-known/openid-configuration", 500, JSON_HEADERS, body);
    assert_int_equal(oidc_provider_discovery(&d, &f->a, p, &f->err), USHER_EUNAVAIL);
    assert_string_equal(f->err.problem, "oidc_http_status");
    oidc_provider_free(p);
}

static char *token_new(const json_t *key, const char *kid, const char *issuer)
{
    char header[128];
    snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
    char payload[512];
    long long now = clock_now_ms() / 1000;
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u1\",\"nonce\":\"%s\",\"iat\":%lld,"
             "\"exp\":%lld}",
             issuer, CLIENT_ID, NONCE, now, now + 300);
    return test_token_sign(header, payload, key);
}

static int provider_verify(struct fixture *f, struct oidc_provider *p, const char *token)
{
    struct oidc_claims claims;
    struct oidc_id_token_check check = {
        .client_id = CLIENT_ID, .nonce = NONCE, .now_s = clock_now_ms() / 1000, .skew_s = 120};
    usher_error_clear(&f->err);
    return oidc_provider_id_token_verify(&claims, &f->a, p, token, &check, &f->err);
}

static void test_provider__refetches_the_jwks_for_an_unknown_kid_at_most_once_a_minute(void **state)
{
    struct fixture *f = *state;
    json_t *old_key = test_key_new("RS256", "old");
    json_t *new_key = test_key_new("RS256", "new");
    discovery_route(f, f->issuer);
    json_t *first[] = {old_key, NULL};
    jwks_route(f, first);
    struct oidc_provider *p = provider_new(f);

    char *old_token = token_new(old_key, "old", f->issuer);
    assert_int_equal(provider_verify(f, p, old_token), 0);
    assert_int_equal(oidc_provider_jwks_fetches(p), 1);

    /* The IdP rotates: a token by the new key arrives within the minute of the last fetch.
     * No fetch; the token is refused. Many such tokens change nothing. */
    json_t *rotated[] = {old_key, new_key, NULL};
    jwks_route(f, rotated);
    char *new_token = token_new(new_key, "new", f->issuer);
    clock_set_offset_ms(30 * 1000);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(provider_verify(f, p, new_token), USHER_EUNAUTH);
        assert_string_equal(f->err.problem, "id_token_unknown_kid");
    }
    assert_int_equal(oidc_provider_jwks_fetches(p), 1);
    assert_int_equal(test_server_hits(f->srv, "/jwks"), 1);

    /* A minute after the last fetch, one unknown kid fetches the set again: the new key is
     * found without a restart. */
    clock_set_offset_ms(61 * 1000);
    free(new_token);
    new_token = token_new(new_key, "new", f->issuer);
    assert_int_equal(provider_verify(f, p, new_token), 0);
    assert_int_equal(oidc_provider_jwks_fetches(p), 2);

    /* A made-up kid right after: no fetch; a minute later: one fetch, still refused. */
    char *bogus = token_new(new_key, "bogus", f->issuer);
    assert_int_equal(provider_verify(f, p, bogus), USHER_EUNAUTH);
    assert_int_equal(oidc_provider_jwks_fetches(p), 2);
    clock_set_offset_ms(122 * 1000);
    assert_int_equal(provider_verify(f, p, bogus), USHER_EUNAUTH);
    assert_string_equal(f->err.problem, "id_token_unknown_kid");
    assert_int_equal(oidc_provider_jwks_fetches(p), 3);
    assert_int_equal(provider_verify(f, p, bogus), USHER_EUNAUTH);
    assert_int_equal(oidc_provider_jwks_fetches(p), 3);
    /* Known kids never cause a fetch while the set is fresh. */
    assert_int_equal(provider_verify(f, p, old_token), 0);
    assert_int_equal(oidc_provider_jwks_fetches(p), 3);
    assert_int_equal(test_server_hits(f->srv, "/jwks"), 3);

    free(bogus);
    free(new_token);
    free(old_token);
    oidc_provider_free(p);
    json_decref(new_key);
    json_decref(old_key);
}

struct flood {
    struct oidc_provider *p;
    const char *token;
    int refused;
};

static void *flood_main(void *arg)
{
    struct flood *fl = arg;
    struct arena a;
    arena_init(&a);
    for (int i = 0; i < 20; i++) {
        struct oidc_claims claims;
        struct oidc_id_token_check check = {
            .client_id = CLIENT_ID, .nonce = NONCE, .now_s = clock_now_ms() / 1000, .skew_s = 120};
        struct usher_error err = {0};
        if (oidc_provider_id_token_verify(&claims, &a, fl->p, fl->token, &check, &err) ==
                USHER_EUNAUTH &&
            strcmp(err.problem, "id_token_unknown_kid") == 0)
            fl->refused++;
    }
    arena_dispose(&a);
    return NULL;
}

static void test_provider__a_concurrent_flood_of_unknown_kids_fetches_once(void **state)
{
    struct fixture *f = *state;
    json_t *key = test_key_new("RS256", "k1");
    json_t *stranger = test_key_new("RS256", "made-up");
    discovery_route(f, f->issuer);
    json_t *keys[] = {key, NULL};
    jwks_route(f, keys);
    struct oidc_provider *p = provider_new(f);
    char *token = token_new(stranger, "made-up", f->issuer);
    /* Eight threads, 160 tokens with a kid the IdP never published, all at once and with an
     * empty cache: one fetch of the set between them. */
    struct flood fl[8];
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) {
        fl[i] = (struct flood){.p = p, .token = token};
        assert_int_equal(pthread_create(&threads[i], NULL, flood_main, &fl[i]), 0);
    }
    int refused = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        refused += fl[i].refused;
    }
    assert_int_equal(refused, 160);
    assert_int_equal(oidc_provider_jwks_fetches(p), 1);
    assert_int_equal(test_server_hits(f->srv, "/jwks"), 1);
    assert_int_equal(test_server_hits(f->srv, "/.well-known/openid-configuration"), 1);
    free(token);
    oidc_provider_free(p);
    json_decref(stranger);
    json_decref(key);
}

static void test_token_exchange__posts_the_grant_with_basic_auth_and_reads_the_answer(void **state)
{
    struct fixture *f = *state;
    route_text(f, "/token", 200, "Content-Type: application/json\r\n",
               "{\"id_token\":\"h.p.s\",\"access_token\":\"at\",\"token_type\":\"Bearer\"}");
    struct oidc_token_request req = {.code = "the-code",
                                     .redirect_uri = "https://usher.example/cb",
                                     .code_verifier = "verifier",
                                     .client_id = CLIENT_ID,
                                     .client_secret = "shh",
                                     .auth_methods = OIDC_AUTH_BASIC};
    struct oidc_tokens t;
    assert_int_equal(oidc_token_exchange(&t, &f->a, url(f, "/token"), &req, &f->http, &f->err), 0);
    assert_string_equal(t.id_token, "h.p.s");
    char seen[sizeof(f->srv->last_request)];
    pthread_mutex_lock(&f->srv->mu);
    memcpy(seen, f->srv->last_request, sizeof(seen));
    pthread_mutex_unlock(&f->srv->mu);
    assert_int_equal(strncmp(seen, "POST /token ", 12), 0);
    /* base64("usher-client:shh") */
    assert_non_null(strstr(seen, "Authorization: Basic dXNoZXItY2xpZW50OnNoaA==\r\n"));
    assert_non_null(strstr(seen, "Content-Type: application/x-www-form-urlencoded"));
    assert_non_null(strstr(seen, "\r\n\r\ngrant_type=authorization_code&code=the-code"
                                 "&redirect_uri=https%3A%2F%2Fusher.example%2Fcb"
                                 "&code_verifier=verifier"));
    assert_null(strstr(seen, "client_secret"));

    route_text(f, "/token", 400, "Content-Type: application/json\r\n",
               "{\"error\":\"invalid_grant\"}");
    assert_int_equal(oidc_token_exchange(&t, &f->a, url(f, "/token"), &req, &f->http, &f->err),
                     USHER_EUNAUTH);
    assert_string_equal(f->err.problem, "oidc_token_error");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_http_get__reads_json_and_its_max_age),
        T(test_http_get__refuses_http_unless_loopback_is_allowed),
        T(test_http_get__never_reaches_an_internal_address),
        T(test_http_get__does_not_follow_redirects),
        T(test_http_get__refuses_a_body_over_the_cap),
        T(test_http_get__gives_up_after_the_timeout),
        T(test_provider__caches_discovery_and_refuses_another_issuer),
        T(test_provider__wants_a_200_json_answer),
        T(test_provider__refetches_the_jwks_for_an_unknown_kid_at_most_once_a_minute),
        T(test_provider__a_concurrent_flood_of_unknown_kids_fetches_once),
        T(test_token_exchange__posts_the_grant_with_basic_auth_and_reads_the_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
