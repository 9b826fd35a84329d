/* Dry runs of grant changes: the difference between two grant lists, per scope, in permissions
 * and in who is notified of incoming chats. */
#include "app/grants_preview.h"

#include <string.h>

#include "base/clock.h"
#include "policy/catalogue.h"
#include "store/store_tenancy.h"

/* The grant of list at scope/scope_id, or NULL. */
static const struct app_grant *grant_at(const struct app_grant *list, size_t count,
                                        enum policy_scope scope, const char *scope_id)
{
    for (size_t i = 0; i < count; i++) {
        if (list[i].scope == scope && strcmp(list[i].scope_id, scope_id) == 0)
            return &list[i];
    }
    return NULL;
}

/* Rule 3: an environment grant holding agent or operator notifies its holder. */
static bool grant_notifies(const struct app_grant *g)
{
    const uint64_t wanted = POLICY_BIT(POLICY_ROLE_AGENT) | POLICY_BIT(POLICY_ROLE_OPERATOR);
    return g && g->scope == POLICY_SCOPE_ENVIRONMENT && (g->roles & wanted) != 0;
}

static int scope_name(const char **out, struct store_conn *c, struct arena *a,
                      enum policy_scope scope, const char *id, struct usher_error *err)
{
    int rc = 0;
    if (scope == POLICY_SCOPE_AGENCY) {
        struct store_agency agency;
        rc = store_agency_get(&agency, c, a, id, err);
        *out = rc ? NULL : agency.name;
    } else if (scope == POLICY_SCOPE_ENVIRONMENT) {
        struct store_environment env;
        rc = store_environment_get(&env, c, a, id, err);
        *out = rc ? NULL : env.name;
    } else {
        struct store_bot bot;
        rc = store_bot_get(&bot, c, a, id, clock_now_ms(), err);
        *out = rc ? NULL : bot.name;
    }
    return rc;
}

/* Adds what changes at the scope of g (a grant of one of the two lists), once per scope. */
static int scope_compare(struct app_grants_preview *out, struct store_conn *c, struct arena *a,
                         const struct app_grant *g, const struct app_grant *before,
                         size_t before_count, const struct app_grant *after, size_t after_count,
                         bool is_active, struct usher_error *err)
{
    for (size_t i = 0; i < out->change_count; i++) {
        if (out->changes[i].scope == g->scope && strcmp(out->changes[i].scope_id, g->scope_id) == 0)
            return 0;
    }
    for (size_t i = 0; i < out->recipient_count; i++) {
        if (g->scope == POLICY_SCOPE_ENVIRONMENT &&
            strcmp(out->recipients[i].environment_id, g->scope_id) == 0)
            return 0;
    }
    const struct app_grant *was = grant_at(before, before_count, g->scope, g->scope_id);
    const struct app_grant *now = grant_at(after, after_count, g->scope, g->scope_id);
    uint64_t had = was ? was->permissions : 0, has = now ? now->permissions : 0;
    bool notified_before = is_active && grant_notifies(was);
    bool notified_after = is_active && grant_notifies(now);
    if (had == has && notified_before == notified_after)
        return 0;
    const char *name = NULL;
    int rc = scope_name(&name, c, a, g->scope, g->scope_id, err);
    if (rc)
        return rc;
    if (had != has) {
        struct app_grants_preview_change *ch = &out->changes[out->change_count++];
        ch->scope = g->scope;
        ch->scope_id = g->scope_id;
        ch->scope_name = name;
        ch->gained = has & ~had;
        ch->lost = had & ~has;
    }
    if (notified_before != notified_after) {
        struct app_grants_preview_recipient *r = &out->recipients[out->recipient_count++];
        r->environment_id = g->scope_id;
        r->environment_name = name;
        r->is_added = notified_after;
    }
    return 0;
}

int app_grants_preview_build(struct app_grants_preview *out, struct store_conn *c, struct arena *a,
                             const struct app_grant *before, size_t before_count,
                             const struct app_grant *after, size_t after_count, bool is_active,
                             struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t most = before_count + after_count + 1;
    out->changes = arena_alloc(a, most * sizeof(*out->changes));
    out->recipients = arena_alloc(a, most * sizeof(*out->recipients));
    for (size_t i = 0; i < after_count + before_count; i++) {
        const struct app_grant *g = i < after_count ? &after[i] : &before[i - after_count];
        int rc =
            scope_compare(out, c, a, g, before, before_count, after, after_count, is_active, err);
        if (rc)
            return rc;
    }
    return 0;
}
