/* The signed-in user: GET /api/v1/me with their agencies, grants and pending invitations, and
 * the JSON shape of a user shared by the other resources. */
#include <string.h>

#include "api/api.h"
#include "app/account.h"
#include "app/invitation.h"
#include "base/clock.h"
#include "base/json.h"
#include "policy/catalogue.h"
#include "store/store_user.h"

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

static json_t *grant_json(const struct store_user_grant *g)
{
    json_t *o = json_object();
    if (g->bot_id)
        json_object_set_new(o, "bot_id", json_string(g->bot_id));
    else if (g->environment_id)
        json_object_set_new(o, "environment_id", json_string(g->environment_id));
    json_object_set_new(o, "roles", roles_json(g->roles));
    json_object_set_new(o, "extra_permissions", names_json(g->extra_permissions));
    return o;
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
    json_t *agencies = json_array();
    for (size_t i = 0; i < count; i++) {
        const struct store_user_membership *m = &members[i];
        if (only && strcmp(m->agency_id, only) != 0)
            continue;
        json_t *grants = json_array();
        for (size_t g = 0; g < m->grant_count; g++)
            json_array_append_new(grants, grant_json(&m->grants[g]));
        json_array_append_new(
            agencies, json_pack("{s:s, s:s, s:o, s:o}", "id", m->agency_id, "name", m->agency_name,
                                "shortcode", m->shortcode ? json_string(m->shortcode) : json_null(),
                                "grants", grants));
    }
    json_t *out = json_object();
    json_object_set_new(out, "user", api_user_json(req, &user));
    json_object_set_new(out, "is_platform_admin", json_boolean(user.is_platform_admin));
    json_object_set_new(out, "agencies", agencies);
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

static const struct http_route routes[] = {
    {"GET", "/api/v1/me", me_get, HTTP_AUTHENTICATED},
    {NULL, NULL, NULL, HTTP_PUBLIC},
};

const struct http_route_table api_me_routes = {"me", routes};
