/* Fuzzes the discovery parser and the URL rule. Input: the document (also read as one URL).
 * Properties: an accepted document names exactly the expected issuer, its endpoints all pass
 * the URL rule under the same setting, it offers a client authentication method and an
 * algorithm usher supports, and anything accepted without the loopback setting is accepted
 * with it; a refused one is USHER_EINVAL with a problem code. A URL allowed without the
 * loopback setting is https:// and is also allowed with it. */
#include <string.h>

#include "base/arena.h"
#include "base/error.h"
#include "fuzz.h"
#include "oidc/oidc.h"

#define ISSUER "https://idp.example.org"

static void endpoint_check(const char *url, bool loopback, bool required)
{
    if (!url) {
        FUZZ_CHECK(!required);
        return;
    }
    FUZZ_CHECK(oidc_url_allowed(url, loopback));
}

static bool parse(struct arena *a, const char *text, size_t len, bool loopback)
{
    struct oidc_discovery d;
    struct usher_error err = {0};
    int rc = oidc_discovery_parse(&d, a, text, len, ISSUER, loopback, &err);
    if (rc) {
        FUZZ_CHECK(rc == USHER_EINVAL && err.problem[0] && d.issuer == NULL);
        return false;
    }
    FUZZ_CHECK(strcmp(d.issuer, ISSUER) == 0);
    endpoint_check(d.authorization_endpoint, loopback, true);
    endpoint_check(d.token_endpoint, loopback, true);
    endpoint_check(d.jwks_uri, loopback, true);
    endpoint_check(d.end_session_endpoint, loopback, false);
    FUZZ_CHECK(d.auth_methods && !(d.auth_methods & ~(unsigned)(OIDC_AUTH_BASIC | OIDC_AUTH_POST)));
    FUZZ_CHECK(d.algs && !(d.algs & ~(unsigned)OIDC_ALGS_DEFAULT));
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    arena_init(&a);
    char *text = fuzz_strndup(data, size);
    bool strict = parse(&a, text, size, false);
    bool loose = parse(&a, text, size, true);
    FUZZ_CHECK(!strict || loose);
    if (oidc_url_allowed(text, false)) {
        FUZZ_CHECK(strncmp(text, "https://", 8) == 0);
        FUZZ_CHECK(oidc_url_allowed(text, true));
    }
    if (oidc_url_allowed(text, true))
        FUZZ_CHECK(strncmp(text, "https://", 8) == 0 || strncmp(text, "http://", 7) == 0);
    free(text);
    arena_dispose(&a);
    return 0;
}
