/* The users overview of an agency and member management: list, read, edit names and
 * shortcode, replace grants, remove from the agency or from one environment. */
#include <string.h>

#include "api/api.h"
#include "app/second_factor.h"
#include "policy/catalogue.h"
#include "app/members.h"
#include "app/tenancy.h"
#include "base/json.h"

static json_t *permissions_json(uint64_t mask)
{
    json_t *list = json_array();
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        if (mask & POLICY_BIT(i))
            json_array_append_new(list, json_string(policy_catalogue_permission_at(i)->name));
    }
    return list;
}

static json_t *member_json(struct http_request *req, const struct app_member *m,
                           const struct app_role_set *roles)
{
    const struct store_directory_person *p = &m->person;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(p->id));
    json_object_set_new(o, "email", json_string(p->email));
    json_object_set_new(o, "first_name", json_string(p->first_name ? p->first_name : ""));
    json_object_set_new(o, "last_name", json_string(p->last_name ? p->last_name : ""));
    json_object_set_new(o, "shortcode", p->shortcode ? json_string(p->shortcode) : json_null());
    json_object_set_new(o, "status", json_string(p->status));
    json_object_set_new(o, "grants", app_grants_json(m->grants, m->grant_count, roles));
    json_t *envs = json_array();
    for (size_t i = 0; i < m->environment_count; i++)
        json_array_append_new(envs, json_pack("{s:s, s:s}", "id", m->environments[i]->id, "name",
                                              m->environments[i]->name));
    json_object_set_new(o, "environments", envs);
    json_object_set_new(o, "last_active_at", json_time_ms(&req->arena, p->last_active_at));
    json_object_set_new(o, "created_at", json_time_ms(&req->arena, p->created_at));
    /* From the decision index, as the sessions' own check reads it: no query per member. */
    json_object_set_new(
        o, "second_factor",
        json_boolean(!p->is_invited && app_second_factor_on_cached(req->app, p->id)));
    if (p->is_invited)
        json_object_set_new(o, "invitation_id", json_string(p->id));
    json_t *methods = json_array();
    if (m->has_password)
        json_array_append_new(methods, json_string("password"));
    if (m->has_oidc)
        json_array_append_new(methods, json_string("oidc"));
    json_object_set_new(o, "sign_in_methods", methods);
    return o;
}

/* The member plus "access": per environment, how the member stands there. */
static json_t *detail_json(struct http_request *req, const struct app_member_detail *d)
{
    json_t *o = member_json(req, &d->member, &d->roles);
    json_t *access = json_array();
    for (size_t i = 0; i < d->environment_count; i++) {
        const struct app_member_environment *e = &d->environments[i];
        json_t *roles = json_array();
        json_t *extras = json_array();
        if (e->grant) {
            json_t *one = app_grants_json(e->grant, 1, &d->roles);
            json_t *g = json_array_get(one, 0);
            json_array_extend(roles, json_object_get(g, "roles"));
            json_array_extend(extras, json_object_get(g, "extra_permissions"));
            json_decref(one);
        }
        json_t *entry =
            json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "environment_id", e->environment->id,
                      "name", e->environment->name, "access", app_member_access_name(e->access),
                      "removed", e->is_removed, "roles", roles, "extra_permissions", extras,
                      "permissions", permissions_json(e->permissions));
        /* Until when the grant in force there lasts. */
        if (e->grant && e->grant->expires_at > 0)
            json_object_set_new(entry, "expires_at",
                                json_time_ms(&req->arena, e->grant->expires_at));
        json_array_append_new(access, entry);
    }
    json_object_set_new(o, "access", access);
    return o;
}

static int members_list(struct http_request *req, struct http_response *res)
{
    struct app_member_query q = {0};
    const char *limit = NULL;
    struct app_page page;
    int rc = http_query(&q.q, req, "q");
    if (rc == 0)
        rc = http_query(&q.environment_id, req, "environment_id");
    if (rc == 0)
        rc = http_query(&q.role, req, "role");
    if (rc == 0)
        rc = http_query(&q.shortcode, req, "shortcode");
    if (rc == 0)
        rc = http_query(&q.status, req, "status");
    if (rc == 0)
        rc = http_query(&q.sort, req, "sort");
    if (rc == 0)
        rc = http_query(&q.cursor, req, "cursor");
    if (rc == 0)
        rc = http_query(&limit, req, "limit");
    if (rc == 0)
        rc = app_page_parse(&page, &req->arena, limit, NULL, &req->err);
    if (rc)
        return rc;
    q.limit = page.limit;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_member_page list;
    rc = app_member_list(&list, &call, api_param(req, 0), &q);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < list.count; i++)
        json_array_append_new(items, member_json(req, &list.items[i], &list.roles));
    api_list_response(res, req, items, list.next_cursor);
    return 0;
}

static int members_get(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_member_detail d;
    int rc = app_member_get(&d, &call, api_param(req, 0), api_param(req, 1));
    if (rc)
        return rc;
    http_response_json(res, req, 200, detail_json(req, &d));
    return 0;
}

/* Reads an optional string member of body: absent leaves *has false; null is allowed only
 * when nullable. */
static int optional_string(bool *has, const char **out, json_t *body, const char *key,
                           bool nullable, struct http_request *req)
{
    json_t *v = json_object_get(body, key);
    *has = v != NULL;
    *out = NULL;
    if (!v || (nullable && json_is_null(v)))
        return 0;
    if (!json_is_string(v))
        return usher_error_set(&req->err, USHER_EINVAL, NULL, key, "%s must be a string%s", key,
                               nullable ? " or null" : "");
    return json_member_string(out, body, key, false, JSON_STRING_MAX, &req->err);
}

static int members_patch(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"first_name", "last_name", "shortcode", NULL};
    json_t *body;
    struct app_member_patch patch = {0};
    int rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = optional_string(&patch.has_first_name, &patch.first_name, body, "first_name", false,
                             req);
    if (rc == 0)
        rc = optional_string(&patch.has_last_name, &patch.last_name, body, "last_name", false, req);
    if (rc == 0)
        rc = optional_string(&patch.has_shortcode, &patch.shortcode, body, "shortcode", true, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_member_detail d;
    rc = app_member_update(&d, &call, api_param(req, 0), api_param(req, 1), &patch);
    if (rc)
        return rc;
    http_response_json(res, req, 200, detail_json(req, &d));
    return 0;
}

static int members_grants_put(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"grants", NULL};
    json_t *body;
    bool dry_run = false;
    int rc = api_dry_run_query(&dry_run, req);
    if (rc == 0)
        rc = http_json_body(&body, req, allowed);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_member_detail d;
    struct app_grants_preview preview;
    rc = app_member_grants_replace(&d, dry_run ? &preview : NULL, &call, api_param(req, 0),
                                   api_param(req, 1), json_object_get(body, "grants"));
    if (rc)
        return rc;
    if (dry_run) {
        api_preview_response(res, req, &preview);
        return 0;
    }
    http_response_json(res, req, 200, detail_json(req, &d));
    return 0;
}

static int members_delete(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_member_remove(&call, api_param(req, 0), api_param(req, 1));
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static int environment_members_delete(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_member_environment_remove(&call, api_param(req, 0), api_param(req, 1));
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static const char *const list_params[] = {"q",    "environment_id", "role",  "shortcode", "status",
                                          "sort", "cursor",         "limit", NULL};
static const char *const grants_params[] = {"dry_run", NULL};

static const struct http_route routes[] = {
    {"GET", "/api/v1/agencies/{id}/users", members_list, HTTP_AUTHENTICATED, list_params},
    {"GET", "/api/v1/agencies/{id}/users/{user_id}", members_get, HTTP_AUTHENTICATED, NULL},
    {"PATCH", "/api/v1/agencies/{id}/users/{user_id}", members_patch, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/agencies/{id}/users/{user_id}", members_delete, HTTP_AUTHENTICATED, NULL},
    {"PUT", "/api/v1/agencies/{id}/users/{user_id}/grants", members_grants_put, HTTP_AUTHENTICATED,
     grants_params},
    {"DELETE", "/api/v1/environments/{id}/users/{user_id}", environment_members_delete,
     HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_member_routes = {"members", routes};
