/* Confirming a change of email: POST /api/v1/email-changes/confirm takes the token of the link
 * sent to the new address (the token is the credential: no session needed, any browser) and
 * answers with the account as it now is. It starts no session: every session of the account
 * has ended, and the person signs in again with the new address. */
#include "api/api.h"
#include "app/email_change.h"
#include "base/json.h"

#define CHANGE_TOKEN_MAX 256

static const char *const confirm_fields[] = {"token", NULL};

static int email_changes_confirm(struct http_request *req, struct http_response *res)
{
    json_t *body;
    const char *token;
    int rc = http_json_body(&body, req, confirm_fields);
    if (rc == 0)
        rc = json_member_string(&token, body, "token", true, CHANGE_TOKEN_MAX, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_user user;
    rc = app_email_change_confirm(&user, &call, token);
    if (rc)
        return rc;
    http_response_json(res, req, 200, json_pack("{s:o}", "user", api_user_json(req, &user)));
    return 0;
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/email-changes/confirm", email_changes_confirm, HTTP_PUBLIC, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_email_change_routes = {"email_changes", routes};
