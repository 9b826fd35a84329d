/* API tokens: create (the secret is in this one answer only), list and revoke, per agency
 * (/agencies/{id}/tokens) and for the platform (/tokens, platform admins). */
#include "api/api.h"
#include "app/tokens.h"
#include "base/json.h"

/* A token as the API shows it: never the secret or its hash. */
static json_t *token_json(struct http_request *req, const struct store_token *t)
{
    return json_pack("{s:s, s:s, s:s?, s:o, s:s?, s:o, s:o}", "id", t->id, "name", t->name,
                     "agency_id", t->agency_id, "created_at",
                     json_time_ms(&req->arena, t->created_at), "created_by", t->created_by,
                     "last_used_at", json_time_ms(&req->arena, t->last_used_at), "revoked_at",
                     json_time_ms(&req->arena, t->revoked_at));
}

static int tokens_create(struct http_request *req, struct http_response *res, const char *agency_id)
{
    const char *name;
    int rc = api_name_body(&name, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_token_new made;
    rc = app_token_create(&made, &call, agency_id, name);
    if (rc)
        return rc;
    json_t *out = token_json(req, &made.token);
    json_object_set_new(out, "token", json_string(made.secret));
    const char *location =
        agency_id
            ? arena_printf(&req->arena, "/api/v1/agencies/%s/tokens/%s", agency_id, made.token.id)
            : arena_printf(&req->arena, "/api/v1/tokens/%s", made.token.id);
    http_response_header(res, req, "Location", location);
    http_response_json(res, req, 201, out);
    return 0;
}

static int tokens_list(struct http_request *req, struct http_response *res, const char *agency_id)
{
    struct app_page page;
    int rc = api_page_query(&page, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_token_page list;
    rc = app_token_list(&list, &call, agency_id, &page);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++)
        json_array_append_new(items, token_json(req, &list.items[i]));
    api_list_response(res, req, items, list.next_cursor);
    return 0;
}

static int tokens_revoke(struct http_request *req, struct http_response *res, const char *agency_id,
                         const char *token_id)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_token_revoke(&call, agency_id, token_id);
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static int agency_tokens_create(struct http_request *req, struct http_response *res)
{
    return tokens_create(req, res, api_param(req, 0));
}

static int agency_tokens_list(struct http_request *req, struct http_response *res)
{
    return tokens_list(req, res, api_param(req, 0));
}

static int agency_tokens_revoke(struct http_request *req, struct http_response *res)
{
    return tokens_revoke(req, res, api_param(req, 0), api_param(req, 1));
}

static int platform_tokens_create(struct http_request *req, struct http_response *res)
{
    return tokens_create(req, res, NULL);
}

static int platform_tokens_list(struct http_request *req, struct http_response *res)
{
    return tokens_list(req, res, NULL);
}

static int platform_tokens_revoke(struct http_request *req, struct http_response *res)
{
    return tokens_revoke(req, res, NULL, api_param(req, 0));
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/agencies/{id}/tokens", agency_tokens_create, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/agencies/{id}/tokens", agency_tokens_list, HTTP_AUTHENTICATED,
     api_page_params},
    {"DELETE", "/api/v1/agencies/{id}/tokens/{token_id}", agency_tokens_revoke, HTTP_AUTHENTICATED,
     NULL},
    {"POST", "/api/v1/tokens", platform_tokens_create, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/tokens", platform_tokens_list, HTTP_AUTHENTICATED, api_page_params},
    {"DELETE", "/api/v1/tokens/{token_id}", platform_tokens_revoke, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_token_routes = {"tokens", routes};
