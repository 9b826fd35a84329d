/* Environments of an agency: create, list the ones the caller may see, read one, rename one,
 * and delete one with what is scoped to it (or preview what that deletion takes). */
#include "api/api.h"
#include "app/tenancy.h"
#include "base/json.h"

static json_t *environment_json(struct http_request *req, const struct store_environment *env)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "id", env->id, "agency_id", env->agency_id, "name",
                     env->name, "created_at", json_time_ms(&req->arena, env->created_at));
}

static int environments_create(struct http_request *req, struct http_response *res)
{
    const char *name;
    int rc = api_name_body(&name, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_environment env;
    rc = app_environment_create(&env, &call, api_param(req, 0), name);
    if (rc)
        return rc;
    http_response_header(res, req, "Location",
                         arena_printf(&req->arena, "/api/v1/environments/%s", env.id));
    http_response_json(res, req, 201, environment_json(req, &env));
    return 0;
}

static int environments_list(struct http_request *req, struct http_response *res)
{
    struct app_page page;
    int rc = api_page_query(&page, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_environment_page list;
    rc = app_environment_list(&list, &call, api_param(req, 0), &page);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++)
        json_array_append_new(items, environment_json(req, &list.items[i]));
    api_list_response(res, req, items, list.next_cursor);
    return 0;
}

static int environments_get(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_environment env;
    int rc = app_environment_get(&env, &call, api_param(req, 0));
    if (rc)
        return rc;
    http_response_json(res, req, 200, environment_json(req, &env));
    return 0;
}

static int environments_patch(struct http_request *req, struct http_response *res)
{
    const char *name;
    int rc = api_name_body(&name, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_environment env;
    rc = app_environment_rename(&env, &call, api_param(req, 0), name);
    if (rc)
        return rc;
    http_response_json(res, req, 200, environment_json(req, &env));
    return 0;
}

static int environments_remove(struct http_request *req, struct http_response *res, bool is_preview)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_place_removal r;
    int rc = app_environment_delete(&r, &call, api_param(req, 0), is_preview);
    if (rc)
        return rc;
    http_response_json(res, req, 200, api_removal_json(&r));
    return 0;
}

static int environments_delete(struct http_request *req, struct http_response *res)
{
    return environments_remove(req, res, false);
}

static int environments_deletion_preview(struct http_request *req, struct http_response *res)
{
    return environments_remove(req, res, true);
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/agencies/{id}/environments", environments_create, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/agencies/{id}/environments", environments_list, HTTP_AUTHENTICATED,
     api_page_params},
    {"GET", "/api/v1/environments/{id}", environments_get, HTTP_AUTHENTICATED, NULL},
    {"PATCH", "/api/v1/environments/{id}", environments_patch, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/environments/{id}", environments_delete, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/environments/{id}/deletion-preview", environments_deletion_preview,
     HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_environment_routes = {"environments", routes};
