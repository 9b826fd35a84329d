/* Sign-in through an agency's OpenID Connect provider: POST /api/v1/sign-in/discover (which
 * way an address signs in), GET /api/v1/oidc/start (to the provider, with the browser-binding
 * cookie), GET /api/v1/oidc/callback (back from it: a session, or the problem page) and
 * DELETE /api/v1/me/identities/{id}. The browser is sent on with 302s; no token is logged. */
#include <string.h>

#include "api/api.h"
#include "app/account.h"
#include "app/oidc.h"
#include "base/json.h"
#include "base/log.h"

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

static const char *const oidc_start_params[] = {"connection_id", "invitation", "return_to", "link",
                                                NULL};

/* The problem page's reason for a start that failed with an error: the start is a browser's
 * navigation, so nothing it refuses is answered as JSON. The error is logged as it was. */
static const char *start_reason(struct http_request *req, int rc)
{
    const char *problem = req->err.problem;
    const char *field = req->err.field;
    const char *reason = "server_error";
    if (strcmp(problem, "return_to_invalid") == 0)
        reason = "return_to_invalid";
    else if (strcmp(problem, "connection_not_found") == 0)
        reason = "connection_not_found";
    else if (rc == USHER_EINVAL)
        reason = "request_invalid";
    else if (rc == USHER_EUNAUTH)
        reason = "sign_in_required";
    else if (rc == USHER_EFORBIDDEN)
        reason = "link_not_allowed";
    else if (rc == USHER_ELIMIT || rc == USHER_EUNAVAIL)
        reason = "busy";
    log_msg(rc == USHER_EINTERNAL || rc == USHER_EUNAVAIL ? LOG_WARN : LOG_INFO,
            "oidc.start_refused", "{s:s, s:s, s:s, s:s}", "reason", reason, "problem", problem,
            "field", field, "message", req->err.message);
    usher_error_clear(&req->err);
    return reason;
}

static int oidc_start(struct http_request *req, struct http_response *res)
{
    struct app_oidc_start_in in = {0};
    const char *link = NULL;
    int rc = http_query_check(req, oidc_start_params);
    if (rc == 0)
        rc = http_query(&in.connection_id, req, "connection_id");
    if (rc == 0)
        rc = http_query(&in.invitation_token, req, "invitation");
    if (rc == 0)
        rc = http_query(&in.return_to, req, "return_to");
    if (rc == 0)
        rc = http_query(&link, req, "link");
    struct app_oidc_start_out out = {0};
    if (rc == 0) {
        in.link = link && strcmp(link, "1") == 0;
        struct app_actor actor;
        struct app_call call = api_call(req, &actor);
        rc = app_oidc_start(&out, &call, &in);
    }
    if (rc) {
        redirect_problem(res, req, start_reason(req, rc));
        return 0;
    }
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
    if (rc) {
        /* A store that failed: logged, and the browser still lands on the problem page. */
        log_msg(LOG_WARN, "oidc.callback_failed", "{s:s, s:s}", "problem", req->err.problem,
                "message", req->err.message);
        usher_error_clear(&req->err);
        memset(&out, 0, sizeof(out));
        out.reason = "server_error";
    }
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

static const struct http_route routes[] = {
    {"POST", "/api/v1/sign-in/discover", sign_in_discover, HTTP_PUBLIC, NULL},
    /* The start checks its parameters itself (oidc_start_params), so that a browser sent
     * here with a bad one lands on the problem page rather than on an API error. */
    {"GET", "/api/v1/oidc/start", oidc_start, HTTP_PUBLIC, http_query_any},
    /* The IdP's redirect may add parameters of its own (iss, session_state, scope …). */
    {"GET", "/api/v1/oidc/callback", oidc_callback, HTTP_PUBLIC, http_query_any},
    {"DELETE", "/api/v1/me/identities/{id}", identities_delete, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_oidc_routes = {"oidc", routes};
