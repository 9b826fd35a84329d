/* The audit log of an agency: GET /agencies/{id}/audit, newest first, filtered by person, kinds
 * of action and time, each entry with the names of the people and place it names; and its
 * export. Entries are read-only: no route changes or deletes one. */
#include "api/api.h"
#include "app/audit_log.h"
#include "base/json.h"

/* Shown to agency managers; everyone else sees that the value exists, not what it is. */
static json_t *source_json(const char *value, bool can_see)
{
    if (!value)
        return json_null();
    return json_string(can_see ? value : "redacted");
}

/* The details without the names and addresses recorded for the entry's people: those are the
 * entry's actor_name, subject_email, ... */
static json_t *details_json(const struct store_audit_entry *e)
{
    json_t *details = app_audit_entry_details(e);
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(details, tmp, key, value)
    {
        if (app_audit_recorded_key(key))
            json_object_del(details, key);
    }
    return details;
}

/* The requests of a "view as" session, under its start. */
static json_t *requests_json(struct http_request *req, const struct app_audit_item *it)
{
    json_t *items = json_array();
    for (size_t i = 0; i < it->request_count; i++) {
        const struct store_audit_request *r = &it->requests[i];
        json_t *d = r->details_json ? json_loads(r->details_json, 0, NULL) : NULL;
        json_array_append_new(items,
                              json_pack("{s:s, s:o, s:s?, s:s?}", "id",
                                        arena_printf(&req->arena, "%lld", (long long)r->id), "at",
                                        json_time_ms(&req->arena, r->at), "method",
                                        json_string_value(json_object_get(d, "method")), "route",
                                        json_string_value(json_object_get(d, "route"))));
        json_decref(d);
    }
    return json_pack("{s:I, s:o}", "count", (json_int_t)it->request_total, "items", items);
}

static json_t *entry_json(struct http_request *req, const struct app_audit_item *it,
                          bool can_see_sources)
{
    const struct store_audit_entry *e = &it->entry;
    json_t *scope = e->scope_type ? json_pack("{s:s, s:s?, s:s?}", "type", e->scope_type, "id",
                                              e->scope_id, "name", it->scope_name)
                                  : json_null();
    /* An erased person stays as their pseudonymous id, marked deleted. */
    json_t *o =
        json_pack("{s:s, s:o, s:s?, s:s?, s:s, s:s?, s:o, s:o, s:o, s:o, s:b, s:b, s:b}", "id",
                  arena_printf(&req->arena, "%lld", (long long)e->id), "at",
                  json_time_ms(&req->arena, e->at), "actor_id", e->actor_id, "impersonator_id",
                  e->impersonator_id, "action", e->action, "subject_user_id", e->subject_user_id,
                  "scope", scope, "source_ip", source_json(e->source_ip, can_see_sources),
                  "user_agent", source_json(e->user_agent, can_see_sources), "details",
                  details_json(e), "actor_deleted", e->is_actor_gone, "subject_deleted",
                  e->is_subject_gone, "impersonator_deleted", e->is_impersonator_gone);
    json_t *names = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "actor_name", it->actor.name,
                              "actor_email", it->actor.email, "subject_name", it->subject.name,
                              "subject_email", it->subject.email, "impersonator_name",
                              it->impersonator.name, "impersonator_email", it->impersonator.email);
    json_object_update(o, names);
    json_decref(names);
    if (it->is_grouped)
        json_object_set_new(o, "requests", requests_json(req, it));
    return o;
}

/* The filters both routes take. */
static int filters_read(struct app_audit_query *q, struct http_request *req)
{
    int rc = http_query(&q->user_id, req, "user_id");
    if (rc == 0)
        rc = http_query(&q->action, req, "action");
    if (rc == 0)
        rc = http_query(&q->q, req, "q");
    if (rc == 0)
        rc = http_query(&q->since, req, "since");
    if (rc == 0)
        rc = http_query(&q->until, req, "until");
    return rc;
}

static int agency_audit_list(struct http_request *req, struct http_response *res)
{
    struct app_audit_query q = {0};
    int rc = filters_read(&q, req);
    if (rc == 0)
        rc = http_query(&q.group, req, "group");
    if (rc == 0)
        rc = http_query(&q.limit, req, "limit");
    if (rc == 0)
        rc = http_query(&q.cursor, req, "cursor");
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_audit_page page;
    rc = app_audit_list(&page, &call, api_param(req, 0), &q);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++)
        json_array_append_new(items, entry_json(req, &page.items[i], page.can_see_sources));
    api_list_response(res, req, items, page.next_cursor);
    return 0;
}

/* Every matching entry as one streamed CSV or NDJSON download, read in batches as it goes. */
static int agency_audit_export(struct http_request *req, struct http_response *res)
{
    struct app_audit_query q = {0};
    const char *format = NULL;
    int rc = filters_read(&q, req);
    if (rc == 0)
        rc = http_query(&format, req, "format");
    if (rc)
        return rc;
    if (!format)
        format = "ndjson";
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_audit_export *x = NULL;
    rc = app_audit_export_open(&x, &call, api_param(req, 0), &q, format);
    if (rc)
        return rc;
    http_response_header(res, req, "Content-Disposition",
                         arena_printf(&req->arena, "attachment; filename=\"audit-%s.%s\"",
                                      api_param(req, 0), format));
    http_response_stream(res, 200, app_audit_export_type(format), app_audit_export_read, x,
                         app_audit_export_free);
    return 0;
}

static const char *const list_params[] = {"user_id", "action", "q",      "since", "until",
                                          "group",   "limit",  "cursor", NULL};
static const char *const export_params[] = {"user_id", "action", "q", "since",
                                            "until",   "format", NULL};

static const struct http_route routes[] = {
    {"GET", "/api/v1/agencies/{id}/audit", agency_audit_list, HTTP_AUTHENTICATED, list_params},
    {"GET", "/api/v1/agencies/{id}/audit/export", agency_audit_export, HTTP_AUTHENTICATED,
     export_params},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_audit_routes = {"audit", routes};
