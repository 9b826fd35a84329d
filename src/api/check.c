/* The decision endpoints, the only ones API tokens may call: POST /check and /check/batch,
 * GET /users/{id}/effective and GET /environments/{id}/notification-recipients.
 *
 * The checks are the hottest requests usher serves, so their usual bodies (flat objects of
 * plain strings) are read without building a jansson tree and the answers are written as text.
 * Any other body takes the full parser, which reads it the same way or names the error. */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "policy/catalogue.h"
#include "app/check.h"
#include "base/json.h"
#include "base/json_flat.h"
#include "base/json_writer.h"

#define QUESTION_MEMBERS 5 /* user_id, permission and the three scope ids */

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

/* --- reading questions without jansson --- */

/* Whether the body may be read by the flat reader: http_json_body would accept its type. */
static bool body_is_flat_candidate(struct http_request *req)
{
    if (!req->body || req->body_len == 0 || req->json)
        return false;
    const char *ct = http_header(req, "Content-Type");
    return !ct || strncasecmp(ct, "application/json", 16) == 0;
}

/* One question from a flat object, as app_check_question_parse reads it from jansson. False
 * whenever that parse would not succeed: an unknown, repeated or empty member, a value over its
 * length cap, a missing user_id or permission, not exactly one scope. */
static bool question_from_flat(struct app_check_question *out, const struct json_flat_member *m,
                               size_t count, struct arena *a)
{
    static const struct {
        const char *key;
        size_t max;
    } members[QUESTION_MEMBERS] = {
        {"user_id", APP_CHECK_ID_MAX},        {"permission", APP_CHECK_NAME_MAX},
        {"environment_id", APP_CHECK_ID_MAX}, {"bot_id", APP_CHECK_ID_MAX},
        {"agency_id", APP_CHECK_ID_MAX},
    };
    const char *value[QUESTION_MEMBERS] = {NULL};
    for (size_t i = 0; i < count; i++) {
        size_t k = 0;
        while (k < QUESTION_MEMBERS && (strlen(members[k].key) != m[i].key_len ||
                                        memcmp(members[k].key, m[i].key, m[i].key_len) != 0))
            k++;
        if (k == QUESTION_MEMBERS || value[k] || m[i].value_len == 0 ||
            m[i].value_len > members[k].max)
            return false;
        value[k] = arena_strndup(a, m[i].value, m[i].value_len);
    }
    int scopes = (value[2] != NULL) + (value[3] != NULL) + (value[4] != NULL);
    if (!value[0] || !value[1] || scopes != 1)
        return false;
    out->user_id = value[0];
    out->permission = value[1];
    out->scope = value[2]   ? POLICY_SCOPE_ENVIRONMENT
                 : value[3] ? POLICY_SCOPE_BOT
                            : POLICY_SCOPE_AGENCY;
    out->scope_id = value[2] ? value[2] : value[3] ? value[3] : value[4];
    return true;
}

/* POST /check's body {"user_id": …, "permission": …, "<scope>_id": …} read flat. */
static bool check_one_flat(struct app_check_question *out, struct http_request *req)
{
    struct json_flat_member m[QUESTION_MEMBERS];
    size_t count, pos = 0;
    if (!body_is_flat_candidate(req) ||
        !json_flat_object(m, QUESTION_MEMBERS, &count, req->body, req->body_len, &pos) ||
        json_flat_space(req->body, req->body_len, pos) != req->body_len)
        return false;
    return question_from_flat(out, m, count, &req->arena);
}

/* POST /check/batch's body {"checks": [question, …]} read flat; *out is an arena array. */
static bool check_batch_flat(struct app_check_question **out, size_t *out_count,
                             struct http_request *req)
{
    const char *text = req->body;
    size_t len = req->body_len, pos = 0, n = 0, cap = 64;
    if (!body_is_flat_candidate(req) || !json_flat_char('{', text, len, &pos) ||
        !json_flat_key("checks", text, len, &pos) || !json_flat_char('[', text, len, &pos))
        return false;
    struct app_check_question *qs = arena_alloc(&req->arena, cap * sizeof(*qs));
    do {
        struct json_flat_member m[QUESTION_MEMBERS];
        size_t count;
        if (n == APP_CHECK_BATCH_MAX ||
            !json_flat_object(m, QUESTION_MEMBERS, &count, text, len, &pos))
            return false;
        if (n == cap) {
            struct app_check_question *more = arena_alloc(&req->arena, 2 * cap * sizeof(*qs));
            memcpy(more, qs, n * sizeof(*qs));
            qs = more;
            cap *= 2;
        }
        if (!question_from_flat(&qs[n++], m, count, &req->arena))
            return false;
    } while (json_flat_char(',', text, len, &pos));
    if (!json_flat_char(']', text, len, &pos) || !json_flat_char('}', text, len, &pos) ||
        json_flat_space(text, len, pos) != len)
        return false;
    *out = qs;
    *out_count = n;
    return true;
}

/* --- answers --- */

/* {"allowed": …} and, with explain, "source" and "roles": what json_dumps wrote before. */
static void answer_write(struct json_writer *w, const struct app_check_answer *ans, bool explain)
{
    json_writer_lit(w, ans->allowed ? "{\"allowed\":true" : "{\"allowed\":false");
    if (explain) {
        json_writer_lit(w, ",\"source\":");
        json_writer_string(w, ans->source);
        json_writer_lit(w, ",\"roles\":[");
        for (size_t i = 0; i < ans->role_count; i++) {
            if (i > 0)
                json_writer_raw(w, ",", 1);
            json_writer_string(w, ans->roles[i]);
        }
        json_writer_raw(w, "]", 1);
        if (ans->reason) {
            json_writer_lit(w, ",\"reason\":");
            json_writer_string(w, ans->reason);
        }
    }
    json_writer_raw(w, "}", 1);
}

static void respond_text(struct http_response *res, struct http_request *req, struct json_writer *w)
{
    http_response_text(res, req, 200, "application/json", w->data, w->len);
    json_writer_dispose(w);
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
    if (rc == 0 && !check_one_flat(&q, req)) {
        rc = http_json_body(&body, req, allowed);
        if (rc == 0)
            rc = app_check_question_parse(&q, body, NULL, &req->arena, &req->err);
    }
    if (rc == 0)
        rc = app_check_may_ask(&caller, &q, "user_id", &req->err);
    if (rc)
        return rc;
    struct app_check_answer ans;
    app_check_answer(&ans, req->app, &caller, &q, &req->arena);
    char storage[512];
    struct json_writer w;
    json_writer_init(&w, storage, sizeof(storage));
    answer_write(&w, &ans, explain);
    respond_text(res, req, &w);
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
    if (rc == 0 && !check_batch_flat(&qs, &count, req)) {
        rc = http_json_body(&body, req, allowed);
        if (rc == 0)
            rc = app_check_batch_parse(&qs, &count, json_object_get(body, "checks"), &req->arena,
                                       &req->err);
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (app_check_may_ask(&caller, &qs[i], NULL, &req->err) == 0)
            continue;
        /* Name the question only once one is refused. */
        char field[48];
        snprintf(field, sizeof(field), "checks[%zu].user_id", i);
        usher_error_clear(&req->err);
        rc = app_check_may_ask(&caller, &qs[i], field, &req->err);
    }
    if (rc)
        return rc;
    char storage[8192];
    struct json_writer w;
    json_writer_init(&w, storage, sizeof(storage));
    json_writer_lit(&w, "{\"results\":[");
    for (size_t i = 0; i < count; i++) {
        struct app_check_answer ans;
        app_check_answer(&ans, req->app, &caller, &qs[i], &req->arena);
        if (i > 0)
            json_writer_raw(&w, ",", 1);
        answer_write(&w, &ans, explain);
    }
    json_writer_lit(&w, "]}");
    respond_text(res, req, &w);
    return 0;
}

/* The one scope named by ?environment_id=, ?bot_id= or ?agency_id=. */
static int scope_query(enum policy_scope *out_scope, const char **out_id, struct http_request *req)
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
    size_t n = roles ? POLICY_ROLE_COUNT : POLICY_PERM_COUNT;
    for (size_t i = 0; i < n; i++) {
        if (!(mask & POLICY_BIT(i)))
            continue;
        const char *name =
            roles ? policy_catalogue_role_at(i)->name : policy_catalogue_permission_at(i)->name;
        json_array_append_new(list, json_string(name));
    }
    return list;
}

static int users_effective(struct http_request *req, struct http_response *res)
{
    enum policy_scope scope;
    const char *scope_id;
    int rc = scope_query(&scope, &scope_id, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_check_caller caller = check_caller(req);
    struct app_effective eff;
    const char *user_id = api_param(req, 0);
    rc = app_check_effective(&eff, &call, &caller, user_id, scope, scope_id);
    if (rc)
        return rc;
    json_t *out =
        json_pack("{s:s, s:{s:s, s:s}, s:o, s:o, s:s, s:b}", "user_id", user_id, "scope", "type",
                  policy_catalogue_scope_name(scope), "id", scope_id, "roles",
                  names_json(eff.roles, true), "permissions", names_json(eff.permissions, false),
                  "source", eff.source, "inherited", eff.is_inherited);
    /* Only when a grant in force there ends, as on grant objects. */
    if (eff.expires_at > 0)
        json_object_set_new(out, "expires_at", json_time_ms(&req->arena, eff.expires_at));
    http_response_json(res, req, 200, out);
    return 0;
}

static int environment_recipients(struct http_request *req, struct http_response *res)
{
    struct app_page page;
    int rc = api_page_query(&page, req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_check_caller caller = check_caller(req);
    struct app_recipient_page list;
    rc = app_check_recipients(&list, &call, &caller, api_param(req, 0), &page);
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

static const char *const explain_params[] = {"explain", NULL};
static const char *const scope_params[] = {"agency_id", "environment_id", "bot_id", NULL};

static const struct http_route routes[] = {
    {"POST", "/api/v1/check", check_one, HTTP_SERVICE, explain_params},
    {"POST", "/api/v1/check/batch", check_batch, HTTP_SERVICE, explain_params},
    {"GET", "/api/v1/users/{id}/effective", users_effective, HTTP_SERVICE, scope_params},
    {"GET", "/api/v1/environments/{id}/notification-recipients", environment_recipients,
     HTTP_SERVICE, api_page_params},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_check_routes = {"check", routes};
