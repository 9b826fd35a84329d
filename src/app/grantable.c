/* The roles and extra permissions one scope offers the caller, each asked of the access module
 * exactly as a grant of it would be. */
#include "app/grantable.h"

#include <string.h>

#include "app/access.h"
#include "app/grants.h"
#include "store/store_tenancy.h"

/* Why a built-in role cannot sit on this kind of scope at all. */
static const char *scope_refusal(const struct policy_catalogue_role *role)
{
    if (policy_catalogue_role_allowed_at(role, POLICY_SCOPE_BOT))
        return "is given on a single bot only";
    if (!policy_catalogue_role_allowed_at(role, POLICY_SCOPE_ENVIRONMENT))
        return "is given for the whole agency only";
    return "is not given on a single bot";
}

/* Whether the caller may give g, why not, and the latest end it may have. */
static void grantable_ask(bool *is_grantable, const char **reason, int64_t *until,
                          const struct app_access *acc, struct arena *a, const struct app_grant *g,
                          const char *needed)
{
    *reason = app_access_grant_refusal(acc, a, g, needed);
    *is_grantable = *reason == NULL;
    *until = *is_grantable ? app_access_grant_until(acc, a, g, needed) : 0;
}

int app_grantable_list(struct app_grantable *out, const struct app_call *call,
                       const char *agency_id, const char *environment_id, const char *bot_id,
                       bool is_manage)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_agency agency;
    struct app_access acc;
    struct app_role_set custom;
    struct app_grant place;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, call->arena, call->actor, agency.id, "agency", call->err);
    if (rc)
        goto done;
    if (environment_id && bot_id) {
        rc = usher_error_set(call->err, USHER_EINVAL, "unknown_scope", "bot_id",
                             "ask about an environment or a bot, not both");
        goto done;
    }
    rc =
        app_grant_place(&place, c, call->arena, agency.id, environment_id, bot_id, NULL, call->err);
    if (rc)
        goto done;
    custom = acc.roles;
    out->scope = place.scope;
    out->scope_id = place.scope_id;
    out->needed = place.scope == POLICY_SCOPE_BOT ? "bot.delegate"
                  : is_manage                     ? "users.manage"
                                                  : "users.invite";
    /* A grant giving nothing asks only for the right to give at the scope. */
    if (!app_access_grant_refusal(&acc, call->arena, &place, out->needed))
        out->until = app_access_grant_until(&acc, call->arena, &place, out->needed);
    out->roles =
        arena_alloc(call->arena, (POLICY_ROLE_COUNT + custom.count + 1) * sizeof(*out->roles));
    for (size_t i = 0; i < POLICY_ROLE_COUNT; i++) {
        const struct policy_catalogue_role *role = policy_catalogue_role_at(i);
        struct app_grantable_role *r = &out->roles[out->role_count++];
        *r = (struct app_grantable_role){.id = role->name, .name = role->name, .is_built_in = true};
        if (!policy_catalogue_role_allowed_at(role, place.scope)) {
            r->reason = scope_refusal(role);
            continue;
        }
        struct app_grant g = place;
        g.roles = POLICY_BIT(i);
        g.permissions = role->permissions;
        grantable_ask(&r->is_grantable, &r->reason, &r->until, &acc, call->arena, &g, out->needed);
    }
    for (size_t i = 0; i < custom.count; i++) {
        struct app_grantable_role *r = &out->roles[out->role_count++];
        *r = (struct app_grantable_role){.id = custom.items[i].id, .name = custom.items[i].name};
        if (place.scope == POLICY_SCOPE_BOT) {
            r->reason = "is not given on a single bot";
            continue;
        }
        struct app_grant g = place;
        g.permissions = custom.permissions[i];
        grantable_ask(&r->is_grantable, &r->reason, &r->until, &acc, call->arena, &g, out->needed);
    }
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        const struct policy_catalogue_permission *p = policy_catalogue_permission_at(i);
        struct app_grantable_permission *q = &out->permissions[i];
        *q = (struct app_grantable_permission){
            .name = p->name,
            .description = p->description,
            .is_authority = policy_catalogue_permission_is_authority(i),
        };
        struct app_grant g = place;
        g.extra = POLICY_BIT(i);
        g.permissions = g.extra;
        grantable_ask(&q->is_grantable, &q->reason, &q->until, &acc, call->arena, &g, out->needed);
    }
done:
    store_conn_put(c);
    return rc;
}
