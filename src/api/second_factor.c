/* The signed-in person's second factor: POST /api/v1/me/totp starts (or restarts) an enrolment,
 * POST /api/v1/me/totp/confirm turns it on with a first code and answers the recovery codes
 * once, POST /api/v1/me/totp/recovery-codes replaces the recovery codes, DELETE /api/v1/me/totp
 * turns it off. The secret and the codes are never logged. */
#include "api/api.h"
#include "app/password.h"
#include "app/second_factor.h"
#include "base/json.h"

#define CODE_MAX 64

static int self_only(struct http_request *req)
{
    if (req->principal.impersonator_id)
        return usher_error_set(&req->err, USHER_EFORBIDDEN, "impersonation_read_only", NULL,
                               "a view-as session does not manage the person's second factor");
    return 0;
}

static json_t *codes_json(const char **codes)
{
    json_t *list = json_array();
    for (size_t i = 0; i < APP_RECOVERY_CODE_COUNT; i++)
        json_array_append_new(list, json_string(codes[i]));
    return list;
}

static int totp_enrol(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"current_password", NULL};
    json_t *body;
    const char *password = NULL;
    int rc = self_only(req);
    if (rc == 0)
        rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(&password, body, "current_password", true, APP_PASSWORD_MAX_BYTES,
                                &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_second_factor_enrolment e;
    int64_t retry_after = 0;
    rc = app_second_factor_enrol(&e, &retry_after, &call, password,
                                 http_cookie(req, req->app->device_cookie_name));
    api_retry_after(req, res, rc, retry_after);
    if (rc)
        return rc;
    http_response_json(res, req, 200,
                       json_pack("{s:s, s:s, s:s}", "secret", e.secret, "otpauth_url",
                                 e.otpauth_url, "qr_svg", e.qr_svg));
    return 0;
}

static int totp_confirm(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"code", NULL};
    json_t *body;
    const char *code = NULL;
    int rc = self_only(req);
    if (rc == 0)
        rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(&code, body, "code", true, CODE_MAX, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    const char **codes = NULL;
    int64_t retry_after = 0;
    rc = app_second_factor_confirm(&codes, &retry_after, &call, code,
                                   http_cookie(req, req->app->device_cookie_name));
    api_retry_after(req, res, rc, retry_after);
    if (rc)
        return rc;
    http_response_json(res, req, 200, json_pack("{s:o}", "recovery_codes", codes_json(codes)));
    return 0;
}

static int totp_delete(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"current_password", "code", "recovery_code", NULL};
    json_t *body;
    const char *password = NULL;
    struct app_second_factor_proof proof = {0};
    int rc = self_only(req);
    if (rc == 0)
        rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(&password, body, "current_password", true, APP_PASSWORD_MAX_BYTES,
                                &req->err);
    if (rc == 0)
        rc = json_member_string(&proof.code, body, "code", false, CODE_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&proof.recovery_code, body, "recovery_code", false, CODE_MAX,
                                &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int64_t retry_after = 0;
    rc = app_second_factor_disable(&retry_after, &call, password, &proof,
                                   http_cookie(req, req->app->device_cookie_name));
    api_retry_after(req, res, rc, retry_after);
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static int totp_codes_replace(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"current_password", "code", NULL};
    json_t *body;
    const char *password = NULL, *code = NULL;
    int rc = self_only(req);
    if (rc == 0)
        rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(&password, body, "current_password", true, APP_PASSWORD_MAX_BYTES,
                                &req->err);
    if (rc == 0)
        rc = json_member_string(&code, body, "code", true, CODE_MAX, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    const char **codes = NULL;
    int64_t retry_after = 0;
    rc = app_second_factor_codes_replace(&codes, &retry_after, &call, password, code,
                                         http_cookie(req, req->app->device_cookie_name));
    api_retry_after(req, res, rc, retry_after);
    if (rc)
        return rc;
    http_response_json(res, req, 200, json_pack("{s:o}", "recovery_codes", codes_json(codes)));
    return 0;
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/me/totp", totp_enrol, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/me/totp/confirm", totp_confirm, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/me/totp", totp_delete, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/me/totp/recovery-codes", totp_codes_replace, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_second_factor_routes = {"second_factor", routes};
