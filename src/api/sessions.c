/* Sign-in and sign-out: POST /api/v1/sessions (and its second step, POST
 * /api/v1/sessions/mfa, for accounts with a second factor) and DELETE /api/v1/sessions/current. The
 * session token goes to the client twice, in the body (for API clients) and in an HttpOnly
 * cookie (for the console), and is never logged. A password sign-in also sets the device
 * cookie that keeps this client's sign-ins apart from strangers' failures (app/device.h). */
#include <stdio.h>

#include "api/api.h"
#include "app/account.h"
#include "app/oidc.h"
#include "app/password.h"
#include "app/second_factor.h"
#include "base/clock.h"
#include "base/json.h"
#include "config/config.h"

#define SIGN_IN_EMAIL_MAX 1024 /* raw bytes before trimming; the address itself is capped later */
#define MFA_TOKEN_MAX     256
#define MFA_CODE_MAX      64

static const char *const sign_in_fields[] = {"email", "password", NULL};

static const char *cookie_attributes(const struct app *app)
{
    return app->cookie_secure ? "Path=/; HttpOnly; SameSite=Lax; Secure"
                              : "Path=/; HttpOnly; SameSite=Lax";
}

json_t *api_session_json(struct http_request *req, struct http_response *res,
                         const struct app_session_new *s)
{
    const struct app *app = req->app;
    char *cookie =
        arena_printf(&req->arena, "%s=%s; %s; Max-Age=%lld", app->cookie_name, s->token,
                     cookie_attributes(app), (long long)app->cfg->session_absolute_seconds);
    http_response_header(res, req, "Set-Cookie", cookie);
    if (s->device_cookie[0]) {
        /* Strict: the cookie only ever matters on the sign-in form of this site. */
        char *device =
            arena_printf(&req->arena, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s; Max-Age=%lld",
                         app->device_cookie_name, s->device_cookie,
                         app->cookie_secure ? "; Secure" : "", (long long)APP_DEVICE_MAX_AGE);
        http_response_header(res, req, "Set-Cookie", device);
    }
    json_t *out = json_object();
    json_object_set_new(out, "token", json_string(s->token));
    json_object_set_new(out, "csrf_token", json_string(s->csrf_token));
    json_object_set_new(out, "expires_at", json_time_ms(&req->arena, s->expires_at));
    json_object_set_new(out, "user", api_user_json(req, &s->user));
    return out;
}

json_t *api_mfa_challenge_json(struct http_request *req, const struct app_session_new *s)
{
    return json_pack("{s:b, s:s, s:o}", "mfa_required", 1, "mfa_token", s->mfa_token, "expires_at",
                     json_time_ms(&req->arena, s->mfa_expires_at));
}

void api_retry_after(struct http_request *req, struct http_response *res, int rc,
                     int64_t retry_after)
{
    if (rc != USHER_ELIMIT && rc != USHER_EUNAVAIL)
        return;
    char seconds[24];
    snprintf(seconds, sizeof(seconds), "%lld", (long long)(retry_after > 0 ? retry_after : 1));
    http_response_header(res, req, "Retry-After", seconds);
}

static int sessions_create(struct http_request *req, struct http_response *res)
{
    struct app *app = req->app;
    json_t *body;
    const char *email, *password;
    int rc = http_json_body(&body, req, sign_in_fields);
    if (rc == 0)
        rc = json_member_string(&email, body, "email", true, SIGN_IN_EMAIL_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&password, body, "password", true, APP_PASSWORD_MAX_BYTES,
                                &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_sign_in in = {
        .email = email,
        .password = password,
        .device_cookie = http_cookie(req, app->device_cookie_name),
    };
    struct app_session_new s;
    int64_t retry_after = 0;
    rc = app_account_sign_in(&s, &retry_after, &call, &in);
    api_retry_after(req, res, rc, retry_after);
    if (rc)
        return rc;
    /* The password was right and the account has a second factor: no session yet. */
    if (s.mfa_required) {
        http_response_json(res, req, 200, api_mfa_challenge_json(req, &s));
        return 0;
    }

    /* The cookie is about to be replaced: the session it carried ends now rather than
     * lingering until its timeout. */
    if (req->principal.via_cookie && req->principal.session_hash) {
        struct usher_error ignored = {0};
        struct app_call quiet = call;
        quiet.err = &ignored;
        app_account_sign_out(&quiet, req->principal.session_hash);
    }

    http_response_json(res, req, 201, api_session_json(req, res, &s));
    return 0;
}

void api_session_cookie_clear(struct http_request *req, struct http_response *res)
{
    const struct app *app = req->app;
    char *cookie =
        arena_printf(&req->arena, "%s=; %s; Max-Age=0", app->cookie_name, cookie_attributes(app));
    http_response_header(res, req, "Set-Cookie", cookie);
}

static int sessions_delete_current(struct http_request *req, struct http_response *res)
{
    if (!req->principal.session_hash)
        return usher_error_set(&req->err, USHER_EINVAL, NULL, NULL,
                               "this credential is not a session");
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    /* Read before the session row goes: a session made through a provider that has a sign-out
     * endpoint sends the browser there next. */
    const char *end_session_url = NULL;
    int rc = app_oidc_end_session_url(&end_session_url, &call, req->principal.session_hash);
    if (rc == 0)
        rc = app_account_sign_out(&call, req->principal.session_hash);
    if (rc)
        return rc;
    api_session_cookie_clear(req, res);
    if (end_session_url)
        http_response_json(res, req, 200, json_pack("{s:s}", "end_session_url", end_session_url));
    else
        http_response_empty(res, 204);
    return 0;
}

static const char *const mfa_fields[] = {"mfa_token", "code", "recovery_code", NULL};

/* The second step of a two-step sign-in: the token of the first and a code or recovery code. */
static int sessions_mfa(struct http_request *req, struct http_response *res)
{
    json_t *body;
    const char *token = NULL;
    struct app_second_factor_proof proof = {0};
    int rc = http_json_body(&body, req, mfa_fields);
    if (rc == 0)
        rc = json_member_string(&token, body, "mfa_token", true, MFA_TOKEN_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&proof.code, body, "code", false, MFA_CODE_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&proof.recovery_code, body, "recovery_code", false, MFA_CODE_MAX,
                                &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_session_new s;
    int64_t retry_after = 0;
    rc = app_second_factor_sign_in(&s, &retry_after, &call, token, &proof,
                                   http_cookie(req, req->app->device_cookie_name));
    api_retry_after(req, res, rc, retry_after);
    if (rc)
        return rc;
    if (req->principal.via_cookie && req->principal.session_hash) {
        struct usher_error ignored = {0};
        struct app_call quiet = call;
        quiet.err = &ignored;
        app_account_sign_out(&quiet, req->principal.session_hash);
    }
    http_response_json(res, req, 201, api_session_json(req, res, &s));
    return 0;
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/sessions", sessions_create, HTTP_PUBLIC, NULL},
    {"POST", "/api/v1/sessions/mfa", sessions_mfa, HTTP_PUBLIC, NULL},
    {"DELETE", "/api/v1/sessions/current", sessions_delete_current, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_sessions_routes = {"sessions", routes};
