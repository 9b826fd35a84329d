/* Member management: the caller's standing in an agency, who sees and may act on whom, and one
 * member as the caller may see them. The overview is in members_list.c, changes in
 * members_change.c. */
#include "app/members.h"

#include <string.h>

#include "app/audit.h"
#include "policy/catalogue.h"
#include "policy/decide.h"
#include "app/access.h"
#include "app/oidc.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/text.h"
#include "store/store_member.h"
#include "app/members_int.h"

const char *app_member_access_name(enum app_member_access access)
{
    switch (access) {
    case APP_MEMBER_INHERITED:
        return "inherited";
    case APP_MEMBER_OVERRIDDEN:
        return "overridden";
    case APP_MEMBER_GRANTED:
        return "granted";
    default:
        return "none";
    }
}

int app_members_forbidden(struct usher_error *err, const char *what)
{
    return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "%s", what);
}

/* Opens a transaction and loads the agency, the caller's standing, the environments and the
 * custom roles. An agency the caller is not a member of is not found. */
int app_members_ctx_open(struct app_members_ctx *x, const struct app_call *call,
                         const char *agency_id, bool write)
{
    memset(x, 0, sizeof(*x));
    x->a = call->arena;
    struct store_agency agency;
    int rc = store_conn_get(call->app->store, &x->c, call->err);
    if (rc)
        return rc;
    rc = store_begin(x->c, write, call->err);
    if (rc)
        return rc;
    rc = store_agency_get(&agency, x->c, call->arena, agency_id, call->err);
    if (rc)
        return rc;
    x->agency_id = agency.id;
    struct app_members_caller *cl = &x->caller;
    rc = app_access_load(&cl->acc, x->c, call->arena, call->actor, agency.id, "agency", call->err);
    if (rc)
        return rc;
    rc = store_directory_environments(&x->envs, &x->env_count, x->c, call->arena, agency.id,
                                      call->err);
    if (rc)
        return rc;
    x->roles = cl->acc.roles;
    cl->reads_env = arena_alloc(call->arena, (x->env_count + 1) * sizeof(bool));
    cl->reads_all = app_access_allows(&cl->acc, POLICY_SCOPE_AGENCY, agency.id, NULL, "users.read");
    cl->manages_any =
        app_access_allows(&cl->acc, POLICY_SCOPE_AGENCY, agency.id, NULL, "users.manage");
    for (size_t i = 0; i < x->env_count; i++) {
        const char *env = x->envs[i].id;
        cl->reads_env[i] = cl->reads_all || app_access_allows(&cl->acc, POLICY_SCOPE_ENVIRONMENT,
                                                              env, NULL, "users.read");
        cl->readable_count += cl->reads_env[i];
        cl->manages_any = cl->manages_any || app_access_allows(&cl->acc, POLICY_SCOPE_ENVIRONMENT,
                                                               env, NULL, "users.manage");
    }
    return 0;
}

void app_members_ctx_close(struct app_members_ctx *x)
{
    store_conn_put(x->c);
    x->c = NULL;
}

long app_members_env_index(const struct app_members_ctx *x, const char *environment_id)
{
    for (size_t i = 0; environment_id && i < x->env_count; i++) {
        if (strcmp(x->envs[i].id, environment_id) == 0)
            return (long)i;
    }
    return -1;
}

/* Rule 1 for one environment: the grant on it (an empty one: removed), else the agency's. */
static enum app_member_access env_access(const struct app_grant_list *pg, const char *env_id,
                                         const struct app_grant **in_force, bool *is_removed)
{
    *in_force = NULL;
    *is_removed = false;
    const struct app_grant *own = app_grant_list_at(pg, POLICY_SCOPE_ENVIRONMENT, env_id);
    if (own) {
        if (app_grant_is_empty(own)) {
            *is_removed = true;
            return APP_MEMBER_NONE;
        }
        *in_force = own;
        return app_grant_list_agency(pg) ? APP_MEMBER_OVERRIDDEN : APP_MEMBER_GRANTED;
    }
    *in_force = app_grant_list_agency(pg);
    return *in_force ? APP_MEMBER_INHERITED : APP_MEMBER_NONE;
}

/* Whether the person has access to the environment: rule 1, or a grant on one of its bots. */
bool app_members_has_access(const struct app_grant_list *pg, const char *env_id)
{
    const struct app_grant *in_force;
    bool removed;
    if (env_access(pg, env_id, &in_force, &removed) != APP_MEMBER_NONE)
        return true;
    for (size_t i = 0; i < pg->count; i++) {
        const struct app_grant *g = &pg->items[i];
        if (g->scope == POLICY_SCOPE_BOT && g->environment_id &&
            strcmp(g->environment_id, env_id) == 0 && !app_grant_is_empty(g))
            return true;
    }
    return false;
}

/* Reads a member's grants in the agency. */
int app_members_grants_load(struct app_grant_list *out, struct app_members_ctx *x,
                            const char *user_id, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_grant *rows = NULL;
    size_t count = 0;
    int rc = store_grant_list_in_agency(&rows, &count, x->c, x->a, x->agency_id, user_id,
                                        clock_now_ms(), err);
    if (rc)
        return rc;
    out->items = arena_alloc(x->a, (count + 1) * sizeof(*out->items));
    for (size_t i = 0; i < count; i++) {
        if (app_grant_from_row(&out->items[out->count], x->a, &rows[i], x->agency_id, &x->roles))
            out->count++;
    }
    return 0;
}

/* --- who sees and manages whom --- */

static bool caller_sees(const struct app_members_ctx *x, const struct app_grant_list *pg)
{
    if (x->caller.reads_all)
        return true;
    for (size_t i = 0; i < x->env_count; i++) {
        if (x->caller.reads_env[i] && app_members_has_access(pg, x->envs[i].id))
            return true;
    }
    return false;
}

/* The caller's authority over a member (rule 4 in docs/rules.md): at every scope the member
 * holds a grant, or only inside environment_id (which counts even where the member holds
 * nothing of their own there). */
int app_members_authority(const struct app_members_ctx *x, const char *user_id,
                          const struct app_grant_list *pg, const char *environment_id,
                          struct usher_error *err)
{
    struct policy_decide_grants member;
    struct policy_decide_target *targets = NULL;
    size_t count = 0;
    app_grant_list_decide(&member, x->a, pg);
    app_access_member_targets(&targets, &count, x->a, x->agency_id, &member, environment_id);
    return app_access_may_act_on(&x->caller.acc, user_id, &member, targets, count, err);
}

static bool caller_manages(const struct app_members_ctx *x, const char *user_id,
                           const struct app_grant_list *pg)
{
    struct usher_error ignored = {0};
    return app_members_authority(x, user_id, pg, NULL, &ignored) == 0;
}

/* Orders grants for display: negative when x comes before y. */
static int grant_order(const struct app_members_ctx *x, const struct app_grant *g1,
                       const struct app_grant *g2)
{
    if (g1->scope != g2->scope)
        return (int)g1->scope - (int)g2->scope;
    if (g1->scope == POLICY_SCOPE_AGENCY)
        return 0;
    long e1 = app_members_env_index(x, g1->environment_id),
         e2 = app_members_env_index(x, g2->environment_id);
    if (e1 != e2)
        return e1 < e2 ? -1 : 1;
    return strcmp(g1->scope_id, g2->scope_id);
}

/* Fills out for person p with grants pg, keeping only what the caller may see. */
void app_members_build(struct app_member *out, const struct app_members_ctx *x,
                       const struct store_directory_person *p, const struct app_grant_list *pg)
{
    memset(out, 0, sizeof(*out));
    out->person = *p;
    if (!p->is_invited) {
        /* Shown beside the person; a failed read shows no method rather than failing the
         * list. */
        struct usher_error ignored = {0};
        app_oidc_sign_in_methods(&out->has_password, &out->has_oidc, x->c, x->a, p->id, &ignored);
    }
    out->grants = arena_alloc(x->a, (pg->count + 1) * sizeof(*out->grants));
    for (size_t i = 0; i < pg->count; i++) {
        const struct app_grant *g = &pg->items[i];
        if (!x->caller.reads_all && g->scope != POLICY_SCOPE_AGENCY) {
            long k = app_members_env_index(x, g->environment_id);
            if (k < 0 || !x->caller.reads_env[k])
                continue;
        }
        /* Insertion in display order: the agency grant, then environments in the agency's
         * order, then bots by environment and id. */
        size_t at = out->grant_count++;
        while (at > 0 && grant_order(x, &out->grants[at - 1], g) > 0) {
            out->grants[at] = out->grants[at - 1];
            at--;
        }
        out->grants[at] = *g;
    }
    out->environments = arena_alloc(x->a, (x->env_count + 1) * sizeof(*out->environments));
    for (size_t i = 0; i < x->env_count; i++) {
        if (x->caller.reads_env[i] && app_members_has_access(pg, x->envs[i].id))
            out->environments[out->environment_count++] = &x->envs[i];
    }
}

static void detail_build(struct app_member_detail *out, const struct app_members_ctx *x,
                         const struct store_directory_person *p, const struct app_grant_list *pg)
{
    memset(out, 0, sizeof(*out));
    app_members_build(&out->member, x, p, pg);
    out->roles = x->roles;
    struct policy_decide_grants dg;
    app_grant_list_decide(&dg, x->a, pg);
    out->environments = arena_alloc(x->a, (x->env_count + 1) * sizeof(*out->environments));
    for (size_t i = 0; i < x->env_count; i++) {
        if (!x->caller.reads_env[i])
            continue;
        struct app_member_environment *e = &out->environments[out->environment_count++];
        e->environment = &x->envs[i];
        e->access = env_access(pg, x->envs[i].id, &e->grant, &e->is_removed);
        struct policy_decide_target t = {POLICY_SCOPE_ENVIRONMENT, x->envs[i].id, NULL};
        struct policy_decide_effective eff;
        policy_decide_effective(&eff, &dg, &t);
        e->roles = eff.roles;
        e->permissions = eff.permissions;
    }
}

/* Loads a member the caller may see, with their grants. A caller who may neither read nor
 * manage users anywhere in the agency is told so before anything about the member. */
int app_members_load(struct store_directory_person *out_person, struct app_grant_list *out_grants,
                     struct app_members_ctx *x, const char *user_id, struct usher_error *err)
{
    const struct app_actor *actor = x->caller.acc.actor;
    bool is_self = actor && actor->user_id && strcmp(actor->user_id, user_id) == 0;
    if (!is_self && !x->caller.reads_all && x->caller.readable_count == 0 && !x->caller.manages_any)
        return app_members_forbidden(err, "users.read is required in this agency");
    int rc = store_directory_member_get(out_person, x->c, x->a, x->agency_id, user_id, err);
    if (rc)
        return rc;
    rc = app_members_grants_load(out_grants, x, user_id, err);
    if (rc)
        return rc;
    if (!is_self && !caller_sees(x, out_grants) && !caller_manages(x, user_id, out_grants))
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "member not found");
    return 0;
}

/* Reads the member as a change left it, inside the change's own transaction: once the change
 * commits nothing can fail any more, so an answer other than success means nothing changed. */
int app_members_detail_reread(struct app_member_detail *out, struct app_members_ctx *x,
                              const char *user_id, struct usher_error *err)
{
    struct store_directory_person person;
    struct app_grant_list pg;
    int rc = store_directory_member_get(&person, x->c, x->a, x->agency_id, user_id, err);
    if (rc)
        return rc;
    rc = app_members_grants_load(&pg, x, user_id, err);
    if (rc)
        return rc;
    detail_build(out, x, &person, &pg);
    return 0;
}

int app_member_get(struct app_member_detail *out, const struct app_call *call,
                   const char *agency_id, const char *user_id)
{
    memset(out, 0, sizeof(*out));
    struct app_members_ctx x;
    struct store_directory_person person;
    struct app_grant_list pg;
    int rc = app_members_ctx_open(&x, call, agency_id, false);
    if (rc)
        goto done;
    if (!x.caller.reads_all && x.caller.readable_count == 0) {
        rc = app_members_forbidden(call->err, "users.read is required in this agency");
        goto done;
    }
    rc = app_members_load(&person, &pg, &x, user_id, call->err);
    if (rc)
        goto done;
    rc = store_commit(x.c, call->err);
    if (rc)
        goto done;
    detail_build(out, &x, &person, &pg);
done:
    app_members_ctx_close(&x);
    return rc;
}
