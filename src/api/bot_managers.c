/* Per-bot delegation over HTTP: invite, list and remove the managers of one bot. */
#include <stdio.h>

#include "api/api.h"
#include "app/delegation.h"
#include "base/json.h"

static json_t *manager_json(const struct store_bot_manager *m)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "user_id", m->user_id, "email", m->email,
                     "first_name", m->first_name ? m->first_name : "", "last_name",
                     m->last_name ? m->last_name : "", "status", m->status);
}

static const char *const invite_fields[] = {
    "email", "first_name", "last_name", "send_email", "expires_in_seconds", "expires_at", NULL};

static int managers_invite(struct http_request *req, struct http_response *res)
{
    json_t *body;
    struct app_invitation_new in;
    const char *expires_at = NULL;
    int rc = http_json_body(&body, req, NULL);
    if (rc == 0)
        rc = api_invitation_new_parse(&in, req, body, invite_fields);
    if (rc == 0)
        rc = json_member_string(&expires_at, body, "expires_at", false, 64, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_invitation_view v;
    int64_t wait = 0;
    rc = app_bot_manager_invite(&v, &wait, &call, api_param(req, 0), &in, expires_at);
    if (rc == USHER_ELIMIT) {
        char text[24];
        snprintf(text, sizeof(text), "%lld", (long long)(wait > 0 ? wait : 60));
        http_response_header(res, req, "Retry-After", text);
    }
    if (rc)
        return rc;
    http_response_json(res, req, 201, api_invitation_json(req, &v));
    return 0;
}

static int managers_list(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_bot_manager *managers = NULL;
    struct app_invitation_view *pending = NULL;
    size_t manager_count = 0, pending_count = 0;
    int rc = app_bot_managers_list(&managers, &manager_count, &pending, &pending_count, &call,
                                   api_param(req, 0));
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < manager_count; i++)
        json_array_append_new(items, manager_json(&managers[i]));
    json_t *invited = json_array();
    for (size_t i = 0; i < pending_count; i++)
        json_array_append_new(invited, api_invitation_json(req, &pending[i]));
    http_response_json(res, req, 200,
                       json_pack("{s:o, s:o, s:b}", "items", items, "pending_invitations", invited,
                                 "shared", manager_count > 0));
    return 0;
}

static int managers_remove(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_bot_manager_remove(&call, api_param(req, 0), api_param(req, 1));
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/bots/{id}/managers", managers_invite, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/bots/{id}/managers", managers_list, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/bots/{id}/managers/{user_id}", managers_remove, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_bot_manager_routes = {"bot_managers", routes};
