/* The list of route tables and small helpers shared by the resource files. */
#include "api/api.h"

#include <string.h>

#include "app/grants_preview.h"
#include "app/tenancy.h"
#include "base/json.h"
#include "policy/catalogue.h"

/* Every table but the metrics, in match order. */
#define API_TABLES_AFTER_METRICS                                                                   \
    &api_health_routes, &api_sessions_routes, &api_password_reset_routes,                          \
        &api_email_change_routes, &api_me_routes, &api_second_factor_routes, &api_agency_routes,   \
        &api_environment_routes, &api_bot_routes, &api_catalogue_routes, &api_role_routes,         \
        &api_invitation_routes, &api_invitation_bulk_routes, &api_bot_manager_routes,              \
        &api_impersonation_routes, &api_token_routes, &api_check_routes, &api_audit_routes,        \
        &api_member_routes, &api_grantable_routes, &api_user_routes, &api_oidc_routes,             \
        &api_oidc_connection_routes, NULL

const struct http_route_table *const api_route_tables[] = {&api_metrics_routes,
                                                           API_TABLES_AFTER_METRICS};

/* Without a route, GET /metrics would fall through to the console, which draws any page. */
static const struct http_route_table *const tables_metrics_elsewhere[] = {
    &api_metrics_elsewhere_routes, API_TABLES_AFTER_METRICS};

const struct http_route_table *const *api_route_tables_main(bool metrics_elsewhere)
{
    return metrics_elsewhere ? tables_metrics_elsewhere : api_route_tables;
}

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
    a.session_method = req->principal.session_method;
    a.session_connection_id = req->principal.session_connection_id;
    a.session_started_at = req->principal.session_started_at;
    return a;
}

struct app_call api_call(struct http_request *req, struct app_actor *actor_storage)
{
    *actor_storage = api_actor(req);
    return (struct app_call){
        .app = req->app,
        .arena = &req->arena,
        .actor = actor_storage,
        .err = &req->err,
    };
}

const char *api_param(struct http_request *req, size_t i)
{
    return i < req->param_count ? req->params[i] : "";
}

const char *const api_page_params[] = {"limit", "cursor", NULL};

int api_page_query(struct app_page *out, struct http_request *req)
{
    const char *limit, *cursor;
    int rc = http_query(&limit, req, "limit");
    if (rc == 0)
        rc = http_query(&cursor, req, "cursor");
    if (rc == 0)
        rc = app_page_parse(out, &req->arena, limit, cursor, &req->err);
    return rc;
}

int api_dry_run_query(bool *out, struct http_request *req)
{
    const char *v = NULL;
    *out = false;
    int rc = http_query(&v, req, "dry_run");
    if (rc || !v)
        return rc;
    if (strcmp(v, "1") != 0 && strcmp(v, "true") != 0)
        return usher_error_set(&req->err, USHER_EINVAL, NULL, "dry_run",
                               "dry_run must be 1 or true (leave it out for a real change)");
    *out = true;
    return 0;
}

static json_t *permission_names(uint64_t mask)
{
    json_t *list = json_array();
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        if (mask & POLICY_BIT(i))
            json_array_append_new(list, json_string(policy_catalogue_permission_at(i)->name));
    }
    return list;
}

void api_preview_response(struct http_response *res, struct http_request *req,
                          const struct app_grants_preview *p)
{
    json_t *changes = json_array();
    for (size_t i = 0; i < p->change_count; i++) {
        const struct app_grants_preview_change *c = &p->changes[i];
        json_array_append_new(changes, json_pack("{s:s, s:s, s:s, s:o, s:o}", "scope_type",
                                                 policy_catalogue_scope_name(c->scope), "scope_id",
                                                 c->scope_id, "scope_name", c->scope_name, "gained",
                                                 permission_names(c->gained), "lost",
                                                 permission_names(c->lost)));
    }
    json_t *added = json_array(), *removed = json_array();
    for (size_t i = 0; i < p->recipient_count; i++) {
        const struct app_grants_preview_recipient *r = &p->recipients[i];
        json_array_append_new(r->is_added ? added : removed,
                              json_pack("{s:s*, s:s, s:s, s:s}", "user_id", p->user_id, "email",
                                        p->email, "environment_id", r->environment_id,
                                        "environment_name", r->environment_name));
    }
    http_response_json(res, req, 200,
                       json_pack("{s:b, s:o, s:{s:o, s:o}}", "dry_run", true, "changes", changes,
                                 "notification_recipients", "added", added, "removed", removed));
}

void api_list_response(struct http_response *res, struct http_request *req, json_t *items,
                       const char *next_cursor)
{
    http_response_json(res, req, 200,
                       json_pack("{s:o, s:s?}", "items", items, "next_cursor", next_cursor));
}

json_t *api_removal_json(const struct app_place_removal *r)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "grants_removed", (json_int_t)r->grants_removed,
                     "invitations_revoked", (json_int_t)r->invitations_revoked, "people_affected",
                     (json_int_t)r->people_affected, "memberships_ended",
                     (json_int_t)r->memberships_ended);
}

int api_name_body(const char **out, struct http_request *req)
{
    static const char *const allowed[] = {"name", NULL};
    json_t *body;
    int rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(out, body, "name", true, JSON_STRING_MAX, &req->err);
    return rc;
}
