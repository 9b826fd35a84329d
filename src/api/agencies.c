/* Agencies: create (platform admins), list the ones the caller may see, read one, rename it,
 * set whether its members must have a second factor, suspend and resume it (platform admins),
 * and delete a suspended one (platform admins, with its name typed as confirmation). */
#include "api/api.h"
#include "app/oidc.h"
#include "app/second_factor.h"
#include "app/tenancy.h"
#include "base/json.h"

#include <string.h>

static json_t *agency_json(struct http_request *req, const struct store_agency *agency)
{
    return json_pack("{s:s, s:s, s:o, s:b, s:s}", "id", agency->id, "name", agency->name,
                     "created_at", json_time_ms(&req->arena, agency->created_at),
                     "require_second_factor", agency->require_second_factor, "status",
                     agency->is_suspended ? "suspended" : "active");
}

static int agencies_create(struct http_request *req, struct http_response *res)
{
    const char *name;
    int rc = api_name_body(&name, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_agency agency;
    rc = app_agency_create(&agency, &call, name);
    if (rc)
        return rc;
    http_response_header(res, req, "Location",
                         arena_printf(&req->arena, "/api/v1/agencies/%s", agency.id));
    http_response_json(res, req, 201, agency_json(req, &agency));
    return 0;
}

static int agencies_list(struct http_request *req, struct http_response *res)
{
    struct app_page page;
    int rc = api_page_query(&page, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_agency_page list;
    rc = app_agency_list(&list, &call, &page);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++)
        json_array_append_new(items, agency_json(req, &list.items[i]));
    api_list_response(res, req, items, list.next_cursor);
    return 0;
}

static int agencies_get(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_agency agency;
    int rc = app_agency_get(&agency, &call, api_param(req, 0));
    struct store_oidc_connection *conns = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = app_oidc_connection_names(&conns, &n, &call, agency.id);
    if (rc)
        return rc;
    json_t *o = agency_json(req, &agency);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list,
                              json_pack("{s:s, s:s}", "id", conns[i].id, "name", conns[i].name));
    json_object_set_new(o, "sign_in_connections", list);
    http_response_json(res, req, 200, o);
    return 0;
}

/* {name?, status?, require_second_factor?}: at least one, all applied in one transaction or
 * none. */
static int agencies_patch(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"name", "status", "require_second_factor", NULL};
    json_t *body;
    int rc = http_json_body(&body, req, allowed);
    if (rc)
        return rc;
    const char *name = NULL;
    const char *status = NULL;
    rc = json_member_string(&name, body, "name", false, JSON_STRING_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&status, body, "status", false, JSON_STRING_MAX, &req->err);
    if (rc)
        return rc;
    enum app_agency_status_change status_change = APP_AGENCY_STATUS_KEEP;
    if (status && strcmp(status, "suspended") == 0)
        status_change = APP_AGENCY_STATUS_SUSPENDED;
    else if (status && strcmp(status, "active") == 0)
        status_change = APP_AGENCY_STATUS_ACTIVE;
    else if (status)
        return usher_error_set(&req->err, USHER_EINVAL, NULL, "status",
                               "status must be \"active\" or \"suspended\"");
    json_t *v = json_object_get(body, "require_second_factor");
    if (v && !json_is_boolean(v))
        return usher_error_set(&req->err, USHER_EINVAL, NULL, "require_second_factor",
                               "require_second_factor must be true or false");
    if (!name && !status && !v)
        return usher_error_set(&req->err, USHER_EINVAL, NULL, NULL,
                               "give name, status or require_second_factor");
    struct app_agency_change change = {
        .name = name,
        .status = status_change,
        .second_factor = !v                ? APP_AGENCY_SECOND_FACTOR_KEEP
                         : json_is_true(v) ? APP_AGENCY_SECOND_FACTOR_ON
                                           : APP_AGENCY_SECOND_FACTOR_OFF,
    };
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_agency agency;
    rc = app_agency_update(&agency, &call, api_param(req, 0), &change);
    if (rc)
        return rc;
    http_response_json(res, req, 200, agency_json(req, &agency));
    return 0;
}

static int agencies_delete(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"confirm", NULL};
    json_t *body;
    int rc = http_json_body(&body, req, allowed);
    if (rc)
        return rc;
    const char *confirm = NULL;
    rc = json_member_string(&confirm, body, "confirm", true, JSON_STRING_MAX, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    rc = app_agency_delete(&call, api_param(req, 0), confirm);
    if (rc)
        return rc;
    http_response_json(res, req, 200,
                       json_pack("{s:s, s:b}", "id", api_param(req, 0), "deleted", 1));
    return 0;
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/agencies", agencies_create, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/agencies", agencies_list, HTTP_AUTHENTICATED, api_page_params},
    {"GET", "/api/v1/agencies/{id}", agencies_get, HTTP_AUTHENTICATED, NULL},
    {"PATCH", "/api/v1/agencies/{id}", agencies_patch, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/agencies/{id}", agencies_delete, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_agency_routes = {"agencies", routes};
