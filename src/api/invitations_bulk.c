/* Bulk invitations over HTTP: a CSV file POSTed to an agency (text/csv, or JSON {csv, send,
 * validate_only, expires_at}), checked whole and answered with its problems by row and column
 * and each row's end, or sent row by row with each row's result; and the template file. */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "app/invitation_bulk.h"
#include "base/clock.h"
#include "base/json.h"

static json_t *text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *problems_json(const struct app_bulk *b)
{
    json_t *list = json_array();
    for (size_t i = 0; i < b->problem_count; i++) {
        const struct app_bulk_problem *p = &b->problems[i];
        json_array_append_new(list,
                              json_pack("{s:I, s:o, s:s}", "row", (json_int_t)p->row, "column",
                                        text_or_null(p->column), "message", p->message));
    }
    return list;
}

/* The rows as read, for a preview: what each says, whether it is valid and the end its grant
 * is given (expires_at, with expires_at_source saying whence: "row", "default" or "ceiling"). */
static json_t *rows_json(struct http_request *req, const struct app_bulk *b)
{
    json_t *list = json_array();
    for (size_t i = 0; i < b->row_count; i++) {
        const struct app_bulk_row *r = &b->rows[i];
        json_t *o =
            json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "row", (json_int_t)r->row,
                      "email", text_or_null(r->email), "first_name", text_or_null(r->in.first_name),
                      "last_name", text_or_null(r->in.last_name), "shortcode",
                      text_or_null(r->in.shortcode), "environment", text_or_null(r->environment),
                      "roles", text_or_null(r->roles), "valid", r->is_valid);
        json_object_set_new(o, "expires_at",
                            text_or_null(r->end ? clock_format_ms(&req->arena, r->end) : NULL));
        json_object_set_new(o, "expires_at_source", text_or_null(r->end ? r->end_source : NULL));
        if (r->result) {
            json_object_set_new(o, "result", json_string(r->result));
            json_object_set_new(o, "invitation_id", text_or_null(r->invitation_id));
            json_object_set_new(o, "code", text_or_null(r->code));
            json_object_set_new(o, "message", text_or_null(r->message));
        }
        json_array_append_new(list, o);
    }
    return list;
}

/* 400 invalid_rows: the problems by row and column, and how many rows could be sent. */
static void invalid_answer(struct http_response *res, struct http_request *req,
                           const struct app_bulk *b)
{
    json_t *body = json_pack(
        "{s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "type", "about:blank", "title",
        "invalid_rows", "status", 400, "code", "invalid_rows", "detail",
        arena_printf(&req->arena, "the file has %zu problem%s; nothing was sent", b->problem_count,
                     b->problem_count == 1 ? "" : "s"),
        "request_id", req->request_id, "row_count", (json_int_t)b->row_count, "valid_count",
        (json_int_t)b->valid_count, "problems", problems_json(b), "rows", rows_json(req, b));
    http_response_json(res, req, 400, body);
    res->content_type = "application/problem+json";
}

/* What the caller asks: the file, and whether to send all of it, its valid rows, or nothing. */
struct bulk_ask {
    const char *csv;
    size_t len;
    bool validate_only;
    bool valid_rows_only;
    const char *expires_at; /* the end of rows without their own, NULL for none */
};

static int flag_read(bool *out, const char *value, const char *name, struct http_request *req)
{
    if (!value)
        return 0;
    if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0) {
        *out = false;
        return 0;
    }
    return usher_error_set(&req->err, USHER_EINVAL, NULL, name, "%s must be 1 or 0", name);
}

static int send_read(bool *valid_only, const char *value, struct http_request *req)
{
    if (!value || strcmp(value, "all") == 0) {
        *valid_only = false;
        return 0;
    }
    if (strcmp(value, "valid") == 0) {
        *valid_only = true;
        return 0;
    }
    return usher_error_set(&req->err, USHER_EINVAL, NULL, "send",
                           "send must be \"all\" or \"valid\"");
}

static int ask_read(struct bulk_ask *ask, struct http_request *req)
{
    static const char *const fields[] = {"csv", "send", "validate_only", "expires_at", NULL};
    memset(ask, 0, sizeof(*ask));
    const char *validate = NULL, *send = NULL;
    int rc = http_query(&validate, req, "validate_only");
    if (rc == 0)
        rc = http_query(&send, req, "send");
    if (rc == 0)
        rc = http_query(&ask->expires_at, req, "expires_at");
    if (rc == 0)
        rc = flag_read(&ask->validate_only, validate, "validate_only", req);
    if (rc == 0)
        rc = send_read(&ask->valid_rows_only, send, req);
    if (rc)
        return rc;
    const char *ct = http_header(req, "Content-Type");
    if (ct && strncasecmp(ct, "application/json", 16) == 0) {
        json_t *body;
        rc = http_json_body(&body, req, fields);
        if (rc == 0)
            rc = json_member_string(&ask->csv, body, "csv", true, APP_BULK_BYTES_MAX, &req->err);
        if (rc == 0)
            rc = json_member_bool(&ask->validate_only, body, "validate_only", false, &req->err);
        if (rc == 0)
            rc = json_member_string(&send, body, "send", false, 16, &req->err);
        if (rc == 0 && send)
            rc = send_read(&ask->valid_rows_only, send, req);
        if (rc == 0 && json_object_get(body, "expires_at"))
            rc = json_member_string(&ask->expires_at, body, "expires_at", false, 64, &req->err);
        ask->len = ask->csv ? strlen(ask->csv) : 0;
        return rc;
    }
    if (!ct || (strncasecmp(ct, "text/csv", 8) != 0 && strncasecmp(ct, "text/plain", 10) != 0))
        return usher_error_set(&req->err, USHER_EINVAL, "unsupported_media_type", NULL,
                               "send the file as text/csv (or JSON with a csv member)");
    ask->csv = req->body ? req->body : "";
    ask->len = req->body ? req->body_len : 0;
    return 0;
}

static int bulk_post(struct http_request *req, struct http_response *res)
{
    struct bulk_ask ask;
    int rc = ask_read(&ask, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_bulk b;
    rc = app_invitation_bulk_check(&b, &call, api_param(req, 0), ask.csv, ask.len, ask.expires_at);
    if (rc)
        return rc;
    bool whole_file_ok = b.problem_count == 0;
    bool can_send = whole_file_ok || (ask.valid_rows_only && b.valid_count > 0);
    if (!can_send || (ask.validate_only && !whole_file_ok)) {
        invalid_answer(res, req, &b);
        goto done;
    }
    if (ask.validate_only) {
        http_response_json(res, req, 200,
                           json_pack("{s:b, s:I, s:I, s:o, s:o}", "sent", false, "row_count",
                                     (json_int_t)b.row_count, "valid_count",
                                     (json_int_t)b.valid_count, "problems", problems_json(&b),
                                     "rows", rows_json(req, &b)));
        goto done;
    }
    rc = app_invitation_bulk_send(&b, &call, api_param(req, 0), ask.valid_rows_only);
    if (rc)
        goto done;
    json_int_t created = 0, refused = 0, skipped = 0;
    for (size_t i = 0; i < b.row_count; i++) {
        const char *r = b.rows[i].result;
        created += strcmp(r, "created") == 0;
        refused += strcmp(r, "refused") == 0;
        skipped += strcmp(r, "skipped") == 0;
    }
    http_response_json(res, req, 200,
                       json_pack("{s:b, s:I, s:I, s:I, s:I, s:o, s:o}", "sent", true, "row_count",
                                 (json_int_t)b.row_count, "created", created, "refused", refused,
                                 "skipped", skipped, "problems", problems_json(&b), "rows",
                                 rows_json(req, &b)));
done:
    app_invitation_bulk_dispose(&b);
    return rc;
}

static int bulk_template(struct http_request *req, struct http_response *res)
{
    const char *text = app_invitation_bulk_template(&req->arena);
    http_response_text(res, req, 200, "text/csv; charset=utf-8", text, strlen(text));
    http_response_header(res, req, "Content-Disposition",
                         "attachment; filename=\"invitations-template.csv\"");
    return 0;
}

static const char *const bulk_params[] = {"validate_only", "send", "expires_at", NULL};

static const struct http_route routes[] = {
    {"POST", "/api/v1/agencies/{id}/invitations/bulk", bulk_post, HTTP_AUTHENTICATED, bulk_params},
    {"GET", "/api/v1/agencies/{id}/invitations/bulk/template", bulk_template, HTTP_AUTHENTICATED,
     NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_invitation_bulk_routes = {"invitations_bulk", routes};
