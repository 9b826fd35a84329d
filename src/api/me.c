/* The signed-in user: GET /api/v1/me with their agencies, grants, pending invitations and
 * pending change of email, and the JSON shape of a user shared by the other resources;
 * self-service: their names, their password, their email address, their live sessions, and
 * deleting their account. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "app/account.h"
#include "app/email_change.h"
#include "app/erasure.h"
#include "app/invitation.h"
#include "app/oidc.h"
#include "app/password.h"
#include "app/second_factor.h"
#include "base/clock.h"
#include "base/json.h"
#include "policy/catalogue.h"
#include "store/store_session.h"
#include "store/store_user.h"

#define ME_EMAIL_MAX 1024 /* raw bytes before trimming; the address itself is capped later */

json_t *api_user_json(struct http_request *req, const struct store_user *u)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(u->id));
    json_object_set_new(o, "email", json_string(u->email));
    json_object_set_new(o, "first_name", json_string(u->first_name ? u->first_name : ""));
    json_object_set_new(o, "last_name", json_string(u->last_name ? u->last_name : ""));
    json_object_set_new(o, "status", json_string(u->status));
    json_object_set_new(o, "created_at", json_time_ms(&req->arena, u->created_at));
    json_object_set_new(o, "last_active_at", json_time_ms(&req->arena, u->last_active_at));
    return o;
}

/* "a,b,c" as ["a","b","c"]; "" as []. */
static json_t *names_json(const char *list)
{
    json_t *arr = json_array();
    const char *p = list ? list : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0)
            json_array_append_new(arr, json_stringn(p, len));
        p += len + (comma ? 1 : 0);
    }
    return arr;
}

static void role_id_add(void *ctx, int builtin, const char *custom_id)
{
    if (builtin >= 0)
        json_array_append_new(ctx, json_string(policy_catalogue_role_at((size_t)builtin)->name));
    else if (custom_id)
        json_array_append_new(ctx, json_string(custom_id));
}

/* A stored role list as an array of role ids (policy_catalogue_roles_each). */
static json_t *roles_json(const char *csv)
{
    json_t *arr = json_array();
    policy_catalogue_roles_each(csv, role_id_add, arr);
    return arr;
}

static json_t *grant_json(struct http_request *req, const struct store_user_grant *g)
{
    json_t *o = json_object();
    if (g->bot_id)
        json_object_set_new(o, "bot_id", json_string(g->bot_id));
    else if (g->environment_id)
        json_object_set_new(o, "environment_id", json_string(g->environment_id));
    json_object_set_new(o, "roles", roles_json(g->roles));
    json_object_set_new(o, "extra_permissions", names_json(g->extra_permissions));
    if (g->expires_at > 0)
        json_object_set_new(o, "expires_at", json_time_ms(&req->arena, g->expires_at));
    return o;
}

/* How this session was made, the person's identities at providers (each "usable" while its
 * connection exists with the issuer it was linked under) and whether they have a password. */
static int me_sign_in_json(json_t *out, struct http_request *req, const struct app_call *call,
                           const struct store_user *user)
{
    struct store_identity *items = NULL;
    size_t n = 0;
    int rc = app_oidc_identities(&items, &n, call, user->id);
    if (rc)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_identity *d = &items[i];
        json_array_append_new(
            list,
            json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:b}", "id", d->id, "connection_id",
                      d->connection_id ? json_string(d->connection_id) : json_null(),
                      "connection_name",
                      d->connection_name ? json_string(d->connection_name) : json_null(), "issuer",
                      d->issuer, "email", d->email ? json_string(d->email) : json_null(),
                      "created_at", json_time_ms(&req->arena, d->created_at), "usable", d->usable));
    }
    const char *method = req->principal.session_method;
    json_object_set_new(out, "sign_in_method",
                        json_string(method && strcmp(method, "oidc") == 0 ? "oidc" : "password"));
    json_object_set_new(out, "identities", list);
    json_object_set_new(out, "has_password", json_boolean(user->password_hash != NULL));
    int64_t until = app_erasure_recent_sign_in_until(call->actor);
    json_object_set_new(out, "recent_sign_in_until",
                        until ? json_time_ms(&req->arena, until) : json_null());
    return 0;
}

static int me_get(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_user user;
    struct store_user_membership *members = NULL;
    size_t count = 0;
    int rc = app_account_profile(&user, &members, &count, &call, req->principal.user_id);
    if (rc)
        return rc;
    /* Viewing as someone shows their one agency, and the person viewing. */
    const char *only = req->principal.impersonation_agency_id;
    const char **ids = arena_alloc(&req->arena, (count + 1) * sizeof(*ids));
    bool *sso = arena_alloc(&req->arena, (count + 1) * sizeof(*sso));
    for (size_t i = 0; i < count; i++)
        ids[i] = members[i].agency_id;
    rc = app_oidc_sso_flags(sso, &call, ids, count);
    if (rc)
        return rc;
    json_t *agencies = json_array();
    for (size_t i = 0; i < count; i++) {
        const struct store_user_membership *m = &members[i];
        if (only && strcmp(m->agency_id, only) != 0)
            continue;
        /* An agency that requires its provider shows no grants until the person signs in
         * through it. */
        json_t *grants = json_array();
        int64_t now = clock_now_ms();
        for (size_t g = 0; !sso[i] && g < m->grant_count; g++) {
            /* A lapsed grant counts for nothing, even before the lapse job removes it. */
            if (m->grants[g].expires_at <= 0 || now < m->grants[g].expires_at)
                json_array_append_new(grants, grant_json(req, &m->grants[g]));
        }
        json_array_append_new(agencies,
                              json_pack("{s:s, s:s, s:o, s:o, s:b}", "id", m->agency_id, "name",
                                        m->agency_name, "shortcode",
                                        m->shortcode ? json_string(m->shortcode) : json_null(),
                                        "grants", grants, "sso_required", sso[i]));
    }
    json_t *out = json_object();
    json_object_set_new(out, "user", api_user_json(req, &user));
    json_object_set_new(out, "is_platform_admin", json_boolean(user.is_platform_admin));
    bool second_factor = false;
    rc = app_second_factor_is_on(&second_factor, &call, user.id);
    if (rc) {
        json_decref(agencies);
        json_decref(out);
        return rc;
    }
    json_object_set_new(out, "second_factor", json_boolean(second_factor));
    json_object_set_new(out, "second_factor_required",
                        json_boolean(req->principal.second_factor_required));
    json_object_set_new(out, "agencies", agencies);
    rc = me_sign_in_json(out, req, &call, &user);
    if (rc) {
        json_decref(out);
        return rc;
    }
    if (req->principal.impersonator_id) {
        struct store_user viewer;
        struct store_user_membership *ignored = NULL;
        size_t ignored_count = 0;
        rc = app_account_profile(&viewer, &ignored, &ignored_count, &call,
                                 req->principal.impersonator_id);
        if (rc) {
            json_decref(out);
            return rc;
        }
        json_object_set_new(out, "impersonator", api_user_json(req, &viewer));
        json_object_set_new(out, "impersonation",
                            json_pack("{s:s, s:b}", "agency_id", only, "read_only", 1));
    }
    struct app_invitation_view *pending = NULL;
    size_t pending_count = 0;
    rc = req->principal.impersonator_id
             ? 0
             : app_invitation_pending_for_user(&pending, &pending_count, &call, user.email);
    if (rc) {
        json_decref(out);
        return rc;
    }
    json_t *invitations = json_array();
    for (size_t i = 0; i < pending_count; i++)
        json_array_append_new(invitations, api_invitation_json(req, &pending[i]));
    json_object_set_new(out, "pending_invitations", invitations);
    /* Like the invitations, a pending change of email is the person's own business. */
    const char *pending_email = NULL;
    rc = req->principal.impersonator_id ? 0
                                        : app_email_change_pending(&pending_email, &call, user.id);
    if (rc) {
        json_decref(out);
        return rc;
    }
    json_object_set_new(out, "pending_email",
                        pending_email ? json_string(pending_email) : json_null());
    /* The console keeps its CSRF token in memory; after a reload it recovers it here. A page
     * on another origin cannot read this answer. */
    if (req->principal.via_cookie) {
        char csrf[CRYPTO_HASH_HEX + 1];
        app_account_csrf_token(csrf, req->app, req->principal.session_hash);
        json_object_set_new(out, "csrf_token", json_string(csrf));
    }
    http_response_json(res, req, 200, out);
    return 0;
}

/* Reads an optional string member: absent leaves *out NULL; anything but a string is refused. */
static int optional_string(const char **out, json_t *body, const char *key,
                           struct http_request *req)
{
    *out = NULL;
    json_t *v = json_object_get(body, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return usher_error_set(&req->err, USHER_EINVAL, NULL, key, "%s must be a string", key);
    return json_member_string(out, body, key, false, JSON_STRING_MAX, &req->err);
}

static int me_patch(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"first_name", "last_name", NULL};
    json_t *body;
    struct app_account_names names = {0};
    int rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = optional_string(&names.first_name, body, "first_name", req);
    if (rc == 0)
        rc = optional_string(&names.last_name, body, "last_name", req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_user user;
    rc = app_account_names_set(&user, &call, &names);
    if (rc)
        return rc;
    http_response_json(res, req, 200, json_pack("{s:o}", "user", api_user_json(req, &user)));
    return 0;
}

/* Sets Retry-After on a refusal that has one (the throttle, the limit, a saturated store). */
static void retry_after_header(struct http_request *req, struct http_response *res, int rc,
                               int64_t retry_after)
{
    if (rc != USHER_ELIMIT && rc != USHER_EUNAVAIL)
        return;
    char seconds[24];
    snprintf(seconds, sizeof(seconds), "%lld", (long long)(retry_after > 0 ? retry_after : 1));
    http_response_header(res, req, "Retry-After", seconds);
}

static int me_password_post(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"current_password", "new_password", NULL};
    json_t *body;
    struct app_password_change in = {
        .session_hash = req->principal.session_hash,
        .device_cookie = http_cookie(req, req->app->device_cookie_name),
    };
    int rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(&in.current_password, body, "current_password", true,
                                APP_PASSWORD_MAX_BYTES, &req->err);
    if (rc == 0)
        rc = json_member_string(&in.new_password, body, "new_password", true,
                                APP_PASSWORD_MAX_BYTES, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int64_t retry_after = 0;
    rc = app_account_password_change(&retry_after, &call, &in);
    retry_after_header(req, res, rc, retry_after);
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

static int me_email_post(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"email", "current_password", NULL};
    json_t *body;
    struct app_email_change_request in = {
        .session_hash = req->principal.session_hash,
        .device_cookie = http_cookie(req, req->app->device_cookie_name),
    };
    int rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(&in.email, body, "email", true, ME_EMAIL_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&in.current_password, body, "current_password", true,
                                APP_PASSWORD_MAX_BYTES, &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int64_t retry_after = 0;
    const char *pending = NULL;
    rc = app_email_change_request(&pending, &retry_after, &call, &in);
    retry_after_header(req, res, rc, retry_after);
    if (rc)
        return rc;
    http_response_json(res, req, 202, json_pack("{s:s}", "pending_email", pending));
    return 0;
}

static int me_email_delete(struct http_request *req, struct http_response *res)
{
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int rc = app_email_change_cancel(&call, req->principal.session_hash);
    if (rc)
        return rc;
    http_response_empty(res, 204);
    return 0;
}

#define PROOF_MAX 64 /* bytes of a typed code or recovery code, as the second-factor routes */

/* Deletes the signed-in person's account for good, once they give their password (and, when
 * their two-step verification is on, a current code or a recovery code), or, for an account
 * without a password, when this session is a recent company sign-in. */
static int me_delete(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"current_password", "code", "recovery_code", NULL};
    json_t *body;
    struct app_erasure_self in = {
        .session_hash = req->principal.session_hash,
        .device_cookie = http_cookie(req, req->app->device_cookie_name),
    };
    int rc = http_json_body(&body, req, allowed);
    if (rc == 0)
        rc = json_member_string(&in.current_password, body, "current_password", false,
                                APP_PASSWORD_MAX_BYTES, &req->err);
    if (rc == 0)
        rc = json_member_string(&in.proof.code, body, "code", false, PROOF_MAX, &req->err);
    if (rc == 0)
        rc = json_member_string(&in.proof.recovery_code, body, "recovery_code", false, PROOF_MAX,
                                &req->err);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    int64_t retry_after = 0;
    rc = app_erasure_self(&retry_after, &call, &in);
    if (rc == USHER_ELIMIT || rc == USHER_EUNAVAIL) {
        char seconds[24];
        snprintf(seconds, sizeof(seconds), "%lld", (long long)(retry_after > 0 ? retry_after : 1));
        http_response_header(res, req, "Retry-After", seconds);
    }
    if (rc)
        return rc;
    if (req->principal.via_cookie)
        api_session_cookie_clear(req, res);
    http_response_empty(res, 204);
    return 0;
}

/* A person's sessions show where they are signed in: not for someone viewing as them. */
static int not_while_viewing_as(struct http_request *req)
{
    if (!req->principal.impersonator_id)
        return 0;
    return usher_error_set(&req->err, USHER_EFORBIDDEN, "impersonation_read_only", NULL,
                           "a view-as session does not show the person's sessions");
}

static json_t *session_json(struct http_request *req, const struct store_session *s)
{
    bool current =
        req->principal.session_hash && strcmp(s->token_hash, req->principal.session_hash) == 0;
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "id", s->public_id ? s->public_id : "",
                     "created_at", json_time_ms(&req->arena, s->created_at), "last_used_at",
                     json_time_ms(&req->arena, s->last_seen_at), "expires_at",
                     json_time_ms(&req->arena, s->expires_at), "address",
                     s->source_ip ? json_string(s->source_ip) : json_null(), "user_agent",
                     s->user_agent ? json_string(s->user_agent) : json_null(), "current", current);
}

static int me_sessions_list(struct http_request *req, struct http_response *res)
{
    int rc = not_while_viewing_as(req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    struct store_session *list = NULL;
    size_t count = 0;
    rc = app_account_sessions_list(&list, &count, &call);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(items, session_json(req, &list[i]));
    http_response_json(res, req, 200, json_pack("{s:o}", "items", items));
    return 0;
}

static int me_sessions_delete(struct http_request *req, struct http_response *res)
{
    int rc = not_while_viewing_as(req);
    if (rc)
        return rc;
    struct app_actor actor;
    struct app_call call = api_call(req, &actor);
    bool was_current = false;
    rc = app_account_session_end(&was_current, &call, api_param(req, 0),
                                 req->principal.session_hash);
    if (rc)
        return rc;
    if (was_current && req->principal.via_cookie)
        api_session_cookie_clear(req, res);
    http_response_empty(res, 204);
    return 0;
}

static const struct http_route routes[] = {
    {"GET", "/api/v1/me", me_get, HTTP_AUTHENTICATED, NULL},
    {"PATCH", "/api/v1/me", me_patch, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/me", me_delete, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/me/password", me_password_post, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/me/email", me_email_post, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/me/email", me_email_delete, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/me/sessions", me_sessions_list, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/me/sessions/{id}", me_sessions_delete, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

const struct http_route_table api_me_routes = {"me", routes};
