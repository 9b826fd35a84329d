/* The audit log of an agency: GET /agencies/{id}/audit, newest first, filtered by user (actor
 * or subject) and action. Entries are read-only: no route changes or deletes one. */
#include "api/api.h"
#include "app/audit_log.h"
#include "base/clock.h"

/* The stored details object; text that does not parse (never written by usher) shows as {}. */
static json_t *details_json(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!json_is_object(v)) {
        json_decref(v);
        v = json_object();
    }
    return v;
}

static json_t *entry_json(struct http_request *req, const struct store_audit_entry *e)
{
    json_t *scope = e->scope_type
                        ? json_pack("{s:s, s:s?}", "type", e->scope_type, "id", e->scope_id)
                        : json_null();
    return json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s?, s:o, s:s?, s:s?, s:o}", "id",
                     arena_printf(&req->arena, "%lld", (long long)e->id), "at",
                     clock_format_ms(&req->arena, e->at), "actor_id", e->actor_id,
                     "impersonator_id", e->impersonator_id, "action", e->action, "subject_user_id",
                     e->subject_user_id, "scope", scope, "source_ip", e->source_ip, "user_agent",
                     e->user_agent, "details", details_json(e->details_json));
}

static int agency_audit_list(struct http_request *req, struct http_response *res)
{
    struct app_audit_query q = {0};
    int rc = http_query(&q.user_id, req, "user_id");
    if (rc == 0)
        rc = http_query(&q.action, req, "action");
    if (rc == 0)
        rc = http_query(&q.limit, req, "limit");
    if (rc == 0)
        rc = http_query(&q.cursor, req, "cursor");
    if (rc)
        return rc;
    struct app_actor actor = api_actor(req);
    struct app_audit_page page;
    rc = app_audit_list(&page, req->app, &req->arena, &actor, api_param(req, 0), &q, &req->err);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++)
        json_array_append_new(items, entry_json(req, &page.items[i]));
    http_response_json(res, req, 200,
                       json_pack("{s:o, s:s?}", "items", items, "next_cursor", page.next_cursor));
    return 0;
}

static const struct http_route routes[] = {
    {"GET", "/api/v1/agencies/{id}/audit", agency_audit_list, HTTP_AUTHENTICATED},
    {NULL, NULL, NULL, HTTP_PUBLIC},
};

const struct http_route_table api_audit_routes = {"audit", routes};
