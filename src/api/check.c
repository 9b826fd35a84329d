/* The decision endpoints, the only ones API tokens may call: POST /check and /check/batch,
 * GET /users/{id}/effective and GET /environments/{id}/notification-recipients. */
#include <string.h>

#include "api/api.h"
#include "app/catalogue.h"
#include "app/check.h"

static struct app_check_caller check_caller(struct http_request *req)
{
    struct app_check_caller caller = {
        .user_id = req->principal.is_service ? NULL : req->principal.user_id,
        .is_platform_admin = !req->principal.is_service && req->principal.is_platform_admin,
        .is_service = req->principal.is_service,
        .agency_limit = req->principal.impersonation_agency_id,
        .token_agency_id = req->principal.token_agency_id,
    };
    return caller;
}

/* ?explain=1 (or true) asks for the source and roles of each answer. */
static int explain_query(bool *out, struct http_request *req)
{
    const char *v;
    *out = false;
    int rc = http_query(&v, req, "explain");
    if (rc || !v)
        return rc;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
        return 0;
    return usher_error_set(&req->err, USHER_EINVAL, NULL, "explain",
                           "explain must be 1, true, 0 or false");
}

static json_t *answer_json(const struct app_check_answer *ans, bool explain)
{
    json_t *out = json_pack("{s:b}", "allowed", ans->allowed);
    if (!explain)
        return out;
    json_t *roles = json_array();
    for (size_t i = 0; i < ans->role_count; i++)
        json_array_append_new(roles, json_string(ans->roles[i]));
    json_object_set_new(out, "source", json_string(ans->source));
    json_object_set_new(out, "roles", roles);
    return out;
}

static int check_one(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"user_id", "permission", "environment_id",
                                          "bot_id",  "agency_id",  NULL};
    json_t *body;
    bool explain;
    struct app_check_question q;
    struct app_check_caller caller = check_caller(req);
    int rc = explain_query(&explain, req);
    if (rc == 0)
        rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = app_check_question_parse(&q, body, NULL, &req->arena, &req->err);
    if (rc == 0)
        rc = app_check_may_ask(&caller, &q, "user_id", &req->err);
    if (rc)
        return rc;
    struct app_check_answer ans;
    app_check_answer(&ans, req->app, &caller, &q, &req->arena);
    http_response_json(res, req, 200, answer_json(&ans, explain));
    return 0;
}

static int check_batch(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"checks", NULL};
    json_t *body;
    bool explain;
    struct app_check_question *qs = NULL;
    size_t count = 0;
    struct app_check_caller caller = check_caller(req);
    int rc = explain_query(&explain, req);
    if (rc == 0)
        rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = app_check_batch_parse(&qs, &count, json_object_get(body, "checks"), &req->arena,
                                   &req->err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char field[48];
        snprintf(field, sizeof(field), "checks[%zu].user_id", i);
        rc = app_check_may_ask(&caller, &qs[i], field, &req->err);
    }
    if (rc)
        return rc;
    json_t *results = json_array();
    for (size_t i = 0; i < count; i++) {
        struct app_check_answer ans;
        app_check_answer(&ans, req->app, &caller, &qs[i], &req->arena);
        json_array_append_new(results, answer_json(&ans, explain));
    }
    http_response_json(res, req, 200, json_pack("{s:o}", "results", results));
    return 0;
}

/* The one scope named by ?environment_id=, ?bot_id= or ?agency_id=. */
static int scope_query(enum app_scope *out_scope, const char **out_id, struct http_request *req)
{
    static const char *const keys[] = {"agency_id", "environment_id", "bot_id"};
    const char *v[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < 3; i++) {
        int rc = http_query(&v[i], req, keys[i]);
        if (rc)
            return rc;
        if (v[i] && !*v[i])
            return usher_error_set(&req->err, USHER_EINVAL, NULL, keys[i], "%s must not be empty",
                                   keys[i]);
    }
    return app_check_scope_pick(out_scope, out_id, v[0], v[1], v[2], NULL, &req->err);
}

static json_t *names_json(uint64_t mask, bool roles)
{
    json_t *list = json_array();
    size_t n = roles ? APP_ROLE_COUNT : APP_PERM_COUNT;
    for (size_t i = 0; i < n; i++) {
        if (!(mask & APP_BIT(i)))
            continue;
        const char *name =
            roles ? app_catalogue_role_at(i)->name : app_catalogue_permission_at(i)->name;
        json_array_append_new(list, json_string(name));
    }
    return list;
}

static int users_effective(struct http_request *req, struct http_response *res)
{
    enum app_scope scope;
    const char *scope_id;
    int rc = scope_query(&scope, &scope_id, req);
    if (rc)
        return rc;
    struct app_check_caller caller = check_caller(req);
    struct app_effective eff;
    const char *user_id = api_param(req, 0);
    rc = app_check_effective(&eff, req->app, &req->arena, &caller, user_id, scope, scope_id,
                             &req->err);
    if (rc)
        return rc;
    json_t *out =
        json_pack("{s:s, s:{s:s, s:s}, s:o, s:o, s:s, s:b}", "user_id", user_id, "scope", "type",
                  app_catalogue_scope_name(scope), "id", scope_id, "roles",
                  names_json(eff.roles, true), "permissions", names_json(eff.permissions, false),
                  "source", eff.source, "inherited", eff.is_inherited);
    http_response_json(res, req, 200, out);
    return 0;
}

static int environment_recipients(struct http_request *req, struct http_response *res)
{
    struct app_page page;
    int rc = api_page_query(&page, req);
    if (rc)
        return rc;
    struct app_check_caller caller = check_caller(req);
    struct app_recipient_page list;
    rc = app_check_recipients(&list, req->app, &req->arena, &caller, api_param(req, 0), &page,
                              &req->err);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++) {
        const struct store_recipient *r = &list.items[i];
        json_array_append_new(items,
                              json_pack("{s:s, s:s, s:s, s:s}", "id", r->id, "email", r->email,
                                        "first_name", r->first_name, "last_name", r->last_name));
    }
    api_list_response(res, req, items, list.next_cursor);
    return 0;
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/check", check_one, HTTP_SERVICE},
    {"POST", "/api/v1/check/batch", check_batch, HTTP_SERVICE},
    {"GET", "/api/v1/users/{id}/effective", users_effective, HTTP_SERVICE},
    {"GET", "/api/v1/environments/{id}/notification-recipients", environment_recipients,
     HTTP_SERVICE},
    {NULL, NULL, NULL, HTTP_PUBLIC},
};

const struct http_route_table api_check_routes = {"check", routes};
