/* The list of route tables and small helpers shared by the resource files. */
#include "api/api.h"

#include <string.h>

const struct http_route_table *const api_route_tables[] = {
    /* clang-format off */
    &api_health_routes,
    &api_sessions_routes,
    &api_me_routes,
    &api_agency_routes,
    &api_environment_routes,
    &api_bot_routes,
    &api_catalogue_routes,
    &api_role_routes,
    &api_invitation_routes,
    &api_bot_manager_routes,
    &api_impersonation_routes,
    &api_token_routes,
    &api_check_routes,
    &api_audit_routes,
    &api_member_routes,
    NULL,
    /* clang-format on */
};

struct app_actor api_actor(struct http_request *req)
{
    struct app_actor a = {0};
    a.user_id = req->principal.user_id;
    a.is_platform_admin = req->principal.is_platform_admin;
    a.impersonator_id = req->principal.impersonator_id;
    a.agency_limit = req->principal.impersonation_agency_id;
    a.source_ip = req->remote_addr;
    const char *ua = http_header(req, "User-Agent");
    if (ua && strlen(ua) > 256)
        ua = arena_strndup(&req->arena, ua, 256);
    a.user_agent = ua;
    a.request_id = req->request_id;
    return a;
}

const char *api_param(struct http_request *req, size_t i)
{
    return i < req->param_count ? req->params[i] : "";
}
