/* The decision function over a user's grants in one agency: ripple down unless overridden,
 * bots add to their environment, deny by default. */
#include "policy/decide.h"

#include <string.h>

static bool id_present(const char *id)
{
    return id && *id;
}

static const struct policy_decide_grant *grant_find(const struct policy_decide_grant *list,
                                                    size_t count, const char *scope_id)
{
    for (size_t i = 0; i < count; i++) {
        if (id_present(list[i].scope_id) && strcmp(list[i].scope_id, scope_id) == 0)
            return &list[i];
    }
    return NULL;
}

/* A grant's roles limited to those allowed at its scope, and its permissions. */
static void grant_masks(uint64_t *out_roles, uint64_t *out_perms,
                        const struct policy_decide_grant *g, enum policy_scope scope)
{
    uint64_t roles = g->roles & policy_catalogue_roles_at(scope);
    *out_roles = roles;
    *out_perms = (policy_catalogue_roles_permissions(roles) | g->extra) & POLICY_PERMS_ALL;
}

/* What rules 1 and 2 give at the environment level: the environment's own grant, else the
 * agency grant. */
static void environment_level(struct policy_decide_effective *out,
                              const struct policy_decide_grants *g, const char *environment_id)
{
    const struct policy_decide_grant *env =
        grant_find(g->environments, g->environment_count, environment_id);
    if (env) {
        grant_masks(&out->roles, &out->base_permissions, env, POLICY_SCOPE_ENVIRONMENT);
        out->base = POLICY_DECIDE_ENVIRONMENT;
    } else if (g->agency) {
        grant_masks(&out->roles, &out->base_permissions, g->agency, POLICY_SCOPE_AGENCY);
        out->base = POLICY_DECIDE_AGENCY;
    }
    out->permissions = out->base_permissions;
}

void policy_decide_effective(struct policy_decide_effective *out,
                             const struct policy_decide_grants *g,
                             const struct policy_decide_target *target)
{
    memset(out, 0, sizeof(*out));
    if (!g || !target || !id_present(target->scope_id))
        return;
    switch (target->scope) {
    case POLICY_SCOPE_AGENCY:
        if (g->agency && id_present(g->agency->scope_id) &&
            strcmp(g->agency->scope_id, target->scope_id) == 0) {
            grant_masks(&out->roles, &out->base_permissions, g->agency, POLICY_SCOPE_AGENCY);
            out->permissions = out->base_permissions;
            out->base = POLICY_DECIDE_AGENCY;
        }
        return;
    case POLICY_SCOPE_ENVIRONMENT:
        environment_level(out, g, target->scope_id);
        return;
    case POLICY_SCOPE_BOT: {
        if (!id_present(target->environment_id))
            return;
        environment_level(out, g, target->environment_id);
        const struct policy_decide_grant *bot = grant_find(g->bots, g->bot_count, target->scope_id);
        if (bot) {
            uint64_t roles, perms;
            grant_masks(&roles, &perms, bot, POLICY_SCOPE_BOT);
            out->has_bot_grant = true;
            out->bot_permissions = perms;
            out->roles |= roles;
            out->permissions |= perms;
        }
        return;
    }
    default:
        return;
    }
}

void policy_decide_check(struct policy_decide_result *out, const struct policy_decide_grants *g,
                         const struct policy_decide_target *target, const char *permission)
{
    memset(out, 0, sizeof(*out));
    struct policy_decide_effective eff;
    policy_decide_effective(&eff, g, target);
    for (size_t i = 0; i < POLICY_ROLE_COUNT; i++) {
        if (eff.roles & POLICY_BIT(i))
            out->roles[out->role_count++] = policy_catalogue_role_at(i)->name;
    }
    uint64_t bit = policy_catalogue_permission_bit(permission);
    if (bit == 0 || !(eff.permissions & bit))
        return;
    out->allowed = true;
    out->source = (eff.bot_permissions & bit) ? POLICY_DECIDE_BOT : eff.base;
}

const char *policy_decide_source_name(enum policy_decide_source source)
{
    switch (source) {
    case POLICY_DECIDE_AGENCY:
        return "agency";
    case POLICY_DECIDE_ENVIRONMENT:
        return "environment";
    case POLICY_DECIDE_BOT:
        return "bot";
    default:
        return "none";
    }
}
