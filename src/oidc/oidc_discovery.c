/* Reads an IdP's /.well-known/openid-configuration document: the issuer must be the one
 * configured, every endpoint must pass the URL rule, and the client authentication methods and
 * signing algorithms are reduced to the ones usher supports. */
#include <string.h>

#include "base/error.h"
#include "oidc/oidc.h"
#include "oidc/oidc_int.h"

static int endpoint_read(const char **out, struct arena *a, const json_t *doc, const char *key,
                         bool required, bool allow_insecure_loopback, struct usher_error *err)
{
    const char *s = NULL;
    int found = oidc_json_string(&s, doc, key, OIDC_URL_MAX);
    if (found < 0 || (found == 0 && required))
        return usher_error_set(err, USHER_EINVAL, "oidc_discovery_invalid", key,
                               "discovery document %s %s", found < 0 ? "has a bad" : "lacks", key);
    *out = NULL;
    if (found == 0)
        return 0;
    if (!oidc_url_allowed(s, allow_insecure_loopback))
        return usher_error_set(err, USHER_EINVAL, "oidc_url_refused", key,
                               "discovery document's %s is not an allowed https URL", key);
    *out = arena_strdup(a, s);
    return 0;
}

/* Reads an optional array of short strings into a bit set through map; -1 when malformed. */
static int names_read(unsigned *out, bool *present, const json_t *doc, const char *key,
                      unsigned (*map)(const char *))
{
    json_t *arr = json_object_get(doc, key);
    *out = 0;
    *present = false;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > 64)
        return -1;
    *present = true;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) > 128)
            return -1;
        *out |= map(json_string_value(v));
    }
    return 0;
}

static unsigned auth_from_name(const char *name)
{
    if (strcmp(name, "client_secret_basic") == 0)
        return OIDC_AUTH_BASIC;
    if (strcmp(name, "client_secret_post") == 0)
        return OIDC_AUTH_POST;
    return 0;
}

static int endpoints_read(struct oidc_discovery *out, struct arena *a, const json_t *doc,
                          bool allow_insecure_loopback, struct usher_error *err)
{
    int rc = endpoint_read(&out->authorization_endpoint, a, doc, "authorization_endpoint", true,
                           allow_insecure_loopback, err);
    if (rc)
        return rc;
    rc = endpoint_read(&out->token_endpoint, a, doc, "token_endpoint", true,
                       allow_insecure_loopback, err);
    if (rc)
        return rc;
    rc = endpoint_read(&out->jwks_uri, a, doc, "jwks_uri", true, allow_insecure_loopback, err);
    if (rc)
        return rc;
    return endpoint_read(&out->end_session_endpoint, a, doc, "end_session_endpoint", false,
                         allow_insecure_loopback, err);
}

/* The client authentication methods and signing algorithms, reduced to usher's. */
static int capabilities_read(struct oidc_discovery *out, const json_t *doc, struct usher_error *err)
{
    bool present = false;
    if (names_read(&out->auth_methods, &present, doc, "token_endpoint_auth_methods_supported",
                   auth_from_name) != 0) {
        return usher_error_set(
            err, USHER_EINVAL, "oidc_discovery_invalid", "token_endpoint_auth_methods_supported",
            "discovery document has a bad token_endpoint_auth_methods_supported");
    }
    if (!present)
        out->auth_methods = OIDC_AUTH_BASIC; /* the default of OpenID Connect Discovery */
    if (!out->auth_methods) {
        return usher_error_set(err, USHER_EINVAL, "oidc_auth_unsupported",
                               "token_endpoint_auth_methods_supported",
                               "the IdP offers neither client_secret_basic nor client_secret_post");
    }
    if (names_read(&out->algs, &present, doc, "id_token_signing_alg_values_supported",
                   oidc_alg_from_name) != 0 ||
        !present) {
        return usher_error_set(err, USHER_EINVAL, "oidc_discovery_invalid",
                               "id_token_signing_alg_values_supported",
                               "discovery document lacks id_token_signing_alg_values_supported");
    }
    if (!out->algs) {
        return usher_error_set(err, USHER_EINVAL, "oidc_alg_unsupported",
                               "id_token_signing_alg_values_supported",
                               "the IdP signs ID tokens with none of RS256, PS256, ES256");
    }
    return 0;
}

int oidc_discovery_parse(struct oidc_discovery *out, struct arena *a, const char *body, size_t len,
                         const char *expected_issuer, bool allow_insecure_loopback,
                         struct usher_error *err)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    json_t *doc = NULL;
    if (len > OIDC_DOC_MAX) {
        rc = usher_error_set(err, USHER_EINVAL, "oidc_discovery_invalid", NULL,
                             "discovery document is larger than %d bytes", OIDC_DOC_MAX);
        goto done;
    }
    doc = oidc_json_object(body, len);
    if (!doc) {
        rc = usher_error_set(err, USHER_EINVAL, "oidc_discovery_invalid", NULL,
                             "discovery document is not a JSON object");
        goto done;
    }
    const char *issuer = NULL;
    if (oidc_json_string(&issuer, doc, "issuer", OIDC_URL_MAX) != 1) {
        rc = usher_error_set(err, USHER_EINVAL, "oidc_discovery_invalid", "issuer",
                             "discovery document lacks a string issuer");
        goto done;
    }
    /* Byte for byte: no trailing-slash or case folding, as OpenID Connect Discovery 4.3 says. */
    if (!expected_issuer || strcmp(issuer, expected_issuer) != 0) {
        rc = usher_error_set(err, USHER_EINVAL, "oidc_issuer_mismatch", "issuer",
                             "discovery document names another issuer");
        goto done;
    }
    out->issuer = arena_strdup(a, issuer);
    rc = endpoints_read(out, a, doc, allow_insecure_loopback, err);
    if (rc)
        goto done;
    rc = capabilities_read(out, doc, err);
done:
    json_decref(doc);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}
