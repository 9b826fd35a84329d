/* Liveness, readiness and metrics, outside /api/v1. */
#include <stdlib.h>

#include "api/api.h"
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
    http_response_json(
        res, req, 200,
        json_pack("{s:s, s:s}", "status", "ready", "database", store_dialect(req->app->store)));
    return 0;
}

static int health_metrics(struct http_request *req, struct http_response *res)
{
    size_t len;
    char *text = metrics_render(&len);
    http_response_text(res, req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return 0;
}

static const struct http_route routes[] = {
    {"GET", "/healthz", health_live, HTTP_PUBLIC},
    {"GET", "/readyz", health_ready, HTTP_PUBLIC},
    {"GET", "/metrics", health_metrics, HTTP_PUBLIC},
    {NULL, NULL, NULL, HTTP_PUBLIC},
};

const struct http_route_table api_health_routes = {"health", routes};
