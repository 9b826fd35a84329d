/* "View as" over HTTP: start an impersonation session (a new token and cookie for the target's
 * view), and leave it (a fresh session for the impersonator). */
#include <string.h>

#include "api/api.h"
#include "app/impersonation.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/text.h"

static const char *const start_fields[] = {"user_id", "agency_id", "reason", NULL};

static int impersonation_start(struct http_request *req, struct http_response *res)
{
    json_t *body;
    const char *user_id, *agency_id, *reason = NULL;
    int rc = http_json_body(&body, req, start_fields);
    if (rc == 0)
        rc = json_member_string(&user_id, body, "user_id", true, 128, &req->err);
    if (rc == 0)
        rc = json_member_string(&agency_id, body, "agency_id", true, 128, &req->err);
    if (rc == 0)
        rc = json_member_string(&reason, body, "reason", false, 2048, &req->err);
    if (rc == 0 && reason && *text_trim(&req->arena, reason))
        rc = text_name_check(&reason, &req->arena, reason, "reason", APP_IMPERSONATION_REASON_MAX,
                             &req->err);
    else
        reason = NULL;
    if (rc)
        return rc;
    if (req->principal.is_service)
        return usher_error_set(&req->err, USHER_EFORBIDDEN, NULL, NULL,
                               "an API token cannot view as anyone");
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_impersonation imp;
    rc = app_impersonation_start(&imp, &call, req->principal.session_hash, user_id, agency_id,
                                 reason);
    if (rc)
        return rc;
    json_t *out = api_session_json(req, res, &imp.session);
    json_object_set_new(out, "impersonator", api_user_json(req, &imp.impersonator));
    json_object_set_new(out, "agency_id", json_string(imp.agency_id));
    http_response_json(res, req, 201, out);
    return 0;
}

static int impersonation_end(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_session_new s;
    int rc = app_impersonation_end(&s, &call, req->principal.session_hash);
    if (rc)
        return rc;
    http_response_json(res, req, 200, api_session_json(req, res, &s));
    return 0;
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/impersonation", impersonation_start, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/impersonation", impersonation_end, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_impersonation_routes = {"impersonation", routes};
