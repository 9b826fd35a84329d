/* Liveness, readiness and metrics, outside /api/v1, and the table of the listener that serves
 * metrics alone when USHER_METRICS_LISTEN is set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "authz/authz.h"
#include "http/metrics.h"
#include "store/store.h"

static int health_live(struct http_request *req, struct http_response *res)
{
    http_response_json(res, req, 200, json_pack("{s:s}", "status", "ok"));
    return 0;
}

static int health_ready(struct http_request *req, struct http_response *res)
{
    int rc = store_ping(req->app->store, &req->err);
    if (rc) {
        usher_error_clear(&req->err);
        return usher_error_set(&req->err, USHER_EUNAVAIL, "not_ready", NULL,
                               "database unreachable");
    }
    if (req->app->authz && !authz_index_is_current(req->app->authz))
        return usher_error_set(&req->err, USHER_EUNAVAIL, "not_ready", NULL,
                               "catching up with changes made elsewhere");
    http_response_json(
        res, req, 200,
        json_pack("{s:s, s:s}", "status", "ready", "database", store_dialect(req->app->store)));
    return 0;
}

/* The decision index's gauges: what it holds now (present users, grants and places). Two
 * servers on one database that have read the same changes show the same figures, as does a
 * server that has just started. */
static char *index_gauges(char *text, size_t *len, struct authz_index *ix)
{
    struct authz_stats st;
    authz_index_stats(&st, ix);
    char add[1536];
    int n = snprintf(add, sizeof(add),
                     "# HELP usher_authz_index_users Users in the decision index.\n"
                     "# TYPE usher_authz_index_users gauge\n"
                     "usher_authz_index_users %zu\n"
                     "# HELP usher_authz_index_grants Grants in the decision index.\n"
                     "# TYPE usher_authz_index_grants gauge\n"
                     "usher_authz_index_grants %zu\n"
                     "# HELP usher_authz_index_places Agencies, environments and bots in the "
                     "decision index.\n"
                     "# TYPE usher_authz_index_places gauge\n"
                     "usher_authz_index_places{kind=\"agency\"} %zu\n"
                     "usher_authz_index_places{kind=\"environment\"} %zu\n"
                     "usher_authz_index_places{kind=\"bot\"} %zu\n"
                     "# HELP usher_authz_index_custom_roles Custom roles in the decision index.\n"
                     "# TYPE usher_authz_index_custom_roles gauge\n"
                     "usher_authz_index_custom_roles %zu\n"
                     "# HELP usher_authz_index_bytes Bytes the decision index holds.\n"
                     "# TYPE usher_authz_index_bytes gauge\n"
                     "usher_authz_index_bytes %zu\n",
                     st.users, st.grants, st.agencies, st.environments, st.bots, st.custom_roles,
                     st.bytes);
    if (n <= 0 || (size_t)n >= sizeof(add))
        return text;
    text = xrealloc(text, *len + (size_t)n + 1);
    memcpy(text + *len, add, (size_t)n + 1);
    *len += (size_t)n;
    return text;
}

static int health_metrics(struct http_request *req, struct http_response *res)
{
    size_t len;
    char *text = metrics_render(&len);
    if (req->app->authz)
        text = index_gauges(text, &len, req->app->authz);
    http_response_text(res, req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return 0;
}

/* The metrics count requests by the route's pattern pointer: a route served by both
 * listeners names the same string in both tables, so that it stays one series. */
static const char path_healthz[] = "/healthz";
static const char path_metrics[] = "/metrics";

static const struct http_route routes[] = {
    {"GET", path_healthz, health_live, HTTP_PUBLIC, NULL},
    {"GET", "/readyz", health_ready, HTTP_PUBLIC, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

static const struct http_route metrics_routes[] = {
    {"GET", path_metrics, health_metrics, HTTP_PUBLIC, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

/* As for any path nothing serves: the main listener does not tell where metrics went. */
static int health_metrics_elsewhere(struct http_request *req, struct http_response *res)
{
    (void)res;
    return usher_error_set(&req->err, USHER_ENOTFOUND, NULL, NULL, "no such resource");
}

static const struct http_route metrics_elsewhere_routes[] = {
    {"GET", path_metrics, health_metrics_elsewhere, HTTP_PUBLIC, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

static const struct http_route metrics_listener_routes[] = {
    {"GET", path_metrics, health_metrics, HTTP_PUBLIC, NULL},
    {"GET", path_healthz, health_live, HTTP_PUBLIC, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_health_routes = {"health", routes};
const struct http_route_table api_metrics_routes = {"metrics", metrics_routes};
const struct http_route_table api_metrics_elsewhere_routes = {"metrics", metrics_elsewhere_routes};

static const struct http_route_table metrics_listener_table = {"metrics", metrics_listener_routes};
const struct http_route_table *const api_metrics_listener_tables[] = {&metrics_listener_table,
                                                                      NULL};
