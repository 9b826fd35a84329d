/* The role and permission catalogue: built-in roles with their scopes and permissions, and the
 * permissions with their descriptions. An agency's own roles are in roles.c. */
#include "api/api.h"
#include "policy/catalogue.h"

static json_t *role_json(const struct policy_catalogue_role *role)
{
    json_t *scopes = json_array();
    for (int s = 0; s < POLICY_SCOPE_COUNT; s++) {
        if (policy_catalogue_role_allowed_at(role, (enum policy_scope)s))
            json_array_append_new(scopes, json_string(policy_catalogue_scope_name(s)));
    }
    json_t *perms = json_array();
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        if (role->permissions & POLICY_BIT(i))
            json_array_append_new(perms, json_string(policy_catalogue_permission_at(i)->name));
    }
    return json_pack("{s:s, s:s, s:b, s:o, s:o}", "name", role->name, "description",
                     role->description, "built_in", 1, "scopes", scopes, "permissions", perms);
}

json_t *api_catalogue_roles_json(void)
{
    json_t *items = json_array();
    for (size_t i = 0; i < POLICY_ROLE_COUNT; i++)
        json_array_append_new(items, role_json(policy_catalogue_role_at(i)));
    return items;
}

static int catalogue_roles(struct http_request *req, struct http_response *res)
{
    http_response_json(res, req, 200,
                       json_pack("{s:o, s:n}", "items", api_catalogue_roles_json(), "next_cursor"));
    return 0;
}

static int catalogue_permissions(struct http_request *req, struct http_response *res)
{
    json_t *items = json_array();
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        const struct policy_catalogue_permission *p = policy_catalogue_permission_at(i);
        json_array_append_new(
            items,
            json_pack("{s:s, s:s, s:s}", "name", p->name, "description", p->description, "kind",
                      policy_catalogue_permission_is_authority(i) ? "authority" : "work"));
    }
    http_response_json(res, req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
    return 0;
}

static const struct http_route routes[] = {
    {"GET", "/api/v1/roles", catalogue_roles, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/permissions", catalogue_permissions, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_catalogue_routes = {"catalogue", routes};
