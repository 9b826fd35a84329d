/* The per-connection cache of an IdP's discovery document and JWKS, with their expiry, and the
 * rule that an unknown kid fetches the JWKS again at most once a minute. One mutex guards each
 * cache; a fetch happens under it, so concurrent sign-ins wait for one fetch instead of each
 * starting their own. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "oidc/oidc.h"

struct oidc_provider {
    pthread_mutex_t mu;
    char *issuer;
    char *discovery_url;
    unsigned algs;
    struct oidc_http_options http;
    struct arena disc_arena; /* holds disc's strings */
    struct oidc_discovery disc;
    bool has_disc;
    int64_t disc_expires_ms;
    json_t *jwks;
    int64_t jwks_expires_ms;
    int64_t jwks_fetched_ms; /* last fetch attempt, for the once-a-minute rule */
    unsigned jwks_fetches;
};

int oidc_provider_new(struct oidc_provider **out, const struct oidc_provider_options *opt,
                      struct usher_error *err)
{
    *out = NULL;
    if (!opt->issuer || !oidc_url_allowed(opt->issuer, opt->http.allow_insecure_loopback) ||
        strchr(opt->issuer, '?'))
        return usher_error_set(err, USHER_EINVAL, "oidc_url_refused", "issuer",
                               "issuer must be an https URL without query");
    if (opt->algs & ~(unsigned)OIDC_ALGS_DEFAULT)
        return usher_error_set(err, USHER_EINVAL, "oidc_alg_refused", "algorithms",
                               "unknown algorithm bits");
    struct oidc_provider *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->issuer = xstrdup(opt->issuer);
    /* OpenID Connect Discovery 4: drop one trailing '/' of the issuer, then append. */
    size_t len = strlen(opt->issuer);
    if (len && opt->issuer[len - 1] == '/')
        len--;
    static const char suffix[] = "/.well-known/openid-configuration";
    p->discovery_url = xmalloc(len + sizeof(suffix));
    memcpy(p->discovery_url, opt->issuer, len);
    memcpy(p->discovery_url + len, suffix, sizeof(suffix));
    p->algs = opt->algs ? opt->algs : OIDC_ALGS_DEFAULT;
    p->http = opt->http;
    arena_init(&p->disc_arena);
    *out = p;
    return 0;
}

void oidc_provider_free(struct oidc_provider *p)
{
    if (!p)
        return;
    json_decref(p->jwks);
    arena_dispose(&p->disc_arena);
    free(p->discovery_url);
    free(p->issuer);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static int document_fetch(struct oidc_http_response *out, struct arena *a, const char *url,
                          const struct oidc_http_options *opt, struct usher_error *err)
{
    int rc = oidc_http_get(out, a, url, opt, err);
    if (rc)
        return rc;
    if (out->status != 200)
        return usher_error_set(err, USHER_EUNAVAIL, "oidc_http_status", NULL,
                               "the IdP answered %ld", out->status);
    if (!out->is_json)
        return usher_error_set(err, USHER_EUNAVAIL, "oidc_http_not_json", NULL,
                               "the IdP's answer is not JSON");
    return 0;
}

static int discovery_locked(struct oidc_provider *p, struct usher_error *err)
{
    int64_t now = clock_now_ms();
    if (p->has_disc && now < p->disc_expires_ms)
        return 0;
    struct arena fresh;
    arena_init(&fresh);
    struct oidc_http_response res;
    struct oidc_discovery disc;
    int rc = document_fetch(&res, &fresh, p->discovery_url, &p->http, err);
    if (rc)
        goto done;
    rc = oidc_discovery_parse(&disc, &fresh, res.body, res.len, p->issuer,
                              p->http.allow_insecure_loopback, err);
    if (rc)
        goto done;
    /* The new document replaces the old one; its strings live in the new arena. */
    struct arena old = p->disc_arena;
    p->disc_arena = fresh;
    fresh = old;
    p->disc = disc;
    p->has_disc = true;
    p->disc_expires_ms = now + res.max_age_s * 1000;
done:
    arena_dispose(&fresh);
    return rc;
}

static const char *copy_or_null(struct arena *a, const char *s)
{
    return s ? arena_strdup(a, s) : NULL;
}

int oidc_provider_discovery(struct oidc_discovery *out, struct arena *a, struct oidc_provider *p,
                            struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&p->mu);
    int rc = discovery_locked(p, err);
    if (rc == 0) {
        *out = p->disc;
        out->issuer = copy_or_null(a, p->disc.issuer);
        out->authorization_endpoint = copy_or_null(a, p->disc.authorization_endpoint);
        out->token_endpoint = copy_or_null(a, p->disc.token_endpoint);
        out->jwks_uri = copy_or_null(a, p->disc.jwks_uri);
        out->end_session_endpoint = copy_or_null(a, p->disc.end_session_endpoint);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int jwks_fetch_locked(struct oidc_provider *p, int64_t now, struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    struct oidc_http_response res;
    json_t *jwks = NULL;
    p->jwks_fetched_ms = now;
    p->jwks_fetches++;
    int rc = document_fetch(&res, &a, p->disc.jwks_uri, &p->http, err);
    if (rc)
        goto done;
    rc = oidc_jwks_parse(&jwks, res.body, res.len, p->algs, err);
    if (rc)
        goto done;
    json_decref(p->jwks);
    p->jwks = jwks;
    p->jwks_expires_ms = now + res.max_age_s * 1000;
done:
    arena_dispose(&a);
    return rc;
}

int oidc_provider_keys_for(json_t **out, struct oidc_provider *p, const char *kid,
                           struct usher_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    int rc = discovery_locked(p, err);
    if (rc)
        goto done;
    int64_t now = clock_now_ms();
    bool fetch = !p->jwks || now >= p->jwks_expires_ms;
    /* An unknown kid may mean the IdP rotated its keys; ask again, but not more than once a
     * minute, whatever the tokens we are shown claim. */
    if (!fetch && kid && !oidc_jwks_has_kid(p->jwks, kid) &&
        now - p->jwks_fetched_ms >= OIDC_REFETCH_MIN_MS)
        fetch = true;
    if (fetch) {
        rc = jwks_fetch_locked(p, now, err);
        if (rc)
            goto done;
    }
    /* A copy of its own for the caller: jansson's reference counts are not safe to share
     * between threads, and a refetch may replace the set while the caller verifies. */
    *out = json_deep_copy(p->jwks);
done:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

unsigned oidc_provider_jwks_fetches(struct oidc_provider *p)
{
    pthread_mutex_lock(&p->mu);
    unsigned n = p->jwks_fetches;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int oidc_provider_id_token_verify(struct oidc_claims *out, struct arena *a, struct oidc_provider *p,
                                  const char *token, const struct oidc_id_token_check *check,
                                  struct usher_error *err)
{
    json_t *jwks = NULL;
    memset(out, 0, sizeof(*out));
    int rc = oidc_provider_keys_for(&jwks, p, oidc_id_token_kid(a, token), err);
    if (rc)
        goto done;
    struct oidc_id_token_check c = *check;
    c.issuer = p->issuer;
    c.algs = p->algs;
    rc = oidc_id_token_verify(out, a, token, jwks, &c, err);
done:
    json_decref(jwks);
    return rc;
}
