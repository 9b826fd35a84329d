/* An agency's OpenID Connect connections: create, list, read, change, delete and test
 * (agency.manage). The client secret is accepted and never shown again. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/oidc.h"
#include "base/json.h"

#define LIST_ITEM_MAX 253

static const char *const create_fields[] = {"name",    "issuer",     "client_id", "client_secret",
                                            "domains", "algorithms", "required",  NULL};

static json_t *api_oidc_connection_json(struct http_request *req,
                                        const struct app_oidc_connection_view *v)
{
    json_t *domains = json_array();
    for (size_t i = 0; i < v->domain_count; i++)
        json_array_append_new(domains, json_string(v->domains[i]));
    json_t *algs = json_array();
    for (unsigned bit = 1; bit <= OIDC_ALGS_DEFAULT; bit <<= 1)
        if (v->algs & bit)
            json_array_append_new(algs, json_string(oidc_alg_name(bit)));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:s}", "id", v->conn.id, "agency_id",
        v->conn.agency_id, "name", v->conn.name, "issuer", v->conn.issuer, "client_id",
        v->conn.client_id, "domains", domains, "algorithms", algs, "required", v->conn.required,
        "created_at", json_time_ms(&req->arena, v->conn.created_at), "updated_at",
        json_time_ms(&req->arena, v->conn.updated_at), "redirect_uri", v->redirect_uri);
}

/* An optional array of strings; *present tells whether the member was there. */
static int string_list(const char *const **out, size_t *count, bool *present, json_t *body,
                       const char *key, size_t max_items, struct usher_error *err)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    *count = 0;
    *present = v != NULL;
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > max_items)
        return usher_error_set(err, USHER_EINVAL, NULL, key,
                               "%s must be an array of at most %zu strings", key, max_items);
    size_t n = json_array_size(v);
    const char **items = calloc(n + 1, sizeof(*items));
    if (!items)
        abort();
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) > LIST_ITEM_MAX) {
            free(items);
            return usher_error_set(err, USHER_EINVAL, NULL, key, "%s must be an array of strings",
                                   key);
        }
        items[i] = json_string_value(s);
    }
    *out = items;
    *count = n;
    return 0;
}

static int input_parse(struct app_oidc_connection_input *in, const char *const **domains,
                       const char *const **algs, struct http_request *req)
{
    json_t *body;
    memset(in, 0, sizeof(*in));
    int rc = http_json_body(&body, req, create_fields);
    if (rc == 0)
        rc = json_member_string(&in->name, body, "name", false, 1024, &req->err);
    if (rc == 0)
        rc = json_member_string(&in->issuer, body, "issuer", false, OIDC_URL_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&in->client_id, body, "client_id", false, 1024, &req->err);
    if (rc == 0)
        rc = json_member_string(&in->client_secret, body, "client_secret", false,
                                OIDC_SECRET_MAX + 1, &req->err);
    if (rc == 0 && json_object_get(body, "required")) {
        in->has_required = true;
        rc = json_member_bool(&in->required, body, "required", true, &req->err);
    }
    if (rc == 0)
        rc = string_list(domains, &in->domain_count, &in->has_domains, body, "domains",
                         APP_OIDC_DOMAINS_MAX, &req->err);
    in->domains = *domains;
    if (rc == 0)
        rc = string_list(algs, &in->algorithm_count, &in->has_algorithms, body, "algorithms", 8,
                         &req->err);
    in->algorithms = *algs;
    return rc;
}

static int connections_create(struct http_request *req, struct http_response *res)
{
    struct app_oidc_connection_input in;
    const char *const *domains = NULL, *const *algs = NULL;
    int rc = input_parse(&in, &domains, &algs, req);
    struct app_oidc_connection_view v;
    if (rc == 0) {
        struct app_actor actor;
        struct app_call call = api_call(req, &actor);
        rc = app_oidc_connection_create(&v, &call, api_param(req, 0), &in);
    }
    free((void *)domains);
    free((void *)algs);
    if (rc)
        return rc;
    http_response_json(res, req, 201, api_oidc_connection_json(req, &v));
    return 0;
}

static int connections_update(struct http_request *req, struct http_response *res)
{
    struct app_oidc_connection_input in;
    const char *const *domains = NULL, *const *algs = NULL;
    int rc = input_parse(&in, &domains, &algs, req);
    struct app_oidc_connection_view v;
    if (rc == 0) {
        struct app_actor actor;
        struct app_call call = api_call(req, &actor);
        rc = app_oidc_connection_update(&v, &call, api_param(req, 0), api_param(req, 1), &in);
    }
    free((void *)domains);
    free((void *)algs);
    if (rc)
        return rc;
    http_response_json(res, req, 200, api_oidc_connection_json(req, &v));
    return 0;
}

static int connections_list(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_oidc_connection_view *items = NULL;
    size_t n = 0;
    int rc = app_oidc_connection_list(&items, &n, &call, api_param(req, 0));
    if (rc)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, api_oidc_connection_json(req, &items[i]));
    http_response_json(res, req, 200, json_pack("{s:o}", "items", list));
    return 0;
}

static int connections_get(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_oidc_connection_view v;
    int rc = app_oidc_connection_get(&v, &call, api_param(req, 0), api_param(req, 1));
    if (rc)
        return rc;
    http_response_json(res, req, 200, api_oidc_connection_json(req, &v));
    return 0;
}

static int connections_delete(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_oidc_connection_delete(&call, api_param(req, 0), api_param(req, 1));
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int connections_test(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_oidc_test t;
    int rc = app_oidc_connection_test(&t, &call, api_param(req, 0), api_param(req, 1));
    if (rc)
        return rc;
    json_t *problems = json_array();
    for (size_t i = 0; i < t.problem_count; i++)
        json_array_append_new(problems, json_string(t.problems[i]));
    json_t *algs = json_array();
    for (unsigned bit = 1; bit <= OIDC_ALGS_DEFAULT; bit <<= 1)
        if (t.discovery.algs & bit)
            json_array_append_new(algs, json_string(oidc_alg_name(bit)));
    json_t *o =
        json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "ok", t.ok, "problems", problems,
                  "issuer", string_or_null(t.discovery.issuer), "authorization_endpoint",
                  string_or_null(t.discovery.authorization_endpoint), "token_endpoint",
                  string_or_null(t.discovery.token_endpoint), "end_session_endpoint",
                  string_or_null(t.discovery.end_session_endpoint), "keys", (json_int_t)t.keys,
                  "algorithms", algs);
    http_response_json(res, req, 200, o);
    return 0;
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/agencies/{id}/oidc-connections", connections_create, HTTP_AUTHENTICATED,
     NULL},
    {"GET", "/api/v1/agencies/{id}/oidc-connections", connections_list, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/agencies/{id}/oidc-connections/{cid}", connections_get, HTTP_AUTHENTICATED,
     NULL},
    {"PATCH", "/api/v1/agencies/{id}/oidc-connections/{cid}", connections_update,
     HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/agencies/{id}/oidc-connections/{cid}", connections_delete,
     HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/agencies/{id}/oidc-connections/{cid}/test", connections_test,
     HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_oidc_connection_routes = {"oidc_connections", routes};
