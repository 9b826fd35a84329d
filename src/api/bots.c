/* Bots of an environment: create, list (each with its "shared" badge), read one, rename one,
 * and delete one with the grants and invitations on it (or preview what that takes). */
#include "api/api.h"
#include "app/tenancy.h"
#include "base/json.h"

static json_t *bot_json(struct http_request *req, const struct store_bot *bot)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "id", bot->id, "agency_id", bot->agency_id,
                     "environment_id", bot->environment_id, "name", bot->name, "shared",
                     bot->is_shared, "created_at", json_time_ms(&req->arena, bot->created_at));
}

static int bots_create(struct http_request *req, struct http_response *res)
{
    const char *name;
    int rc = api_name_body(&name, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_bot bot;
    rc = app_bot_create(&bot, &call, api_param(req, 0), name);
    if (rc)
        return rc;
    http_response_header(res, req, "Location",
                         arena_printf(&req->arena, "/api/v1/bots/%s", bot.id));
    http_response_json(res, req, 201, bot_json(req, &bot));
    return 0;
}

static int bots_list(struct http_request *req, struct http_response *res)
{
    struct app_page page;
    int rc = api_page_query(&page, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_bot_page list;
    rc = app_bot_list(&list, &call, api_param(req, 0), &page);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++)
        json_array_append_new(items, bot_json(req, &list.items[i]));
    api_list_response(res, req, items, list.next_cursor);
    return 0;
}

static int bots_get(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_bot bot;
    int rc = app_bot_get(&bot, &call, api_param(req, 0));
    if (rc)
        return rc;
    http_response_json(res, req, 200, bot_json(req, &bot));
    return 0;
}

static int bots_patch(struct http_request *req, struct http_response *res)
{
    const char *name;
    int rc = api_name_body(&name, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_bot bot;
    rc = app_bot_rename(&bot, &call, api_param(req, 0), name);
    if (rc)
        return rc;
    http_response_json(res, req, 200, bot_json(req, &bot));
    return 0;
}

static int bots_remove(struct http_request *req, struct http_response *res, bool is_preview)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_place_removal r;
    int rc = app_bot_delete(&r, &call, api_param(req, 0), is_preview);
    if (rc)
        return rc;
    http_response_json(res, req, 200, api_removal_json(&r));
    return 0;
}

static int bots_delete(struct http_request *req, struct http_response *res)
{
    return bots_remove(req, res, false);
}

static int bots_deletion_preview(struct http_request *req, struct http_response *res)
{
    return bots_remove(req, res, true);
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/environments/{id}/bots", bots_create, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/environments/{id}/bots", bots_list, HTTP_AUTHENTICATED, api_page_params},
    {"GET", "/api/v1/bots/{id}", bots_get, HTTP_AUTHENTICATED, NULL},
    {"PATCH", "/api/v1/bots/{id}", bots_patch, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/bots/{id}", bots_delete, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/bots/{id}/deletion-preview", bots_deletion_preview, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_bot_routes = {"bots", routes};
