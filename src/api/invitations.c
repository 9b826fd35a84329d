/* Invitations over HTTP: create and list per agency, show, copy link, resend, revoke, the
 * public lookup for the landing page, accept and decline (by token, or from the signed-in
 * user's pending list). The token travels only in request bodies, never in a URL. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "app/account.h"
#include "app/invitation.h"
#include "base/json.h"
#include "base/text.h"

static const char *const token_fields[] = {"token", NULL};
static const char *const accept_fields[] = {"token", "password", "first_name", "last_name", NULL};

static json_t *text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* The JSON of an invitation for those who manage it. Takes the view's grants. */
json_t *api_invitation_json(struct http_request *req, struct app_invitation_view *v)
{
    const struct store_invitation *inv = &v->inv;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(inv->id));
    json_object_set_new(o, "agency",
                        json_pack("{s:s, s:s}", "id", inv->agency_id, "name", v->agency_name));
    json_object_set_new(o, "email", json_string(inv->email));
    json_object_set_new(o, "first_name", text_or_null(inv->first_name));
    json_object_set_new(o, "last_name", text_or_null(inv->last_name));
    json_object_set_new(o, "shortcode", text_or_null(inv->shortcode));
    json_object_set_new(o, "status", json_string(v->status));
    json_object_set_new(o, "grants", v->grants ? json_incref(v->grants) : json_array());
    json_object_set_new(
        o, "invited_by",
        inv->created_by ? json_pack("{s:s, s:s?}", "id", inv->created_by, "name", v->inviter_name)
                        : json_null());
    json_object_set_new(o, "created_at", json_time_ms(&req->arena, inv->created_at));
    json_object_set_new(o, "expires_at", json_time_ms(&req->arena, inv->expires_at));
    json_object_set_new(o, "last_sent_at", json_time_ms(&req->arena, inv->last_sent_at));
    json_object_set_new(o, "send_count", json_integer(inv->send_count));
    json_object_set_new(o, "sign_in", json_string(inv->sign_in ? inv->sign_in : "password"));
    json_object_set_new(o, "oauth_subject", text_or_null(inv->oauth_subject));
    if (v->url)
        json_object_set_new(o, "url", json_string(v->url));
    app_invitation_view_dispose(v);
    return o;
}

static void retry_after(struct http_request *req, struct http_response *res, int64_t seconds)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", (long long)(seconds > 0 ? seconds : 60));
    http_response_header(res, req, "Retry-After", text);
}

int api_invitation_new_parse(struct app_invitation_new *out, struct http_request *req, json_t *body,
                             const char *const *fields)
{
    memset(out, 0, sizeof(*out));
    struct arena *a = &req->arena;
    struct usher_error *err = &req->err;
    const char *email_raw = NULL, *first = NULL, *last = NULL, *shortcode = NULL;
    bool has_expiry = false;
    out->send_email = true;
    out->expires_in_seconds = APP_INVITATION_EXPIRY_DEFAULT_S;
    int rc = json_fields_check(body, fields, NULL, err);
    if (rc == 0)
        rc = json_member_string(&email_raw, body, "email", true, 320, err);
    if (rc == 0)
        rc = text_email_normalize(&out->email, a, email_raw, "email", err);
    if (rc == 0)
        rc = json_member_string(&first, body, "first_name", false, 1024, err);
    if (rc == 0 && first && *text_trim(a, first))
        rc = text_name_check(&out->first_name, a, first, "first_name", TEXT_NAME_MAX_CHARS, err);
    if (rc == 0)
        rc = json_member_string(&last, body, "last_name", false, 1024, err);
    if (rc == 0 && last && *text_trim(a, last))
        rc = text_name_check(&out->last_name, a, last, "last_name", TEXT_NAME_MAX_CHARS, err);
    if (rc == 0)
        rc = json_member_string(&shortcode, body, "shortcode", false, 256, err);
    if (rc == 0 && shortcode && *text_trim(a, shortcode))
        rc = text_shortcode_check(&out->shortcode, a, shortcode, "shortcode", err);
    if (rc == 0)
        rc = json_member_bool(&out->send_email, body, "send_email", false, err);
    if (rc == 0)
        rc = json_member_int(&out->expires_in_seconds, &has_expiry, body, "expires_in_seconds",
                             false, 1, APP_INVITATION_EXPIRY_MAX_S, err);
    if (rc == 0)
        rc = json_member_string(&out->sign_in, body, "sign_in", false, 16, err);
    if (rc == 0)
        rc = json_member_string(&out->oauth_subject, body, "oauth_subject", false, 255, err);
    if (rc)
        return rc;
    if (!has_expiry)
        out->expires_in_seconds = APP_INVITATION_EXPIRY_DEFAULT_S;
    if (out->sign_in && strcmp(out->sign_in, "password") != 0 && strcmp(out->sign_in, "oauth") != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "sign_in",
                               "sign_in must be \"password\" or \"oauth\"");
    out->grants = json_object_get(body, "grants");
    return 0;
}

static const char *const create_fields[] = {
    "email",      "first_name",         "last_name", "shortcode",     "grants",
    "send_email", "expires_in_seconds", "sign_in",   "oauth_subject", NULL,
};

static int invitations_create(struct http_request *req, struct http_response *res)
{
    json_t *body;
    struct app_invitation_new in;
    bool dry_run = false;
    struct app_grants_preview preview;
    int rc = api_dry_run_query(&dry_run, req);
    if (rc == 0)
        rc = http_json_body(&body, req, NULL);
    if (rc == 0)
        rc = api_invitation_new_parse(&in, req, body, create_fields);
    if (rc)
        return rc;
    in.preview = dry_run ? &preview : NULL;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_invitation_view v;
    int64_t wait = 0;
    rc = app_invitation_create(&v, &wait, &call, api_param(req, 0), &in, "users.invite");
    if (rc == USHER_ELIMIT)
        retry_after(req, res, wait);
    if (rc)
        return rc;
    if (dry_run) {
        api_preview_response(res, req, &preview);
        return 0;
    }
    http_response_header(res, req, "Location",
                         arena_printf(&req->arena, "/api/v1/invitations/%s", v.inv.id));
    http_response_json(res, req, 201, api_invitation_json(req, &v));
    return 0;
}

static int invitations_list(struct http_request *req, struct http_response *res)
{
    struct app_invitation_query q;
    int rc = http_query(&q.status, req, "status");
    if (rc == 0)
        rc = http_query(&q.limit, req, "limit");
    if (rc == 0)
        rc = http_query(&q.cursor, req, "cursor");
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_invitation_page page;
    rc = app_invitation_list(&page, &call, api_param(req, 0), &q);
    if (rc)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < page.count; i++)
        json_array_append_new(list, api_invitation_json(req, &page.items[i]));
    http_response_json(res, req, 200,
                       json_pack("{s:o, s:o}", "items", list, "next_cursor",
                                 page.next_cursor ? json_string(page.next_cursor) : json_null()));
    return 0;
}

static int invitations_get(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_invitation_view v;
    int rc = app_invitation_get(&v, &call, api_param(req, 0), false);
    if (rc)
        return rc;
    http_response_json(res, req, 200, api_invitation_json(req, &v));
    return 0;
}

static int invitations_link(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_invitation_view v;
    int rc = app_invitation_get(&v, &call, api_param(req, 0), true);
    if (rc)
        return rc;
    json_t *out = json_pack("{s:s, s:o}", "url", v.url, "expires_at",
                            json_time_ms(&req->arena, v.inv.expires_at));
    app_invitation_view_dispose(&v);
    http_response_json(res, req, 200, out);
    return 0;
}

static int invitations_resend(struct http_request *req, struct http_response *res)
{
    if (req->body_len > 0) {
        json_t *body;
        static const char *const none[] = {NULL};
        int rc = http_json_body(&body, req, none);
        if (rc)
            return rc;
    }
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_invitation_view v;
    int64_t wait = 0;
    int rc = app_invitation_resend(&v, &wait, &call, api_param(req, 0));
    if (rc == USHER_ELIMIT)
        retry_after(req, res, wait);
    if (rc)
        return rc;
    json_t *out = json_pack("{s:s, s:o}", "url", v.url, "expires_at",
                            json_time_ms(&req->arena, v.inv.expires_at));
    app_invitation_view_dispose(&v);
    http_response_json(res, req, 200, out);
    return 0;
}

static int invitations_revoke(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_invitation_revoke(&call, api_param(req, 0));
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

/* Reads {token}: a missing, empty, null or non-string token is refused. */
static int token_body(const char **out, struct http_request *req, const char *const *fields)
{
    json_t *body;
    int rc = http_json_body(&body, req, fields);
    if (rc == 0)
        rc = json_member_string(out, body, "token", true, 256, &req->err);
    if (rc == 0 && !**out)
        rc = usher_error_set(&req->err, USHER_EINVAL, NULL, "token", "token is required");
    return rc;
}

static int invitations_lookup(struct http_request *req, struct http_response *res)
{
    const char *token;
    int rc = token_body(&token, req, token_fields);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_invitation_view v;
    rc = app_invitation_lookup(&v, &call, token);
    if (rc)
        return rc;
    json_t *out = json_object();
    json_object_set_new(out, "agency",
                        json_pack("{s:s, s:s}", "id", v.inv.agency_id, "name", v.agency_name));
    json_object_set_new(out, "inviter",
                        v.inviter_name ? json_pack("{s:s}", "name", v.inviter_name) : json_null());
    json_object_set_new(out, "email", json_string(v.inv.email));
    json_object_set_new(out, "first_name", text_or_null(v.inv.first_name));
    json_object_set_new(out, "last_name", text_or_null(v.inv.last_name));
    json_object_set_new(out, "status", json_string(v.status));
    json_object_set_new(out, "expires_at", json_time_ms(&req->arena, v.inv.expires_at));
    json_object_set_new(out, "account_exists", json_boolean(v.account_exists));
    json_object_set_new(out, "sign_in", json_string(v.inv.sign_in));
    json_object_set_new(out, "connection_id", text_or_null(v.connection_id));
    json_object_set_new(out, "connection_name", text_or_null(v.connection_name));
    json_object_set_new(out, "grants", json_incref(v.grants));
    app_invitation_view_dispose(&v);
    http_response_json(res, req, 200, out);
    return 0;
}

static int accept_common(struct http_request *req, struct http_response *res, const char *token,
                         const char *id, const char *password, const char *first, const char *last)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct app_invitation_accepted acc;
    int rc = app_invitation_accept(&acc, &call, token, id, password, first, last);
    if (rc == USHER_EUNAVAIL)
        retry_after(req, res, 1);
    if (rc)
        return rc;
    json_t *out = acc.is_new_user ? api_session_json(req, res, &acc.session) : json_object();
    if (!acc.is_new_user)
        json_object_set_new(out, "user", api_user_json(req, &acc.user));
    json_object_set_new(out, "invitation", api_invitation_json(req, &acc.view));
    http_response_json(res, req, acc.is_new_user ? 201 : 200, out);
    return 0;
}

static int invitations_accept(struct http_request *req, struct http_response *res)
{
    json_t *body;
    const char *token, *password = NULL, *first = NULL, *last = NULL;
    int rc = token_body(&token, req, accept_fields);
    if (rc == 0)
        rc = http_json_body(&body, req, accept_fields);
    if (rc == 0)
        rc = json_member_string(&password, body, "password", false, 4096, &req->err);
    if (rc == 0)
        rc = json_member_string(&first, body, "first_name", false, 1024, &req->err);
    if (rc == 0)
        rc = json_member_string(&last, body, "last_name", false, 1024, &req->err);
    if (rc)
        return rc;
    return accept_common(req, res, token, NULL, password, first, last);
}

static int invitations_decline(struct http_request *req, struct http_response *res)
{
    const char *token;
    int rc = token_body(&token, req, token_fields);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    rc = app_invitation_decline(&call, token, NULL);
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static int no_body(struct http_request *req)
{
    if (req->body_len == 0)
        return 0;
    json_t *body;
    static const char *const none[] = {NULL};
    return http_json_body(&body, req, none);
}

static int me_invitation_accept(struct http_request *req, struct http_response *res)
{
    int rc = no_body(req);
    if (rc)
        return rc;
    return accept_common(req, res, NULL, api_param(req, 0), NULL, NULL, NULL);
}

static int me_invitation_decline(struct http_request *req, struct http_response *res)
{
    int rc = no_body(req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    rc = app_invitation_decline(&call, NULL, api_param(req, 0));
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static const char *const create_params[] = {"dry_run", NULL};
static const char *const list_params[] = {"status", "limit", "cursor", NULL};

static const struct http_route routes[] = {
    {"POST", "/api/v1/invitations/lookup", invitations_lookup, HTTP_PUBLIC, NULL},
    {"POST", "/api/v1/invitations/accept", invitations_accept, HTTP_PUBLIC, NULL},
    {"POST", "/api/v1/invitations/decline", invitations_decline, HTTP_PUBLIC, NULL},
    {"POST", "/api/v1/agencies/{id}/invitations", invitations_create, HTTP_AUTHENTICATED,
     create_params},
    {"GET", "/api/v1/agencies/{id}/invitations", invitations_list, HTTP_AUTHENTICATED, list_params},
    {"GET", "/api/v1/invitations/{id}", invitations_get, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/invitations/{id}", invitations_revoke, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/invitations/{id}/link", invitations_link, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/invitations/{id}/resend", invitations_resend, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/me/invitations/{id}/accept", me_invitation_accept, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/me/invitations/{id}/decline", me_invitation_decline, HTTP_AUTHENTICATED,
     NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_invitation_routes = {"invitations", routes};
