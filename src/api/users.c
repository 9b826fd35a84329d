/* Every account on the platform, for platform admins: GET /api/v1/users lists them with their
 * agencies; PATCH /api/v1/users/{id} disables or re-activates one; DELETE /api/v1/users/{id}
 * erases one; POST /api/v1/users/{id}/password-reset emails the person a password reset link;
 * DELETE /api/v1/users/{id}/totp resets a lost second factor. */
#include "api/api.h"
#include "app/erasure.h"
#include "app/password_reset.h"
#include "app/second_factor.h"
#include "app/users.h"
#include "base/json.h"

static json_t *entry_json(struct http_request *req, const struct app_user_entry *e)
{
    json_t *o = api_user_json(req, &e->user);
    json_object_set_new(o, "is_platform_admin", json_boolean(e->user.is_platform_admin));
    json_object_set_new(o, "second_factor",
                        json_boolean(app_second_factor_on_cached(req->app, e->user.id)));
    json_t *agencies = json_array();
    for (size_t i = 0; i < e->agency_count; i++)
        json_array_append_new(agencies, json_pack("{s:s, s:s}", "id", e->agencies[i].agency_id,
                                                  "name", e->agencies[i].agency_name));
    json_object_set_new(o, "agencies", agencies);
    return o;
}

static int users_list(struct http_request *req, struct http_response *res)
{
    const char *q = NULL;
    struct app_page page;
    int rc = http_query(&q, req, "q");
    if (rc == 0)
        rc = api_page_query(&page, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_user_page list;
    rc = app_users_list(&list, &call, q, &page);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++)
        json_array_append_new(items, entry_json(req, &list.items[i]));
    api_list_response(res, req, items, list.next_cursor);
    return 0;
}

static int users_patch(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"status", NULL};
    json_t *body;
    const char *status = NULL;
    int rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(&status, body, "status", true, JSON_STRING_MAX, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_user user;
    rc = app_user_status_set(&user, &call, api_param(req, 0), status);
    if (rc)
        return rc;
    json_t *o = api_user_json(req, &user);
    json_object_set_new(o, "is_platform_admin", json_boolean(user.is_platform_admin));
    http_response_json(res, req, 200, o);
    return 0;
}

static int users_password_reset(struct http_request *req, struct http_response *res)
{
    /* No body, or an empty object. */
    if (req->body_len > 0) {
        json_t *body;
        static const char *const none[] = {NULL};
        int rc = http_json_body(&body, req, none);
        if (rc)
            return rc;
    }
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_password_reset_send(&call, api_param(req, 0));
    if (rc)
        return rc;
    http_response_json(res, req, 202,
                       json_pack("{s:s}", "message",
                                 "a link to choose a new password is on its way to the person"));
    return 0;
}

static int users_delete(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"confirm", NULL};
    json_t *body;
    const char *confirm = NULL;
    int rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(&confirm, body, "confirm", true, JSON_STRING_MAX, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    rc = app_erasure_user(&call, api_param(req, 0), confirm);
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

/* A platform admin turns off the second factor of someone who lost it. */
static int users_totp_delete(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_second_factor_reset(&call, api_param(req, 0));
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static const char *const list_params[] = {"q", "limit", "cursor", NULL};

static const struct http_route routes[] = {
    {"GET", "/api/v1/users", users_list, HTTP_AUTHENTICATED, list_params},
    {"PATCH", "/api/v1/users/{id}", users_patch, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/users/{id}/password-reset", users_password_reset, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/users/{id}", users_delete, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/users/{id}/totp", users_totp_delete, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_user_routes = {"users", routes};
