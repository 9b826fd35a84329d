/* GET /api/v1/agencies/{id}/grantable: the roles and extra permissions the caller may give at
 * one scope, each with the reason when they may not, for the console's dialogs. */
#include "api/api.h"
#include <string.h>

#include "app/grantable.h"
#include "base/clock.h"

static json_t *reason_json(const char *reason)
{
    return reason ? json_string(reason) : json_null();
}

/* An end as RFC 3339, or null when there is none. */
static json_t *until_json(struct arena *a, int64_t until)
{
    return until > 0 ? json_string(clock_format_ms(a, until)) : json_null();
}

static int grantable_get(struct http_request *req, struct http_response *res)
{
    const char *environment_id = NULL, *bot_id = NULL, *purpose = NULL;
    int rc = http_query(&environment_id, req, "environment_id");
    if (rc == 0)
        rc = http_query(&bot_id, req, "bot_id");
    if (rc == 0)
        rc = http_query(&purpose, req, "for");
    if (rc)
        return rc;
    bool is_manage = false;
    if (purpose && strcmp(purpose, "manage") == 0)
        is_manage = true;
    else if (purpose && strcmp(purpose, "invite") != 0)
        return usher_error_set(&req->err, USHER_EINVAL, NULL, "for",
                               "for must be \"invite\" or \"manage\"");
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_grantable g;
    rc = app_grantable_list(&g, &call, api_param(req, 0), environment_id, bot_id, is_manage);
    if (rc)
        return rc;
    json_t *roles = json_array();
    for (size_t i = 0; i < g.role_count; i++) {
        const struct app_grantable_role *r = &g.roles[i];
        json_array_append_new(
            roles, json_pack("{s:s, s:s, s:b, s:b, s:o, s:o}", "id", r->id, "name", r->name,
                             "built_in", r->is_built_in, "grantable", r->is_grantable, "reason",
                             reason_json(r->reason), "until", until_json(&req->arena, r->until)));
    }
    json_t *perms = json_array();
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        const struct app_grantable_permission *p = &g.permissions[i];
        json_array_append_new(perms, json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "name", p->name,
                                               "description", p->description, "kind",
                                               p->is_authority ? "authority" : "work", "grantable",
                                               p->is_grantable, "reason", reason_json(p->reason),
                                               "until", until_json(&req->arena, p->until)));
    }
    json_t *scope =
        json_pack("{s:s, s:s}", "type", policy_catalogue_scope_name(g.scope), "id", g.scope_id);
    http_response_json(res, req, 200,
                       json_pack("{s:o, s:s, s:o, s:o, s:o}", "scope", scope, "needs", g.needed,
                                 "until", until_json(&req->arena, g.until), "roles", roles,
                                 "extra_permissions", perms));
    return 0;
}

static const char *const grantable_params[] = {"environment_id", "bot_id", "for", NULL};

static const struct http_route routes[] = {
    {"GET", "/api/v1/agencies/{id}/grantable", grantable_get, HTTP_AUTHENTICATED, grantable_params},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_grantable_routes = {"grantable", routes};
