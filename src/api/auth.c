/* The authenticator plugged into the HTTP server: Bearer token or session cookie to a
 * principal, with the CSRF check for browsers. A bad credential never raises an error by
 * itself: the request goes on anonymous and the route decides. */
#include "api/auth.h"

#include <string.h>

#include "app/account.h"
#include "app/impersonation.h"
#include "app/second_factor.h"
#include "app/tokens.h"
#include "http/http.h"

#define AUTH_TOKEN_MAX 512

/* Token characters of RFC 6750's b64token. */
static bool bearer_token_is_well_formed(const char *t)
{
    size_t len = strlen(t);
    if (len == 0 || len > AUTH_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
        if (!ok && !(c == '=' && i > 0))
            return false;
    }
    return true;
}

const char *api_auth_bearer_token(const char *header)
{
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    const char *t = header + 7;
    while (*t == ' ')
        t++;
    return bearer_token_is_well_formed(t) ? t : NULL;
}

/* An API token makes a service principal: no user, only the decision endpoints. */
static int authenticate_api_token(struct http_request *req, const char *token)
{
    struct store_token t;
    struct usher_error inner = {0};
    int rc = app_token_resolve(&t, req->app, &req->arena, token, &inner);
    if (rc == USHER_EUNAUTH)
        return 0;
    if (rc)
        return usher_error_set(&req->err, rc, NULL, NULL, "%s", inner.message);
    req->principal.is_authenticated = true;
    req->principal.is_service = true;
    req->principal.token_id = t.id;
    req->principal.token_agency_id = t.agency_id;
    return 0;
}

/* Unsafe requests a "view as" session may still make: decisions, leaving it, signing out. */
static bool impersonation_may_write(const struct http_request *req)
{
    if (!req->route)
        return false;
    if (strcmp(req->method, "POST") == 0)
        /* Decisions are questions, not changes. */
        return strcmp(req->route, "/api/v1/check") == 0 ||
               strcmp(req->route, "/api/v1/check/batch") == 0;
    return strcmp(req->method, "DELETE") == 0 &&
           (strcmp(req->route, "/api/v1/impersonation") == 0 ||
            strcmp(req->route, "/api/v1/sessions/current") == 0);
}

/* A "view as" session: the impersonator must still be allowed, the session only reads, and
 * every request is recorded with both people. */
static int authenticate_impersonation(struct http_request *req, const struct store_session *s)
{
    req->principal.impersonator_id = s->impersonator_id;
    req->principal.impersonation_agency_id = s->impersonation_agency_id;
    req->principal.is_platform_admin = false;
    struct app_actor actor = {
        .user_id = req->principal.user_id,
        .impersonator_id = s->impersonator_id,
        .source_ip = req->remote_addr,
        .user_agent = http_header(req, "User-Agent"),
        .request_id = req->request_id,
    };
    if (actor.user_agent && strlen(actor.user_agent) > 256)
        actor.user_agent = arena_strndup(&req->arena, actor.user_agent, 256);
    struct app_call call = {req->app, &req->arena, &actor, &req->err};
    int rc = app_impersonation_recheck(&call, s);
    if (rc) {
        memset(&req->principal, 0, sizeof(req->principal));
        return rc;
    }
    if (strcmp(req->method, "POST") == 0 && req->route &&
        strcmp(req->route, "/api/v1/impersonation") == 0)
        rc = usher_error_set(&req->err, USHER_ECONFLICT, "impersonation_nested", NULL,
                             "you are already viewing as someone; exit first");
    else if (http_method_is_unsafe(req->method) && !impersonation_may_write(req))
        rc = usher_error_set(&req->err, USHER_EFORBIDDEN, "impersonation_read_only", NULL,
                             "a view-as session cannot change anything; exit it first");
    struct usher_error ignored = {0};
    struct app_call record = {req->app, &req->arena, &actor, &ignored};
    if (app_impersonation_record_request(&record, s->impersonation_agency_id, s->public_id,
                                         req->method, req->route) != 0 &&
        rc == 0)
        /* Every request while impersonating is on the record, or it does not happen. */
        rc = usher_error_set(&req->err, USHER_EUNAVAIL, NULL, NULL, "%s", ignored.message);
    return rc;
}

/* What a session held back by its agencies' second-factor policy may still do: read the
 * person, enrol, sign out. */
static bool second_factor_may_use(const struct http_request *req)
{
    const char *r = req->route;
    if (!r || strcmp(r, "unmatched") == 0)
        return true; /* answers 404 anyway */
    if (strcmp(r, "/api/v1/me") == 0)
        return !http_method_is_unsafe(req->method);
    if (strcmp(r, "/api/v1/sessions/current") == 0)
        return strcmp(req->method, "DELETE") == 0;
    return strcmp(r, "/api/v1/me/totp") == 0 || strcmp(r, "/api/v1/me/totp/confirm") == 0;
}

/* A person whose agency requires a second factor and who has none gets only what enrolling
 * needs. Read from the decision index: no SQL. */
static int second_factor_gate(struct http_request *req)
{
    if (!app_second_factor_required(req->app, req->principal.user_id))
        return 0;
    req->principal.second_factor_required = true;
    if (second_factor_may_use(req))
        return 0;
    return usher_error_set(&req->err, USHER_EFORBIDDEN, "second_factor_required", NULL,
                           "an agency you belong to requires two-step verification: turn it "
                           "on first");
}

int api_auth_authenticate(struct http_request *req)
{
    struct app *app = req->app;
    memset(&req->principal, 0, sizeof(req->principal));
    const char *token = NULL;
    bool via_cookie = false;
    const char *authorization = http_header(req, "Authorization");
    if (authorization) {
        token = api_auth_bearer_token(authorization);
        if (!token)
            return usher_error_set(&req->err, USHER_EUNAUTH, NULL, NULL,
                                   "the Authorization header must be \"Bearer <token>\"");
    } else {
        token = http_cookie(req, app->cookie_name);
        via_cookie = token != NULL;
    }
    if (!token)
        return 0;
    if (!via_cookie && app_token_is_api_token(token))
        return authenticate_api_token(req, token);

    struct store_user user;
    struct store_session session;
    char hash[CRYPTO_HASH_HEX + 1];
    struct usher_error inner = {0};
    int rc = app_account_session_lookup(&user, &session, hash, app, &req->arena, token, &inner);
    if (rc == USHER_EUNAUTH)
        return 0;
    if (rc)
        return usher_error_set(&req->err, rc, NULL, NULL, "%s", inner.message);

    if (via_cookie && http_method_is_unsafe(req->method) &&
        !app_account_csrf_valid(app, hash, http_header(req, API_AUTH_CSRF_HEADER)))
        return usher_error_set(&req->err, USHER_EFORBIDDEN, "csrf_failed", API_AUTH_CSRF_HEADER,
                               "a cookie-authenticated %s needs the session's X-CSRF-Token "
                               "header",
                               req->method);

    req->principal.is_authenticated = true;
    req->principal.via_cookie = via_cookie;
    req->principal.is_platform_admin = user.is_platform_admin;
    req->principal.user_id = user.id;
    req->principal.email = user.email;
    req->principal.session_hash = arena_strdup(&req->arena, hash);
    if (session.impersonator_id)
        return authenticate_impersonation(req, &session);
    req->principal.session_method = session.method ? session.method : "password";
    req->principal.session_connection_id = session.connection_id;
    req->principal.session_started_at = session.created_at;
    /* The provider authenticated an "oidc" session: it stands for the second factor the
     * agencies' two-step policy asks of a password. */
    if (strcmp(req->principal.session_method, "oidc") == 0)
        return 0;
    return second_factor_gate(req);
}
