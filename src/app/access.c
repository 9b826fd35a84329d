/* The access questions of every operation, in one place: the caller's standing in an agency,
 * the grant ceiling (rule 4 in docs/rules.md), authority over a member, and impersonation.
 * Each answer comes from the pure decision function over grants read in the request's own
 * transaction, so a change is enforced on the very next request. */
#include "app/access.h"

#include <stdio.h>
#include <string.h>

#include "app/oidc.h"
#include "base/clock.h"
#include "policy/catalogue.h"
#include "store/store_member.h"
#include "store/store_tenancy.h"

#define OWNER_BIT POLICY_BIT(POLICY_ROLE_OWNER)

/* user_id's grants in agency_id, their custom roles read with the agency's set custom. When
 * ends is not NULL, it gets when each grant ends (the until fields of struct app_access). */
static int grants_read(struct policy_decide_grants *out, struct app_access *ends,
                       struct store_conn *c, struct arena *a, const char *agency_id,
                       const char *user_id, const struct app_role_set *custom,
                       struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_grant *rows = NULL;
    size_t count = 0;
    int rc =
        store_grant_list_in_agency(&rows, &count, c, a, agency_id, user_id, clock_now_ms(), err);
    if (rc)
        goto done;
    struct policy_decide_grant *envs = arena_alloc(a, (count + 1) * sizeof(*envs));
    struct policy_decide_grant *bots = arena_alloc(a, (count + 1) * sizeof(*bots));
    int64_t *env_until = arena_alloc(a, (count + 1) * sizeof(*env_until));
    int64_t *bot_until = arena_alloc(a, (count + 1) * sizeof(*bot_until));
    int64_t agency_until = 0, latest = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t until = rows[i].expires_at > 0 ? rows[i].expires_at : 0;
        if (until > latest)
            latest = until;
        struct policy_decide_grant g = {
            .scope_id = rows[i].scope_id,
            .extra = policy_catalogue_permissions_parse(rows[i].extra_permissions, NULL),
        };
        uint64_t custom_perms = 0;
        app_roles_csv_masks(&g.roles, &custom_perms, rows[i].roles, custom);
        /* A row that fits none of the three shapes grants nothing. */
        if (rows[i].bot_id) {
            g.scope_id = rows[i].bot_id;
            g.environment_id = rows[i].environment_id;
            bot_until[out->bot_count] = until;
            bots[out->bot_count++] = g;
        } else if (rows[i].environment_id) {
            /* Custom roles count at agency and environment scope, as extra permissions. */
            g.extra |= custom_perms;
            g.scope_id = rows[i].environment_id;
            env_until[out->environment_count] = until;
            envs[out->environment_count++] = g;
        } else if (rows[i].scope_id && strcmp(rows[i].scope_id, agency_id) == 0) {
            g.extra |= custom_perms;
            struct policy_decide_grant *agency = arena_alloc(a, sizeof(*agency));
            *agency = g;
            out->agency = agency;
            agency_until = until;
        }
    }
    out->environments = envs;
    out->bots = bots;
    if (ends) {
        ends->agency_until = agency_until;
        ends->environment_until = env_until;
        ends->bot_until = bot_until;
        ends->latest_until = latest;
    }
done:
    return rc;
}

int app_access_grants_load(struct policy_decide_grants *out, struct store_conn *c, struct arena *a,
                           const char *agency_id, const char *user_id, struct usher_error *err)
{
    struct app_role_set custom;
    int rc = app_role_set_load(&custom, c, a, agency_id, err);
    if (rc) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    return grants_read(out, NULL, c, a, agency_id, user_id, &custom, err);
}

int app_access_member_grants(struct policy_decide_grants *out, const struct app_access *acc,
                             struct store_conn *c, struct arena *a, const char *user_id,
                             struct usher_error *err)
{
    return grants_read(out, NULL, c, a, acc->agency_id, user_id, &acc->roles, err);
}

int app_access_load(struct app_access *out, struct store_conn *c, struct arena *a,
                    const struct app_actor *actor, const char *agency_id, const char *what,
                    struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    out->actor = actor;
    out->agency_id = agency_id;
    /* A "view as" session sees one agency only. */
    if (actor->agency_limit && strcmp(actor->agency_limit, agency_id) != 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "%s not found", what);
    bool member = actor->is_platform_admin;
    int rc = 0;
    if (!member && actor->user_id)
        rc = store_agency_has_member(&member, c, a, agency_id, actor->user_id, err);
    if (rc)
        return rc;
    if (!member)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "%s not found", what);
    if (!actor->is_platform_admin) {
        /* A suspended agency is closed to its members; platform admins still reach it. */
        struct store_agency agency;
        rc = store_agency_get(&agency, c, a, agency_id, err);
        if (rc)
            return rc;
        if (agency.is_suspended)
            return usher_error_set(err, USHER_EFORBIDDEN, "agency_suspended", NULL,
                                   "this agency is suspended");
    }
    rc = app_oidc_sso_check(c, a, actor, agency_id, err);
    if (rc)
        return rc;
    rc = app_role_set_load(&out->roles, c, a, agency_id, err);
    if (rc)
        return rc;
    if (actor->is_platform_admin) {
        out->is_admin = true;
        out->is_owner = true;
        return 0;
    }
    rc = grants_read(&out->grants, out, c, a, agency_id, actor->user_id, &out->roles, err);
    if (rc)
        return rc;
    out->is_owner = out->grants.agency && (out->grants.agency->roles & OWNER_BIT);
    return 0;
}

uint64_t app_access_held(const struct app_access *acc, const struct policy_decide_target *target)
{
    if (acc->is_admin)
        return POLICY_PERMS_ALL;
    struct policy_decide_effective eff;
    policy_decide_effective(&eff, &acc->grants, target);
    return eff.permissions;
}

bool app_access_allows(const struct app_access *acc, enum policy_scope scope, const char *scope_id,
                       const char *environment_id, const char *permission)
{
    uint64_t bit = policy_catalogue_permission_bit(permission);
    struct policy_decide_target t = {scope, scope_id, environment_id};
    return bit && (app_access_held(acc, &t) & bit);
}

int app_access_require(const struct app_access *acc, enum policy_scope scope, const char *scope_id,
                       const char *environment_id, const char *permission, struct usher_error *err)
{
    if (app_access_allows(acc, scope, scope_id, environment_id, permission))
        return 0;
    return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "%s is required here", permission);
}

/* A member sees an environment where they hold any permission, or where a grant on one of its
 * bots gives them something. */
bool app_access_sees_environment(const struct app_access *acc, const char *environment_id)
{
    if (acc->is_admin)
        return true;
    struct policy_decide_target t = {POLICY_SCOPE_ENVIRONMENT, environment_id, NULL};
    struct policy_decide_effective eff;
    policy_decide_effective(&eff, &acc->grants, &t);
    if (eff.permissions)
        return true;
    for (size_t i = 0; i < acc->grants.bot_count; i++) {
        const struct policy_decide_grant *b = &acc->grants.bots[i];
        if (!b->environment_id || strcmp(b->environment_id, environment_id) != 0)
            continue;
        struct policy_decide_target bt = {POLICY_SCOPE_BOT, b->scope_id, environment_id};
        policy_decide_effective(&eff, &acc->grants, &bt);
        if (eff.bot_permissions)
            return true;
    }
    return false;
}

/* Whether a bot grant in the environment lets the member read at least one of its bots. */
bool app_access_reads_bot_in(const struct app_access *acc, const char *environment_id)
{
    for (size_t i = 0; i < acc->grants.bot_count; i++) {
        const struct policy_decide_grant *b = &acc->grants.bots[i];
        if (b->environment_id && strcmp(b->environment_id, environment_id) == 0 &&
            app_access_allows(acc, POLICY_SCOPE_BOT, b->scope_id, environment_id, "bot.read"))
            return true;
    }
    return false;
}

/* The name of the lowest permission in mask (which is not empty). */
static const char *first_permission(uint64_t mask)
{
    for (size_t b = 0; b < POLICY_PERM_COUNT; b++) {
        if (mask & POLICY_BIT(b))
            return policy_catalogue_permission_at(b)->name;
    }
    return "";
}

static const char *scope_words(enum policy_scope scope)
{
    switch (scope) {
    case POLICY_SCOPE_AGENCY:
        return "in this agency";
    case POLICY_SCOPE_ENVIRONMENT:
        return "in this environment";
    default:
        return "on this bot";
    }
}

const char *app_access_grant_refusal(const struct app_access *acc, struct arena *a,
                                     const struct app_grant *g, const char *needed)
{
    if (acc->is_admin)
        return NULL;
    if (!acc->actor || !acc->actor->user_id)
        return "sign in first";
    struct policy_decide_target t = {g->scope, g->scope_id, g->environment_id};
    uint64_t held = app_access_held(acc, &t);
    /* Bots are shared by whoever may delegate them; people are placed elsewhere by whoever may
     * invite or manage them there. */
    const char *right = g->scope == POLICY_SCOPE_BOT ? "bot.delegate" : needed;
    uint64_t right_bit = policy_catalogue_permission_bit(right);
    if (!right_bit || !(held & right_bit))
        return arena_printf(a, "you need %s %s", right, scope_words(g->scope));
    if ((g->roles & OWNER_BIT) && !acc->is_owner)
        return "only an owner makes someone an owner";
    uint64_t missing = g->permissions & POLICY_PERMS_AUTHORITY & ~held;
    if (missing)
        return arena_printf(a, "it gives %s, an authority you do not hold %s",
                            first_permission(missing), scope_words(g->scope));
    return NULL;
}

/* Whether a grant of the caller ending at until (0: never) still counts at end (0: never). */
static bool lasts_until(int64_t until, int64_t end)
{
    return until == 0 || (end > 0 && until >= end);
}

/* The caller's standing made of those of their grants that still count at end (0: never). */
static void lasting_keep(struct app_access *out, const struct app_access *acc, struct arena *a,
                         int64_t end)
{
    *out = *acc;
    struct policy_decide_grants *kept = &out->grants;
    kept->agency =
        acc->grants.agency && lasts_until(acc->agency_until, end) ? acc->grants.agency : NULL;
    struct policy_decide_grant *envs =
        arena_alloc(a, (acc->grants.environment_count + 1) * sizeof(*envs));
    struct policy_decide_grant *bots = arena_alloc(a, (acc->grants.bot_count + 1) * sizeof(*bots));
    kept->environment_count = 0;
    kept->bot_count = 0;
    for (size_t i = 0; i < acc->grants.environment_count; i++) {
        if (lasts_until(acc->environment_until[i], end))
            envs[kept->environment_count++] = acc->grants.environments[i];
    }
    for (size_t i = 0; i < acc->grants.bot_count; i++) {
        if (lasts_until(acc->bot_until[i], end))
            bots[kept->bot_count++] = acc->grants.bots[i];
    }
    kept->environments = envs;
    kept->bots = bots;
}

/* The latest end among the caller's grants that comes before bound (INT64_MAX: any), or 0. */
static int64_t end_before(const struct app_access *acc, int64_t bound)
{
    int64_t best = 0;
    if (acc->grants.agency && acc->agency_until < bound && acc->agency_until > best)
        best = acc->agency_until;
    for (size_t i = 0; i < acc->grants.environment_count; i++) {
        if (acc->environment_until[i] < bound && acc->environment_until[i] > best)
            best = acc->environment_until[i];
    }
    for (size_t i = 0; i < acc->grants.bot_count; i++) {
        if (acc->bot_until[i] < bound && acc->bot_until[i] > best)
            best = acc->bot_until[i];
    }
    return best;
}

int64_t app_access_grant_until(const struct app_access *acc, struct arena *a,
                               const struct app_grant *g, const char *needed)
{
    if (acc->is_admin || acc->latest_until == 0)
        return 0;
    struct app_access lasting;
    lasting_keep(&lasting, acc, a, 0);
    if (!app_access_grant_refusal(&lasting, a, g, needed))
        return 0;
    /* Between two ends of the caller's grants the same grants count, so the latest end that
     * works is one of those ends: they are tried latest first. Before the earliest of them
     * every grant counts, which is the question app_access_grant_refusal answers. */
    int64_t end = end_before(acc, INT64_MAX), last = end;
    while (end > 0) {
        lasting_keep(&lasting, acc, a, end);
        if (!app_access_grant_refusal(&lasting, a, g, needed))
            return end;
        last = end;
        end = end_before(acc, end);
    }
    return last;
}

int app_access_may_grant(const struct app_access *acc, struct arena *a,
                         const struct app_grant *grants, size_t count, const char *needed,
                         const char *field, struct usher_error *err)
{
    for (size_t i = 0; i < count; i++) {
        const char *why = app_access_grant_refusal(acc, a, &grants[i], needed);
        if (!why) {
            int64_t until = app_access_grant_until(acc, a, &grants[i], needed);
            int64_t end = grants[i].expires_at;
            if (until > 0 && (end <= 0 || end > until))
                why = arena_printf(a,
                                   "it would outlast your own access here, which ends at %s: "
                                   "give it an end no later than that",
                                   clock_format_ms(a, until));
        }
        if (why) {
            const char *where = arena_printf(a, "%s[%zu]", field, i);
            return usher_error_set(err, USHER_EFORBIDDEN, "grant_ceiling", where, "%s: %s", where,
                                   why);
        }
    }
    return 0;
}

int app_access_may_act_on(const struct app_access *acc, const char *member_id,
                          const struct policy_decide_grants *member,
                          const struct policy_decide_target *targets, size_t count,
                          struct usher_error *err)
{
    (void)member_id;
    if (acc->is_admin)
        return 0;
    if (member->agency && (member->agency->roles & OWNER_BIT) && !acc->is_owner)
        return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL,
                               "only an owner changes or removes an owner");
    uint64_t manage = POLICY_BIT(POLICY_PERM_USERS_MANAGE);
    if (count == 0) {
        struct policy_decide_target t = {POLICY_SCOPE_AGENCY, acc->agency_id, NULL};
        if (!(app_access_held(acc, &t) & manage))
            return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL,
                                   "users.manage is required in this agency");
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        uint64_t held = app_access_held(acc, &targets[i]);
        if (!(held & manage))
            return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL,
                                   "users.manage is required at every scope the member holds");
        struct policy_decide_effective theirs;
        policy_decide_effective(&theirs, member, &targets[i]);
        uint64_t missing = theirs.permissions & POLICY_PERMS_AUTHORITY & ~held;
        if (missing)
            return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL,
                                   "this member holds %s %s, which you do not hold",
                                   first_permission(missing), scope_words(targets[i].scope));
    }
    return 0;
}

void app_access_member_targets(struct policy_decide_target **out, size_t *count, struct arena *a,
                               const char *agency_id, const struct policy_decide_grants *member,
                               const char *environment_id)
{
    size_t cap = 1 + member->environment_count + member->bot_count;
    struct policy_decide_target *t = arena_alloc(a, cap * sizeof(*t));
    size_t n = 0;
    /* Inside one environment, the environment itself is concerned even where the member only
     * inherits access there; their own grant on it adds nothing to it. */
    if (environment_id)
        t[n++] = (struct policy_decide_target){POLICY_SCOPE_ENVIRONMENT, environment_id, NULL};
    else if (member->agency)
        t[n++] = (struct policy_decide_target){POLICY_SCOPE_AGENCY, agency_id, NULL};
    for (size_t i = 0; !environment_id && i < member->environment_count; i++)
        t[n++] = (struct policy_decide_target){POLICY_SCOPE_ENVIRONMENT,
                                               member->environments[i].scope_id, NULL};
    for (size_t i = 0; i < member->bot_count; i++) {
        const struct policy_decide_grant *b = &member->bots[i];
        if (!environment_id ||
            (b->environment_id && strcmp(b->environment_id, environment_id) == 0))
            t[n++] =
                (struct policy_decide_target){POLICY_SCOPE_BOT, b->scope_id, b->environment_id};
    }
    *out = t;
    *count = n;
}

int app_access_not_self(const struct app_access *acc, const char *member_id,
                        struct usher_error *err)
{
    if (acc->actor && acc->actor->user_id && member_id &&
        strcmp(acc->actor->user_id, member_id) == 0)
        return usher_error_set(err, USHER_EFORBIDDEN, "own_grants", NULL,
                               "nobody changes their own grants; ask another manager");
    return 0;
}

static int impersonation_refused(struct usher_error *err, const char *why)
{
    return usher_error_set(err, USHER_EFORBIDDEN, "impersonation_forbidden", NULL, "%s", why);
}

int app_access_may_impersonate(const struct app_access *acc, const char *target_id,
                               bool target_is_admin, const struct policy_decide_grants *theirs,
                               const struct policy_decide_target *targets, size_t count,
                               struct usher_error *err)
{
    if (acc->actor && acc->actor->user_id && strcmp(acc->actor->user_id, target_id) == 0)
        return impersonation_refused(err, "you cannot view as yourself");
    if (target_is_admin)
        return impersonation_refused(err, "a platform admin cannot be impersonated");
    if (acc->is_admin)
        return 0;
    if (theirs->agency && (theirs->agency->roles & OWNER_BIT) && !acc->is_owner)
        return impersonation_refused(err, "only an owner views the studio as an owner");
    uint64_t manage = POLICY_BIT(POLICY_PERM_USERS_MANAGE);
    bool holds_somewhere = false;
    for (size_t i = 0; i < count; i++) {
        struct policy_decide_effective them;
        policy_decide_effective(&them, theirs, &targets[i]);
        if (them.permissions == 0)
            continue;
        holds_somewhere = true;
        uint64_t held = app_access_held(acc, &targets[i]);
        if (!(held & manage))
            return impersonation_refused(err,
                                         "you do not manage users everywhere this user has access");
        if (them.permissions & POLICY_PERMS_AUTHORITY & ~held)
            return impersonation_refused(err, "this user holds authority you do not hold");
    }
    if (!holds_somewhere) {
        /* A member with no access anywhere: only an agency-level manager may look. */
        struct policy_decide_target t = {POLICY_SCOPE_AGENCY, acc->agency_id, NULL};
        if (!(app_access_held(acc, &t) & manage))
            return impersonation_refused(err, "you do not manage this user");
    }
    return 0;
}

int app_access_demand(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                      const char *agency_id, enum policy_scope scope, const char *scope_id,
                      const char *permission, const char *what, struct usher_error *err)
{
    struct app_access acc;
    struct policy_decide_target t = {scope, scope_id, NULL};
    int rc = app_access_load(&acc, c, a, actor, agency_id, what, err);
    if (rc || acc.is_admin)
        goto done;
    if (scope == POLICY_SCOPE_BOT) {
        struct store_bot bot;
        rc = store_bot_get(&bot, c, a, scope_id, clock_now_ms(), err);
        if (rc)
            goto done;
        t.environment_id = bot.environment_id;
    }
    rc = app_access_require(&acc, t.scope, t.scope_id, t.environment_id, permission, err);
done:
    return rc;
}
