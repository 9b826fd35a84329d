/* Password recovery: POST /api/v1/password-resets asks for a reset link by email (always 202,
 * whatever the address) and POST /api/v1/password-resets/confirm sets a new password with the
 * link's token and signs the person in, answering as POST /api/v1/sessions does (a two-step
 * token instead of a session when the account has a second factor). */
#include "api/api.h"
#include "app/password.h"
#include "app/password_reset.h"
#include "base/json.h"

#define RESET_EMAIL_MAX 1024 /* raw bytes before trimming; the address itself is capped later */
#define RESET_TOKEN_MAX 256

static const char *const request_fields[] = {"email", NULL};
static const char *const confirm_fields[] = {"token", "password", NULL};

static int password_resets_create(struct http_request *req, struct http_response *res)
{
    json_t *body;
    const char *email;
    int rc = http_json_body(&body, req, request_fields);
    if (rc == 0)
        rc = json_member_string(&email, body, "email", true, RESET_EMAIL_MAX, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    rc = app_password_reset_request(&call, email);
    if (rc)
        return rc;
    json_t *out = json_pack("{s:s}", "message",
                            "if the address belongs to an active account, a link to choose a new "
                            "password is on its way");
    http_response_json(res, req, 202, out);
    return 0;
}

static int password_resets_confirm(struct http_request *req, struct http_response *res)
{
    json_t *body;
    const char *token, *password;
    int rc = http_json_body(&body, req, confirm_fields);
    if (rc == 0)
        rc = json_member_string(&token, body, "token", true, RESET_TOKEN_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&password, body, "password", true, APP_PASSWORD_MAX_BYTES,
                                &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_session_new s;
    rc = app_password_reset_confirm(&s, &call, token, password);
    if (rc)
        return rc;
    if (s.mfa_required) {
        http_response_json(res, req, 200, api_mfa_challenge_json(req, &s));
        return 0;
    }
    http_response_json(res, req, 201, api_session_json(req, res, &s));
    return 0;
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/password-resets", password_resets_create, HTTP_PUBLIC, NULL},
    {"POST", "/api/v1/password-resets/confirm", password_resets_confirm, HTTP_PUBLIC, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_password_reset_routes = {"password_resets", routes};
