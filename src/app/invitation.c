/* What every invitation operation shares: the view of an invitation (agency, inviter, status,
 * grants), its stored grants read again against the agency, whether it is still pending, and
 * who may manage it (the authority it takes to create it, asked of app/access.h). Creating and
 * sending are in invitation_send.c, listing, copying and revoking in invitation_manage.c,
 * lookup, accept and decline in invitation_accept.c. */
#include "app/invitation.h"

#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "app/invitation_int.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/text.h"
#include "mail/mail.h"
#include "policy/catalogue.h"
#include "store/store_directory.h"
#include "store/store_member.h"
#include "store/store_tenancy.h"
#include "store/store_oidc.h"
#include "store/store_user.h"

void app_invitation_view_dispose(struct app_invitation_view *v)
{
    if (v) {
        json_decref(v->grants);
        v->grants = NULL;
    }
}

bool app_invitation_is_expired(const struct store_invitation *inv, int64_t now)
{
    return strcmp(inv->status, "pending") == 0 && inv->expires_at <= now;
}

/* Parses stored grants again (custom roles by id); a scope that is gone fails. */
int app_invitation_stored_grants(struct app_grant **out, size_t *count, struct app_role_set *roles,
                                 struct store_conn *c, struct arena *a,
                                 const struct store_invitation *inv, struct usher_error *err)
{
    int rc = app_role_set_load(roles, c, a, inv->agency_id, err);
    if (rc)
        return rc;
    json_t *arr = json_loads(inv->grants_json ? inv->grants_json : "[]", 0, NULL);
    rc = app_grants_parse(out, count, c, a, inv->agency_id, roles, arr, "grants", false, err);
    json_decref(arr);
    return rc;
}

static const char *person_name(struct arena *a, const struct store_user *u)
{
    const char *first = u->first_name ? u->first_name : "";
    const char *last = u->last_name ? u->last_name : "";
    if (!*first && !*last)
        return u->email;
    return arena_printf(a, "%s%s%s", first, *first && *last ? " " : "", last);
}

/* Adds the names of each grant's place for the API (api_invitation_json moves them out of the
 * grant into the invitation's "places"), so the invited person, who cannot read the agency's
 * places yet, sees where the invitation leads: "environment_name" on an environment grant;
 * "bot_name", "bot_environment_id" and "bot_environment_name" on a bot grant. A place that is
 * gone keeps its id only. */
static void grants_name_places(json_t *grants, struct store_conn *c, struct arena *a)
{
    size_t i;
    json_t *g;
    json_array_foreach(grants, i, g)
    {
        struct usher_error ignored = {0};
        const char *env_id = json_string_value(json_object_get(g, "environment_id"));
        const char *bot_id = json_string_value(json_object_get(g, "bot_id"));
        const char *env_key = "environment_name";
        if (bot_id) {
            struct store_bot bot;
            if (store_bot_get(&bot, c, a, bot_id, clock_now_ms(), &ignored) != 0)
                continue;
            json_object_set_new(g, "bot_name", json_string(bot.name));
            json_object_set_new(g, "bot_environment_id", json_string(bot.environment_id));
            env_id = bot.environment_id;
            env_key = "bot_environment_name";
        }
        struct store_environment env;
        if (env_id && store_environment_get(&env, c, a, env_id, &ignored) == 0)
            json_object_set_new(g, env_key, json_string(env.name));
    }
}

/* Fills agency name, inviter, status and grants of a view. */
int app_invitation_view_fill(struct app_invitation_view *v, struct store_conn *c, struct arena *a,
                             const struct store_invitation *inv, struct usher_error *err)
{
    memset(v, 0, sizeof(*v));
    v->inv = *inv;
    v->status = app_invitation_is_expired(inv, clock_now_ms()) ? "expired" : inv->status;
    struct store_agency agency;
    int rc = store_agency_get(&agency, c, a, inv->agency_id, err);
    if (rc)
        return rc;
    v->agency_name = agency.name;
    struct store_oidc_connection *conns = NULL;
    size_t conn_count = 0;
    rc = store_oidc_connection_list(&conns, &conn_count, c, a, inv->agency_id, err);
    if (rc)
        return rc;
    if (conn_count > 0) {
        v->connection_id = conns[0].id;
        v->connection_name = conns[0].name;
    }
    if (inv->created_by) {
        struct store_user u;
        struct usher_error ignored = {0};
        if (store_user_get(&u, c, a, inv->created_by, &ignored) == 0)
            v->inviter_name = person_name(a, &u);
    }
    struct app_grant *grants = NULL;
    size_t n = 0;
    struct app_role_set roles;
    struct usher_error e2 = {0};
    if (app_invitation_stored_grants(&grants, &n, &roles, c, a, inv, &e2) == 0) {
        v->grants = app_grants_json(grants, n, &roles);
    } else {
        /* A granted environment or bot is gone: show what was stored. */
        v->grants = json_loads(inv->grants_json ? inv->grants_json : "[]", 0, NULL);
        if (!v->grants)
            v->grants = json_array();
    }
    grants_name_places(v->grants, c, a);
    return 0;
}

/* The actor may manage inv (list it, copy its link, resend or revoke it) with the authority it
 * takes to create it: rule 4 over every grant it gives, so nobody hands out a link to more than
 * they could grant. A non-member learns nothing (404). */
int app_invitation_manage_check(struct store_conn *c, struct arena *a,
                                const struct app_actor *actor, const struct store_invitation *inv,
                                struct usher_error *err)
{
    struct app_access acc;
    struct app_grant *grants = NULL;
    size_t n = 0;
    struct app_role_set roles;
    int rc = app_access_load(&acc, c, a, actor, inv->agency_id, "invitation", err);
    if (rc || acc.is_admin)
        goto done;
    rc = app_invitation_stored_grants(&grants, &n, &roles, c, a, inv, err);
    if (rc == USHER_EINVAL) {
        /* A scope is gone; only agency-level holders of the authority manage it. */
        usher_error_clear(err);
        grants = arena_alloc(a, sizeof(*grants));
        memset(grants, 0, sizeof(*grants));
        grants[0].scope = POLICY_SCOPE_AGENCY;
        grants[0].scope_id = inv->agency_id;
        n = 1;
        rc = 0;
    }
    if (rc)
        goto done;
    rc = app_access_may_grant(&acc, a, grants, n, inv->authority ? inv->authority : "users.invite",
                              "grants", err);
    if (rc == USHER_EFORBIDDEN) {
        usher_error_clear(err);
        rc = usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL,
                             "you may not manage this invitation: it grants more than you may "
                             "grant");
    }
done:
    return rc;
}

/* Loads invitation id for the actor, who must be allowed to manage it. */
int app_invitation_load_managed(struct store_invitation *out, struct store_conn *c, struct arena *a,
                                const struct app_actor *actor, const char *id,
                                struct usher_error *err)
{
    int rc = store_invitation_get(out, c, a, id, err);
    if (rc)
        return rc;
    return app_invitation_manage_check(c, a, actor, out, err);
}

int app_invitation_not_pending(const struct store_invitation *inv, struct usher_error *err)
{
    /* Expired answers the same whether or not the expiry was recorded yet. */
    if (app_invitation_is_expired(inv, clock_now_ms()) || strcmp(inv->status, "expired") == 0) {
        return usher_error_set(err, USHER_EEXPIRED, "invitation_expired", NULL,
                               "this invitation has expired");
    }
    if (strcmp(inv->status, "pending") != 0)
        return usher_error_set(err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                               "this invitation is %s", inv->status);
    return 0;
}
