/* The users overview and member management: who may see and change whom, the merge of members
 * and invited people into one keyset-paged list, and the writes with their audit rows. */
#include "app/members.h"

#include <string.h>

#include "app/audit.h"
#include "policy/catalogue.h"
#include "policy/decide.h"
#include "app/access.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/text.h"
#include "store/store_member.h"

/* The caller's standing in one agency, with what the overview asks of it again and again. */
struct caller {
    struct app_access acc;
    bool reads_all;   /* platform admin, or users.read at agency scope */
    bool manages_any; /* users.manage at agency scope or in some environment */
    bool *reads_env;  /* per environment of the agency: users.read there */
    size_t readable_count;
};

/* What one call works with: a connection inside a transaction and the agency's facts. */
struct ctx {
    struct arena *a;
    struct store_conn *c;
    const char *agency_id;
    struct store_environment *envs;
    size_t env_count;
    struct app_role_set roles;
    struct caller caller;
};

/* One person's grants, resolved. */
struct person_grants {
    struct app_grant *items;
    size_t count;
};

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

static int forbidden(struct usher_error *err, const char *what)
{
    return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "%s", what);
}

/* Opens a transaction and loads the agency, the caller's standing, the environments and the
 * custom roles. An agency the caller is not a member of is not found. */
static int ctx_open(struct ctx *x, struct app *app, struct arena *a, const struct app_actor *actor,
                    const char *agency_id, bool write, struct usher_error *err)
{
    memset(x, 0, sizeof(*x));
    x->a = a;
    struct store_agency agency;
    int rc = store_conn_get(app->store, &x->c, err);
    if (rc == 0)
        rc = store_begin(x->c, write, err);
    if (rc == 0)
        rc = store_agency_get(&agency, x->c, a, agency_id, err);
    if (rc)
        return rc;
    x->agency_id = agency.id;
    struct caller *cl = &x->caller;
    rc = app_access_load(&cl->acc, x->c, a, actor, agency.id, "agency", err);
    if (rc)
        return rc;
    rc = store_directory_environments(&x->envs, &x->env_count, x->c, a, agency.id, err);
    if (rc == 0)
        rc = app_role_set_load(&x->roles, x->c, a, agency.id, err);
    if (rc)
        return rc;
    cl->reads_env = arena_alloc(a, (x->env_count + 1) * sizeof(bool));
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

static void ctx_close(struct ctx *x)
{
    store_conn_put(x->c);
    x->c = NULL;
}

static long env_index(const struct ctx *x, const char *environment_id)
{
    for (size_t i = 0; environment_id && i < x->env_count; i++) {
        if (strcmp(x->envs[i].id, environment_id) == 0)
            return (long)i;
    }
    return -1;
}

/* --- grants as the rules see them --- */

/* Adds one stored role reference to g: built-in roles that fit the scope, and custom roles of
 * the agency except on bots. Anything else grants nothing. */
static void grant_role_add(struct app_grant *g, const char *name, const struct app_role_set *roles)
{
    const struct policy_catalogue_role *role = policy_catalogue_role_find(name);
    if (role) {
        if (policy_catalogue_role_allowed_at(role, g->scope)) {
            g->roles |= POLICY_BIT(policy_catalogue_role_index(name));
            g->permissions |= role->permissions;
        }
        return;
    }
    uint64_t perms = 0;
    const struct store_custom_role *custom = app_role_set_find(roles, name, &perms);
    if (!custom || g->scope == POLICY_SCOPE_BOT)
        return;
    for (size_t k = 0; k < g->custom_count; k++) {
        if (strcmp(g->custom_ids[k], custom->id) == 0)
            return;
    }
    g->custom_ids[g->custom_count++] = custom->id;
    g->permissions |= perms;
}

struct row_roles {
    struct app_grant *g;
    const struct app_role_set *roles;
};

/* Adds one item of a stored role list (policy_catalogue_roles_each) to a grant. */
static void row_role_add(void *ctx, int builtin, const char *custom_id)
{
    struct row_roles *rr = ctx;
    if (builtin >= 0)
        grant_role_add(rr->g, policy_catalogue_role_at((size_t)builtin)->name, rr->roles);
    else if (custom_id)
        grant_role_add(rr->g, custom_id, rr->roles);
}

/* A grants row as a struct app_grant; false for a row of no known shape. */
static bool grant_from_row(struct app_grant *g, struct arena *a, const struct store_grant *row,
                           const char *agency_id, const struct app_role_set *roles)
{
    memset(g, 0, sizeof(*g));
    if (row->bot_id) {
        g->scope = POLICY_SCOPE_BOT;
        g->scope_id = row->bot_id;
        g->bot_id = row->bot_id;
        g->environment_id = row->environment_id;
    } else if (row->environment_id) {
        g->scope = POLICY_SCOPE_ENVIRONMENT;
        g->scope_id = row->environment_id;
        g->environment_id = row->environment_id;
    } else if (row->scope_id && strcmp(row->scope_id, agency_id) == 0) {
        g->scope = POLICY_SCOPE_AGENCY;
        g->scope_id = row->scope_id;
    } else {
        return false;
    }
    const char *csv = row->roles ? row->roles : "";
    size_t tokens = 1;
    for (const char *p = csv; *p; p++)
        tokens += *p == ',';
    g->custom_ids = arena_alloc(a, (tokens + 1) * sizeof(char *));
    struct row_roles rr = {g, roles};
    policy_catalogue_roles_each(csv, row_role_add, &rr);
    g->extra = policy_catalogue_permissions_parse(row->extra_permissions, NULL);
    g->permissions |= g->extra;
    return true;
}

/* The grants of an invitation (stored JSON) as struct app_grant; bots' environments are filled
 * in later. Items of no known shape are skipped. */
static void grants_from_json(struct person_grants *out, struct arena *a, const char *text,
                             const char *agency_id, const struct app_role_set *roles)
{
    memset(out, 0, sizeof(*out));
    json_t *list = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_array(list)) {
        json_decref(list);
        return;
    }
    size_t n = json_array_size(list);
    out->items = arena_alloc(a, (n + 1) * sizeof(*out->items));
    for (size_t i = 0; i < n; i++) {
        json_t *obj = json_array_get(list, i);
        if (!json_is_object(obj))
            continue;
        struct app_grant *g = &out->items[out->count];
        memset(g, 0, sizeof(*g));
        const char *env = json_string_value(json_object_get(obj, "environment_id"));
        const char *bot = json_string_value(json_object_get(obj, "bot_id"));
        if (bot) {
            g->scope = POLICY_SCOPE_BOT;
            g->scope_id = g->bot_id = arena_strdup(a, bot);
        } else if (env) {
            g->scope = POLICY_SCOPE_ENVIRONMENT;
            g->scope_id = g->environment_id = arena_strdup(a, env);
        } else {
            g->scope = POLICY_SCOPE_AGENCY;
            g->scope_id = agency_id;
        }
        json_t *names = json_object_get(obj, "roles");
        g->custom_ids = arena_alloc(a, (json_array_size(names) + 1) * sizeof(char *));
        size_t k;
        json_t *item;
        json_array_foreach(names, k, item)
        {
            if (json_is_string(item))
                grant_role_add(g, arena_strdup(a, json_string_value(item)), roles);
        }
        json_array_foreach(json_object_get(obj, "extra_permissions"), k, item)
        {
            g->extra |= policy_catalogue_permission_bit(json_string_value(item));
        }
        g->permissions |= g->extra;
        out->count++;
    }
    json_decref(list);
}

static bool grant_is_empty(const struct app_grant *g)
{
    return g->roles == 0 && g->custom_count == 0 && g->extra == 0;
}

static const struct app_grant *grant_at(const struct person_grants *pg, enum policy_scope scope,
                                        const char *scope_id)
{
    for (size_t i = 0; i < pg->count; i++) {
        if (pg->items[i].scope == scope && strcmp(pg->items[i].scope_id, scope_id) == 0)
            return &pg->items[i];
    }
    return NULL;
}

static const struct app_grant *agency_grant(const struct person_grants *pg)
{
    for (size_t i = 0; i < pg->count; i++) {
        if (pg->items[i].scope == POLICY_SCOPE_AGENCY)
            return &pg->items[i];
    }
    return NULL;
}

static bool holds_owner(const struct person_grants *pg)
{
    const struct app_grant *g = agency_grant(pg);
    return g && (g->roles & POLICY_BIT(POLICY_ROLE_OWNER));
}

/* Rule 1 for one environment: the grant on it (an empty one: removed), else the agency's. */
static enum app_member_access env_access(const struct person_grants *pg, const char *env_id,
                                         const struct app_grant **in_force, bool *is_removed)
{
    *in_force = NULL;
    *is_removed = false;
    const struct app_grant *own = grant_at(pg, POLICY_SCOPE_ENVIRONMENT, env_id);
    if (own) {
        if (grant_is_empty(own)) {
            *is_removed = true;
            return APP_MEMBER_NONE;
        }
        *in_force = own;
        return agency_grant(pg) ? APP_MEMBER_OVERRIDDEN : APP_MEMBER_GRANTED;
    }
    *in_force = agency_grant(pg);
    return *in_force ? APP_MEMBER_INHERITED : APP_MEMBER_NONE;
}

/* Whether the person has access to the environment: rule 1, or a grant on one of its bots. */
static bool has_access(const struct person_grants *pg, const char *env_id)
{
    const struct app_grant *in_force;
    bool removed;
    if (env_access(pg, env_id, &in_force, &removed) != APP_MEMBER_NONE)
        return true;
    for (size_t i = 0; i < pg->count; i++) {
        const struct app_grant *g = &pg->items[i];
        if (g->scope == POLICY_SCOPE_BOT && g->environment_id &&
            strcmp(g->environment_id, env_id) == 0 && !grant_is_empty(g))
            return true;
    }
    return false;
}

/* The decision input for a person's grants (arena-owned). */
static void decide_input(struct policy_decide_grants *out, struct arena *a,
                         const struct person_grants *pg)
{
    memset(out, 0, sizeof(*out));
    struct policy_decide_grant *envs = arena_alloc(a, (pg->count + 1) * sizeof(*envs));
    struct policy_decide_grant *bots = arena_alloc(a, (pg->count + 1) * sizeof(*bots));
    for (size_t i = 0; i < pg->count; i++) {
        const struct app_grant *g = &pg->items[i];
        /* Custom roles count as extra permissions, as in app_access_grants_load. */
        struct policy_decide_grant d = {g->scope_id, NULL, g->roles, g->permissions};
        if (g->scope == POLICY_SCOPE_AGENCY) {
            struct policy_decide_grant *ag = arena_alloc(a, sizeof(*ag));
            *ag = d;
            out->agency = ag;
        } else if (g->scope == POLICY_SCOPE_ENVIRONMENT) {
            envs[out->environment_count++] = d;
        } else {
            d.environment_id = g->environment_id;
            bots[out->bot_count++] = d;
        }
    }
    out->environments = envs;
    out->bots = bots;
}

/* Reads a member's grants in the agency. */
static int member_grants_load(struct person_grants *out, struct ctx *x, const char *user_id,
                              struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_grant *rows = NULL;
    size_t count = 0;
    int rc = store_grant_list_in_agency(&rows, &count, x->c, x->a, x->agency_id, user_id, err);
    if (rc)
        return rc;
    out->items = arena_alloc(x->a, (count + 1) * sizeof(*out->items));
    for (size_t i = 0; i < count; i++) {
        if (grant_from_row(&out->items[out->count], x->a, &rows[i], x->agency_id, &x->roles))
            out->count++;
    }
    return 0;
}

/* --- who sees and manages whom --- */

static bool caller_sees(const struct ctx *x, const struct person_grants *pg)
{
    if (x->caller.reads_all)
        return true;
    for (size_t i = 0; i < x->env_count; i++) {
        if (x->caller.reads_env[i] && has_access(pg, x->envs[i].id))
            return true;
    }
    return false;
}

/* The caller's authority over a member (rule 4 in docs/rules.md): at every scope the member
 * holds a grant, or only inside environment_id (which counts even where the member holds
 * nothing of their own there). */
static int member_authority(const struct ctx *x, const char *user_id,
                            const struct person_grants *pg, const char *environment_id,
                            struct usher_error *err)
{
    struct policy_decide_grants member;
    struct policy_decide_target *targets = NULL;
    size_t count = 0;
    decide_input(&member, x->a, pg);
    app_access_member_targets(&targets, &count, x->a, x->agency_id, &member, environment_id);
    if (environment_id) {
        bool has_own = false;
        for (size_t i = 0; i < count; i++)
            has_own = has_own || targets[i].scope == POLICY_SCOPE_ENVIRONMENT;
        if (!has_own) {
            struct policy_decide_target *all = arena_alloc(x->a, (count + 1) * sizeof(*all));
            all[0] = (struct policy_decide_target){POLICY_SCOPE_ENVIRONMENT, environment_id, NULL};
            memcpy(all + 1, targets, count * sizeof(*all));
            targets = all;
            count++;
        }
    }
    return app_access_may_act_on(&x->caller.acc, user_id, &member, targets, count, err);
}

static bool caller_manages(const struct ctx *x, const char *user_id, const struct person_grants *pg)
{
    struct usher_error ignored = {0};
    return member_authority(x, user_id, pg, NULL, &ignored) == 0;
}

/* Refuses a change that leaves the agency without an active owner. */
static int last_owner_guard(struct ctx *x, const char *user_id, struct usher_error *err)
{
    int64_t others = 0;
    int rc = store_directory_owner_count(&others, x->c, x->a, x->agency_id, user_id, err);
    if (rc)
        return rc;
    if (others == 0)
        return usher_error_set(err, USHER_ECONFLICT, "last_owner", NULL,
                               "the agency would be left without an owner");
    return 0;
}

/* --- building what the caller sees --- */

/* Orders grants for display: negative when x comes before y. */
static int grant_order(const struct ctx *x, const struct app_grant *g1, const struct app_grant *g2)
{
    if (g1->scope != g2->scope)
        return (int)g1->scope - (int)g2->scope;
    if (g1->scope == POLICY_SCOPE_AGENCY)
        return 0;
    long e1 = env_index(x, g1->environment_id), e2 = env_index(x, g2->environment_id);
    if (e1 != e2)
        return e1 < e2 ? -1 : 1;
    return strcmp(g1->scope_id, g2->scope_id);
}

/* Fills out for person p with grants pg, keeping only what the caller may see. */
static void member_build(struct app_member *out, const struct ctx *x,
                         const struct store_directory_person *p, const struct person_grants *pg)
{
    memset(out, 0, sizeof(*out));
    out->person = *p;
    out->grants = arena_alloc(x->a, (pg->count + 1) * sizeof(*out->grants));
    for (size_t i = 0; i < pg->count; i++) {
        const struct app_grant *g = &pg->items[i];
        if (!x->caller.reads_all && g->scope != POLICY_SCOPE_AGENCY) {
            long k = env_index(x, g->environment_id);
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
        if (x->caller.reads_env[i] && has_access(pg, x->envs[i].id))
            out->environments[out->environment_count++] = &x->envs[i];
    }
}

static void detail_build(struct app_member_detail *out, const struct ctx *x,
                         const struct store_directory_person *p, const struct person_grants *pg)
{
    memset(out, 0, sizeof(*out));
    member_build(&out->member, x, p, pg);
    out->roles = x->roles;
    struct policy_decide_grants dg;
    decide_input(&dg, x->a, pg);
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
static int member_load(struct store_directory_person *out_person, struct person_grants *out_grants,
                       struct ctx *x, const char *user_id, struct usher_error *err)
{
    const struct app_actor *actor = x->caller.acc.actor;
    bool is_self = actor && actor->user_id && strcmp(actor->user_id, user_id) == 0;
    if (!is_self && !x->caller.reads_all && x->caller.readable_count == 0 && !x->caller.manages_any)
        return forbidden(err, "users.read is required in this agency");
    int rc = store_directory_member_get(out_person, x->c, x->a, x->agency_id, user_id, err);
    if (rc == 0)
        rc = member_grants_load(out_grants, x, user_id, err);
    if (rc == 0 && !is_self && !caller_sees(x, out_grants) &&
        !caller_manages(x, user_id, out_grants))
        rc = usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "member not found");
    return rc;
}

/* Re-reads the member after a committed change, in a new read transaction. */
/* Reads the member as a change left it, inside the change's own transaction: once the change
 * commits nothing can fail any more, so an answer other than success means nothing changed. */
static int detail_reread(struct app_member_detail *out, struct ctx *x, const char *user_id,
                         struct usher_error *err)
{
    struct store_directory_person person;
    struct person_grants pg;
    int rc = store_directory_member_get(&person, x->c, x->a, x->agency_id, user_id, err);
    if (rc == 0)
        rc = member_grants_load(&pg, x, user_id, err);
    if (rc == 0)
        detail_build(out, x, &person, &pg);
    return rc;
}

/* --- the overview --- */

/* What an invited person must match besides search and shortcode (SQL does those). */
struct invited_filter {
    const char *role_ref;   /* built-in role name or custom role id; NULL for any */
    const bool *env_wanted; /* per environment; NULL for any */
};

static bool grants_hold_role(const struct person_grants *pg, const char *role_ref)
{
    int idx = policy_catalogue_role_index(role_ref);
    for (size_t i = 0; i < pg->count; i++) {
        const struct app_grant *g = &pg->items[i];
        if (idx >= 0 && (g->roles & POLICY_BIT(idx)))
            return true;
        for (size_t k = 0; idx < 0 && k < g->custom_count; k++) {
            if (strcmp(g->custom_ids[k], role_ref) == 0)
                return true;
        }
    }
    return false;
}

static bool invited_matches(const struct ctx *x, const struct invited_filter *f,
                            const struct person_grants *pg)
{
    if (f->role_ref && !grants_hold_role(pg, f->role_ref))
        return false;
    if (!f->env_wanted)
        return true;
    for (size_t i = 0; i < x->env_count; i++) {
        if (f->env_wanted[i] && has_access(pg, x->envs[i].id))
            return true;
    }
    return false;
}

/* Resolves the environments of the bot grants of count people at once. */
static int bot_environments_fill(struct ctx *x, struct person_grants *pgs, size_t count,
                                 struct usher_error *err)
{
    size_t bots = 0;
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < pgs[i].count; k++)
            bots += pgs[i].items[k].scope == POLICY_SCOPE_BOT;
    }
    if (bots == 0)
        return 0;
    const char **ids = arena_alloc(x->a, bots * sizeof(*ids));
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < pgs[i].count; k++) {
            if (pgs[i].items[k].scope == POLICY_SCOPE_BOT)
                ids[n++] = pgs[i].items[k].bot_id;
        }
    }
    const char **envs = NULL;
    int rc = store_directory_bot_environments(&envs, x->c, x->a, x->agency_id, ids, n, err);
    if (rc)
        return rc;
    n = 0;
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < pgs[i].count; k++) {
            if (pgs[i].items[k].scope == POLICY_SCOPE_BOT)
                pgs[i].items[k].environment_id = envs[n++];
        }
    }
    return 0;
}

/* Up to limit + 1 invited people after *after who pass filter, in order. */
static int invited_collect(struct store_directory_person **out, struct person_grants **out_grants,
                           size_t *out_count, struct ctx *x,
                           const struct store_directory_order *order,
                           const struct store_directory_filter *sql_filter,
                           const struct invited_filter *filter,
                           const struct store_directory_key *after, size_t limit,
                           struct usher_error *err)
{
    struct store_directory_person *items = arena_alloc(x->a, (limit + 2) * sizeof(*items));
    struct person_grants *grants = arena_alloc(x->a, (limit + 2) * sizeof(*grants));
    size_t n = 0;
    struct store_directory_key pos = *after;
    int64_t now = clock_now_ms();
    for (;;) {
        struct store_directory_person *batch = NULL;
        size_t count = 0;
        bool more = false;
        int rc = store_directory_invited(&batch, &count, &more, x->c, x->a, x->agency_id, order,
                                         sql_filter, &pos, now, limit, err);
        if (rc)
            return rc;
        struct person_grants *pgs = arena_alloc(x->a, (count + 1) * sizeof(*pgs));
        for (size_t i = 0; i < count; i++)
            grants_from_json(&pgs[i], x->a, batch[i].grants_json, x->agency_id, &x->roles);
        rc = bot_environments_fill(x, pgs, count, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < count && n <= limit; i++) {
            if (invited_matches(x, filter, &pgs[i])) {
                items[n] = batch[i];
                grants[n] = pgs[i];
                n++;
            }
        }
        if (n > limit || !more || count == 0)
            break;
        pos = batch[count - 1].key;
    }
    *out = items;
    *out_grants = grants;
    *out_count = n;
    return 0;
}

/* Validates the query and turns it into the store's filter and the invited people's one. */
static int query_prepare(struct store_directory_filter *out, struct invited_filter *inv,
                         struct ctx *x, const struct app_member_query *q, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(inv, 0, sizeof(*inv));
    if (!x->caller.reads_all && x->caller.readable_count == 0)
        return forbidden(err, "users.read is required in this agency");
    if (q->q) {
        const char *trimmed = text_trim(x->a, q->q);
        long chars = text_utf8_count(trimmed, strlen(trimmed));
        if (chars < 0 || chars > APP_MEMBER_SEARCH_MAX)
            return usher_error_set(err, USHER_EINVAL, NULL, "q",
                                   "q must be text of at most %d characters",
                                   APP_MEMBER_SEARCH_MAX);
        out->search = *trimmed ? trimmed : NULL;
    }
    if (q->shortcode) {
        int rc = text_shortcode_check(&out->shortcode, x->a, q->shortcode, "shortcode", err);
        if (rc)
            return rc;
    }
    if (q->role) {
        if (policy_catalogue_role_find(q->role)) {
            out->role = q->role;
        } else {
            const struct store_custom_role *custom = app_role_set_find(&x->roles, q->role, NULL);
            if (!custom)
                return usher_error_set(err, USHER_EINVAL, "unknown_role", "role",
                                       "unknown role %.100s", q->role);
            out->role = custom->id;
        }
        inv->role_ref = out->role;
    }
    long wanted = -1;
    if (q->environment_id) {
        wanted = env_index(x, q->environment_id);
        if (wanted < 0)
            return usher_error_set(err, USHER_EINVAL, "unknown_scope", "environment_id",
                                   "environment_id is not an environment of this agency");
        if (!x->caller.reads_env[wanted])
            return forbidden(err, "users.read is required in this environment");
    }
    if (wanted < 0 && x->caller.reads_all)
        return 0;
    /* An environment filter, or a caller who reads only some environments: people with access
     * to one of them. */
    bool *env_wanted = arena_alloc(x->a, (x->env_count + 1) * sizeof(bool));
    size_t len = 1;
    for (size_t i = 0; i < x->env_count; i++) {
        env_wanted[i] = wanted >= 0 ? (long)i == wanted : x->caller.reads_env[i];
        len += env_wanted[i] ? strlen(x->envs[i].id) + 1 : 0;
    }
    char *ids = arena_alloc(x->a, len);
    size_t used = 0;
    for (size_t i = 0; i < x->env_count; i++) {
        if (!env_wanted[i])
            continue;
        if (used)
            ids[used++] = ',';
        memcpy(ids + used, x->envs[i].id, strlen(x->envs[i].id));
        used += strlen(x->envs[i].id);
    }
    ids[used] = '\0';
    out->environment_ids = ids;
    inv->env_wanted = env_wanted;
    return 0;
}

int app_member_list(struct app_member_page *out, struct app *app, struct arena *a,
                    const struct app_actor *actor, const char *agency_id,
                    const struct app_member_query *query, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_directory_order order;
    struct store_directory_key after;
    int rc = store_directory_order_parse(&order, query->sort, err);
    if (rc == 0)
        rc = store_directory_cursor_decode(&after, a, &order, query->cursor, err);
    if (rc)
        return rc;
    size_t limit = query->limit ? query->limit : STORE_PAGE_LIMIT_DEFAULT;
    if (limit > STORE_PAGE_LIMIT_MAX)
        limit = STORE_PAGE_LIMIT_MAX;

    struct ctx x;
    struct store_directory_filter filter;
    struct invited_filter inv_filter;
    rc = ctx_open(&x, app, a, actor, agency_id, false, err);
    if (rc == 0)
        rc = query_prepare(&filter, &inv_filter, &x, query, err);
    if (rc)
        goto done;

    struct store_directory_person *members = NULL, *invited = NULL;
    struct person_grants *invited_grants = NULL;
    size_t member_count = 0, invited_count = 0;
    bool members_more = false;
    rc = store_directory_members(&members, &member_count, &members_more, x.c, a, x.agency_id,
                                 &order, &filter, &after, limit, err);
    if (rc == 0)
        rc = invited_collect(&invited, &invited_grants, &invited_count, &x, &order, &filter,
                             &inv_filter, &after, limit, err);
    if (rc)
        goto done;

    /* Merge both sorted lists into one page. */
    out->items = arena_alloc(a, (limit + 1) * sizeof(*out->items));
    const char **member_ids = arena_alloc(a, (limit + 1) * sizeof(*member_ids));
    size_t mi = 0, ii = 0, n = 0, ids = 0;
    bool *is_member = arena_alloc(a, (limit + 1) * sizeof(bool));
    while (n < limit && (mi < member_count || ii < invited_count)) {
        bool take_member =
            ii >= invited_count ||
            (mi < member_count &&
             store_directory_key_compare(&members[mi].key, &invited[ii].key, &order) < 0);
        if (take_member) {
            out->items[n].person = members[mi++];
            member_ids[ids++] = out->items[n].person.id;
            is_member[n] = true;
        } else {
            member_build(&out->items[n], &x, &invited[ii], &invited_grants[ii]);
            ii++;
        }
        n++;
    }
    out->count = n;
    if (n == limit && (mi < member_count || members_more || ii < invited_count))
        out->next_cursor = store_directory_cursor_encode(a, &order, &out->items[n - 1].person.key);

    /* The members' grants, in one query for the page. */
    struct store_directory_grant *rows = NULL;
    size_t row_count = 0;
    rc = store_directory_grants(&rows, &row_count, x.c, a, x.agency_id, member_ids, ids, err);
    if (rc)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (!is_member[i])
            continue;
        size_t held = 0;
        for (size_t r = 0; r < row_count; r++)
            held += strcmp(rows[r].user_id, out->items[i].person.id) == 0;
        struct person_grants pg = {arena_alloc(a, (held + 1) * sizeof(struct app_grant)), 0};
        for (size_t r = 0; r < row_count; r++) {
            if (strcmp(rows[r].user_id, out->items[i].person.id) == 0 &&
                grant_from_row(&pg.items[pg.count], a, &rows[r].grant, x.agency_id, &x.roles))
                pg.count++;
        }
        struct store_directory_person person = out->items[i].person;
        member_build(&out->items[i], &x, &person, &pg);
    }
    out->roles = x.roles;
    rc = store_commit(x.c, err);
done:
    ctx_close(&x);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* --- one member --- */

int app_member_get(struct app_member_detail *out, struct app *app, struct arena *a,
                   const struct app_actor *actor, const char *agency_id, const char *user_id,
                   struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct ctx x;
    struct store_directory_person person;
    struct person_grants pg;
    int rc = ctx_open(&x, app, a, actor, agency_id, false, err);
    if (rc == 0 && !x.caller.reads_all && x.caller.readable_count == 0)
        rc = forbidden(err, "users.read is required in this agency");
    if (rc == 0)
        rc = member_load(&person, &pg, &x, user_id, err);
    if (rc == 0)
        rc = store_commit(x.c, err);
    if (rc == 0)
        detail_build(out, &x, &person, &pg);
    ctx_close(&x);
    return rc;
}

static bool text_equal(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

int app_member_update(struct app_member_detail *out, struct app *app, struct arena *a,
                      const struct app_actor *actor, const char *agency_id, const char *user_id,
                      const struct app_member_patch *patch, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct ctx x;
    struct store_directory_person person;
    struct person_grants pg;
    const char *first = NULL, *last = NULL, *shortcode = NULL;
    int rc = ctx_open(&x, app, a, actor, agency_id, true, err);
    if (rc == 0)
        rc = member_load(&person, &pg, &x, user_id, err);
    if (rc == 0 && (patch->has_first_name || patch->has_last_name) && !x.caller.acc.is_admin &&
        !(actor->user_id && strcmp(actor->user_id, user_id) == 0))
        rc = usher_error_set(err, USHER_EFORBIDDEN, "names_belong_to_person", NULL,
                             "names belong to the person: only they change them, in their account");
    if (rc == 0 && patch->has_first_name)
        rc = text_name_optional_check(&first, a, patch->first_name, "first_name", err);
    if (rc == 0 && patch->has_last_name)
        rc = text_name_optional_check(&last, a, patch->last_name, "last_name", err);
    if (rc == 0 && patch->has_shortcode && patch->shortcode)
        rc = text_shortcode_check(&shortcode, a, patch->shortcode, "shortcode", err);
    /* The shortcode is the agency's: it takes authority over the member to change it. */
    if (rc == 0 && patch->has_shortcode)
        rc = member_authority(&x, user_id, &pg, NULL, err);
    if (rc)
        goto done;

    json_t *details = json_object();
    bool names_changed = false;
    if (first && strcmp(first, person.first_name) != 0) {
        json_object_set_new(details, "first_name", json_string(first));
        names_changed = true;
    }
    if (last && strcmp(last, person.last_name) != 0) {
        json_object_set_new(details, "last_name", json_string(last));
        names_changed = true;
    }
    bool shortcode_changed = patch->has_shortcode && !text_equal(shortcode, person.shortcode);
    if (shortcode_changed)
        json_object_set_new(details, "shortcode", shortcode ? json_string(shortcode) : json_null());
    if (names_changed)
        rc = store_directory_names_set(x.c, a, user_id, first ? first : person.first_name,
                                       last ? last : person.last_name, err);
    if (rc == 0 && shortcode_changed && shortcode) {
        /* A pending invitation keeps its shortcode for its invitee, as members keep theirs. */
        bool reserved = false;
        rc = store_directory_shortcode_reserved(&reserved, x.c, a, x.agency_id, shortcode,
                                                person.email, err);
        if (rc == 0 && reserved)
            rc = usher_error_set(err, USHER_ECONFLICT, "shortcode_taken", "shortcode",
                                 "shortcode is already used in this agency");
    }
    if (rc == 0 && shortcode_changed)
        rc = store_member_shortcode_set(x.c, a, x.agency_id, user_id, shortcode, err);
    if (rc == 0 && (names_changed || shortcode_changed)) {
        struct app_audit_event ev = {
            .agency_id = x.agency_id,
            .action = "member.updated",
            .subject_user_id = user_id,
            .scope_type = "agency",
            .scope_id = x.agency_id,
            .details = details,
        };
        details = NULL;
        rc = app_audit_record(x.c, a, actor, &ev, err);
    }
    json_decref(details);
    if (rc == 0)
        rc = detail_reread(out, &x, user_id, err);
    if (rc == 0)
        rc = store_commit(x.c, err);
    if (rc)
        goto done;
    app_grants_refresh(app, x.c, user_id);
done:
    ctx_close(&x);
    return rc;
}

int app_member_grants_replace(struct app_member_detail *out, struct app *app, struct arena *a,
                              const struct app_actor *actor, const char *agency_id,
                              const char *user_id, json_t *grants, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct ctx x;
    struct store_directory_person person;
    struct person_grants pg;
    struct app_grant *next = NULL;
    size_t next_count = 0;
    int rc = ctx_open(&x, app, a, actor, agency_id, true, err);
    if (rc == 0)
        rc = member_load(&person, &pg, &x, user_id, err);
    if (rc == 0)
        rc = app_access_not_self(&x.caller.acc, user_id, err);
    if (rc == 0)
        rc = member_authority(&x, user_id, &pg, NULL, err);
    if (rc == 0)
        rc = app_grants_parse(&next, &next_count, x.c, a, x.agency_id, &x.roles, grants, "grants",
                              false, err);
    if (rc == 0)
        rc =
            app_access_may_grant(&x.caller.acc, a, next, next_count, "users.manage", "grants", err);
    if (rc)
        goto done;
    struct person_grants after = {next, next_count};
    if (holds_owner(&pg) && !holds_owner(&after)) {
        rc = last_owner_guard(&x, user_id, err);
        if (rc)
            goto done;
    }
    rc = app_grants_write(x.c, a, x.agency_id, user_id, NULL, next, next_count, true, err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = x.agency_id,
        .action = "member.grants_replaced",
        .subject_user_id = user_id,
        .scope_type = "agency",
        .scope_id = x.agency_id,
        .details = json_pack("{s:o, s:o}", "previous", app_grants_json(pg.items, pg.count, NULL),
                             "grants", app_grants_json(next, next_count, NULL)),
    };
    rc = app_audit_record(x.c, a, actor, &ev, err);
    if (rc == 0)
        rc = detail_reread(out, &x, user_id, err);
    if (rc == 0)
        rc = store_commit(x.c, err);
    if (rc)
        goto done;
    app_grants_refresh(app, x.c, user_id);
done:
    ctx_close(&x);
    return rc;
}

int app_member_remove(struct app *app, struct arena *a, const struct app_actor *actor,
                      const char *agency_id, const char *user_id, struct usher_error *err)
{
    struct ctx x;
    struct store_directory_person person;
    struct person_grants pg;
    int64_t revoked = 0;
    int rc = ctx_open(&x, app, a, actor, agency_id, true, err);
    bool is_self = actor->user_id && strcmp(actor->user_id, user_id) == 0;
    if (rc == 0 && is_self) {
        rc = store_directory_member_get(&person, x.c, a, x.agency_id, user_id, err);
        if (rc == 0)
            rc = member_grants_load(&pg, &x, user_id, err);
    } else if (rc == 0) {
        rc = member_load(&person, &pg, &x, user_id, err);
        if (rc == 0)
            rc = member_authority(&x, user_id, &pg, NULL, err);
    }
    if (rc == 0 && holds_owner(&pg))
        rc = last_owner_guard(&x, user_id, err);
    if (rc == 0)
        rc = store_member_remove(NULL, x.c, a, x.agency_id, user_id, err);
    if (rc == 0)
        rc = store_directory_invitations_revoke(&revoked, x.c, a, x.agency_id, person.email,
                                                actor->user_id, clock_now_ms(), err);
    if (rc == 0) {
        struct app_audit_event ev = {
            .agency_id = x.agency_id,
            .action = "member.removed",
            .subject_user_id = user_id,
            .scope_type = "agency",
            .scope_id = x.agency_id,
            .details =
                json_pack("{s:o, s:I, s:b}", "previous", app_grants_json(pg.items, pg.count, NULL),
                          "revoked_invitations", (json_int_t)revoked, "left", is_self),
        };
        rc = app_audit_record(x.c, a, actor, &ev, err);
    }
    if (rc == 0)
        rc = store_commit(x.c, err);
    if (rc == 0)
        app_grants_refresh(app, x.c, user_id);
    ctx_close(&x);
    return rc;
}

int app_member_environment_remove(struct app *app, struct arena *a, const struct app_actor *actor,
                                  const char *environment_id, const char *user_id,
                                  struct usher_error *err)
{
    struct ctx x;
    memset(&x, 0, sizeof(x));
    struct store_environment env;
    struct store_directory_person person;
    struct person_grants pg;
    struct store_conn *probe = NULL;
    /* The environment names the agency; a foreign one is not found like any other object. */
    int rc = store_conn_get(app->store, &probe, err);
    if (rc == 0)
        rc = store_environment_get(&env, probe, a, environment_id, err);
    store_conn_put(probe);
    if (rc == 0)
        rc = ctx_open(&x, app, a, actor, env.agency_id, true, err);
    if (rc == 0 && env_index(&x, env.id) < 0)
        rc = usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "environment not found");
    if (rc == 0)
        rc = member_load(&person, &pg, &x, user_id, err);
    if (rc == 0)
        rc = app_access_not_self(&x.caller.acc, user_id, err);
    if (rc == 0)
        rc = app_access_require(&x.caller.acc, POLICY_SCOPE_ENVIRONMENT, env.id, NULL,
                                "users.manage", err);
    if (rc == 0)
        rc = member_authority(&x, user_id, &pg, env.id, err);
    if (rc)
        goto done;

    const struct app_grant *own = grant_at(&pg, POLICY_SCOPE_ENVIRONMENT, env.id);
    bool has_bot_grants = false;
    for (size_t i = 0; i < pg.count; i++) {
        has_bot_grants = has_bot_grants ||
                         (pg.items[i].scope == POLICY_SCOPE_BOT && pg.items[i].environment_id &&
                          strcmp(pg.items[i].environment_id, env.id) == 0);
    }
    if (own && grant_is_empty(own) && !has_bot_grants) {
        /* Already removed: nothing changes, nothing to record. */
        rc = store_commit(x.c, err);
        goto done;
    }
    struct store_grant_write none = {
        .id = crypto_id_new(a, "grt"),
        .agency_id = x.agency_id,
        .user_id = user_id,
        .environment_id = env.id,
        .scope_id = env.id,
        .roles = "",
        .extra_permissions = "",
        .created_at = clock_now_ms(),
    };
    int64_t bot_grants = 0;
    rc = store_grant_upsert(x.c, a, &none, err);
    if (rc == 0)
        rc = store_directory_bot_grants_delete(&bot_grants, x.c, a, x.agency_id, user_id, env.id,
                                               err);
    if (rc == 0) {
        struct app_audit_event ev = {
            .agency_id = x.agency_id,
            .action = "member.removed_from_environment",
            .subject_user_id = user_id,
            .scope_type = "environment",
            .scope_id = env.id,
            .details =
                json_pack("{s:o, s:I}", "previous", app_grants_json(pg.items, pg.count, NULL),
                          "bot_grants_removed", (json_int_t)bot_grants),
        };
        rc = app_audit_record(x.c, a, actor, &ev, err);
    }
    if (rc == 0)
        rc = store_commit(x.c, err);
    if (rc == 0)
        app_grants_refresh(app, x.c, user_id);
done:
    ctx_close(&x);
    return rc;
}
