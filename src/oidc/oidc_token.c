/* The authorization code exchange: the form-encoded request with the client's credentials
 * (HTTP Basic or form fields, as the IdP offers) and the bounded reading of the answer. */
#include <sodium.h>
#include <string.h>

#include "base/error.h"
#include "oidc/oidc.h"
#include "oidc/oidc_int.h"

#define ERROR_CODE_MAX 64

/* application/x-www-form-urlencoded form of s, in a. */
static char *form_encode(struct arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    char *out = arena_alloc(a, len * 3 + 1);
    char *o = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else if (c == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

int oidc_token_form_build(struct oidc_token_form *out, struct arena *a,
                          const struct oidc_token_request *req, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *need[] = {req->code, req->redirect_uri, req->code_verifier, req->client_id,
                          req->client_secret};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (!need[i] || !*need[i])
            return usher_error_set(err, USHER_EINVAL, "oidc_token_request_invalid", NULL,
                                   "token request lacks a member");
    }
    char *body = arena_printf(a,
                              "grant_type=authorization_code&code=%s&redirect_uri=%s"
                              "&code_verifier=%s",
                              form_encode(a, req->code), form_encode(a, req->redirect_uri),
                              form_encode(a, req->code_verifier));
    if (req->auth_methods & OIDC_AUTH_BASIC) {
        /* RFC 6749 2.3.1: both parts are form-urlencoded before they are joined. */
        char *pair = arena_printf(a, "%s:%s", form_encode(a, req->client_id),
                                  form_encode(a, req->client_secret));
        size_t len = strlen(pair);
        size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = arena_alloc(a, cap);
        sodium_bin2base64(b64, cap, (const unsigned char *)pair, len,
                          sodium_base64_VARIANT_ORIGINAL);
        sodium_memzero(pair, len);
        out->authorization = arena_printf(a, "Basic %s", b64);
        sodium_memzero(b64, cap);
        out->body = body;
        return 0;
    }
    if (req->auth_methods & OIDC_AUTH_POST) {
        out->body =
            arena_printf(a, "%s&client_id=%s&client_secret=%s", body,
                         form_encode(a, req->client_id), form_encode(a, req->client_secret));
        return 0;
    }
    return usher_error_set(err, USHER_EINVAL, "oidc_auth_unsupported", NULL,
                           "the IdP offers neither client_secret_basic nor client_secret_post");
}

/* Whether s is a plausible OAuth error code (RFC 6749 5.2: %x20-21 / %x23-5B / %x5D-7E). */
static bool error_code_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > ERROR_CODE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

int oidc_token_response_parse(struct oidc_tokens *out, struct arena *a, long status,
                              const char *body, size_t len, struct usher_error *err)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    json_t *doc = oidc_json_object(body, len);
    if (!doc) {
        rc = usher_error_set(err, USHER_EUNAVAIL, "oidc_token_response_invalid", NULL,
                             "the token endpoint answered %ld without a JSON object", status);
        goto done;
    }
    const char *error = NULL;
    int has_error = oidc_json_string(&error, doc, "error", 1024);
    if (status != 200 || has_error != 0) {
        if (has_error == 1 && error_code_ok(error))
            rc = usher_error_set(err, USHER_EUNAUTH, "oidc_token_error", NULL,
                                 "the token endpoint refused the code: %s", error);
        else
            rc = usher_error_set(err, USHER_EUNAVAIL, "oidc_token_response_invalid", NULL,
                                 "the token endpoint answered %ld", status);
        goto done;
    }
    const char *id_token = NULL, *access_token = NULL, *token_type = NULL;
    int found = oidc_json_string(&id_token, doc, "id_token", OIDC_TOKEN_MAX);
    json_t *given = json_object_get(doc, "id_token");
    if (found != 1 && json_is_string(given) && json_string_length(given) > OIDC_TOKEN_MAX) {
        rc = usher_error_set(err, USHER_EUNAUTH, "id_token_too_large", NULL,
                             "the ID token is larger than %d bytes", OIDC_TOKEN_MAX);
        goto done;
    }
    if (found != 1) {
        rc = usher_error_set(err, USHER_EUNAUTH, "oidc_token_no_id_token", NULL,
                             "the token endpoint sent no usable id_token");
        goto done;
    }
    if (oidc_json_string(&access_token, doc, "access_token", OIDC_DOC_MAX) < 0 ||
        oidc_json_string(&token_type, doc, "token_type", 64) < 0) {
        rc = usher_error_set(err, USHER_EUNAVAIL, "oidc_token_response_invalid", NULL,
                             "the token endpoint sent a bad access_token or token_type");
        goto done;
    }
    out->id_token = arena_strdup(a, id_token);
    out->access_token = access_token ? arena_strdup(a, access_token) : NULL;
    out->token_type = token_type ? arena_strdup(a, token_type) : NULL;
done:
    json_decref(doc);
    return rc;
}

int oidc_token_exchange(struct oidc_tokens *out, struct arena *a, const char *token_endpoint,
                        const struct oidc_token_request *req, const struct oidc_http_options *opt,
                        struct usher_error *err)
{
    struct oidc_token_form form;
    struct oidc_http_response res;
    memset(out, 0, sizeof(*out));
    int rc = oidc_token_form_build(&form, a, req, err);
    if (rc)
        return rc;
    rc = oidc_http_post_form(&res, a, token_endpoint, form.body, form.authorization, opt, err);
    if (rc)
        return rc;
    return oidc_token_response_parse(out, a, res.status, res.body, res.len, err);
}
