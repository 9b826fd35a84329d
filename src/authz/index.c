/* The decision index: hash maps of users, places (agencies, environments, bots) and custom
 * roles under one reader-writer lock; each check gathers the user's grants in the target's
 * agency and hands them to app_decide_check. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "authz/authz_int.h"

#define GRANTS_ON_STACK 32

static void grant_dispose(struct ix_grant *g)
{
    free(g->agency_id);
    free(g->scope_id);
    free(g->env_id);
    for (size_t i = 0; i < g->custom_count; i++)
        free(g->custom[i]);
    free(g->custom);
}

void ix_user_free(struct ix_user *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->count; i++)
        grant_dispose(&u->grants[i]);
    free(u->grants);
    free(u);
}

static void place_free(struct ix_place *p)
{
    if (!p)
        return;
    free(p->agency_id);
    free(p->env_id);
    free(p);
}

static void role_free(struct ix_role *r)
{
    if (!r)
        return;
    free(r->agency_id);
    free(r);
}

struct authz_index *authz_index_new(void)
{
    struct authz_index *ix = xcalloc(1, sizeof(*ix));
    pthread_rwlock_init(&ix->lock, NULL);
    hmap_init(&ix->users);
    hmap_init(&ix->agencies);
    hmap_init(&ix->envs);
    hmap_init(&ix->bots);
    hmap_init(&ix->roles);
    return ix;
}

void ix_clear(struct authz_index *ix)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&ix->users, &pos, &k, &v))
        ix_user_free(v);
    pos = 0;
    while (hmap_next(&ix->envs, &pos, &k, &v))
        place_free(v);
    pos = 0;
    while (hmap_next(&ix->bots, &pos, &k, &v))
        place_free(v);
    pos = 0;
    while (hmap_next(&ix->roles, &pos, &k, &v))
        role_free(v);
    hmap_dispose(&ix->users);
    hmap_dispose(&ix->agencies);
    hmap_dispose(&ix->envs);
    hmap_dispose(&ix->bots);
    hmap_dispose(&ix->roles);
}

void authz_index_free(struct authz_index *ix)
{
    if (!ix)
        return;
    ix_clear(ix);
    pthread_rwlock_destroy(&ix->lock);
    free(ix);
}

/* A sentinel value: the agencies map only records presence. */
static char agency_present;

void ix_put_agency_locked(struct authz_index *ix, const char *agency_id)
{
    hmap_put(&ix->agencies, agency_id, &agency_present);
}

void ix_put_place_locked(struct authz_index *ix, struct hmap *map, const char *id,
                         const char *agency_id, const char *env_id)
{
    (void)ix; /* the caller holds ix's write lock; map is one of its tables */
    struct ix_place *p = xcalloc(1, sizeof(*p));
    p->agency_id = xstrdup(agency_id);
    p->env_id = env_id ? xstrdup(env_id) : NULL;
    place_free(hmap_put(map, id, p));
}

void ix_remove_place_locked(struct authz_index *ix, struct hmap *map, const char *id)
{
    (void)ix; /* the caller holds ix's write lock; map is one of its tables */
    place_free(hmap_remove(map, id));
}

void ix_remove_agency_roles_locked(struct authz_index *ix, const char *agency_id)
{
    size_t pos = 0;
    const char *k;
    void *v;
    /* Collect first: removing while iterating would skip entries after a tombstone. */
    size_t n = 0, cap = 8;
    char **ids = xmalloc(cap * sizeof(char *));
    while (hmap_next(&ix->roles, &pos, &k, &v)) {
        if (strcmp(((struct ix_role *)v)->agency_id, agency_id) != 0)
            continue;
        if (n == cap)
            ids = xrealloc(ids, (cap *= 2) * sizeof(char *));
        ids[n++] = xstrdup(k);
    }
    for (size_t i = 0; i < n; i++) {
        role_free(hmap_remove(&ix->roles, ids[i]));
        free(ids[i]);
    }
    free(ids);
}

void ix_put_role_locked(struct authz_index *ix, const char *role_id, const char *agency_id,
                        uint64_t permissions)
{
    struct ix_role *r = xcalloc(1, sizeof(*r));
    r->agency_id = xstrdup(agency_id);
    r->perms = permissions;
    role_free(hmap_put(&ix->roles, role_id, r));
}

void ix_put_user_locked(struct authz_index *ix, const char *user_id, struct ix_user *u)
{
    ix_user_free(u ? hmap_put(&ix->users, user_id, u) : hmap_remove(&ix->users, user_id));
}

void authz_index_forget_user(struct authz_index *ix, const char *user_id)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix_put_user_locked(ix, user_id, NULL);
    pthread_rwlock_unlock(&ix->lock);
}

void authz_index_put_agency(struct authz_index *ix, const char *agency_id)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix_put_agency_locked(ix, agency_id);
    pthread_rwlock_unlock(&ix->lock);
}

void authz_index_put_environment(struct authz_index *ix, const char *environment_id,
                                 const char *agency_id)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix_put_place_locked(ix, &ix->envs, environment_id, agency_id, NULL);
    pthread_rwlock_unlock(&ix->lock);
}

void authz_index_put_bot(struct authz_index *ix, const char *bot_id, const char *environment_id,
                         const char *agency_id)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix_put_place_locked(ix, &ix->bots, bot_id, agency_id, environment_id);
    pthread_rwlock_unlock(&ix->lock);
}

void authz_index_put_custom_role(struct authz_index *ix, const char *role_id, const char *agency_id,
                                 uint64_t permissions, bool is_deleted)
{
    pthread_rwlock_wrlock(&ix->lock);
    if (is_deleted)
        role_free(hmap_remove(&ix->roles, role_id));
    else
        ix_put_role_locked(ix, role_id, agency_id, permissions);
    pthread_rwlock_unlock(&ix->lock);
}

/* Resolves a scope to its agency (and a bot's environment); false when unknown. */
static bool scope_resolve(struct authz_index *ix, enum app_scope scope, const char *scope_id,
                          const char **out_agency, const char **out_env)
{
    *out_agency = NULL;
    *out_env = NULL;
    if (!scope_id || !*scope_id)
        return false;
    switch (scope) {
    case APP_SCOPE_AGENCY:
        if (!hmap_get(&ix->agencies, scope_id))
            return false;
        *out_agency = scope_id;
        return true;
    case APP_SCOPE_ENVIRONMENT: {
        struct ix_place *p = hmap_get(&ix->envs, scope_id);
        if (!p)
            return false;
        *out_agency = p->agency_id;
        return true;
    }
    case APP_SCOPE_BOT: {
        struct ix_place *p = hmap_get(&ix->bots, scope_id);
        if (!p)
            return false;
        *out_agency = p->agency_id;
        *out_env = p->env_id;
        return true;
    }
    default:
        return false;
    }
}

/* Gathers the user's grants in one agency into decide's shape; custom roles of that agency
 * are folded into the extra permissions. The arrays hold at most u->count entries. */
static void grants_collect(struct app_decide_grants *out, struct app_decide_grant *agency_slot,
                           struct app_decide_grant *envs, struct app_decide_grant *bots,
                           struct authz_index *ix, const struct ix_user *u, const char *agency_id)
{
    memset(out, 0, sizeof(*out));
    out->environments = envs;
    out->bots = bots;
    for (size_t i = 0; i < u->count; i++) {
        const struct ix_grant *g = &u->grants[i];
        if (strcmp(g->agency_id, agency_id) != 0)
            continue;
        struct app_decide_grant d = {g->scope_id, g->env_id, g->roles, g->extra};
        for (size_t k = 0; k < g->custom_count; k++) {
            const struct ix_role *r = hmap_get(&ix->roles, g->custom[k]);
            if (r && strcmp(r->agency_id, agency_id) == 0 && g->scope != APP_SCOPE_BOT)
                d.extra |= r->perms;
        }
        switch (g->scope) {
        case APP_SCOPE_AGENCY:
            *agency_slot = d;
            out->agency = agency_slot;
            break;
        case APP_SCOPE_ENVIRONMENT:
            envs[out->environment_count++] = d;
            break;
        case APP_SCOPE_BOT:
            bots[out->bot_count++] = d;
            break;
        default:
            break;
        }
    }
}

/* Runs fn with the user's grants in the agency gathered; handles the stack/heap choice. */
static void with_grants(struct authz_index *ix, const struct ix_user *u, const char *agency_id,
                        void (*fn)(void *ctx, const struct app_decide_grants *g), void *ctx)
{
    struct app_decide_grant env_stack[GRANTS_ON_STACK], bot_stack[GRANTS_ON_STACK], agency_slot;
    struct app_decide_grant *envs = env_stack, *bots = bot_stack;
    if (u->count > GRANTS_ON_STACK) {
        envs = xcalloc(u->count, sizeof(*envs));
        bots = xcalloc(u->count, sizeof(*bots));
    }
    struct app_decide_grants g;
    grants_collect(&g, &agency_slot, envs, bots, ix, u, agency_id);
    fn(ctx, &g);
    if (envs != env_stack) {
        free(envs);
        free(bots);
    }
}

struct check_ctx {
    const struct app_decide_target *target;
    const char *permission;
    struct app_decide_result result;
};

static void check_fn(void *ctx, const struct app_decide_grants *g)
{
    struct check_ctx *c = ctx;
    app_decide_check(&c->result, g, c->target, c->permission);
}

void authz_check(struct authz_answer *out, struct authz_index *ix, const struct authz_question *q,
                 struct arena *a)
{
    memset(out, 0, sizeof(*out));
    if (!q->user_id || !q->permission || app_catalogue_permission_bit(q->permission) == 0)
        return;
    pthread_rwlock_rdlock(&ix->lock);
    const struct ix_user *u = hmap_get(&ix->users, q->user_id);
    const char *agency_id, *env_id;
    if (!u || !u->is_active || !scope_resolve(ix, q->scope, q->scope_id, &agency_id, &env_id))
        goto done;
    if (q->limit_agency_id && strcmp(q->limit_agency_id, agency_id) != 0)
        goto done;
    out->agency_id = a ? arena_strdup(a, agency_id) : NULL;
    if (u->is_admin) {
        out->allowed = true;
        out->is_platform_admin = true;
        goto done;
    }
    struct app_decide_target target = {q->scope, q->scope_id, env_id};
    struct check_ctx ctx = {&target, q->permission, {0}};
    with_grants(ix, u, agency_id, check_fn, &ctx);
    out->allowed = ctx.result.allowed;
    out->source = ctx.result.source;
    for (size_t i = 0; i < ctx.result.role_count; i++)
        out->roles[out->role_count++] = ctx.result.roles[i];
done:
    pthread_rwlock_unlock(&ix->lock);
}

struct effective_ctx {
    const struct app_decide_target *target;
    struct app_decide_effective *out;
};

static void effective_fn(void *ctx, const struct app_decide_grants *g)
{
    struct effective_ctx *c = ctx;
    app_decide_effective(c->out, g, c->target);
}

bool authz_effective(struct app_decide_effective *out, bool *out_is_admin, struct authz_index *ix,
                     const char *user_id, enum app_scope scope, const char *scope_id,
                     const char **out_agency_id, struct arena *a)
{
    memset(out, 0, sizeof(*out));
    *out_is_admin = false;
    if (out_agency_id)
        *out_agency_id = NULL;
    bool found = false;
    pthread_rwlock_rdlock(&ix->lock);
    const struct ix_user *u = user_id ? hmap_get(&ix->users, user_id) : NULL;
    const char *agency_id, *env_id;
    if (!u || !u->is_active || !scope_resolve(ix, scope, scope_id, &agency_id, &env_id))
        goto done;
    found = true;
    if (out_agency_id)
        *out_agency_id = arena_strdup(a, agency_id);
    *out_is_admin = u->is_admin;
    struct app_decide_target target = {scope, scope_id, env_id};
    struct effective_ctx ctx = {&target, out};
    with_grants(ix, u, agency_id, effective_fn, &ctx);
done:
    pthread_rwlock_unlock(&ix->lock);
    return found;
}

const char *authz_scope_agency(struct authz_index *ix, enum app_scope scope, const char *scope_id,
                               struct arena *a)
{
    const char *agency_id, *env_id, *copy = NULL;
    pthread_rwlock_rdlock(&ix->lock);
    if (scope_resolve(ix, scope, scope_id, &agency_id, &env_id))
        copy = arena_strdup(a, agency_id);
    pthread_rwlock_unlock(&ix->lock);
    return copy;
}

void authz_index_stats(struct authz_stats *out, struct authz_index *ix)
{
    memset(out, 0, sizeof(*out));
    pthread_rwlock_rdlock(&ix->lock);
    out->users = ix->users.count;
    out->agencies = ix->agencies.count;
    out->environments = ix->envs.count;
    out->bots = ix->bots.count;
    out->custom_roles = ix->roles.count;
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&ix->users, &pos, &k, &v))
        out->grants += ((struct ix_user *)v)->count;
    pthread_rwlock_unlock(&ix->lock);
}
