/* Sign-in through an agency's OpenID Connect provider: POST /api/v1/sign-in/discover (which
 * way an address signs in), GET /api/v1/oidc/start (to the provider, with the browser-binding
 * cookie), GET /api/v1/oidc/callback (back from it: a session, or the problem page) and
 * DELETE /api/v1/me/identities/{id}. The browser is sent on with 302s; no token is logged. */
#include <string.h>

#include "api/api.h"
#include "app/account.h"
#include "app/oidc.h"
#include "base/json.h"

static const char *const discover_fields[] = {"email", NULL};

static int sign_in_discover(struct http_request *req, struct http_response *res)
{
    json_t *body;
    const char *email = NULL;
    int rc = http_json_body(&body, req, discover_fields);
    if (rc == 0)
        rc = json_member_string(&email, body, "email", true, 1024, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_oidc_connection conn;
    bool found = false;
    rc = app_oidc_discover(&conn, &found, &call, email);
    if (rc)
        return rc;
    json_t *o =
        found ? json_pack("{s:s, s:s, s:s, s:s}", "method", "oidc", "connection_id", conn.id,
                          "connection_name", conn.name, "start_url",
                          arena_printf(&req->arena, "/api/v1/oidc/start?connection_id=%s", conn.id))
              : json_pack("{s:s}", "method", "password");
    http_response_json(res, req, 200, o);
    return 0;
}

static const char *browser_cookie_name(const struct app *app)
{
    return app->cookie_secure ? "__Host-usher_oidc" : "usher_oidc";
}

static void redirect(struct http_response *res, struct http_request *req, const char *location)
{
    http_response_header(res, req, "Location", location);
    http_response_empty(res, 302);
}

static void redirect_problem(struct http_response *res, struct http_request *req,
                             const char *reason)
{
    redirect(res, req, arena_printf(&req->arena, "/sign-in/problem?reason=%s", reason));
}

static int oidc_start(struct http_request *req, struct http_response *res)
{
    struct app_oidc_start_in in = {0};
    const char *link = NULL;
    int rc = http_query(&in.connection_id, req, "connection_id");
    if (rc == 0)
        rc = http_query(&in.invitation_token, req, "invitation");
    if (rc == 0)
        rc = http_query(&in.return_to, req, "return_to");
    if (rc == 0)
        rc = http_query(&link, req, "link");
    if (rc)
        return rc;
    in.link = link && strcmp(link, "1") == 0;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_oidc_start_out out;
    rc = app_oidc_start(&out, &call, &in);
    if (rc)
        return rc;
    if (out.reason) {
        redirect_problem(res, req, out.reason);
        return 0;
    }
    const struct app *app = req->app;
    http_response_header(
        res, req, "Set-Cookie",
        arena_printf(&req->arena, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s; Max-Age=%d",
                     browser_cookie_name(app), out.browser, app->cookie_secure ? "; Secure" : "",
                     APP_OIDC_COOKIE_MAX_AGE));
    redirect(res, req, out.location);
    return 0;
}

static int oidc_callback(struct http_request *req, struct http_response *res)
{
    const struct app *app = req->app;
    struct app_oidc_callback_in in = {0};
    /* A malformed query (a parameter twice, a value too long) is not answered with an error
     * page of the API: its state cannot be trusted, so the browser goes to the problem page
     * as for any unknown state. */
    if (http_query(&in.code, req, "code") != 0 || http_query(&in.state, req, "state") != 0 ||
        http_query(&in.error, req, "error") != 0) {
        usher_error_clear(&req->err);
        in = (struct app_oidc_callback_in){0};
    }
    in.browser_cookie = http_cookie(req, browser_cookie_name(app));
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_oidc_callback_out out;
    int rc = app_oidc_callback(&out, &call, &in);
    if (rc)
        return rc;
    /* The binding cookie has served its one use. */
    http_response_header(
        res, req, "Set-Cookie",
        arena_printf(&req->arena, "%s=; Path=/; HttpOnly; SameSite=Lax%s; Max-Age=0",
                     browser_cookie_name(app), app->cookie_secure ? "; Secure" : ""));
    if (out.reason) {
        redirect_problem(res, req, out.reason);
        return 0;
    }
    if (out.has_session) {
        if (req->principal.via_cookie && req->principal.session_hash) {
            struct usher_error ignored = {0};
            struct app_call quiet = call;
            quiet.err = &ignored;
            app_account_sign_out(&quiet, req->principal.session_hash);
        }
        json_decref(api_session_json(req, res, &out.session));
    }
    redirect(res, req, out.return_to);
    return 0;
}

static int identities_delete(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_oidc_identity_unlink(&call, api_param(req, 0));
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static const char *const oidc_start_params[] = {"connection_id", "invitation", "return_to", "link",
                                                NULL};

static const struct http_route routes[] = {
    {"POST", "/api/v1/sign-in/discover", sign_in_discover, HTTP_PUBLIC, NULL},
    {"GET", "/api/v1/oidc/start", oidc_start, HTTP_PUBLIC, oidc_start_params},
    /* The IdP's redirect may add parameters of its own (iss, session_state, scope …). */
    {"GET", "/api/v1/oidc/callback", oidc_callback, HTTP_PUBLIC, http_query_any},
    {"DELETE", "/api/v1/me/identities/{id}", identities_delete, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_oidc_routes = {"oidc", routes};
