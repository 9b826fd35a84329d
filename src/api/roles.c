/* The roles an agency can grant: GET lists the built-in roles and the agency's custom roles;
 * POST, PATCH and DELETE define, change and remove custom roles. */
#include "api/api.h"
#include "policy/catalogue.h"
#include "app/roles.h"
#include "base/clock.h"
#include "base/json.h"

static const char *const create_fields[] = {"id", "name", "permissions", NULL};
static const char *const update_fields[] = {"name", "permissions", NULL}; /* the id is fixed */

/* A custom role: {id, name, built_in: false, scopes, permissions, created_at}. */
static json_t *custom_role_json(struct http_request *req, const struct store_custom_role *role)
{
    uint64_t mask = policy_catalogue_permissions_parse(role->permissions, NULL);
    json_t *perms = json_array();
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        if (mask & POLICY_BIT(i))
            json_array_append_new(perms, json_string(policy_catalogue_permission_at(i)->name));
    }
    json_t *scopes = json_pack("[s, s]", policy_catalogue_scope_name(POLICY_SCOPE_AGENCY),
                               policy_catalogue_scope_name(POLICY_SCOPE_ENVIRONMENT));
    return json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}", "id", role->id, "name", role->name,
                     "built_in", 0, "scopes", scopes, "permissions", perms, "created_at",
                     json_time_ms(&req->arena, role->created_at));
}

static int roles_list(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_role_set set;
    int rc = app_role_list(&set, &call, api_param(req, 0));
    if (rc)
        return rc;
    json_t *items = api_catalogue_roles_json();
    for (size_t i = 0; i < set.count; i++)
        json_array_append_new(items, custom_role_json(req, &set.items[i]));
    http_response_json(res, req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
    return 0;
}

static int roles_create(struct http_request *req, struct http_response *res)
{
    json_t *body;
    struct app_role_draft draft = {0};
    int rc = http_json_body(&body, req, create_fields);
    if (rc == 0)
        rc = json_member_string(&draft.id, body, "id", false, JSON_STRING_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&draft.name, body, "name", true, JSON_STRING_MAX, &req->err);
    if (rc)
        return rc;
    draft.permissions = json_object_get(body, "permissions");
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_custom_role role;
    const char *agency_id = api_param(req, 0);
    rc = app_role_create(&role, &call, agency_id, &draft);
    if (rc)
        return rc;
    http_response_header(
        res, req, "Location",
        arena_printf(&req->arena, "/api/v1/agencies/%s/roles/%s", agency_id, role.id));
    http_response_json(res, req, 201, custom_role_json(req, &role));
    return 0;
}

static int roles_update(struct http_request *req, struct http_response *res)
{
    json_t *body;
    struct app_role_change change = {0};
    int rc = http_json_body(&body, req, update_fields);
    if (rc == 0)
        rc = json_member_string(&change.name, body, "name", false, JSON_STRING_MAX, &req->err);
    if (rc)
        return rc;
    json_t *perms = json_object_get(body, "permissions");
    change.permissions = json_is_null(perms) ? NULL : perms;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_custom_role role;
    rc = app_role_update(&role, &call, api_param(req, 0), api_param(req, 1), &change);
    if (rc)
        return rc;
    http_response_json(res, req, 200, custom_role_json(req, &role));
    return 0;
}

static int roles_delete(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_role_delete(&call, api_param(req, 0), api_param(req, 1));
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static const struct http_route routes[] = {
    {"GET", "/api/v1/agencies/{id}/roles", roles_list, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/agencies/{id}/roles", roles_create, HTTP_AUTHENTICATED, NULL},
    {"PATCH", "/api/v1/agencies/{id}/roles/{role_id}", roles_update, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/agencies/{id}/roles/{role_id}", roles_delete, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_role_routes = {"roles", routes};
