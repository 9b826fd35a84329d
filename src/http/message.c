/* Request accessors, response builders and the single error-to-problem+json mapping. */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "http/http.h"
#include "http/metrics.h"

struct query_count {
    const char *name;
    int count;
};

static enum MHD_Result query_count_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    (void)value;
    struct query_count *qc = cls;
    if (key && strcmp(key, qc->name) == 0)
        qc->count++;
    return MHD_YES;
}

int http_query(const char **out, struct http_request *req, const char *name)
{
    *out = NULL;
    /* `?status=a&status=b` is ambiguous: which one a check saw and which one a query used
     * could differ, so a repeated parameter is refused rather than the first one taken. */
    struct query_count qc = {name, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_count_one, &qc);
    if (qc.count == 0)
        return 0;
    if (qc.count > 1)
        return usher_error_set(&req->err, USHER_EINVAL, NULL, name, "%s is given more than once",
                               name);
    /* `?dry_run` with no "=" has no value: read as absent, it would turn a dry run into the
     * real change, so a parameter given without a value is refused. */
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v)
        return usher_error_set(&req->err, USHER_EINVAL, NULL, name, "%s needs a value", name);
    if (strlen(v) > HTTP_QUERY_VALUE_MAX)
        return usher_error_set(&req->err, USHER_EINVAL, NULL, name, "%s is too long", name);
    *out = v;
    return 0;
}

/* What walking the query string found: the first parameter not accepted. */
struct query_walk {
    const char *const *accepted;
    const char *unknown;
};

static bool query_accepted(const char *const *accepted, const char *key)
{
    for (const char *const *a = accepted; a && *a; a++) {
        if (strcmp(*a, key) == 0)
            return true;
    }
    return false;
}

static enum MHD_Result query_walk_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct query_walk *w = cls;
    /* An empty pair (`?&limit=1`, `?limit=1&&`) comes as an empty name without a value, while
     * a trailing `&` comes as nothing: both mean nothing, as URLSearchParams reads them. An
     * empty name given a value (`?=1`) is a parameter no route reads. */
    if (!key || (key[0] == '\0' && !value) || query_accepted(w->accepted, key))
        return MHD_YES;
    w->unknown = key;
    return MHD_NO;
}

const char *const http_query_any[] = {"*", NULL};

int http_query_check(struct http_request *req, const char *const *accepted)
{
    if (accepted == http_query_any)
        return 0;
    struct query_walk w = {accepted, NULL};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_walk_one, &w);
    if (w.unknown) {
        /* The name goes back as given only when it is short printable ASCII. */
        const char *name = w.unknown;
        size_t len = strlen(name);
        for (size_t i = 0; i < len; i++) {
            if (name[i] < 0x21 || name[i] > 0x7e || name[i] == '"' || name[i] == '\\')
                len = 0;
        }
        if (len == 0 || len > 64)
            name = "(unreadable name)";
        return usher_error_set(&req->err, USHER_EINVAL, "unknown_parameter", name,
                               "unknown query parameter \"%s\"", name);
    }
    for (const char *const *a = accepted; a && *a; a++) {
        struct query_count qc = {*a, 0};
        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_count_one, &qc);
        if (qc.count > 1)
            return usher_error_set(&req->err, USHER_EINVAL, NULL, *a, "%s is given more than once",
                                   *a);
    }
    return 0;
}

const char *http_header(struct http_request *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
    if (v && strlen(v) > HTTP_HEADER_VALUE_MAX)
        return NULL;
    return v;
}

const char *http_cookie(struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

int http_json_body(json_t **out, struct http_request *req, const char *const *allowed)
{
    *out = NULL;
    if (!req->json) {
        const char *ct = http_header(req, "Content-Type");
        if (ct && strncasecmp(ct, "application/json", 16) != 0)
            return usher_error_set(&req->err, USHER_EINVAL, NULL, NULL,
                                   "request body must be application/json");
        int rc = json_body_parse(&req->json, req->body, req->body_len, &req->err);
        if (rc)
            return rc;
    }
    if (allowed) {
        int rc = json_fields_check(req->json, allowed, NULL, &req->err);
        if (rc)
            return rc;
    }
    *out = req->json;
    return 0;
}

bool http_method_is_unsafe(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

void http_response_json(struct http_response *res, struct http_request *req, int status,
                        json_t *value)
{
    char *text = json_dump_compact(value);
    json_decref(value);
    res->status = status;
    res->content_type = "application/json";
    if (!text) {
        res->status = 500;
        res->body = "{}";
        res->body_len = 2;
        return;
    }
    size_t len = strlen(text);
    res->body = arena_strndup(&req->arena, text, len);
    res->body_len = len;
    free(text);
}

void http_response_stream(struct http_response *res, int status, const char *content_type,
                          long (*stream)(void *ctx, char *buf, size_t max), void *ctx,
                          void (*stream_free)(void *ctx))
{
    res->status = status;
    res->content_type = content_type;
    res->body = "";
    res->body_len = 0;
    res->stream = stream;
    res->stream_ctx = ctx;
    res->stream_free = stream_free;
}

void http_response_empty(struct http_response *res, int status)
{
    res->status = status;
    res->body = "";
    res->body_len = 0;
    res->content_type = NULL;
}

void http_response_text(struct http_response *res, struct http_request *req, int status,
                        const char *content_type, const char *text, size_t len)
{
    res->status = status;
    res->content_type = content_type;
    res->body = arena_strndup(&req->arena, text, len);
    res->body_len = len;
}

void http_response_header(struct http_response *res, struct http_request *req, const char *name,
                          const char *value)
{
    USHER_ASSERT(res->header_count < HTTP_HEADERS_MAX);
    if (res->header_count >= HTTP_HEADERS_MAX)
        return;
    res->headers[res->header_count].name = arena_strdup(&req->arena, name);
    res->headers[res->header_count].value = arena_strdup(&req->arena, value);
    res->header_count++;
}

void http_problem(struct http_response *res, struct http_request *req, int code)
{
    struct usher_error *e = &req->err;
    if (e->code == 0)
        usher_error_set(e, code ? code : USHER_EINTERNAL, NULL, NULL, "%s",
                        usher_error_default_problem(code ? code : USHER_EINTERNAL));
    int status = e->http_status ? e->http_status : usher_error_http_status(e->code);
    if (status == 500) {
        /* Internal detail goes to the log only. */
        log_msg(LOG_ERROR, "http.internal_error", "{s:s, s:s, s:s}", "request_id", req->request_id,
                "route", req->route ? req->route : "", "message", e->message);
        snprintf(e->message, sizeof(e->message), "an internal error occurred");
    }
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string("about:blank"));
    json_object_set_new(body, "title", json_string(e->problem));
    json_object_set_new(body, "status", json_integer(status));
    json_object_set_new(body, "code", json_string(e->problem));
    json_object_set_new(body, "detail", json_string(e->message));
    if (e->field[0])
        json_object_set_new(body, "field", json_string(e->field));
    json_object_set_new(body, "request_id", json_string(req->request_id));
    http_response_json(res, req, status, body);
    res->content_type = "application/problem+json";
    metrics_error_observe(e->problem);
}
